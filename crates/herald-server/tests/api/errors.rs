//! Bad requests get a problem+json answer with a stable type and a detail a person can act
//! on, and change nothing.

use herald_server::ServeConfig;
use herald_store::KeyFor;
use serde_json::{json, Value};

use crate::common::{answer, world_of, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_refused_requests_name_what_is_wrong_and_change_nothing() {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let before = server.store.counts().await.unwrap();

    // Not JSON at all.
    let (status, problem) = answer(
        server
            .client
            .post(format!("{}/v1/messages", server.base))
            .bearer_auth(&vendor)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (400, Some("/problems/malformed-request"))
    );

    // A field of the wrong type.
    let (status, problem) = server
        .post(&vendor, "/v1/messages", &json!({"id": 7}))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("id"),
        "{problem}"
    );

    // A message the policy refuses.
    let (status, problem) = server
        .post(
            &vendor,
            "/v1/messages",
            &json!({"id": "x", "category": "nonsense", "title": "T"}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-message");
    assert!(
        problem["detail"].as_str().unwrap().contains("nonsense"),
        "{problem}"
    );

    // Arrays are not objects, though serde would read them as fields in order: an empty one
    // must not wipe the cloud's directory.
    for path in ["/v1/directory", "/v1/messages"] {
        let (status, problem) = if path == "/v1/directory" {
            server.put(&vendor, path, &json!([])).await
        } else {
            server.post(&vendor, path, &json!(["x"])).await
        };
        assert_eq!(status, 400, "{path}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("JSON object"),
            "{problem}"
        );
    }

    // A directory naming another cloud's customer, and one breaking a directory rule.
    let mut foreign = world_of("global");
    foreign["customers"][0]["cloud"] = json!("us-gov");
    let (status, problem) = server.put(&vendor, "/v1/directory", &foreign).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("field `cloud`"),
        "{problem}"
    );
    let mut broken = world_of("global");
    broken["subscriptions"][0]["product"] = json!("no-such-product");
    let (status, problem) = server.put(&vendor, "/v1/directory", &broken).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-directory");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no-such-product"),
        "{problem}"
    );

    // A subscription sold through another cloud's partner: refused as a partner this cloud
    // does not hold, with no word of the other cloud.
    let mut borrowed = world_of("global");
    borrowed["subscriptions"][0]["partner"] = json!("gov-fabrikam");
    let (status, problem) = server.put(&vendor, "/v1/directory", &borrowed).await;
    assert_eq!(status, 422, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("gov-fabrikam"), "{problem}");
    assert!(!detail.contains("us-gov"), "{problem}");

    // Paths and parameters.
    let (status, _) = server.get(&vendor, "/v1/nowhere").await;
    assert_eq!(status, 404);
    let (status, problem) = server.get(&vendor, "/v1/messages?limit=0").await;
    assert_eq!(status, 400);
    assert!(
        problem["detail"].as_str().unwrap().contains("`limit`"),
        "{problem}"
    );
    let (status, _) = server.get(&vendor, "/v1/messages?before=nonsense").await;
    assert_eq!(status, 400);

    assert_eq!(server.store.counts().await.unwrap(), before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_is_refused_as_too_large() {
    let server = Server::start_with(ServeConfig {
        body_limit: 1024,
        ..ServeConfig::default()
    })
    .await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let big = json!({"id": "big", "category": "service_incident", "services": ["teams"], "title": "x".repeat(4096)});
    let (status, problem) = server.post(&vendor, "/v1/messages", &big).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(problem["type"], "/problems/request-too-large");
    let (status, _) = server
        .put(&vendor, "/v1/directory", &world_of("global"))
        .await;
    assert_eq!(status, 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_200_while_the_store_answers_and_503_once_it_does_not() {
    let server = Server::start().await;
    let (status, ready) = server.get("", "/readyz").await;
    assert_eq!(
        (status, &ready),
        (200, &json!({"ready": true, "database": "ok"}))
    );

    // The store's connections are gone: its queries fail as a lost database's would.
    server.store.clone().close().await;
    let (status, problem) = server.get("", "/readyz").await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(problem["type"], "/problems/not-ready", "{problem}");
    assert_eq!(problem["status"], 503, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("the store does not answer")),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_metrics_and_the_openapi_document_need_no_key() {
    let server = Server::with_conformance().await;
    let (status, health) = server.get("", "/healthz").await;
    assert_eq!((status, &health), (200, &json!({"status": "ok"})));
    let (status, doc) = server.get("", "/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    for path in [
        "/healthz",
        "/readyz",
        "/v1/messages",
        "/v1/messages/{id}",
        "/v1/directory",
        "/v1/directory/{kind}/{id}",
        "/v1/directory/{kind}/{id}/contacts/{contact}",
        "/v1/route",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    // A record's body is one of the record schemas, each described field by field.
    let record = &doc["paths"]["/v1/directory/{kind}/{id}"]["put"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_eq!(
        record["$ref"], "#/components/schemas/RecordBody",
        "{record}"
    );
    for schema in ["RecordKind", "OrganisationKind"] {
        assert!(
            doc["components"]["schemas"][schema]["enum"].is_array(),
            "{schema} is described"
        );
    }
    for schema in ["Product", "Partner", "Customer", "Subscription", "Contact"] {
        assert!(
            doc["components"]["schemas"][schema]["properties"]["id"].is_object(),
            "{schema} is described"
        );
    }

    // Every reference names a schema the document describes, and every answer has one.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} is not described"
        );
    }
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, answer) in operation["responses"].as_object().unwrap() {
                if status.starts_with('2') && status != "204" {
                    let schema = answer["content"]
                        .as_object()
                        .and_then(|c| c.values().next())
                        .map(|c| &c["schema"]);
                    assert!(
                        schema.is_some_and(|s| s.get("$ref").is_some() || s.get("type").is_some()),
                        "{method} {path} {status} has no described body: {answer}"
                    );
                }
            }
        }
    }
    // Any operation may be refused at the edge, before it runs.
    for status in ["414", "431"] {
        let answer = &doc["paths"]["/v1/messages"]["post"]["responses"][status];
        assert!(
            answer["content"]["application/problem+json"].is_object(),
            "{status}: {answer}"
        );
    }
    let view = &doc["components"]["schemas"]["MessageView"]["oneOf"];
    assert_eq!(view.as_array().map(Vec::len), Some(3), "{view}");
    for one in ["VendorView", "PartnerView", "CustomerView"] {
        assert_eq!(
            doc["components"]["schemas"][one]["additionalProperties"], false,
            "{one}'s fields tell it from the other views"
        );
    }

    let (status, metrics) = server.get("", "/metrics").await;
    assert_eq!(status, 200);
    let Value::String(metrics) = metrics else {
        panic!("metrics are text")
    };
    assert!(
        metrics.contains("herald_http_requests_total{route=\"/v1/directory\",status=\"200\"} 3"),
        "{metrics}"
    );
    server.stop().await;
}

/// Sends `head` (a request line and headers, without the blank line that ends them) over a
/// new connection as is, and answers the status, the headers (names in lower case) and the
/// body. The request is written raw, as a client that does not tidy its URI would.
async fn raw(server: &Server, head: &str) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("the server accepts");
    stream
        .write_all(format!("{head}\r\nHost: {address}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("the request is sent");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .expect("the answer is read");
    let answer = String::from_utf8(answer).expect("the answer is UTF-8");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an answer has a head");
    let mut lines = head.lines();
    let status = lines.next().expect("a status line")[9..12]
        .parse()
        .expect("a status code");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_of_the_http_layer_is_a_problem_too() {
    let server = Server::with_conformance().await;
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let auth = format!("Authorization: Bearer {vendor}");
    let long_uri = format!("/v1/messages/{}", "m".repeat(9 * 1024));
    let long_header = format!("{auth}\r\nX-Filler: {}", "f".repeat(20 * 1024));
    let cases = [
        (
            format!("GET /v1/messages/%c0%ae HTTP/1.1\r\n{auth}"),
            400,
            "/problems/malformed-request",
        ),
        (
            format!("GET /v1/nowhere HTTP/1.1\r\n{auth}"),
            404,
            "/problems/not-found",
        ),
        (
            format!("DELETE /v1/messages HTTP/1.1\r\n{auth}"),
            405,
            "/problems/method-not-allowed",
        ),
        (
            "PATCH /healthz HTTP/1.1".to_owned(),
            405,
            "/problems/method-not-allowed",
        ),
        (
            format!("GET {long_uri} HTTP/1.1\r\n{auth}"),
            414,
            "/problems/uri-too-long",
        ),
        (
            format!("GET /v1/messages HTTP/1.1\r\n{long_header}"),
            431,
            "/problems/headers-too-large",
        ),
    ];
    for (request, status, kind) in cases {
        let line = request.lines().next().unwrap_or_default();
        let line = &line[..line.len().min(60)];
        let (got, headers, body) = raw(&server, &request).await;
        assert_eq!(got, status, "{line}: {body}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/problem+json"),
            "{line}: {headers:?}"
        );
        let problem: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{line}: {e}: {body:?}"));
        assert_eq!(problem["type"], kind, "{line}: {problem}");
        assert_eq!(problem["status"], status, "{line}: {problem}");
        assert!(
            !problem["detail"].as_str().unwrap_or_default().is_empty(),
            "{line}: {problem}"
        );
        assert!(
            body.len() < 2_000,
            "{line}: the problem is {} bytes",
            body.len()
        );
        if status == 405 {
            let allow = header(&headers, "allow").unwrap_or_default();
            assert!(allow.contains("GET"), "{line}: {headers:?}");
            assert!(
                problem["detail"].as_str().unwrap().contains(allow),
                "{line}: {problem}"
            );
        }
    }
    server.stop().await;
}
