//! Email over SMTP: the mail one delivery sends, how a copy reads in its reader's locale,
//! and the [`Mailer`] that hands it to any SMTP server and reports one [`Attempt`].
//!
//! The server is named by one URL (`HERALD_SMTP_URL`): `smtp://host:port` in the clear,
//! `smtp://host:port?tls=required` for STARTTLS, `smtps://host:port` for TLS from the first
//! byte, with `user:password@` before the host to log in. TLS is rustls with the Mozilla
//! roots, plus one extra root certificate for a server signed by a private authority.
//!
//! The mailer keeps its own pool of lettre connections: at most `pool_size` open, as many
//! mails sent at once, a connection reused while it has been idle less than 30 seconds.
//! Its TCP connections send without Nagle's algorithm, so a mail is not held back waiting
//! for the server to acknowledge the one before; `smtps://` connections are therefore
//! opened here, with tokio-rustls, and handed to lettre.
//!
//! Every mail is multipart/alternative (plain text and HTML), says its language in
//! `Content-Language`, and carries a `Message-ID` made from the delivery's id and the store's
//! name, so a receiver that sees the same id twice knows it is a retry of one delivery.
//! Header values are encoded by lettre: a carriage return or line feed in a subject
//! becomes an encoded word and one in a name a space, never a new header, and an address
//! holding one does not parse and is refused.

use std::error::Error as _;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use herald_domain::message::Content;
use herald_store::{Attempt, AttemptOutcome};
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::response::Response;
use lettre::{Address, Message};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// A mailer that cannot be set up, and what to change.
#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("HERALD_SMTP_URL is not an SMTP server Herald can use ({0}); write smtp://host:port, smtp://host:port?tls=required for STARTTLS or smtps://host:port, with user:password@ before the host to log in")]
    Url(String),
    #[error("the sender {from:?} is not a mailbox ({reason}); write it as name@example.com or as Name <name@example.com>")]
    From { from: String, reason: String },
    #[error("the extra root certificate cannot be used ({0}); give one PEM certificate (-----BEGIN CERTIFICATE-----)")]
    RootCertificate(String),
    #[error("an extra root certificate was given, but HERALD_SMTP_URL uses no TLS; use smtps:// or add ?tls=required")]
    RootCertificateWithoutTls,
}

/// How the [`Mailer`] reaches its SMTP server.
#[derive(Clone, Debug)]
pub struct MailerConfig {
    /// The server's URL (`smtp://`, `smtp://…?tls=required`, `smtps://`, with optional
    /// `user:password@`).
    pub url: String,
    /// The sender: `name@example.com` or `Name <name@example.com>`. Its domain ends every
    /// `Message-ID`.
    pub from: String,
    /// One more root certificate (PEM) to trust, for a server signed by a private authority.
    pub extra_root_ca: Option<Vec<u8>>,
    /// How many connections the pool keeps open, and so how many mails are sent at once.
    pub pool_size: u32,
    /// How long making a connection, or sending one mail over it, may take before the
    /// attempt fails.
    pub timeout: Duration,
}

impl MailerConfig {
    /// A pool of 8 connections and a 30-second timeout.
    pub fn new(url: &str, from: &str) -> MailerConfig {
        MailerConfig {
            url: url.to_owned(),
            from: from.to_owned(),
            extra_root_ca: None,
            pool_size: 8,
            timeout: Duration::from_secs(30),
        }
    }
}

/// What one email delivery sends: to whom, in which locale, and the letter itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The delivery's id (`delivery_attempts.delivery`).
    pub delivery: i64,
    /// The store's own name (`store_identity`), so ids of two databases never meet.
    pub store: String,
    /// The reader's address.
    pub to: String,
    /// The reader's name, when the directory has one.
    pub to_name: Option<String>,
    pub letter: Letter,
}

/// A copy as its reader reads it: the locale it is written in, subject, plain text and
/// HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    /// One of the message's locales, declared in `Content-Language`.
    pub locale: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A subscription or customer a copy names: its id and, when known, its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub name: Option<String>,
}

impl Named {
    /// `Name (id)`, or the id alone.
    fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.id),
            None => self.id.clone(),
        }
    }
}

