//! The web console from the outside: a real server on a free port over a real store,
//! spoken to as a browser speaks, with forms and cookies.
//!
//! - `pages`: signing in and out, the session cookie's attributes, CSRF and cross-site
//!   forms refused, what each kind of principal sees, composing and publishing, a thread
//!   updated and resolved, a dead letter replayed, and the 404 page for everything a
//!   principal may not see.
//! - `browser`: the same in headless Chromium through ChromeDriver (WebDriver), with
//!   screenshots of every main page at 1280 and 390 pixels wide in
//!   `target/console-shots/`.
//!
//! A crate root resolves `mod x;` next to itself, hence the `#[path]`s.

#[path = "console/browser.rs"]
mod browser;
// Shared with the API's tests, which use all of it.
#[allow(dead_code)]
#[path = "api/common.rs"]
mod common;
#[path = "console/pages.rs"]
mod pages;
#[path = "console/visit.rs"]
mod visit;
#[path = "console/webdriver.rs"]
mod webdriver;
