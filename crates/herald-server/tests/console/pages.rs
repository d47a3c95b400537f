//! The console's pages over HTTP: sessions, CSRF, and what each principal sees and does.

use herald_delivery::Secret;
use herald_store::{Endpoint, KeyFor};
use serde_json::{json, Value};

use crate::common::Server;
use crate::visit::{csrf_of, Visit};

/// The server with the conformance directory, and a key for each principal the tests use.
pub struct Cast {
    pub server: Server,
    pub vendor: String,
    pub gov_vendor: String,
    pub fabrikam: String,
    pub northwind: String,
    pub contoso: String,
    pub adatum: String,
}

impl Cast {
    pub async fn new() -> Cast {
        Cast::on(Server::with_conformance().await).await
    }

    /// The cast on `server`, which holds the conformance directory.
    pub async fn on(server: Server) -> Cast {
        let vendor = server
            .key(KeyFor::Vendor {
                cloud: "global".into(),
            })
            .await;
        let gov_vendor = server
            .key(KeyFor::Vendor {
                cloud: "us-gov".into(),
            })
            .await;
        let fabrikam = server.key(KeyFor::Partner("fabrikam".into())).await;
        let northwind = server.key(KeyFor::Partner("northwind".into())).await;
        let contoso = server.key(KeyFor::Customer("contoso".into())).await;
        let adatum = server.key(KeyFor::Customer("adatum".into())).await;
        Cast {
            server,
            vendor,
            gov_vendor,
            fabrikam,
            northwind,
            contoso,
            adatum,
        }
    }

    pub async fn visit(&self, key: &str) -> Visit {
        Visit::signed_in(&self.server.base, key).await
    }

    /// A dead letter to `partner`: an endpoint of its on a port nothing listens on, message
    /// `message` published through the API, and a worker that tries each delivery once.
    pub async fn dead_letter(&self, partner: &str, message: Value) -> Endpoint {
        let endpoint = self
            .server
            .partner_endpoint(
                partner,
                "http://127.0.0.1:9/hooks",
                &Secret::generate().unwrap(),
            )
            .await;
        let (status, answer) = self
            .server
            .post(&self.vendor, "/v1/messages", &message)
            .await;
        assert_eq!(status, 201, "{answer}");
        let tally = self.server.work_until_idle("0ms").await;
        assert!(tally.dead >= 1, "{tally:?}");
        endpoint
    }

    /// How many messages the global cloud holds, through the API.
    pub async fn messages(&self) -> usize {
        let (status, list) = self.server.get(&self.vendor, "/v1/messages").await;
        assert_eq!(status, 200, "{list}");
        list["messages"].as_array().unwrap().len()
    }
}

/// The compose form's fields for a regional SharePoint incident opening thread `sp-eu`.
pub fn incident_form<'a>(csrf: &'a str, action: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("category", "service_incident"),
        ("services", "sharepoint"),
        ("regions", "eu"),
        ("customers", ""),
        ("subscriptions", ""),
        ("thread", "sp-eu"),
        ("status", "investigating"),
        ("locale_1", "en-US"),
        ("title_1", "SharePoint in Europe is slow"),
        ("body_1", "Sites load slowly for some tenants in Europe."),
        ("locale_2", ""),
        ("title_2", ""),
        ("body_2", ""),
        ("id", "sp-eu-1"),
        ("explain", "contoso"),
        ("action", action),
    ]
}

