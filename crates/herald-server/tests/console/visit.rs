//! A browser without the browser: a client that keeps the console's cookies, follows no
//! redirect by itself, and sends forms as a page would, with the token the page carried.

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

/// What the server answered.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        csrf_of(&self.body)
    }
}

/// The first form token of a page.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("the page has a form with a token: {page}"))
        + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// One browser's visit: its cookies, kept as the server sets them.
pub struct Visit {
    base: String,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Visit {
    pub fn new(base: &str) -> Visit {
        Visit {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    /// A visit signed in with `key`.
    pub async fn signed_in(base: &str, key: &str) -> Visit {
        let mut visit = Visit::new(base);
        let answer = visit.sign_in(key).await;
        assert_eq!(answer.status, 303, "signing in: {}", answer.body);
        assert_eq!(answer.location(), "/");
        visit
    }

    /// Opens the sign-in page and sends `key` through its form.
    pub async fn sign_in(&mut self, key: &str) -> Answer {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, 200);
        self.post("/sign-in", &[("csrf", &form.csrf()), ("key", key)])
            .await
    }

    /// The value of cookie `name`, as the browser holds it.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Takes the cookies an answer sets (an empty value or `Max-Age=0` removes one).
    fn keep(&mut self, headers: &HeaderMap) {
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() && !set.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header(COOKIE, self.cookie_header())
        };
        let response = request
            .header("accept", "text/html")
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.keep(&headers);
        let body = response.text().await.expect("a body");
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts a form as a page of this console would.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_with(path, form, &[]).await
    }

    /// Posts a form with `headers` besides (an `Origin`, say).
    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }
}
