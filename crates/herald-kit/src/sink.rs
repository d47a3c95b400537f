//! A small SMTP server that accepts every mail and keeps the last few: the demo delivers
//! its mail to one it starts on loopback, and `herald bench deliver` measures sending into
//! one.
//!
//! It speaks enough of RFC 5321 for any client: `EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA`
//! (the end-of-data line, dot-unstuffing), `RSET`, `NOOP`, `QUIT`, and pipelined commands.
//! It offers no TLS and no login. It counts the mails and the connections it accepted, keeps
//! the last `keep` mails in memory, and serves at most [`MAX_CONNECTIONS`] connections at a
//! time. [`Sink::stop`] or dropping the [`Sink`] closes it and every connection.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

/// How many connections the sink serves at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 256;
/// The longest command line or data line read at once, in bytes.
const MAX_LINE: u64 = 64 * 1024;
/// The largest mail kept, in bytes; a larger one is refused with 552.
const MAX_MAIL: usize = 32 * 1024 * 1024;
/// The most recipients of one mail.
const MAX_RECIPIENTS: usize = 1000;

/// One mail the sink accepted: the envelope and the data as the client sent it, with the
/// dots that stuffed it removed and the final `.` line left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

/// A running sink; dropping it stops it.
pub struct Sink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    count: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

struct Shared {
    keep: usize,
    kept: Mutex<VecDeque<Received>>,
    count: watch::Sender<u64>,
    connections: AtomicU64,
}

impl Sink {
    /// Listens on `addr` (`127.0.0.1:0` for any free port) and keeps the last `keep` mails.
    pub async fn start(addr: impl ToSocketAddrs, keep: usize) -> io::Result<Sink> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (count, receiver) = watch::channel(0);
        let shared = Arc::new(Shared {
            keep,
            kept: Mutex::new(VecDeque::with_capacity(keep)),
            count,
            connections: AtomicU64::new(0),
        });
        let task = tokio::spawn(run(listener, shared.clone()));
        Ok(Sink {
            addr,
            shared,
            count: receiver,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many mails it accepted.
    pub fn count(&self) -> u64 {
        *self.count.borrow()
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// The last mails it accepted, oldest first.
    pub fn kept(&self) -> Vec<Received> {
        self.shared
            .kept
            .lock()
            .expect("no sink connection panics holding the mails")
            .iter()
            .cloned()
            .collect()
    }

    /// Waits until it has accepted `count` mails in all, for at most `within`; says whether
    /// it has.
    pub async fn wait_for(&self, count: u64, within: Duration) -> bool {
        let mut receiver = self.count.clone();
        tokio::time::timeout(within, receiver.wait_for(|c| *c >= count))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl Sink {
    /// Stops listening and closes every connection; the port is free once this returns.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections until the task is aborted, which drops (and so aborts) every
/// connection it serves.
async fn run(listener: TcpListener, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        connections.spawn(async move {
            // A client that goes away mid-session loses only its own unfinished mail.
            let _ = serve(stream, &shared).await;
            drop(permit);
        });
    }
}

/// An open mail transaction: the sender, then the recipients.
struct Envelope {
    from: String,
    to: Vec<String>,
}

/// One SMTP session.
async fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    writer.write_all(b"220 herald-sink ESMTP ready\r\n").await?;
    writer.flush().await?;
    let mut envelope: Option<Envelope> = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            reply(&mut writer, "500 5.5.6 Line too long, closing").await?;
            return writer.flush().await;
        }
        let command = String::from_utf8_lossy(&line);
        let command = command.trim_end_matches(['\r', '\n']);
        let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                envelope = None;
                reply(
                    &mut writer,
                    "250-herald-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8",
                )
                .await?;
            }
            "HELO" => {
                envelope = None;
                reply(&mut writer, "250 herald-sink").await?;
            }
            "MAIL" => {
                let answer = if envelope.is_some() {
                    "503 5.5.1 Nested MAIL command"
                } else if let Some(from) = path(argument, "FROM:") {
                    envelope = Some(Envelope {
                        from: from.to_owned(),
                        to: Vec::new(),
                    });
                    "250 2.1.0 Ok"
                } else {
                    "501 5.5.4 Syntax: MAIL FROM:<address>"
                };
                reply(&mut writer, answer).await?;
            }
            "RCPT" => {
                let answer = match (&mut envelope, path(argument, "TO:")) {
                    (None, _) => "503 5.5.1 Need MAIL before RCPT",
                    (Some(_), None) | (Some(_), Some("")) => "501 5.5.4 Syntax: RCPT TO:<address>",
                    (Some(e), Some(_)) if e.to.len() >= MAX_RECIPIENTS => {
                        "452 4.5.3 Too many recipients"
                    }
                    (Some(e), Some(to)) => {
                        e.to.push(to.to_owned());
                        "250 2.1.5 Ok"
                    }
                };
                reply(&mut writer, answer).await?;
            }
            "DATA" => match envelope.take() {
                Some(e) if !e.to.is_empty() => {
                    reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>").await?;
                    writer.flush().await?;
                    let Some(data) = read_data(&mut reader).await? else {
                        return Ok(());
                    };
                    if data.len() > MAX_MAIL {
                        reply(&mut writer, "552 5.3.4 Message too big").await?;
                    } else {
                        let n = shared.accept(Received {
                            from: e.from,
                            to: e.to,
                            data,
                        });
                        reply(&mut writer, &format!("250 2.0.0 Ok: queued as {n}")).await?;
                    }
                }
                open => {
                    envelope = open;
                    reply(&mut writer, "503 5.5.1 Need RCPT before DATA").await?;
                }
            },
            "RSET" => {
                envelope = None;
                reply(&mut writer, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut writer, "250 2.0.0 Ok").await?,
            "QUIT" => {
                reply(&mut writer, "221 2.0.0 Bye").await?;
                return writer.flush().await;
            }
            _ => reply(&mut writer, "502 5.5.2 Command not recognized").await?,
        }
        // Pipelined commands are answered together, once none is waiting.
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
}

impl Shared {
    /// Counts and keeps one mail; returns its number.
    fn accept(&self, mail: Received) -> u64 {
        if self.keep > 0 {
            let mut kept = self
                .kept
                .lock()
                .expect("no sink connection panics holding the mails");
            if kept.len() == self.keep {
                kept.pop_front();
            }
            kept.push_back(mail);
        }
        let mut n = 0;
        self.count.send_modify(|c| {
            *c += 1;
            n = *c;
        });
        n
    }
}

/// Writes one reply (its lines separated by CRLF already) and the final CRLF.
async fn reply(writer: &mut (impl AsyncWrite + Unpin), text: &str) -> io::Result<()> {
    writer.write_all(text.as_bytes()).await?;
    writer.write_all(b"\r\n").await
}

/// The address of `FROM:<a@b> …` or `TO:<a@b> …`, after `prefix` (any case).
fn path<'a>(argument: &'a str, prefix: &str) -> Option<&'a str> {
    let head = argument.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(&rest[..end])
}