#[tokio::test]
async fn a_session_is_a_strict_http_only_cookie_that_ends_when_signed_out() {
    let cast = Cast::new().await;
    let base = &cast.server.base;

    let mut anonymous = Visit::new(base);
    let home = anonymous.get("/").await;
    assert_eq!((home.status, home.location()), (303, "/sign-in"));
    let wrong = anonymous
        .sign_in(
            "hk_0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000",
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("unknown or revoked"), "{}", wrong.body);
    assert!(anonymous.cookie("herald_session").is_none());

    let mut vendor = Visit::new(base);
    let signed = vendor.sign_in(&cast.vendor).await;
    assert_eq!((signed.status, signed.location()), (303, "/"));
    let cookie = signed
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|h| h.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("herald_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP gets no Secure cookie: {cookie}"
    );
    assert!(
        !cookie.contains(&cast.vendor),
        "the cookie is a session, not the key"
    );
    let home = vendor.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("vendor · global"), "{}", home.body);
    // Never cached, never framed, scripts and forms from the console alone.
    assert_eq!(home.headers["cache-control"], "no-store");
    assert_eq!(home.headers["x-frame-options"], "DENY");
    let policy = home.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "frame-ancestors 'none'",
        "script-src 'self'",
        "form-action 'self'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }

    // Signing in again ends the session the browser held.
    let first = vendor.cookie("herald_session").unwrap().to_owned();
    let again = vendor.sign_in(&cast.vendor).await;
    assert_eq!(again.status, 303);
    assert_ne!(vendor.cookie("herald_session").unwrap(), first);
    assert!(cast
        .server
        .store
        .session(&first, i64::MAX / 2)
        .await
        .unwrap()
        .is_none());
    assert!(
        cast.server
            .store
            .session(&first, 0)
            .await
            .unwrap()
            .is_none(),
        "closed, not expired"
    );
    let home = vendor.get("/").await;
    assert_eq!(home.status, 200);

    // Behind a proxy that terminates TLS, the cookie is Secure.
    let mut tls = Visit::new(base);
    let form = tls.get("/sign-in").await;
    let over_tls = tls
        .post_with(
            "/sign-in",
            &[("csrf", &form.csrf()), ("key", &cast.fabrikam)],
            &[("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(over_tls.status, 303);
    let secure = over_tls.headers.get_all("set-cookie").iter().any(|h| {
        h.to_str().unwrap().starts_with("herald_session=")
            && h.to_str().unwrap().contains("; Secure")
    });
    assert!(secure, "{:?}", over_tls.headers);

    // Signing out ends the session in the store: the old cookie opens nothing.
    let session = vendor.cookie("herald_session").unwrap().to_owned();
    let out = vendor.post("/sign-out", &[("csrf", &home.csrf())]).await;
    assert_eq!((out.status, out.location()), (303, "/sign-in"));
    assert!(vendor.cookie("herald_session").is_none());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let old = client
        .get(format!("{base}/"))
        .header("cookie", format!("herald_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 303, "a signed-out session opens nothing");

    // A vendor key for every cloud edits only the catalog, through the API.
    let every = cast.server.key(KeyFor::VendorOfEveryCloud).await;
    let mut catalog = Visit::new(base);
    let refused = catalog.sign_in(&every).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(catalog.cookie("herald_session").is_none());
}

#[tokio::test]
async fn a_form_without_its_token_or_from_another_site_is_refused_and_changes_nothing() {
    let cast = Cast::new().await;
    let mut vendor = cast.visit(&cast.vendor).await;
    let compose = vendor.get("/compose").await;
    assert_eq!(compose.status, 200, "{}", compose.body);
    let csrf = compose.csrf();

    let mut without = incident_form("", "publish");
    without.retain(|(k, _)| *k != "csrf");
    let answer = vendor.post("/compose", &without).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("did not come from this console"),
        "{}",
        answer.body
    );
    let answer = vendor
        .post("/compose", &incident_form("0123456789abcdef", "publish"))
        .await;
    assert_eq!(answer.status, 403);
    // Another visitor's token is no good either.
    let other = cast.visit(&cast.vendor).await;
    let mut other = other;
    let theirs = other.get("/compose").await.csrf();
    assert_ne!(theirs, csrf);
    let answer = vendor
        .post("/compose", &incident_form(&theirs, "publish"))
        .await;
    assert_eq!(answer.status, 403);
    // The right token, sent from another site.
    let form = incident_form(&csrf, "publish");
    let answer = vendor
        .post_with("/compose", &form, &[("origin", "http://attacker.example")])
        .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("another site"), "{}", answer.body);
    let answer = vendor
        .post_with("/compose", &form, &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(cast.messages().await, 0, "nothing refused was published");

    // The sign-in form too carries a token of its own.
    let mut stranger = Visit::new(&cast.server.base);
    let answer = stranger
        .post("/sign-in", &[("csrf", "forged"), ("key", &cast.vendor)])
        .await;
    assert_eq!(answer.status, 403);
    assert!(stranger.cookie("herald_session").is_none());

    // The same form from this console is published.
    let origin = cast.server.base.clone();
    let answer = vendor
        .post_with(
            "/compose",
            &form,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(
        (answer.status, answer.location()),
        (303, "/messages/sp-eu-1"),
        "{}",
        answer.body
    );
    assert_eq!(cast.messages().await, 1);
}

#[tokio::test]
async fn an_incident_is_previewed_published_read_updated_and_resolved_each_principal_seeing_its_own(
) {
    let cast = Cast::new().await;
    let mut vendor = cast.visit(&cast.vendor).await;
    let csrf = vendor.get("/compose").await.csrf();
    cast.server
        .partner_endpoint(
            "fabrikam",
            "http://127.0.0.1:9/hooks",
            &Secret::generate().unwrap(),
        )
        .await;

    // The audience, before anything is stored.
    let preview = vendor
        .post("/compose", &incident_form(&csrf, "preview"))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    for expected in [
        "Audience",
        "told directly",
        "<code>contoso</code>",
        "<code>fabrikam</code>",
        "Emails by language",
        "en-US",
        "Why <code>contoso</code> hears",
        "SharePoint in Europe is slow",
        "<strong>2</strong> emails",
        "<strong>1</strong> webhook events",
    ] {
        assert!(
            preview.body.contains(expected),
            "the preview lacks {expected:?}: {}",
            preview.body
        );
    }
    assert_eq!(cast.messages().await, 0, "a preview stores nothing");
    assert!(
        !preview.body.contains("usgov"),
        "the regions offered are the vendor's cloud's"
    );

    // A refusal keeps what was typed and says what is wrong.
    let mut broken = incident_form(&csrf, "preview");
    broken.retain(|(k, _)| *k != "services" && *k != "regions");
    let refused = vendor.post("/compose", &broken).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert!(refused.body.contains("SharePoint in Europe is slow"));

    let published = vendor
        .post("/compose", &incident_form(&csrf, "publish"))
        .await;
    assert_eq!(
        published.location(),
        "/messages/sp-eu-1",
        "{}",
        published.body
    );
    let page = vendor.get("/messages/sp-eu-1").await;
    assert_eq!(page.status, 200);
    for expected in [
        "Deliveries by channel",
        "email",
        "Decisions",
        "why?",
        "Dead letters",
    ] {
        assert!(
            page.body.contains(expected),
            "the message page lacks {expected:?}"
        );
    }
    let why = vendor
        .get("/messages/sp-eu-1/explain?customer=contoso")
        .await;
    assert_eq!(why.status, 200);
    assert!(why.body.contains("heard"), "{}", why.body);

    // The partner sees it under its customer; the customer in its inbox, unread.
    let mut fabrikam = cast.visit(&cast.fabrikam).await;
    let notices = fabrikam.get("/").await;
    assert!(
        notices.body.contains("Customer <code>contoso</code>"),
        "{}",
        notices.body
    );
    assert!(notices.body.contains("SharePoint in Europe is slow"));
    let mut contoso = cast.visit(&cast.contoso).await;
    let inbox = contoso.get("/").await;
    assert!(inbox.body.contains("1 unread"), "{}", inbox.body);
    assert!(inbox.body.contains("class=\"unread\""));
    let read = contoso.get("/messages/sp-eu-1").await;
    assert_eq!(read.status, 200);
    assert!(read.body.contains("Sites load slowly"));
    let inbox = contoso.get("/").await;
    assert!(inbox.body.contains("0 unread"), "{}", inbox.body);
    assert!(!inbox.body.contains("class=\"unread\""));
    assert!(inbox.body.contains("Open incidents affecting you"));

    // Nobody else may know of it: the same 404 page as for what does not exist.
    let mut northwind = cast.visit(&cast.northwind).await;
    let mut adatum = cast.visit(&cast.adatum).await;
    let mut gov = cast.visit(&cast.gov_vendor).await;
    for (who, visit) in [
        ("northwind", &mut northwind),
        ("adatum", &mut adatum),
        ("the us-gov vendor", &mut gov),
    ] {
        for path in [
            "/messages/sp-eu-1",
            "/threads/sp-eu",
            "/messages/no-such-message",
        ] {
            let answer = visit.get(path).await;
            assert_eq!(answer.status, 404, "{who} {path}");
            assert!(
                answer.body.contains("Not found"),
                "{who} {path}: {}",
                answer.body
            );
            assert!(!answer.body.contains("SharePoint"), "{who} {path}");
        }
        let home = visit.get("/").await;
        assert!(!home.body.contains("SharePoint"), "{who}'s home");
    }
    // Nor may a partner or customer use the vendor's pages.
    let answer = fabrikam
        .post("/compose", &incident_form(&notices.csrf(), "publish"))
        .await;
    assert_eq!(answer.status, 403);

    // An update reaches both; resolving it closes the partner's notice.
    let thread = vendor.get("/threads/sp-eu").await;
    assert!(thread.body.contains("Post an update"));
    let update = vendor
        .post(
            "/threads/sp-eu/update",
            &[
                ("csrf", &csrf),
                ("status", "monitoring"),
                ("title", "SharePoint in Europe: fix deployed"),
                ("body", "We are watching it recover."),
            ],
        )
        .await;
    assert_eq!(
        (update.status, update.location()),
        (303, "/threads/sp-eu"),
        "{}",
        update.body
    );
    for visit in [&mut fabrikam, &mut contoso] {
        let timeline = visit.get("/threads/sp-eu").await;
        assert_eq!(timeline.status, 200);
        assert!(timeline.body.contains("fix deployed"), "{}", timeline.body);
        assert!(timeline.body.contains("status-monitoring"));
        assert!(!timeline.body.contains("Post an update"));
    }
    let resolve = vendor
        .post(
            "/threads/sp-eu/update",
            &[("csrf", &csrf), ("status", "resolved")],
        )
        .await;
    assert_eq!(resolve.status, 303, "{}", resolve.body);
    let notices = fabrikam.get("/").await;
    assert!(
        notices.body.contains("0 open incidents"),
        "{}",
        notices.body
    );
    let home = contoso.get("/").await;
    assert!(home.body.contains("Resolved incidents"), "{}", home.body);
    assert!(!home.body.contains("Open incidents affecting you"));
    let resolved = vendor.get("/threads/sp-eu").await;
    assert!(resolved.body.contains("status-resolved"));
    assert!(!resolved.body.contains("Post an update"));
    assert_eq!(cast.messages().await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_replays_a_dead_letter_from_the_console() {
    let cast = Cast::new().await;
    cast.dead_letter(
        "northwind",
        json!({"id": "teams-down", "category": "service_incident", "services": ["teams"], "title": "Teams sign-in failures"}),
    )
    .await;

    let mut vendor = cast.visit(&cast.vendor).await;
    let dead = vendor.get("/deliveries").await;
    assert!(dead.body.contains("Replay delivery"), "{}", dead.body);
    let page = vendor.get("/messages/teams-down").await;
    assert!(
        page.body.contains("dead <strong>1</strong>"),
        "{}",
        page.body
    );
    let action = page
        .body
        .split("action=\"/deliveries/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a replay form")
        .to_owned();
    let id: i64 = action.parse().unwrap();
    // Northwind sees its own dead letter, and may not replay it without the token.
    let mut northwind = cast.visit(&cast.northwind).await;
    let refused = northwind
        .post(&format!("/deliveries/{id}/replay"), &[("csrf", "nope")])
        .await;
    assert_eq!(refused.status, 403);

    let replayed = vendor
        .post(
            &format!("/deliveries/{id}/replay"),
            &[("csrf", &csrf_of(&page.body))],
        )
        .await;
    assert_eq!(
        (replayed.status, replayed.location()),
        (303, "/messages/teams-down"),
        "{}",
        replayed.body
    );
    let (status, delivery) = cast
        .server
        .get(&cast.vendor, &format!("/v1/deliveries/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(delivery["status"], "retrying", "{delivery}");
}

#[tokio::test]
async fn a_browser_gets_a_page_for_what_does_not_exist_and_a_client_a_problem() {
    let server = Server::start().await;
    let mut browser = Visit::new(&server.base);
    let page = browser.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.starts_with("<!DOCTYPE html>"), "{}", page.body);
    assert!(page.body.contains("Not found"));
    let (status, problem) = server.get("", "/no/such/page").await;
    assert_eq!(status, 404);
    assert_eq!(problem["status"], 404);
    // What the framework cannot read of a console form is a page too.
    let vendor = server
        .key(KeyFor::Vendor {
            cloud: "global".into(),
        })
        .await;
    let mut signed = Visit::signed_in(&server.base, &vendor).await;
    let csrf = signed.get("/").await.csrf();
    let unread = signed
        .post("/deliveries/not-a-number/replay", &[("csrf", &csrf)])
        .await;
    assert_eq!(unread.status, 400);
    assert!(
        unread.body.starts_with("<!DOCTYPE html>"),
        "{}",
        unread.body
    );
    assert_eq!(unread.headers["x-frame-options"], "DENY");
    for asset in ["/assets/console.css", "/assets/live.js"] {
        let answer = browser.get(asset).await;
        assert_eq!(answer.status, 200, "{asset}");
        assert!(
            !answer.body.contains("http://") && !answer.body.contains("https://"),
            "{asset} fetches nothing from elsewhere"
        );
    }
}

#[tokio::test]
async fn the_vendor_browses_its_own_cloud_and_reads_its_audit_log_and_no_one_else_may() {
    let cast = Cast::new().await;
    let mut vendor = cast.visit(&cast.vendor).await;
    let found = vendor.get("/directory?q=CONT").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(
        found.body.contains("/directory/customers/contoso"),
        "{}",
        found.body
    );
    assert!(
        !found.body.contains("adatum"),
        "the search narrows: {}",
        found.body
    );
    let all = vendor.get("/directory").await;
    assert!(all.body.contains("/directory/partners/fabrikam"));
    assert!(
        !all.body.contains("gov-fabrikam"),
        "another cloud's partner"
    );
    let contoso = vendor.get("/directory/customers/contoso").await;
    assert_eq!(contoso.status, 200);
    for expected in [
        "contoso-e3",
        "contoso-azure",
        "it@contoso.example",
        "enterprise_agreement",
    ] {
        assert!(
            contoso.body.contains(expected),
            "{expected}: {}",
            contoso.body
        );
    }
    let partner = vendor.get("/directory/partners/fabrikam").await;
    assert!(
        partner.body.contains("ops@fabrikam.example"),
        "{}",
        partner.body
    );
    for path in [
        "/directory/customers/gov-dept",
        "/directory/partners/gov-fabrikam",
        "/directory/customers/nobody",
        "/directory/products/m365-e3",
    ] {
        let answer = vendor.get(path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert!(!answer.body.contains("gov.fabrikam"), "{path}");
    }

    let csrf = vendor.get("/compose").await.csrf();
    vendor
        .post("/compose", &incident_form(&csrf, "publish"))
        .await;
    let audit = vendor.get("/audit").await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("message.publish"), "{}", audit.body);
    assert!(audit.body.contains("sp-eu-1"));
    assert!(audit.body.contains("(the vendor)"));
    let mut gov = cast.visit(&cast.gov_vendor).await;
    assert!(
        !gov.get("/audit").await.body.contains("sp-eu-1"),
        "another cloud's log"
    );

    let mut fabrikam = cast.visit(&cast.fabrikam).await;
    let mut contoso = cast.visit(&cast.contoso).await;
    for visit in [&mut fabrikam, &mut contoso] {
        for path in [
            "/directory",
            "/directory/customers/contoso",
            "/audit",
            "/compose",
        ] {
            let answer = visit.get(path).await;
            assert_eq!(answer.status, 403, "{path}: {}", answer.body);
            assert!(answer.body.contains("Not allowed"), "{path}");
        }
    }
}

/// A webhook receiver on loopback that takes every event: its URL.
async fn accepting_receiver() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 16384];
                let _ = socket.read(&mut request).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_registers_tests_and_rotates_its_endpoint_and_replays_what_died() {
    let mut config = herald_server::ServeConfig::default();
    config.webhooks.allow_private = true;
    let cast = Cast::on(Server::with_conformance_and(config).await).await;
    let mut fabrikam = cast.visit(&cast.fabrikam).await;
    let page = fabrikam.get("/endpoints").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No endpoint yet"));
    let csrf = page.csrf();

    let refused = fabrikam
        .post(
            "/endpoints",
            &[("csrf", &csrf), ("url", "ftp://files.example/hooks")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("`url`"), "{}", refused.body);
    let receiver = accepting_receiver().await;
    let registered = fabrikam
        .post(
            "/endpoints",
            &[
                ("csrf", &csrf),
                ("url", &receiver),
                ("description", "Service desk"),
                ("categories", "service_incident"),
                ("mode", "per_customer"),
            ],
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let secret = between(&registered.body, "<code class=\"token\">", "<");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(registered.body.contains("one event per customer"));
    assert!(registered.body.contains("service_incident"));
    let id = between(&registered.body, "action=\"/endpoints/", "/");
    let (status, listed) = cast.server.get(&cast.fabrikam, "/v1/endpoints").await;
    assert_eq!(status, 200);
    assert_eq!(listed["endpoints"][0]["id"], id.as_str(), "{listed}");
    assert!(
        !fabrikam.get("/endpoints").await.body.contains(&secret),
        "shown once"
    );

    let tested = fabrikam
        .post(&format!("/endpoints/{id}/test"), &[("csrf", &csrf)])
        .await;
    assert_eq!(tested.status, 200, "{}", tested.body);
    assert!(
        tested.body.contains("<strong>delivered</strong>"),
        "{}",
        tested.body
    );
    let rotated = fabrikam
        .post(&format!("/endpoints/{id}/rotate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(rotated.status, 200);
    let new_secret = between(&rotated.body, "<code class=\"token\">", "<");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);

    // Another partner cannot reach it.
    let mut northwind = cast.visit(&cast.northwind).await;
    let theirs = northwind.get("/endpoints").await;
    assert!(!theirs.body.contains(&id));
    for verb in ["test", "rotate"] {
        let answer = northwind
            .post(
                &format!("/endpoints/{id}/{verb}"),
                &[("csrf", &theirs.csrf())],
            )
            .await;
        assert_eq!(answer.status, 404, "{verb}");
    }
    assert_eq!(northwind.get(&format!("/endpoints/{id}")).await.status, 404);

    // An endpoint nothing answers: its dead delivery, with the attempt, replayed.
    let dead_end = cast
        .dead_letter(
            "fabrikam",
            json!({"id": "exchange-down", "category": "service_incident", "services": ["exchange"], "title": "Exchange sign-in failures"}),
        )
        .await;
    let failures = fabrikam.get(&format!("/endpoints/{}", dead_end.id)).await;
    assert_eq!(failures.status, 200, "{}", failures.body);
    assert!(
        failures.body.contains("<strong>failed</strong>"),
        "{}",
        failures.body
    );
    assert!(failures.body.contains("badge dead"));
    let delivery = between(&failures.body, "action=\"/deliveries/", "/");
    let replayed = fabrikam
        .post(
            &format!("/deliveries/{delivery}/replay"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(replayed.status, 303, "{}", replayed.body);
    let again = fabrikam.get(&format!("/endpoints/{}", dead_end.id)).await;
    assert!(again.body.contains("badge retrying"), "{}", again.body);
}

#[tokio::test]
async fn a_partner_with_many_messages_sees_each_endpoints_own_failures_and_every_title_in_its_inbox(
) {
    let cast = Cast::new().await;
    let quiet = cast
        .dead_letter(
            "fabrikam",
            json!({"id": "exchange-down", "category": "service_incident", "services": ["exchange"], "title": "Exchange sign-in failures"}),
        )
        .await;
    let (status, disabled) = cast
        .server
        .post(
            &cast.fabrikam,
            &format!("/v1/endpoints/{}/disable", quiet.id),
            &json!({"reason": "moving to a new receiver"}),
        )
        .await;
    assert_eq!(status, 200, "{disabled}");
    let busy = cast
        .server
        .partner_endpoint(
            "fabrikam",
            "http://127.0.0.1:9/other",
            &Secret::generate().unwrap(),
        )
        .await;
    for i in 0..60 {
        let (status, answer) = cast
            .server
            .post(
                &cast.vendor,
                "/v1/messages",
                &json!({"id": format!("outage-{i:02}"), "category": "service_incident", "services": ["exchange"], "title": "Exchange is down again"}),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
    }
    let tally = cast.server.work_until_idle("0ms").await;
    assert_eq!(tally.dead, 60, "{tally:?}");

    let mut fabrikam = cast.visit(&cast.fabrikam).await;
    let own = fabrikam.get(&format!("/endpoints/{}", quiet.id)).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body.matches("badge dead").count(), 1, "{}", own.body);
    assert!(own.body.contains("exchange-down"), "{}", own.body);
    assert!(!own.body.contains("outage-"), "{}", own.body);
    assert!(!own.body.contains("newest"), "{}", own.body);
    let other = fabrikam.get(&format!("/endpoints/{}", busy.id)).await;
    assert_eq!(
        other.body.matches("badge dead").count(),
        50,
        "{}",
        other.body
    );
    assert!(other.body.contains("outage-59"), "{}", other.body);
    assert!(!other.body.contains("exchange-down"), "{}", other.body);
    assert!(
        other.body.contains("The newest 50 are shown"),
        "{}",
        other.body
    );

    // The inbox lists each message with its own title, newest first.
    let inbox = fabrikam.get("/inbox").await;
    assert!(inbox.body.contains("61 unread"), "{}", inbox.body);
    let rows: Vec<&str> = inbox.body.split("<li class=\"unread\">").skip(1).collect();
    assert_eq!(rows.len(), 61, "{}", inbox.body);
    assert!(rows[0].contains("/messages/outage-59\">Exchange is down again<"));
    assert!(rows[60].contains("/messages/exchange-down\">Exchange sign-in failures<"));
}

/// The text of `page` between the first `start` and the next `end`.
fn between(page: &str, start: &str, end: &str) -> String {
    let from = page
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} is not in the page: {page}"))
        + start.len();
    page[from..]
        .split(end)
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Opens `/live` as `visit`'s browser would, and reads it in the background: the stream's
/// text so far, and whether it has ended.
async fn listen(base: &str, session: &str) -> tokio::task::JoinHandle<String> {
    let response = reqwest::Client::new()
        .get(format!("{base}/live"))
        .header("cookie", format!("herald_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    tokio::spawn(async move { response.text().await.unwrap_or_default() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_page_hears_of_news_and_its_stream_ends_with_the_session_or_the_server() {
    let cast = Cast::new().await;
    let base = cast.server.base.clone();
    let mut contoso = cast.visit(&cast.contoso).await;
    let session = contoso.cookie("herald_session").unwrap().to_owned();
    let stream = listen(&base, &session).await;
    let csrf = contoso.get("/").await.csrf();
    cast.server
        .post(
            &cast.vendor,
            "/v1/messages",
            &json!({"id": "exchange-down", "category": "service_incident", "services": ["exchange"], "title": "Exchange is down"}),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    // Signing out ends the stream: it does not go on for a session that is gone.
    contoso.post("/sign-out", &[("csrf", &csrf)]).await;
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), stream)
        .await
        .expect("the stream ends once the session is signed out")
        .unwrap();
    assert!(heard.contains("event: change\ndata: changed"), "{heard:?}");

    // A server stopping ends every live stream, so a page left open does not hold it up.
    let vendor = cast.visit(&cast.vendor).await;
    let stream = listen(&base, vendor.cookie("herald_session").unwrap()).await;
    tokio::time::timeout(std::time::Duration::from_secs(10), cast.server.stop())
        .await
        .expect("the server stops with a live page open");
    tokio::time::timeout(std::time::Duration::from_secs(5), stream)
        .await
        .expect("the stream ended")
        .unwrap();
}

#[tokio::test]
async fn ids_with_slashes_and_question_marks_link_to_their_own_pages() {
    let cast = Cast::new().await;
    let id = "ops/2026?eu#1%";
    let (status, answer) = cast
        .server
        .post(
            &cast.vendor,
            "/v1/messages",
            &json!({"id": id, "category": "service_incident", "services": ["sharepoint"], "regions": ["eu"],
                    "thread": "eu/sharepoint", "status": "investigating", "title": "Odd ids"}),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let mut vendor = cast.visit(&cast.vendor).await;
    let list = vendor.get("/").await;
    let link = "/messages/ops%2F2026%3Feu%231%25";
    assert!(list.body.contains(link), "{}", list.body);
    assert!(list.body.contains("/threads/eu%2Fsharepoint"));
    let page = vendor.get(link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Odd ids"));
    let thread = vendor.get("/threads/eu%2Fsharepoint").await;
    assert_eq!(thread.status, 200);
    let csrf = thread.csrf();
    // The same form sent twice is one update.
    for _ in 0..2 {
        let update = vendor
            .post(
                "/threads/eu%2Fsharepoint/update",
                &[
                    ("csrf", &csrf),
                    ("status", "resolved"),
                    ("id", "ops/2026?eu#2"),
                ],
            )
            .await;
        assert_eq!(
            update.location(),
            "/threads/eu%2Fsharepoint",
            "{}",
            update.body
        );
    }
    assert_eq!(cast.messages().await, 2);
}

#[tokio::test]
async fn the_vendor_finds_customers_writes_in_two_locales_and_filters_its_list() {
    let cast = Cast::new().await;
    let mut vendor = cast.visit(&cast.vendor).await;
    let csrf = vendor.get("/compose").await.csrf();
    let mut form = incident_form(&csrf, "find");
    form.push(("find", "ltd"));
    let found = vendor.post("/compose", &form).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(
        found.body.contains("name=\"customers\" value=\"contoso\""),
        "a customer found by its name (Contoso Ltd) can be ticked: {}",
        found.body
    );
    assert!(
        found.body.contains("SharePoint in Europe is slow"),
        "the draft is kept"
    );
    assert!(
        !found.body.contains("value=\"gov-dept\""),
        "another cloud's customers"
    );

    let two_locales: Vec<(&str, &str)> = incident_form(&csrf, "publish")
        .into_iter()
        .map(|(k, v)| match k {
            "locale_2" => (k, "ru-RU"),
            "title_2" => (k, "SharePoint в Европе работает медленно"),
            "body_2" => (k, "Сайты загружаются медленно."),
            _ => (k, v),
        })
        .collect();
    let published = vendor.post("/compose", &two_locales).await;
    assert_eq!(
        published.location(),
        "/messages/sp-eu-1",
        "{}",
        published.body
    );
    let page = vendor.get("/messages/sp-eu-1").await;
    assert!(
        page.body.contains("SharePoint в Европе работает медленно"),
        "{}",
        page.body
    );
    assert!(page.body.contains("lang=\"ru-RU\""));
    let (_, stored) = cast.server.get(&cast.vendor, "/v1/messages/sp-eu-1").await;
    assert_eq!(
        stored["request"]["title"]["ru-RU"], "SharePoint в Европе работает медленно",
        "{stored}"
    );

    cast.server
        .post(
            &cast.vendor,
            "/v1/messages",
            &json!({"id": "azure-news", "category": "product", "products": ["azure-plan"], "title": "Azure news"}),
        )
        .await;
    let incidents = vendor.get("/?category=service_incident").await;
    assert!(incidents.body.contains("sp-eu-1") && !incidents.body.contains("azure-news"));
    let thread = vendor.get("/?thread=sp-eu").await;
    assert!(thread.body.contains("sp-eu-1") && !thread.body.contains("azure-news"));
    let all = vendor.get("/").await;
    assert!(all.body.contains("sp-eu-1") && all.body.contains("azure-news"));
}
