//! The edge of the HTTP layer: limits on a request's URI and headers, and every error
//! answered as a problem, whoever made it.
//!
//! [`problems`] wraps every route. It refuses a URI longer than [`MAX_URI_BYTES`] (414)
//! and headers longer than [`MAX_HEADER_BYTES`] together (431) before routing, and turns
//! any error the framework answers on its own (a path that is not UTF-8, a method a path
//! does not take, an extractor's plain-text rejection) into `application/problem+json`,
//! keeping its status and headers (`Allow` on a 405); the console's error pages stay pages. Beyond hyper's own limits (a URI over
//! 64 KiB, a head over about 400 KiB or more than 100 headers) hyper answers 414 or 431
//! with no body before any of this runs; `docs/errors.md` says so.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{Kind, Problem};

/// The longest request URI read, in bytes: 8 KiB.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most bytes of request headers read, names and values together: 16 KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The most bytes of a framework's own error text kept as a problem's detail.
const MAX_DETAIL_BYTES: usize = 512;

/// Refuses over-long URIs and headers, runs the request, and answers any error that is not
/// yet a problem as one.
pub async fn problems(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let uri_bytes = uri.scheme_str().map_or(0, str::len)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |p| p.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return Problem::new(
            Kind::UriTooLong,
            format!("the URI is {uri_bytes} bytes long; the server reads at most {MAX_URI_BYTES}: name what you ask for by its id, not by its content"),
        )
        .into_response();
    }
    let size = |name: &header::HeaderName, value: &HeaderValue| name.as_str().len() + value.len();
    let total: usize = request.headers().iter().map(|(n, v)| size(n, v)).sum();
    if total > MAX_HEADER_BYTES {
        let (largest, size) = request
            .headers()
            .iter()
            .map(|(n, v)| (n, size(n, v)))
            .max_by_key(|(_, size)| *size)
            .expect("headers this long hold one");
        return Problem::new(
            Kind::HeadersTooLarge,
            format!("the headers are {total} bytes long together; the server reads at most {MAX_HEADER_BYTES}; the largest is `{largest}` ({size} bytes)"),
        )
        .into_response();
    }
    let method = request.method().clone();
    let response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        as_problem(&method, response).await
    } else {
        response
    }
}

/// `response`, an error, as a problem with its status, headers and what its text said.
async fn as_problem(method: &Method, response: Response) -> Response {
    // A problem already, or a page of the console, which answers errors as pages.
    let answered = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t == "application/problem+json" || t.starts_with("text/html"));
    if answered {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_DETAIL_BYTES * 4)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let mut detail = match parts.status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts
                .headers
                .get(header::ALLOW)
                .and_then(|a| a.to_str().ok())
                .unwrap_or("");
            format!("this path does not take {method}; it takes {allowed}")
        }
        status if text.is_empty() => status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_owned(),
        _ => text,
    };
    if detail.len() > MAX_DETAIL_BYTES {
        let mut end = MAX_DETAIL_BYTES;
        while !detail.is_char_boundary(end) {
            end -= 1;
        }
        detail.truncate(end);
        detail.push('…');
    }
    let mut answer = match Kind::of_status(parts.status) {
        Some(kind) => Problem::new(kind, detail),
        None => Problem::plain(parts.status, detail),
    }
    .into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().append(name, value.clone());
        }
    }
    answer
}
