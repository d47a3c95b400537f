//! Bad input is refused with a named reason, and nothing is stored: a directory missing one
//! of its lists, ids over 200 bytes or holding what a reader cannot see, a contact whose
//! email is not one address, a title or body over its limit, a webhook description with
//! control characters.

use herald_store::KeyFor;
use serde_json::{json, Value};

use crate::common::{world_of, Server};

async fn vendor(server: &Server) -> String {
    server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await
}

fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_missing_any_of_its_lists_is_refused_and_nothing_is_replaced() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server).await;
    let (_, before) = server.get(&vendor, "/v1/directory").await;
    let counts = server.store.counts().await.unwrap();

    let (status, problem) = server.put(&vendor, "/v1/directory", &json!({})).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["type"], "/problems/malformed-request");
    for list in ["products", "partners", "customers", "subscriptions"] {
        assert!(detail(&problem).contains(&format!("`{list}`")), "{problem}");
    }
    let mut partial = world_of("global");
    partial.as_object_mut().unwrap().remove("subscriptions");
    let (status, problem) = server.put(&vendor, "/v1/directory", &partial).await;
    assert_eq!(status, 400, "{problem}");
    assert!(detail(&problem).contains("`subscriptions`"), "{problem}");
    assert!(!detail(&problem).contains("`customers`"), "{problem}");

    assert_eq!(server.get(&vendor, "/v1/directory").await, (200, before));
    assert_eq!(server.store.counts().await.unwrap(), counts);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_over_200_bytes_or_with_hidden_characters_are_refused_in_records_and_directories() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server).await;
    let (_, before) = server.get(&vendor, "/v1/directory").await;

    let long = "c".repeat(201);
    let (status, problem) = server
        .put(
            &vendor,
            &format!("/v1/directory/customers/{long}"),
            &json!({"id": long}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "/problems/invalid-directory");
    assert!(detail(&problem).contains("field `id`"), "{problem}");
    assert!(detail(&problem).contains("201 bytes"), "{problem}");

    let mut spoofed = world_of("global");
    spoofed["customers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "contoso\u{202E}lper"}));
    let (status, problem) = server.put(&vendor, "/v1/directory", &spoofed).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        detail(&problem).contains("customer \"contoso\\u{202E}lper\", field `id`"),
        "{problem}"
    );

    let huge = "p".repeat(1 << 20);
    let mut world = world_of("global");
    world["products"][0]["id"] = json!(huge);
    let (status, problem) = server.put(&vendor, "/v1/directory", &world).await;
    assert_eq!(status, 422, "{problem}");
    let text = problem.to_string();
    assert!(text.len() < 8 * 1024, "the refusal is {} bytes", text.len());

    assert_eq!(server.get(&vendor, "/v1/directory").await, (200, before));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_email_that_is_not_one_address_is_refused_naming_the_contact() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server).await;
    let (_, before) = server.get(&vendor, "/v1/directory").await;

    for email in ["not-an-email", "d@x.example, evil@attacker.example"] {
        let path = "/v1/directory/customers/contoso/contacts/contoso-desk";
        let contact =
            json!({"id": "contoso-desk", "name": "Desk", "email": email, "roles": ["admin"]});
        let (status, problem) = server.put(&vendor, path, &contact).await;
        assert_eq!(status, 422, "{email}: {problem}");
        assert!(
            detail(&problem).contains("contact \"contoso-desk\", field `email`"),
            "{problem}"
        );

        let mut world = world_of("global");
        world["customers"][0]["contacts"][0]["email"] = json!(email);
        let contact = world["customers"][0]["contacts"][0]["id"].clone();
        let (status, problem) = server.put(&vendor, "/v1/directory", &world).await;
        assert_eq!(status, 422, "{email}: {problem}");
        assert!(
            detail(&problem).contains(&format!(
                "contact \"{}\", field `email`",
                contact.as_str().unwrap()
            )),
            "{problem}"
        );
    }
    assert_eq!(server.get(&vendor, "/v1/directory").await, (200, before));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_message_id_or_title_is_refused_and_nothing_is_stored() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server).await;
    let counts = server.store.counts().await.unwrap();
    let message = |id: &str, title: &str| json!({"id": id, "category": "service_incident", "services": ["exchange"], "title": title});

    let huge = "m".repeat(1 << 20);
    for (body, field) in [
        (message(&huge, "Mail is slow"), "`id`"),
        (message("m\u{200B}1", "Mail is slow"), "`id`"),
        (message("big-title", &huge), "`title`"),
        (message("two-lines", "Mail\nis slow"), "`title`"),
    ] {
        let (status, problem) = server.post(&vendor, "/v1/messages", &body).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "/problems/invalid-message");
        assert!(detail(&problem).contains(field), "{problem}");
        let text = problem.to_string();
        assert!(text.len() < 8 * 1024, "the refusal is {} bytes", text.len());
    }
    let mut long_body = message("long-body", "Mail is slow");
    long_body["body"] = json!("b".repeat(64 * 1024 + 1));
    let (status, problem) = server.post(&vendor, "/v1/messages", &long_body).await;
    assert_eq!(status, 422, "{problem}");
    assert!(detail(&problem).contains("`body`"), "{problem}");

    assert_eq!(server.store.counts().await.unwrap(), counts);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_description_with_control_or_hidden_characters_is_refused() {
    let server = Server::with_conformance().await;
    let vendor = vendor(&server).await;
    for description in ["Ops\u{1b}[2J", "Ops \u{202E}kooh"] {
        let (status, problem) = server
            .post(
                &vendor,
                "/v1/endpoints",
                &json!({"url": "https://hooks.example.com/herald", "description": description}),
            )
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "/problems/invalid-endpoint");
        assert!(detail(&problem).contains("`description`"), "{problem}");
    }
    let (_, list) = server.get(&vendor, "/v1/endpoints").await;
    assert_eq!(list["endpoints"], json!([]), "{list}");
    server.stop().await;
}