/// Reads mail data up to the line holding a single dot, removing the dot that stuffs any
/// line beginning with one. Keeps no more than [`MAX_MAIL`] and one byte, so a larger mail
/// is known to be too large. `None` when the client went away before the end.
async fn read_data(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut chunk = Vec::new();
    let mut at_line_start = true;
    loop {
        chunk.clear();
        let n = (&mut *reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut chunk)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        let mut bytes = &chunk[..];
        if at_line_start {
            if bytes == b".\r\n" || bytes == b".\n" {
                return Ok(Some(data));
            }
            if bytes.first() == Some(&b'.') {
                bytes = &bytes[1..];
            }
        }
        at_line_start = bytes.ends_with(b"\n");
        if data.len() <= MAX_MAIL {
            let room = MAX_MAIL + 1 - data.len();
            data.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::path;

    #[test]
    fn paths_are_read_from_mail_and_rcpt_arguments() {
        assert_eq!(
            path("FROM:<a@example.com> BODY=8BITMIME", "FROM:"),
            Some("a@example.com")
        );
        assert_eq!(
            path("from: <a@example.com>", "FROM:"),
            Some("a@example.com")
        );
        assert_eq!(path("FROM:<>", "FROM:"), Some(""));
        assert_eq!(path("TO:a@example.com", "TO:"), None);
        assert_eq!(path("FROM:<a@example.com>", "TO:"), None);
        assert_eq!(path("T", "TO:"), None);
    }
}