/// One of a partner's customers a message touches, with that partner's subscriptions with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerNames {
    pub customer: Named,
    pub subscriptions: Vec<Named>,
}

/// What a copy may name (POLICY.md, "What each copy may say").
#[derive(Clone, Copy, Debug)]
pub enum Names<'a> {
    /// The customer's own copy: the subscriptions it names.
    Customer(&'a [Named]),
    /// A partner's copy: its customers the message touches, each with this partner's
    /// subscriptions.
    Partner(&'a [CustomerNames]),
}

/// The letter of one copy for a reader of `wanted`: the message's title and body in the
/// locale [`Content::pick_locale`] picks (the reader's, its language, the message's own),
/// then what the copy may name, introduced in that language. The HTML escapes every text
/// it shows.
pub fn compose(content: &Content, wanted: &str, names: Names<'_>) -> Letter {
    let locale = content.pick_locale(Some(wanted));
    let title = content.text(&content.title, locale).trim();
    let body = content.text(&content.body, locale).trim();
    let subject = if title.is_empty() {
        body.lines().find(|l| !l.trim().is_empty()).map_or_else(
            || "A notice".to_owned(),
            |l| l.trim().chars().take(100).collect(),
        )
    } else {
        title.to_owned()
    };
    let (yours, theirs) = headings(locale);
    let (heading, lines): (&str, Vec<String>) = match names {
        Names::Customer(subscriptions) => (yours, subscriptions.iter().map(Named::label).collect()),
        Names::Partner(customers) => (
            theirs,
            customers
                .iter()
                .map(|c| {
                    let subscriptions: Vec<String> =
                        c.subscriptions.iter().map(Named::label).collect();
                    if subscriptions.is_empty() {
                        c.customer.label()
                    } else {
                        format!("{}: {}", c.customer.label(), subscriptions.join(", "))
                    }
                })
                .collect(),
        ),
    };

    let mut text = String::new();
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n",
        escape(locale),
        escape(&subject),
        escape(&subject)
    );
    text.push_str(&subject);
    text.push_str("\n\n");
    if !body.is_empty() {
        text.push_str(body);
        text.push_str("\n\n");
        for paragraph in body.split("\n\n").filter(|p| !p.trim().is_empty()) {
            let lines: Vec<String> = paragraph.trim().lines().map(escape).collect();
            let _ = writeln!(html, "<p>{}</p>", lines.join("<br>\n"));
        }
    }
    if !lines.is_empty() {
        text.push_str(heading);
        text.push('\n');
        let _ = writeln!(html, "<p>{}</p>\n<ul>", escape(heading));
        for line in &lines {
            let _ = writeln!(text, "- {line}");
            let _ = writeln!(html, "<li>{}</li>", escape(line));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</body>\n</html>\n");
    Letter {
        locale: locale.to_owned(),
        subject,
        text,
        html,
    }
}

/// The line that introduces what a customer's copy names (its subscriptions) and what a
/// partner's names (its customers), in the language of `locale`; English for a language
/// without one here.
fn headings(locale: &str) -> (&'static str, &'static str) {
    match locale.split(['-', '_']).next().unwrap_or(locale) {
        "de" => (
            "Dies betrifft Ihre Abonnements:",
            "Dies betrifft Ihre Kunden:",
        ),
        "es" => (
            "Esto afecta a sus suscripciones:",
            "Esto afecta a sus clientes:",
        ),
        "fr" => (
            "Cela concerne vos abonnements :",
            "Cela concerne vos clients :",
        ),
        "it" => (
            "Questo riguarda i tuoi abbonamenti:",
            "Questo riguarda i tuoi clienti:",
        ),
        "ja" => ("対象のサブスクリプション:", "対象のお客様:"),
        "pt" => (
            "Isto diz respeito às suas assinaturas:",
            "Isto diz respeito aos seus clientes:",
        ),
        "ru" => (
            "Это касается ваших подписок:",
            "Это касается ваших клиентов:",
        ),
        _ => (
            "This concerns your subscriptions:",
            "This concerns your customers:",
        ),
    }
}

/// `text` with the five characters HTML gives meaning to written as entities.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `Content-Language` header (RFC 3282).
#[derive(Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Whether `locale` looks like a language tag (`de`, `pt-BR`, `zh-Hant-TW`).
fn is_language_tag(locale: &str) -> bool {
    !locale.is_empty()
        && locale.len() <= 35
        && locale
            .split('-')
            .all(|p| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Sends mail through one SMTP server over a pool of connections.
#[derive(Clone)]
pub struct Mailer {
    server: Arc<Server>,
    from: Mailbox,
    /// The domain of the sender, which ends every `Message-ID`.
    domain: String,
}

/// The SMTP server and the connections open to it.
struct Server {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    /// Connections between mails, each with the time it was last used.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    /// One permit per connection the pool may hold: a send waits for one.
    permits: Semaphore,
}

/// How a connection is protected.
enum Security {
    /// In the clear (`smtp://`).
    Plain,
    /// STARTTLS (`smtp://…?tls=required`, or `?tls=opportunistic`, which goes on in the
    /// clear when the server offers none).
    StartTls {
        parameters: TlsParameters,
        required: bool,
    },
    /// TLS from the first byte (`smtps://`), made here rather than by lettre so that its
    /// TCP connection too goes without Nagle's algorithm.
    Wrapper {
        connector: TlsConnector,
        name: ServerName<'static>,
    },
}

/// Why a mail did not reach the server's final reply.
enum Trouble {
    /// The server answered with an error, or lettre could not go on.
    Smtp(lettre::transport::smtp::Error),
    /// The TCP connection could not be made or broke.
    Io(std::io::Error),
    /// STARTTLS was required and the server does not offer it.
    NoStartTls,
    /// The server did not answer in time.
    TimedOut(Duration),
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trouble::Smtp(e) => f.write_str(&chain(e)),
            Trouble::Io(e) => write!(f, "network error: {e}"),
            Trouble::NoStartTls => f.write_str(
                "the server does not offer STARTTLS, which HERALD_SMTP_URL requires (?tls=required)",
            ),
            Trouble::TimedOut(after) => write!(f, "the server did not answer within {after:?}"),
        }
    }
}

impl From<lettre::transport::smtp::Error> for Trouble {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Trouble::Smtp(e)
    }
}

/// How long a connection may sit idle before it is closed rather than used: servers drop
/// idle clients after a few minutes, and a mail sent on a dropped connection is sent twice.
const IDLE: Duration = Duration::from_secs(30);

impl Mailer {
    /// A mailer for the server at `url`, sending as `from`, trusting `extra_root_ca` (PEM)
    /// besides the usual roots; its pool keeps at most 8 connections.
    pub fn new(url: &str, from: &str, extra_root_ca: Option<&[u8]>) -> Result<Mailer, MailerError> {
        Mailer::with_config(&MailerConfig {
            extra_root_ca: extra_root_ca.map(<[u8]>::to_vec),
            ..MailerConfig::new(url, from)
        })
    }

    /// A mailer as `config` says. No connection is opened until the first mail.
    pub fn with_config(config: &MailerConfig) -> Result<Mailer, MailerError> {
        let from = Mailbox::from_str(&config.from).map_err(|e| MailerError::From {
            from: config.from.clone(),
            reason: e.to_string(),
        })?;
        let domain = from.email.domain().to_owned();
        let url = url::Url::parse(&config.url).map_err(|e| MailerError::Url(e.to_string()))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| MailerError::Url("it names no host".to_owned()))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let parameters = || tls_parameters(&host, config.extra_root_ca.as_deref());
        let (security, port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) if config.extra_root_ca.is_some() => {
                return Err(MailerError::RootCertificateWithoutTls)
            }
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some(mode @ ("required" | "opportunistic"))) => (
                Security::StartTls {
                    parameters: parameters()?,
                    required: mode == "required",
                },
                587,
            ),
            ("smtps", None) => (
                Security::Wrapper {
                    connector: TlsConnector::from(rustls_config(config.extra_root_ca.as_deref())?),
                    name: ServerName::try_from(host.clone()).map_err(|e| {
                        MailerError::Url(format!(
                            "its host cannot be checked against a certificate ({e})"
                        ))
                    })?,
                },
                465,
            ),
            (scheme, tls) => {
                return Err(MailerError::Url(match tls {
                    Some(tls) => format!(
                        "it asks for tls={tls}, which is neither required nor opportunistic"
                    ),
                    None => format!("its scheme is {scheme}:"),
                }))
            }
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|e| MailerError::Url(format!("its user or password is not UTF-8 ({e})")))
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let pool_size = config.pool_size.max(1) as usize;
        Ok(Mailer {
            server: Arc::new(Server {
                port: url.port().unwrap_or(port),
                host,
                security,
                credentials,
                hello: ClientId::default(),
                timeout: config.timeout,
                idle: Mutex::new(Vec::with_capacity(pool_size)),
                permits: Semaphore::new(pool_size),
            }),
            from,
            domain,
        })
    }

    /// Whether the mail server answers: a connection is opened as for a mail (TCP, TLS or
    /// STARTTLS, the login) within the timeout and kept for the first mail. A worker says
    /// at once when it does not, rather than let every mail wait on it in silence.
    pub async fn check(&self) -> Result<(), String> {
        let server = &self.server;
        let _permit = server
            .permits
            .acquire()
            .await
            .expect("the mailer never closes its semaphore");
        let connection = server
            .within(server.connect())
            .await
            .map_err(|e| format!("{}:{}: {e}", server.host, server.port))?;
        server
            .idle
            .lock()
            .expect("no send panics holding the pool")
            .push((connection, Instant::now()));
        Ok(())
    }

    /// The `Message-ID` of `mail`: `<d{delivery}.{store}@{domain of the sender}>`.
    pub fn message_id(&self, mail: &Mail) -> String {
        format!("<d{}.{}@{}>", mail.delivery, mail.store, self.domain)
    }

    /// The mail as lettre builds it, or why it cannot be sent, as a sentence.
    fn message(&self, mail: &Mail) -> Result<Message, String> {
        let address = Address::from_str(&mail.to).map_err(|e| {
            format!(
                "the address {:?} is not an email address Herald can send to ({e}); correct the contact's email in the directory",
                mail.to
            )
        })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(mail.to_name.as_deref().map(one_line), address))
            .subject(mail.letter.subject.clone())
            .message_id(Some(self.message_id(mail)));
        if is_language_tag(&mail.letter.locale) {
            builder = builder.header(ContentLanguage(mail.letter.locale.clone()));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.letter.text.clone(),
                mail.letter.html.clone(),
            ))
            .map_err(|e| format!("the mail to {:?} cannot be built ({e})", mail.to))
    }

    /// The mail as it goes over the wire, headers and body, or why it cannot be sent.
    pub fn render(&self, mail: &Mail) -> Result<Vec<u8>, String> {
        self.message(mail).map(|m| m.formatted())
    }

    /// Sends one mail and reports the attempt: a 2xx reply is delivered; a permanent
    /// refusal (5xx) or an address that does not parse is refused; a temporary refusal
    /// (4xx), a refused login, a connection or TLS failure is failed, to be tried again.
    pub async fn send(&self, mail: &Mail) -> Attempt {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let started = Instant::now();
        let result = match self.message(mail) {
            Ok(message) => Ok(self.server.send(&message).await),
            Err(sentence) => Err(sentence),
        };
        let latency_us = started.elapsed().as_micros() as i64;
        let attempt = |outcome, code: Option<u16>, reply: Option<String>, error| Attempt {
            at,
            latency_us,
            outcome,
            code: code.map(i64::from),
            reply,
            error,
        };
        match result {
            Err(sentence) => attempt(AttemptOutcome::Refused, None, None, Some(sentence)),
            Ok(Ok(response)) => attempt(
                AttemptOutcome::Delivered,
                Some(response.code().into()),
                Some(response.message().collect::<Vec<_>>().join(" ")),
                None,
            ),
            Ok(Err(Trouble::Smtp(e))) if e.status().is_some() => {
                let code = e.status().map_or(0, u16::from);
                let reply = e.source().map(|s| s.to_string());
                let said = reply.as_deref().unwrap_or("");
                let (outcome, error) = if matches!(code, 530 | 534 | 535 | 538) {
                    (
                        AttemptOutcome::Failed,
                        format!("the SMTP server refused Herald's login ({code} {said}); check the user and password in HERALD_SMTP_URL"),
                    )
                } else if e.is_permanent() {
                    (
                        AttemptOutcome::Refused,
                        format!(
                            "the SMTP server refused the mail to {} for good ({code} {said})",
                            mail.to
                        ),
                    )
                } else {
                    (
                        AttemptOutcome::Failed,
                        format!("the SMTP server asked to try the mail to {} again later ({code} {said})", mail.to),
                    )
                };
                attempt(outcome, Some(code), reply, Some(error))
            }
            Ok(Err(trouble)) => attempt(
                AttemptOutcome::Failed,
                None,
                None,
                Some(format!(
                    "could not hand the mail to the SMTP server at {}:{} ({trouble})",
                    self.server.host, self.server.port
                )),
            ),
        }
    }
}

