//! Email delivery against real SMTP servers over TCP: aiosmtpd (a Python server Herald did
//! not write, which parses every mail with Python's `email` package) in the clear, with a
//! login, with STARTTLS and with TLS from the first byte; and `herald-kit`'s SMTP sink,
//! taking lettre's pooled mail and stopped under a pooled connection.

#[path = "support/smtp_server.rs"]
mod smtp_server;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use herald_delivery::email::{
    compose, CustomerNames, Letter, Mail, Mailer, MailerConfig, Named, Names,
};
use herald_domain::message::Content;
use herald_domain::wire::Text;
use herald_kit::sink::Sink;
use herald_store::AttemptOutcome;
use serde_json::Value;
use smtp_server::Aiosmtpd;

const FROM: &str = "Contoso Notices <notices@vendor.example>";

/// A self-signed certificate for 127.0.0.1: the certificate and key, both PEM.
fn certificate() -> (String, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("rcgen makes a certificate");
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

/// A message in English (its default), German and Russian, with HTML-looking text.
fn content() -> Content {
    let localized = |pairs: &[(&str, &str)]| {
        Text::Localized(
            pairs
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    Content::new(
        Some(localized(&[
            ("en", "Your renewal is due"),
            ("de", "Ihre Verlängerung steht an"),
            ("ru", "Пора продлить подписку"),
        ])),
        Some(localized(&[
            ("en", "Renew <before> Friday & keep your data."),
            (
                "de",
                "Verlängern Sie <vor> Freitag & behalten Sie Ihre Daten.",
            ),
            ("ru", "Продлите до пятницы."),
        ])),
        "en".to_owned(),
    )
}

fn subscriptions() -> Vec<Named> {
    vec![Named {
        id: "sub-7".to_owned(),
        name: Some("Mail & Calendar".to_owned()),
    }]
}

/// Delivery `delivery` of the test message to `to`, read in `wanted` (the reader's locale,
/// which the content may only have the language of).
fn mail(delivery: i64, to: &str, wanted: &str) -> Mail {
    let content = content();
    let letter = compose(&content, wanted, Names::Customer(&subscriptions()));
    Mail {
        delivery,
        store: "a1b2c3".to_owned(),
        to: to.to_owned(),
        to_name: Some("Dana Müller".to_owned()),
        letter,
    }
}

fn header<'a>(mail: &'a Value, name: &str) -> Vec<&'a str> {
    mail["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .map(|h| h[1].as_str().expect("a header value"))
        .collect()
}

/// The names of the top-level header fields, as they arrived (a folded line continues the
/// field above it).
fn header_names(mail: &Value) -> BTreeSet<String> {
    mail["header_lines"]
        .as_array()
        .expect("header lines")
        .iter()
        .map(|l| l.as_str().expect("a line"))
        .filter(|l| !l.starts_with([' ', '\t']))
        .map(|l| l.split(':').next().unwrap_or(l).to_ascii_lowercase())
        .collect()
}

const HEADERS: [&str; 8] = [
    "content-language",
    "content-type",
    "date",
    "from",
    "message-id",
    "mime-version",
    "subject",
    "to",
];

#[tokio::test]
async fn a_copy_arrives_as_multipart_text_and_html_in_the_readers_language() {
    let server = Aiosmtpd::start("plain", None);
    let mailer =
        Mailer::new(&format!("smtp://127.0.0.1:{}", server.port), FROM, None).expect("a mailer");

    let attempt = mailer
        .send(&mail(42, "dana@customer.example", "de-AT"))
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    assert_eq!(attempt.code, Some(250));
    assert_eq!(attempt.reply.as_deref(), Some("2.0.0 Message accepted"));
    assert!(attempt.error.is_none());

    let got = server.next_mail();
    assert_eq!(got["mail_from"], "notices@vendor.example");
    assert_eq!(
        got["rcpt_tos"],
        serde_json::json!(["dana@customer.example"])
    );
    assert_eq!(
        header(&got, "From"),
        ["Contoso Notices <notices@vendor.example>"]
    );
    assert_eq!(header(&got, "To"), ["Dana Müller <dana@customer.example>"]);
    assert_eq!(header(&got, "Subject"), ["Ihre Verlängerung steht an"]);
    assert_eq!(header(&got, "Message-ID"), ["<d42.a1b2c3@vendor.example>"]);
    assert_eq!(header(&got, "Content-Language"), ["de"]);
    assert_eq!(
        header_names(&got),
        HEADERS.iter().map(|h| h.to_string()).collect()
    );

    assert_eq!(got["content_type"], "multipart/alternative");
    let parts = got["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert_eq!(parts[1]["content_type"], "text/html");
    let text = parts[0]["text"].as_str().expect("text");
    let html = parts[1]["text"].as_str().expect("html");
    assert!(
        text.contains("Verlängern Sie <vor> Freitag & behalten Sie Ihre Daten."),
        "{text}"
    );
    assert!(
        text.contains("Dies betrifft Ihre Abonnements:\n- Mail & Calendar (sub-7)"),
        "{text}"
    );
    assert!(
        html.contains("Verlängern Sie &lt;vor&gt; Freitag &amp; behalten"),
        "{html}"
    );
    assert!(
        html.contains("<li>Mail &amp; Calendar (sub-7)</li>"),
        "{html}"
    );
    assert!(html.contains("<html lang=\"de\">"), "{html}");

    // A reader whose language the message lacks reads the message's own locale.
    let attempt = mailer.send(&mail(43, "jo@customer.example", "fr-FR")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    let got = server.next_mail();
    assert_eq!(header(&got, "Content-Language"), ["en"]);
    assert_eq!(header(&got, "Subject"), ["Your renewal is due"]);
    assert_eq!(header(&got, "Message-ID"), ["<d43.a1b2c3@vendor.example>"]);

    // And one whose exact locale it has reads that, in any script.
    let attempt = mailer.send(&mail(44, "ivan@customer.example", "ru")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    let got = server.next_mail();
    assert_eq!(header(&got, "Subject"), ["Пора продлить подписку"]);
    let text = got["parts"][0]["text"].as_str().expect("text");
    assert!(text.contains("Продлите до пятницы."), "{text}");
    assert!(text.contains("Это касается ваших подписок:"), "{text}");
    assert_eq!(header(&got, "Content-Language"), ["ru"]);
}

#[tokio::test]
async fn a_partners_copy_names_its_customers_and_their_subscriptions() {
    let server = Aiosmtpd::start("plain", None);
    let mailer =
        Mailer::new(&format!("smtp://127.0.0.1:{}", server.port), FROM, None).expect("a mailer");
    let customers = [
        CustomerNames {
            customer: Named {
                id: "c-1".to_owned(),
                name: Some("Fabrikam <Europe>".to_owned()),
            },
            subscriptions: vec![
                Named {
                    id: "s-1".to_owned(),
                    name: None,
                },
                Named {
                    id: "s-2".to_owned(),
                    name: None,
                },
            ],
        },
        CustomerNames {
            customer: Named {
                id: "c-2".to_owned(),
                name: None,
            },
            subscriptions: vec![Named {
                id: "s-9".to_owned(),
                name: None,
            }],
        },
    ];
    let letter = compose(&content(), "en", Names::Partner(&customers));
    let attempt = mailer
        .send(&Mail {
            delivery: 7,
            store: "a1b2c3".to_owned(),
            to: "support@partner.example".to_owned(),
            to_name: None,
            letter,
        })
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    let got = server.next_mail();
    assert_eq!(header(&got, "To"), ["support@partner.example"]);
    let text = got["parts"][0]["text"].as_str().expect("text");
    assert!(
        text.contains(
            "This concerns your customers:\n- Fabrikam <Europe> (c-1): s-1, s-2\n- c-2: s-9\n"
        ),
        "{text}"
    );
    let html = got["parts"][1]["text"].as_str().expect("html");
    assert!(
        html.contains("<li>Fabrikam &lt;Europe&gt; (c-1): s-1, s-2</li>"),
        "{html}"
    );
}

#[tokio::test]
async fn a_line_break_in_a_subject_name_or_address_never_makes_a_header() {
    let server = Aiosmtpd::start("plain", None);
    let mailer =
        Mailer::new(&format!("smtp://127.0.0.1:{}", server.port), FROM, None).expect("a mailer");

    let mut sly = mail(50, "dana@customer.example", "en");
    sly.letter.subject = "Renewal\r\nBcc: thief@evil.example\r\nX-Injected: subject".to_owned();
    sly.to_name = Some("Dana\r\nX-Injected: name\nCc: thief@evil.example".to_owned());
    sly.letter.locale = "en\r\nX-Injected: locale".to_owned();
    sly.store = "a1\r\nX-Injected: store".to_owned();
    let attempt = mailer.send(&sly).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    let got = server.next_mail();
    assert_eq!(
        got["rcpt_tos"],
        serde_json::json!(["dana@customer.example"])
    );
    let mut expected: BTreeSet<String> = HEADERS.iter().map(|h| h.to_string()).collect();
    // A locale that is not a language tag is not declared at all.
    expected.remove("content-language");
    assert_eq!(header_names(&got), expected, "{:#}", got["header_lines"]);
    assert!(header(&got, "Subject")[0].contains("Bcc: thief@evil.example"));

    for to in [
        "dana@customer.example\r\nBcc: thief@evil.example",
        "dana@customer.example>\r\nRCPT TO:<thief@evil.example",
        "not an address",
    ] {
        let attempt = mailer.send(&mail(51, to, "en")).await;
        assert_eq!(attempt.outcome, AttemptOutcome::Refused, "{attempt:?}");
        let error = attempt.error.expect("a refusal says why");
        assert!(error.contains(&format!("{to:?}")), "{error}");
        assert!(error.contains("not an email address"), "{error}");
        assert_eq!(attempt.code, None);
    }

    // The server saw nothing of the refused addresses: the next mail it reports is this one.
    let attempt = mailer.send(&mail(52, "jo@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    assert_eq!(
        server.next_mail()["rcpt_tos"],
        serde_json::json!(["jo@customer.example"])
    );
}

#[tokio::test]
async fn a_permanent_refusal_is_refused_and_a_temporary_one_failed() {
    let server = Aiosmtpd::start("plain", None);
    let mailer =
        Mailer::new(&format!("smtp://127.0.0.1:{}", server.port), FROM, None).expect("a mailer");

    let attempt = mailer
        .send(&mail(60, "refuse@customer.example", "en"))
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Refused, "{attempt:?}");
    assert_eq!(attempt.code, Some(550));
    assert!(attempt
        .reply
        .as_deref()
        .unwrap_or("")
        .contains("No such mailbox here"));
    assert!(attempt
        .error
        .as_deref()
        .unwrap_or("")
        .contains("refused the mail to refuse@customer.example for good"));

    let attempt = mailer.send(&mail(61, "later@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(attempt.code, Some(451));
    assert!(attempt
        .error
        .as_deref()
        .unwrap_or("")
        .contains("again later"));

    // The pooled connection still serves the next mail.
    let attempt = mailer.send(&mail(62, "dana@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    assert_eq!(
        server.next_mail()["rcpt_tos"],
        serde_json::json!(["dana@customer.example"])
    );
}

#[tokio::test]
async fn the_url_credentials_log_in_and_wrong_ones_fail_for_now() {
    let server = Aiosmtpd::start("auth", None);
    let mailer = Mailer::new(
        &format!("smtp://herald:secret@127.0.0.1:{}", server.port),
        FROM,
        None,
    )
    .expect("a mailer");
    let attempt = mailer.send(&mail(70, "dana@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    let got = server.next_mail();
    assert_eq!(got["authenticated"], true);
    assert_eq!(got["tls"], false);

    let wrong = Mailer::new(
        &format!("smtp://herald:guess@127.0.0.1:{}", server.port),
        FROM,
        None,
    )
    .expect("a mailer");
    let attempt = wrong.send(&mail(71, "dana@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(attempt.code, Some(535));
    assert!(attempt
        .error
        .as_deref()
        .unwrap_or("")
        .contains("check the user and password"));

    let anonymous =
        Mailer::new(&format!("smtp://127.0.0.1:{}", server.port), FROM, None).expect("a mailer");
    let attempt = anonymous
        .send(&mail(72, "dana@customer.example", "en"))
        .await;
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(attempt.code, Some(530));
}

#[tokio::test]
async fn starttls_and_smtps_trust_a_private_root_certificate() {
    let certificate = certificate();
    for (mode, url) in [
        (
            "starttls",
            "smtp://herald:secret@127.0.0.1:{port}?tls=required",
        ),
        ("smtps", "smtps://127.0.0.1:{port}"),
    ] {
        let server = Aiosmtpd::start(mode, Some(&certificate));
        let url = url.replace("{port}", &server.port.to_string());

        let mailer = Mailer::new(&url, FROM, Some(certificate.0.as_bytes())).expect("a mailer");
        let attempt = mailer.send(&mail(80, "dana@customer.example", "de")).await;
        assert_eq!(
            attempt.outcome,
            AttemptOutcome::Delivered,
            "{mode}: {attempt:?}"
        );
        let got = server.next_mail();
        assert_eq!(got["tls"], true, "{mode}");
        assert_eq!(header(&got, "Content-Language"), ["de"]);

        // Without the private root, the server's certificate is not trusted.
        let untrusting = Mailer::new(&url, FROM, None).expect("a mailer");
        let attempt = untrusting
            .send(&mail(81, "dana@customer.example", "de"))
            .await;
        assert_eq!(
            attempt.outcome,
            AttemptOutcome::Failed,
            "{mode}: {attempt:?}"
        );
        let error = attempt.error.expect("a failure says why");
        assert!(
            error.to_lowercase().contains("certificate"),
            "{mode}: {error}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_fails_for_now() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.local_addr().expect("its address").port()
    };
    let mailer = Mailer::new(&format!("smtp://127.0.0.1:{port}"), FROM, None).expect("a mailer");
    let attempt = mailer.send(&mail(90, "dana@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Failed, "{attempt:?}");
    assert_eq!(attempt.code, None);
    assert!(attempt
        .error
        .expect("a failure says why")
        .contains("could not hand the mail"));
}

#[test]
fn a_mailer_that_cannot_work_says_what_to_change() {
    let error = Mailer::new("http://127.0.0.1:25", FROM, None)
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("smtp://host:port?tls=required"),
        "{error}"
    );
    let error = Mailer::new("smtp://127.0.0.1:25", "not a mailbox", None)
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .contains("\"not a mailbox\" is not a mailbox"),
        "{error}"
    );
    let error = Mailer::new("smtps://127.0.0.1:465", FROM, Some(b"not PEM"))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("root certificate"), "{error}");
    let (pem, _) = certificate();
    let error = Mailer::new("smtp://127.0.0.1:25", FROM, Some(pem.as_bytes()))
        .err()
        .expect("refused");
    assert!(error.to_string().contains("uses no TLS"), "{error}");
}

#[tokio::test]
async fn the_sink_takes_pooled_mail_from_lettre_and_unstuffs_dots() {
    let sink = Sink::start("127.0.0.1:0", 100)
        .await
        .expect("the sink starts");
    let mailer = Mailer::with_config(&MailerConfig {
        pool_size: 2,
        ..MailerConfig::new(&format!("smtp://{}", sink.addr()), FROM)
    })
    .expect("a mailer");
    let mut dotted = mail(100, "dana@customer.example", "en");
    dotted.letter = Letter {
        locale: "en".to_owned(),
        subject: "Dots".to_owned(),
        text: ".\n..two\n.one\nlast".to_owned(),
        html: "<p>.</p>".to_owned(),
    };
    let rendered = mailer.render(&dotted).expect("it renders");
    let attempt = mailer.send(&dotted).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    assert_eq!(attempt.code, Some(250));

    let mut sends = tokio::task::JoinSet::new();
    for i in 0..40 {
        let mailer = mailer.clone();
        sends.spawn(async move {
            mailer
                .send(&mail(200 + i, &format!("r{i}@customer.example"), "en"))
                .await
        });
    }
    let attempts = sends.join_all().await;
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome == AttemptOutcome::Delivered),
        "{attempts:?}"
    );
    assert!(sink.wait_for(41, Duration::from_secs(10)).await);
    assert_eq!(sink.count(), 41);
    // 41 mails, 40 of them at once, over the pool's 2 connections and no more.
    assert_eq!(sink.connections(), 2);

    let kept = sink.kept();
    let first = &kept[0];
    assert_eq!(first.from, "notices@vendor.example");
    assert_eq!(first.to, ["dana@customer.example"]);
    // Lettre stuffed the dots that begin lines; the sink took them out again.
    let body = "\r\n\r\n.\r\n..two\r\n.one\r\nlast\r\n--";
    assert!(
        String::from_utf8_lossy(&first.data).contains(body),
        "{first:?}"
    );
    assert!(String::from_utf8_lossy(&rendered).contains(body));
    let mut recipients: Vec<String> = kept[1..].iter().map(|m| m.to[0].clone()).collect();
    recipients.sort();
    let mut expected: Vec<String> = (0..40).map(|i| format!("r{i}@customer.example")).collect();
    expected.sort();
    assert_eq!(recipients, expected);
}

#[tokio::test]
async fn a_pooled_connection_the_server_dropped_is_replaced() {
    let first = Sink::start("127.0.0.1:0", 10)
        .await
        .expect("the sink starts");
    let addr = first.addr();
    let mailer = Mailer::with_config(&MailerConfig {
        pool_size: 1,
        ..MailerConfig::new(&format!("smtp://{addr}"), FROM)
    })
    .expect("a mailer");
    let attempt = mailer.send(&mail(300, "dana@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    assert_eq!(first.count(), 1);

    // The server goes away with the pooled connection and comes back on the same port.
    first.stop().await;
    let second = Sink::start(addr, 10).await.expect("the sink starts again");
    let attempt = mailer.send(&mail(301, "jo@customer.example", "en")).await;
    assert_eq!(attempt.outcome, AttemptOutcome::Delivered, "{attempt:?}");
    assert_eq!(second.count(), 1);
    assert_eq!(second.kept()[0].to, ["jo@customer.example"]);
}

#[tokio::test]
async fn a_mail_server_is_checked_before_the_first_mail_and_a_bad_one_is_named() {
    let server = Aiosmtpd::start("plain", None);
    let reachable =
        Mailer::new(&format!("smtp://127.0.0.1:{}", server.port), FROM, None).expect("a mailer");
    assert_eq!(reachable.check().await, Ok(()));

    // Nothing listens on a port just freed; a name that resolves nowhere.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    for url in [
        format!("smtp://127.0.0.1:{closed}"),
        "smtp://mail.invalid:587?tls=required".to_owned(),
    ] {
        let mailer = Mailer::new(&url, FROM, None).expect("a mailer");
        let refused = mailer.check().await.expect_err(&url);
        assert!(!refused.is_empty(), "{url}");
    }
}
