//! Just enough of the W3C WebDriver protocol to drive headless Chromium through
//! ChromeDriver: sessions, navigation, elements, scripts, cookies and screenshots.
//!
//! ChromeDriver and Chromium are Debian's (`chromedriver`, `chromium`, which `cargo xtask
//! test` installs when missing); `HERALD_CHROMEDRIVER` and `HERALD_CHROMIUM` name others.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for what a page should come to show.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A running ChromeDriver, stopped when dropped with every browser it started, even when
/// a test failed before closing them: they share its process group.
pub struct Driver {
    url: String,
    child: Child,
    http: reqwest::Client,
    profiles: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A program named by `variable`, or else `fallback`, which must exist.
fn program(variable: &str, fallback: &str) -> String {
    let path = std::env::var(variable).unwrap_or_else(|_| fallback.to_owned());
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: install Debian's chromium and chromium-driver (cargo xtask test does), or name them in HERALD_CHROMIUM and HERALD_CHROMEDRIVER"
    );
    path
}

impl Driver {
    /// Starts ChromeDriver on a free port and waits until it takes sessions.
    pub async fn start() -> Driver {
        let chromedriver = program("HERALD_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ChromeDriver starts");
        let driver = Driver {
            url: format!("http://127.0.0.1:{port}"),
            child,
            http: reqwest::Client::new(),
            profiles: tempfile::tempdir().expect("a folder for browser profiles"),
        };
        let deadline = Instant::now() + PATIENCE;
        loop {
            let status = driver
                .http
                .get(format!("{}/status", driver.url))
                .send()
                .await;
            if let Ok(answer) = status {
                let body: Value = answer.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return driver;
                }
            }
            assert!(Instant::now() < deadline, "ChromeDriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new browser, with a profile of its own (so cookies of one are not another's),
    /// `width` pixels wide.
    pub async fn browser(&self, name: &str, width: u32) -> Browser {
        let chromium = program("HERALD_CHROMIUM", "/usr/bin/chromium");
        let profile = self.profiles.path().join(name);
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},900"),
                ],
            },
        }}});
        let answer: Value = self
            .http
            .post(format!("{}/session", self.url))
            .json(&capabilities)
            .send()
            .await
            .expect("ChromeDriver answers")
            .json()
            .await
            .expect("a session as JSON");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {answer}"))
            .to_owned();
        Browser {
            base: format!("{}/session/{id}", self.url),
            http: self.http.clone(),
        }
    }
}

/// One browser window, driven through its session.
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

/// An element of the page.
#[derive(Clone)]
pub struct Element(String);

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("ChromeDriver answers")
            .json()
            .await
            .expect("an answer as JSON");
        if let Some(error) = answer["value"]["error"].as_str() {
            panic!("WebDriver {path}: {error}: {}", answer["value"]["message"]);
        }
        answer["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's source as it stands now.
    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element `css` selects.
    pub async fn find(&self, css: &str) -> Element {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        Element(found[ELEMENT].as_str().expect("an element").to_owned())
    }

    pub async fn click(&self, css: &str) {
        let Element(id) = self.find(css).await;
        self.post(&format!("/element/{id}/click"), json!({})).await;
    }

    /// Types `text` into the field `css` selects.
    pub async fn type_in(&self, css: &str, text: &str) {
        let Element(id) = self.find(css).await;
        self.post(&format!("/element/{id}/value"), json!({ "text": text }))
            .await;
    }

    /// Presses the Tab key, as a person moving through the page by keyboard.
    pub async fn tab(&self) {
        let tab = "\u{E004}";
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": tab}, {"type": "keyUp", "value": tab}
            ]}]}),
        )
        .await;
    }

    /// The visible text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        let Element(id) = self.find(css).await;
        self.get(&format!("/element/{id}/text"))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page and answers what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Waits until the text of `css` holds `words`, the page not navigated meanwhile.
    pub async fn wait_for(&self, css: &str, words: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self
                .run(&format!(
                    "var e = document.querySelector({}); return e ? e.innerText : '';",
                    json!(css)
                ))
                .await;
            if found.as_str().is_some_and(|t| t.contains(words)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {words:?}; it shows {found}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The cookie `name` as the browser holds it (HttpOnly ones included).
    pub async fn cookie(&self, name: &str) -> Option<Value> {
        self.get("/cookie")
            .await
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
    }

    /// Puts `cookie` back in the browser, as an attacker holding a copy would.
    pub async fn add_cookie(&self, cookie: Value) {
        self.post("/cookie", json!({ "cookie": cookie })).await;
    }

    /// Makes the window `width` by `height` pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// Saves what the window shows as a PNG at `path`.
    pub async fn screenshot(&self, path: &Path) {
        let data = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("a screenshot"))
            .expect("a screenshot in base64");
        std::fs::write(path, png).expect("the screenshot is written");
    }

    /// Ends the session and closes the browser.
    pub async fn quit(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}