impl Server {
    /// Sends `message` over an idle connection, or a new one; a connection that is still
    /// sound afterwards goes back to the pool. A reused connection that broke before the
    /// server answered is replaced once.
    async fn send(&self, message: &Message) -> Result<Response, Trouble> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the mailer never closes its semaphore");
        let data = message.formatted();
        loop {
            let (mut connection, reused) = match self.take_idle() {
                Some(connection) => (connection, true),
                None => (self.within(self.connect()).await?, false),
            };
            let sent = self
                .within(async { Ok(connection.send(message.envelope(), &data).await?) })
                .await;
            if !connection.has_broken() && !matches!(sent, Err(Trouble::TimedOut(_))) {
                self.idle
                    .lock()
                    .expect("no send panics holding the pool")
                    .push((connection, Instant::now()));
            }
            match sent {
                Err(Trouble::Smtp(e)) if reused && e.status().is_none() => continue,
                sent => return sent,
            }
        }
    }

    /// An idle connection used recently enough, closing the ones that sat too long.
    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.idle.lock().expect("no send panics holding the pool");
        while let Some((connection, since)) = idle.pop() {
            if since.elapsed() < IDLE {
                return Some(connection);
            }
        }
        None
    }

    /// `work`, or [`Trouble::TimedOut`] when it takes longer than the timeout.
    async fn within<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, Trouble>>,
    ) -> Result<T, Trouble> {
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| Trouble::TimedOut(self.timeout))?
    }

    /// A TCP connection to the server without Nagle's algorithm: lettre writes a mail and
    /// the line that ends it apart, and the server would hold back its acknowledgement of
    /// the first for 40 ms, during which the second waits.
    async fn tcp(&self) -> Result<TcpStream, Trouble> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(Trouble::Io)?;
        tcp.set_nodelay(true).map_err(Trouble::Io)?;
        Ok(tcp)
    }

    /// A new connection: TCP, then TLS or STARTTLS, then the login.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Trouble> {
        let mut connection = match &self.security {
            Security::Wrapper { connector, name } => {
                let tcp = self.tcp().await?;
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(Trouble::Io)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Tls(tls)), &self.hello).await?
            }
            Security::Plain | Security::StartTls { .. } => {
                AsyncSmtpConnection::connect_with_transport(
                    Box::new(self.tcp().await?),
                    &self.hello,
                )
                .await?
            }
        };
        if let Security::StartTls {
            parameters,
            required,
        } = &self.security
        {
            if connection.can_starttls() {
                connection.starttls(parameters.clone(), &self.hello).await?;
            } else if *required {
                connection.abort().await;
                return Err(Trouble::NoStartTls);
            }
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}

