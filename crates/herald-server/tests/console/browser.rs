//! The console in headless Chromium: a vendor composes a regional incident, sees its
//! audience and publishes it; the partner of the affected customer sees it under that
//! customer without reloading; the customer reads it and it turns read; an update of the
//! thread appears for both; the vendor replays a dead letter. Then the boundaries, from a
//! real browser: another partner gets the 404 page, a form without its token or from
//! another site is refused, and a session cookie is dead after sign-out. Every main page is
//! saved at 1280 and 390 pixels wide in `target/console-shots/`.

use std::path::PathBuf;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::pages::Cast;
use crate::webdriver::{Browser, Driver};

/// Where the screenshots go: `target/console-shots/`.
fn shots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("console-shots");
    std::fs::create_dir_all(&dir).expect("the screenshots' folder");
    dir
}

/// Saves the page the browser shows as `name` at 1280 and at 390 pixels wide, each as
/// tall as the page (up to 4000 pixels), then leaves the window wide again.
async fn snap(browser: &Browser, name: &str) {
    for width in [1280, 390] {
        browser.resize(width, 900).await;
        let height = browser
            .run("return document.documentElement.scrollHeight;")
            .await
            .as_u64()
            .unwrap_or(900)
            .clamp(600, 4000) as u32;
        browser.resize(width, height).await;
        browser
            .screenshot(&shots().join(format!("{name}-{width}.png")))
            .await;
    }
    browser.resize(1280, 900).await;
}

/// Signs `browser` in with `key` through the sign-in page.
async fn sign_in(browser: &Browser, base: &str, key: &str) {
    browser.goto(&format!("{base}/sign-in")).await;
    browser.type_in("#key", key).await;
    browser.click("form[action='/sign-in'] button").await;
    browser.wait_for("header .who", "·").await;
}

