use super::*;
use crate::smtp::tls::TlsOptions;
use crate::smtp::{Target, TlsMode};
use std::sync::Arc;

fn transcript(c: &mut Console) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(e) = c.poll_event() {
        if let ConsoleEvent::Transcript(t) = e {
            out.push(t.text);
        }
    }
    out
}

fn wire(c: &mut Console) -> String {
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn typed_lines_are_sent_and_replies_matched_in_order() {
    let now = Instant::now();
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 mx.example.org ESMTP\r\n");
    assert_eq!(c.state().server_name.as_deref(), Some("mx.example.org"));
    // Three at once: pipelining.
    c.send_text(
        now,
        "MAIL FROM:<a@example.org>\nRCPT TO:<b@example.org>\nRSET\n",
    );
    assert_eq!(
        wire(&mut c),
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRSET\r\n"
    );
    assert_eq!(c.state().awaiting, 3);
    c.handle_input(now, b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n");
    assert!(c.state().in_transaction);
    c.handle_input(now, b"250 2.0.0 reset\r\n");
    assert!(!c.state().in_transaction);
    assert_eq!(c.state().awaiting, 0);
}

#[test]
fn auth_typed_or_helped_never_shows_the_secret() {
    let now = Instant::now();
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.send_text(now, "AUTH PLAIN AGFsaWNlAHNlY3JldA==");
    c.handle_input(now, b"535 5.7.8 no\r\n");
    c.send_text(now, "AUTH LOGIN");
    c.handle_input(now, b"334 VXNlcm5hbWU6\r\n");
    c.send_text(now, "YWxpY2U=");
    c.handle_input(now, b"334 UGFzc3dvcmQ6\r\n");
    c.send_text(now, "c2VjcmV0");
    c.handle_input(now, b"235 ok\r\n");
    assert!(c.state().authenticated);
    let wire_typed = wire(&mut c);
    assert!(wire_typed.contains("c2VjcmV0\r\n"), "sent as typed");
    let lines = transcript(&mut c);
    assert!(
        lines.contains(&"AUTH PLAIN <redacted>".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"challenge decoded: Username:".to_string()),
        "{lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("c2VjcmV0") || l.contains("YWxpY2U")),
        "{lines:?}"
    );

    // The helper: LOGIN answered for you.
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    let _ = wire(&mut c);
    c.auth(now, Mechanism::Login, "alice", "s3cret pass");
    assert_eq!(wire(&mut c), "AUTH LOGIN\r\n");
    c.handle_input(now, b"334 VXNlcm5hbWU6\r\n");
    assert_eq!(wire(&mut c), "YWxpY2U=\r\n");
    c.handle_input(now, b"334 UGFzc3dvcmQ6\r\n");
    assert_eq!(wire(&mut c), "czNjcmV0IHBhc3M=\r\n");
    c.handle_input(now, b"235 2.7.0 ok\r\n");
    assert!(c.state().authenticated);
    let lines = transcript(&mut c);
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("czNjcmV0") || l.contains("s3cret")),
        "{lines:?}"
    );
}

#[test]
fn data_from_the_helper_and_by_hand_is_dot_stuffed() {
    let now = Instant::now();
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.data(now, b"Subject: x\r\n\r\n.dot\r\nend");
    assert_eq!(wire(&mut c), "DATA\r\n");
    c.handle_input(now, b"354 go\r\n");
    assert_eq!(wire(&mut c), "Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n");
    c.handle_input(now, b"250 queued\r\n");
    assert_eq!(c.state().awaiting, 0);

    c.send_text(now, "DATA");
    c.handle_input(now, b"354 go\r\n");
    assert!(c.state().in_data);
    let _ = wire(&mut c);
    c.send_text(now, "Subject: typed\n\n.leading dot\n.");
    assert_eq!(wire(&mut c), "Subject: typed\r\n\r\n..leading dot\r\n.\r\n");
    assert!(!c.state().in_data);
    c.handle_input(now, b"250 queued\r\n");
    assert!(!c.state().in_transaction);
}