/// `name` with every control character (a line break above all) made a space: lettre
/// encodes what a name may hold, but not a line break.
fn one_line(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// An error and every cause under it, each once.
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !out.contains(&cause) {
            out.push_str(": ");
            out.push_str(&cause);
        }
        source = source.and_then(|s| s.source());
    }
    out
}

/// An `smtps://` connection, as lettre takes a stream it did not open.
#[derive(Debug)]
struct Tls(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for Tls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// The TLS client of `smtps://`: the Mozilla roots, and `extra_root_ca` (PEM) when given.
fn rustls_config(extra_root_ca: Option<&[u8]>) -> Result<Arc<ClientConfig>, MailerError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_root_ca {
        let mut found = false;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate =
                certificate.map_err(|e| MailerError::RootCertificate(e.to_string()))?;
            roots
                .add(certificate)
                .map_err(|e| MailerError::RootCertificate(e.to_string()))?;
            found = true;
        }
        if !found {
            return Err(MailerError::RootCertificate(
                "it holds no PEM certificate".to_owned(),
            ));
        }
    }
    let config = ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| MailerError::RootCertificate(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The line that opens a PEM certificate.
const CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";

/// TLS to `host` with the usual roots, and `extra_root_ca` (PEM) when given.
fn tls_parameters(host: &str, extra_root_ca: Option<&[u8]>) -> Result<TlsParameters, MailerError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(pem) = extra_root_ca {
        if !pem
            .windows(CERTIFICATE.len())
            .any(|w| w == CERTIFICATE.as_bytes())
        {
            return Err(MailerError::RootCertificate(
                "it holds no PEM certificate".to_owned(),
            ));
        }
        let certificate =
            Certificate::from_pem(pem).map_err(|e| MailerError::RootCertificate(chain(&e)))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| MailerError::RootCertificate(chain(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_domain::wire::Text;
    use std::collections::BTreeMap;

    fn content() -> Content {
        let title = BTreeMap::from([
            ("en".to_owned(), "Renewal <soon> & more".to_owned()),
            ("de".to_owned(), "Verlängerung".to_owned()),
        ]);
        let body = BTreeMap::from([
            (
                "en".to_owned(),
                "First line.\nSecond <b>line</b>.".to_owned(),
            ),
            ("de".to_owned(), "Erste Zeile.".to_owned()),
        ]);
        Content::new(
            Some(Text::Localized(title)),
            Some(Text::Localized(body)),
            "en".to_owned(),
        )
    }

    #[test]
    fn a_letter_reads_in_the_readers_language_and_escapes_its_html() {
        let subscriptions = [Named {
            id: "sub-1".to_owned(),
            name: Some("Mail & Calendar".to_owned()),
        }];
        let letter = compose(&content(), "de", Names::Customer(&subscriptions));
        assert_eq!(letter.locale, "de");
        assert_eq!(letter.subject, "Verlängerung");
        assert!(letter.text.contains("Erste Zeile."));
        assert!(letter
            .text
            .contains("Dies betrifft Ihre Abonnements:\n- Mail & Calendar (sub-1)"));
        assert!(letter.html.contains("<li>Mail &amp; Calendar (sub-1)</li>"));

        let letter = compose(&content(), "en", Names::Customer(&[]));
        assert_eq!(letter.subject, "Renewal <soon> & more");
        assert!(letter
            .html
            .contains("<h1>Renewal &lt;soon&gt; &amp; more</h1>"));
        assert!(letter.html.contains("Second &lt;b&gt;line&lt;/b&gt;."));
        assert!(!letter.text.contains("This concerns"));
    }

    #[test]
    fn a_partners_letter_lists_its_customers_with_their_subscriptions() {
        let customers = [CustomerNames {
            customer: Named {
                id: "c-1".to_owned(),
                name: Some("Contoso".to_owned()),
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
        }];
        // A French reader of a message in English and German reads English throughout.
        let letter = compose(&content(), "fr-CA", Names::Partner(&customers));
        assert_eq!(letter.locale, "en");
        assert_eq!(letter.subject, "Renewal <soon> & more");
        assert!(letter
            .text
            .contains("This concerns your customers:\n- Contoso (c-1): s-1, s-2\n"));
    }

    #[test]
    fn only_language_tags_become_content_language() {
        assert!(is_language_tag("de"));
        assert!(is_language_tag("zh-Hant-TW"));
        assert!(!is_language_tag("de\r\nBcc: x@example.com"));
        assert!(!is_language_tag(""));
        assert!(!is_language_tag("en--US"));
    }
}