/// A page on another origin (another port of loopback) whose form posts to the console,
/// carrying `csrf`, as soon as it loads: what a hostile site would serve.
async fn hostile_site(console: &str, csrf: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let page = format!(
        "<!DOCTYPE html><html><body><form id=f method=post action=\"{console}/compose\">\
         <input name=csrf value=\"{csrf}\"><input name=category value=service_incident>\
         <input name=services value=teams><input name=id value=forged><input name=title_1 value=Forged>\
         <input name=action value=publish></form><script>document.getElementById('f').submit()</script></body></html>"
    );
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let page = page.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_partner_and_customer_work_an_incident_in_chromium() {
    let cast = Cast::new().await;
    let base = cast.server.base.clone();
    let driver = Driver::start().await;

    let sign_in_page = driver.browser("anonymous", 1280).await;
    sign_in_page.goto(&format!("{base}/")).await;
    assert!(sign_in_page.url().await.ends_with("/sign-in"));
    snap(&sign_in_page, "sign-in").await;
    sign_in_page.quit().await;

    // The partner's service desk and the customer leave their pages open.
    let partner = driver.browser("fabrikam", 1280).await;
    sign_in(&partner, &base, &cast.fabrikam).await;
    partner.wait_for("main", "None of your customers").await;
    partner.run("window.openedOnce = true;").await;
    let customer = driver.browser("contoso", 1280).await;
    sign_in(&customer, &base, &cast.contoso).await;
    customer.wait_for("main", "Nothing yet").await;
    customer.run("window.openedOnce = true;").await;

    // The vendor composes a regional incident and sees its audience first.
    let vendor = driver.browser("vendor", 1280).await;
    sign_in(&vendor, &base, &cast.vendor).await;
    vendor.goto(&format!("{base}/compose")).await;
    vendor
        .click("input[name=category][value=service_incident]")
        .await;
    vendor.click("input[name=services][value=sharepoint]").await;
    vendor.click("input[name=regions][value=eu]").await;
    vendor.type_in("#thread-id", "sp-eu").await;
    vendor
        .type_in("#title-1", "SharePoint in Europe is slow")
        .await;
    vendor
        .type_in("#body-1", "Sites load slowly for some tenants in Europe.")
        .await;
    vendor
        .run("document.getElementById('message-id').value = 'sp-eu-1';")
        .await;
    vendor.type_in("#explain", "contoso").await;
    vendor.click("button[value=preview]").await;
    vendor.wait_for("#audience", "told directly").await;
    let audience = vendor.text("#audience").await;
    assert!(audience.contains("contoso"), "{audience}");
    assert!(audience.contains("fabrikam"), "{audience}");
    assert!(audience.contains("Why contoso hears"), "{audience}");
    snap(&vendor, "vendor-compose-audience").await;
    assert_eq!(
        cast.messages().await,
        0,
        "seeing the audience stores nothing"
    );
    vendor.click("button[value=publish]").await;
    // The audience shown before publishing counts deliveries by channel too: the message's
    // own page is the one with its dead letters.
    vendor.wait_for("main", "Dead letters").await;
    assert!(vendor.url().await.ends_with("/messages/sp-eu-1"));
    snap(&vendor, "vendor-message").await;

    // The partner sees it under its customer, and the customer in its inbox, unreloaded.
    partner.wait_for("main", "Customer contoso").await;
    partner
        .wait_for("main", "SharePoint in Europe is slow")
        .await;
    assert_eq!(
        partner.run("return window.openedOnce === true;").await,
        true
    );
    snap(&partner, "partner-notices").await;
    customer
        .wait_for("main", "SharePoint in Europe is slow")
        .await;
    assert_eq!(
        customer.run("return window.openedOnce === true;").await,
        true
    );
    assert!(customer.text("main").await.contains("1 unread"));
    snap(&customer, "customer-inbox").await;

    // The customer reads it, and it turns read.
    customer.click("ul.inbox li.unread a").await;
    customer.wait_for("main", "Sites load slowly").await;
    snap(&customer, "customer-message").await;
    customer.goto(&format!("{base}/")).await;
    customer.wait_for("main", "0 unread").await;
    assert_eq!(
        customer
            .run("return document.querySelectorAll('ul.inbox li.unread').length;")
            .await,
        0
    );

    // An update of the thread appears for both, on pages left open.
    partner.goto(&format!("{base}/threads/sp-eu")).await;
    partner.run("window.openedOnce = true;").await;
    customer.goto(&format!("{base}/threads/sp-eu")).await;
    customer.run("window.openedOnce = true;").await;
    vendor.goto(&format!("{base}/threads/sp-eu")).await;
    vendor
        .run("document.getElementById('status').value = 'monitoring';")
        .await;
    vendor
        .type_in("#title", "SharePoint in Europe: fix deployed")
        .await;
    vendor.type_in("#body", "We are watching it recover.").await;
    vendor.click("form.stack button").await;
    vendor.wait_for("main", "fix deployed").await;
    snap(&vendor, "vendor-thread").await;
    for (who, page) in [("partner", &partner), ("customer", &customer)] {
        page.wait_for("main", "fix deployed").await;
        page.wait_for("main", "monitoring").await;
        assert_eq!(
            page.run("return window.openedOnce === true;").await,
            true,
            "{who}"
        );
    }
    snap(&partner, "partner-thread").await;
    partner.goto(&format!("{base}/inbox")).await;
    partner.wait_for("main", "unread").await;
    snap(&partner, "partner-inbox").await;

    // The vendor's list, then a dead letter replayed.
    cast.dead_letter(
        "northwind",
        json!({"id": "teams-down", "category": "service_incident", "services": ["teams"], "title": "Teams sign-in failures"}),
    )
    .await;
    vendor.goto(&format!("{base}/")).await;
    vendor.wait_for("main", "teams-down").await;
    snap(&vendor, "vendor-messages").await;
    // By keyboard: the first Tab reaches "Skip to the content", shown with a focus ring.
    vendor.tab().await;
    let focused = vendor
        .run("var e = document.activeElement; return [e.className, getComputedStyle(e).outlineStyle, e.getBoundingClientRect().left >= 0];")
        .await;
    assert_eq!(focused, json!(["skip", "solid", true]), "{focused}");
    vendor.tab().await;
    assert_eq!(
        vendor
            .run("return document.activeElement.textContent;")
            .await,
        "Herald"
    );
    vendor.goto(&format!("{base}/deliveries")).await;
    vendor.wait_for("main", "Replay").await;
    snap(&vendor, "vendor-dead-letters").await;
    vendor.click("table button").await;
    vendor.wait_for("main", "Deliveries by channel").await;
    assert!(vendor.url().await.ends_with("/messages/teams-down"));
    let (_, listed) = cast
        .server
        .get(&cast.vendor, "/v1/deliveries?message=teams-down")
        .await;
    assert_eq!(listed["deliveries"][0]["status"], "retrying", "{listed}");

    // The vendor's other pages, and the partner's webhooks.
    vendor
        .goto(&format!("{base}/messages/sp-eu-1/explain?customer=contoso"))
        .await;
    vendor.wait_for("main", "heard").await;
    snap(&vendor, "vendor-explain").await;
    vendor.goto(&format!("{base}/directory?q=contoso")).await;
    vendor.click("ul.records a").await;
    vendor.wait_for("main", "contoso-e3").await;
    snap(&vendor, "vendor-directory-customer").await;
    vendor.goto(&format!("{base}/directory")).await;
    snap(&vendor, "vendor-directory").await;
    vendor.goto(&format!("{base}/audit")).await;
    vendor.wait_for("main", "message.publish").await;
    snap(&vendor, "vendor-audit").await;
    partner.goto(&format!("{base}/endpoints")).await;
    partner.wait_for("main", "Register an endpoint").await;
    snap(&partner, "partner-webhooks").await;

    // Another partner opening the first message gets the 404 page.
    let other = driver.browser("northwind", 1280).await;
    sign_in(&other, &base, &cast.northwind).await;
    other.goto(&format!("{base}/messages/sp-eu-1")).await;
    other.wait_for("h1", "Not found").await;
    assert!(!other.source().await.contains("SharePoint"));
    snap(&other, "not-found").await;
    other.quit().await;

    // A form sent without its token is refused, and so is one from another site.
    vendor.goto(&format!("{base}/compose")).await;
    vendor
        .click("input[name=category][value=service_incident]")
        .await;
    vendor.click("input[name=services][value=teams]").await;
    vendor
        .run("document.getElementById('message-id').value = 'no-token';")
        .await;
    vendor.type_in("#title-1", "Sent without its token").await;
    vendor
        .run("document.querySelector('form.compose input[name=csrf]').remove();")
        .await;
    vendor.click("button[value=publish]").await;
    vendor.wait_for("h1", "Not allowed").await;
    let csrf = {
        vendor.goto(&format!("{base}/compose")).await;
        vendor
            .run("return document.querySelector('input[name=csrf]').value;")
            .await
            .as_str()
            .unwrap()
            .to_owned()
    };
    let hostile = hostile_site(&base, &csrf).await;
    vendor.goto(&hostile).await;
    vendor.wait_for("h1", "Not allowed").await;
    assert!(vendor.text("main").await.contains("another site"));
    assert_eq!(
        cast.messages().await,
        3,
        "sp-eu-1, its update, teams-down: nothing else"
    );

    // After sign-out, the session's cookie opens nothing, even put back by hand.
    vendor.goto(&format!("{base}/")).await;
    let cookie = vendor
        .cookie("herald_session")
        .await
        .expect("a session cookie");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Strict", "{cookie}");
    vendor.click("form.sign-out button").await;
    vendor.wait_for("h1", "Sign in").await;
    assert!(vendor.cookie("herald_session").await.is_none());
    vendor
        .add_cookie(json!({"name": "herald_session", "value": cookie["value"], "path": "/"}))
        .await;
    vendor.goto(&format!("{base}/")).await;
    assert!(
        vendor.url().await.ends_with("/sign-in"),
        "{}",
        vendor.url().await
    );

    for browser in [vendor, partner, customer] {
        browser.quit().await;
    }
}
