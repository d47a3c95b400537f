//! The SMTP sink spoken to by hand, one command at a time and pipelined: commands out of
//! order refused, dots unstuffed, two mails on one connection kept as they were sent.

use std::time::Duration;

use herald_kit::sink::Sink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;

/// Sends `lines` at once (pipelined) and reads one reply per expected code.
async fn exchange(
    reader: &mut AsyncBufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    lines: &str,
    codes: &[&str],
) {
    writer
        .write_all(lines.as_bytes())
        .await
        .expect("the sink reads");
    for code in codes {
        loop {
            let mut reply = String::new();
            reader
                .read_line(&mut reply)
                .await
                .expect("the sink answers");
            assert!(
                reply.starts_with(code),
                "expected {code}, got {reply:?} after {lines:?}"
            );
            if reply.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    }
}

#[tokio::test]
async fn the_sink_speaks_smtp_to_a_client_by_hand() {
    let sink = Sink::start("127.0.0.1:0", 10)
        .await
        .expect("the sink starts");
    let (read, mut writer) = TcpStream::connect(sink.addr())
        .await
        .expect("the sink accepts")
        .into_split();
    let mut reader = AsyncBufReader::new(read);
    exchange(&mut reader, &mut writer, "", &["220"]).await;
    // Commands out of order are refused and change nothing.
    exchange(
        &mut reader,
        &mut writer,
        "RCPT TO:<a@x.example>\r\nDATA\r\n",
        &["503", "503"],
    )
    .await;
    exchange(
        &mut reader,
        &mut writer,
        "EHLO client.example\r\n",
        &["250"],
    )
    .await;
    exchange(
        &mut reader,
        &mut writer,
        "MAIL FROM:<s@x.example>\r\nDATA\r\n",
        &["250", "503"],
    )
    .await;
    exchange(
        &mut reader,
        &mut writer,
        "MAIL FROM:<t@x.example>\r\n",
        &["503"],
    )
    .await;
    exchange(
        &mut reader,
        &mut writer,
        "RSET\r\nNOOP\r\nVRFY a\r\nMAIL FROM:bare\r\n",
        &["250", "250", "502", "501"],
    )
    .await;
    // A pipelined transaction, with a stuffed dot and a line that is only a dot.
    exchange(
        &mut reader,
        &mut writer,
        "MAIL FROM:<s@x.example> BODY=8BITMIME\r\nRCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nDATA\r\n",
        &["250", "250", "250", "354"],
    )
    .await;
    exchange(
        &mut reader,
        &mut writer,
        "Subject: hi\r\n\r\n..\r\n...leading\r\nend\r\n.\r\n",
        &["250"],
    )
    .await;
    // A second mail on the same connection, then goodbye.
    exchange(
        &mut reader,
        &mut writer,
        "MAIL FROM:<>\r\nRCPT TO:<c@x.example>\r\nDATA\r\n",
        &["250", "250", "354"],
    )
    .await;
    exchange(
        &mut reader,
        &mut writer,
        "body\r\n.\r\nQUIT\r\n",
        &["250", "221"],
    )
    .await;
    let mut rest = String::new();
    assert_eq!(
        reader.read_line(&mut rest).await.expect("the sink closes"),
        0
    );

    assert!(sink.wait_for(2, Duration::from_secs(5)).await);
    let kept = sink.kept();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].from, "s@x.example");
    assert_eq!(kept[0].to, ["a@x.example", "b@x.example"]);
    assert_eq!(
        kept[0].data,
        b"Subject: hi\r\n\r\n.\r\n..leading\r\nend\r\n"
    );
    assert_eq!(kept[1].from, "");
    assert_eq!(kept[1].to, ["c@x.example"]);
    assert_eq!(kept[1].data, b"body\r\n");
    assert_eq!(sink.connections(), 1);
}