#[test]
fn starttls_waits_for_the_handshake_and_refuses_injection() {
    let now = Instant::now();
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.send_text(now, "STARTTLS");
    c.handle_input(now, b"220 go ahead\r\n");
    let mut saw = false;
    while let Some(e) = c.poll_event() {
        saw |= matches!(e, ConsoleEvent::StartTls);
    }
    assert!(saw);

    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.send_text(now, "STARTTLS");
    c.handle_input(now, b"220 go ahead\r\n250 injected\r\n");
    assert!(c.is_closed());

    // Clear text in a later read, before the handshake, is refused too.
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.send_text(now, "STARTTLS");
    c.handle_input(now, b"220 go ahead\r\n");
    assert!(!c.is_closed());
    c.handle_input(now, b"250 injected later\r\n");
    assert!(c.is_closed());
    assert!(
        transcript(&mut c)
            .iter()
            .any(|l| l.contains("could be injected"))
    );
}

#[test]
fn a_batch_is_safe_around_auth_and_data() {
    let now = Instant::now();
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    let _ = transcript(&mut c);
    // AUTH LOGIN and both answers typed at once: both answers hidden.
    c.send_text(now, "AUTH LOGIN\nYWxpY2U=\nc2VjcmV0");
    let lines = transcript(&mut c);
    assert_eq!(
        lines,
        ["AUTH LOGIN", "<redacted>", "<redacted>"],
        "{lines:?}"
    );
    c.handle_input(now, b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n");
    assert!(c.state().authenticated);
    // The next command is shown again.
    c.send_text(now, "NOOP");
    assert!(transcript(&mut c).contains(&"NOOP".to_string()));
    c.handle_input(now, b"250 ok\r\n");

    // DATA and the message at once: the message waits for the 354.
    let _ = wire(&mut c);
    c.send_text(now, "DATA\nSubject: held\n\n.dot\n.");
    assert_eq!(wire(&mut c), "DATA\r\n");
    c.handle_input(now, b"354 go\r\n");
    assert_eq!(wire(&mut c), "Subject: held\r\n\r\n..dot\r\n.\r\n");
    c.handle_input(now, b"250 queued\r\n");
    assert_eq!(c.state().awaiting, 0);
    assert!(!c.state().in_data);

    // The AUTH helper refuses during DATA: the password would be data.
    c.send_text(now, "DATA");
    c.handle_input(now, b"354 go\r\n");
    let _ = wire(&mut c);
    c.auth(now, Mechanism::Plain, "alice", "secret");
    assert_eq!(wire(&mut c), "", "nothing sent");
    assert!(transcript(&mut c).iter().any(|l| l.starts_with("not sent")));
}

#[test]
fn completion_and_a_broken_server() {
    assert_eq!(complete("st"), ["STARTTLS"]);
    assert_eq!(complete("r"), ["RCPT TO:<", "RSET"]);
    assert!(complete("").is_empty());
    assert!(complete("EHLO ").is_empty());
    let now = Instant::now();
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\n");
    assert!(c.is_closed(), "bare LF is refused as everywhere else");
}

/// Waits for a transcript line, as the window would.
#[test]
fn quit_then_221_is_a_normal_end_however_the_server_closes() {
    let closed = |c: &mut Console| {
        let mut why = None;
        while let Some(e) = c.poll_event() {
            if let ConsoleEvent::Closed(w) = e {
                why = Some(w);
            }
        }
        why
    };
    let now = Instant::now();
    // A plain FIN after 221.
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.send_text(now, "quit");
    c.handle_input(now, b"221 2.0.0 bye\r\n");
    c.handle_eof(now);
    assert_eq!(closed(&mut c), Some(None), "no reason: not an error");
    // A TLS server that closes without close_notify after 221.
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.send_text(now, "QUIT");
    c.handle_input(now, b"221 bye\r\n");
    c.handle_io_error(
        now,
        "peer closed connection without sending TLS close_notify".into(),
    );
    assert_eq!(closed(&mut c), Some(None));
    // Without QUIT, hanging up is the server's doing, and said so.
    let mut c = Console::new(now);
    c.handle_connected(now, None);
    c.handle_input(now, b"220 hi\r\n");
    c.handle_eof(now);
    assert_eq!(closed(&mut c), Some(Some("the server hung up".into())));
}

fn wait_for(events: &std::sync::mpsc::Receiver<ConsoleEvent>, text: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        match events.recv_timeout(Duration::from_secs(10)) {
            Ok(ConsoleEvent::Transcript(t)) => {
                let done = t.text == text;
                seen.push(t.text);
                if done {
                    return seen;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("no {text:?} ({e}); saw {seen:?}"),
        }
    }
    panic!("no {text:?}; saw {seen:?}");
}

#[test]
fn on_the_driver_it_wakes_for_the_server_and_for_typing_and_closes_when_dropped() {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(b"220 hi\r\n").unwrap();
        let mut reader = BufReader::new(socket.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        // A reply that comes while the console sits idle.
        std::thread::sleep(Duration::from_millis(200));
        socket.write_all(b"250 late but here\r\n").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        let closed = reader.read_to_end(&mut rest).map(|_| ());
        (line, rest, closed)
    });
    let target = Target {
        host: "127.0.0.1".into(),
        port,
    };
    let handle = spawn(
        target,
        TlsMode::None,
        TlsOptions::default(),
        Duration::from_secs(10),
        Arc::new(|| {}),
    );
    let seen = wait_for(&handle.events, "220 hi");
    assert!(
        seen.iter()
            .any(|l| l.starts_with("connected to 127.0.0.1:")),
        "{seen:?}"
    );
    assert!(handle.send(ConsoleCommand::Text("NOOP".into())));
    wait_for(&handle.events, "250 late but here");
    // Closing the window's console drops the handle: the connection ends.
    drop(handle);
    let (line, rest, closed) = server.join().unwrap();
    closed.expect("the console closed the connection");
    assert_eq!(line, "NOOP\r\n");
    assert!(rest.is_empty(), "nothing after NOOP: {rest:?}");
}

#[test]
fn a_starttls_handshake_that_times_out_closes_the_connection() {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(b"220 hi\r\n").unwrap();
        let mut reader = BufReader::new(socket.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        socket.write_all(b"220 go ahead\r\n").unwrap();
        // The client's TLS hello gets no answer: the handshake times out.
        let mut hello = [0u8; 5];
        reader.read_exact(&mut hello).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut rest = Vec::new();
        let closed = reader.read_to_end(&mut rest).map(|_| ());
        (line, hello[0], closed)
    });
    let target = Target {
        host: "127.0.0.1".into(),
        port,
    };
    let handle = spawn(
        target,
        TlsMode::None,
        TlsOptions::default(),
        Duration::from_secs(1),
        Arc::new(|| {}),
    );
    wait_for(&handle.events, "220 hi");
    assert!(handle.send(ConsoleCommand::Text("STARTTLS".into())));
    let seen = wait_for(&handle.events, "220 go ahead");
    let mut closed_why = None;
    while let Ok(event) = handle.events.recv_timeout(Duration::from_secs(10)) {
        if let ConsoleEvent::Closed(why) = event {
            closed_why = Some(why);
            break;
        }
    }
    let why = closed_why.expect("the console closed").unwrap_or_default();
    assert!(why.starts_with("TLS failed"), "{why} after {seen:?}");
    // The window still holds the handle: the socket is closed all the same.
    let (line, first, closed) = server.join().unwrap();
    closed.expect("the failed handshake closed the connection");
    assert_eq!(line, "STARTTLS\r\n");
    assert_eq!(first, 0x16, "a TLS handshake record was sent");
    drop(handle);
}
