//! Broken and hostile servers, written in the test with a plain TcpListener.

use crate::common::{Conn, FakeServer, Run, Work, send_args_with_timeout, sent};

/// Runs `send --tls none` with a short `--timeout` against a fake server.
fn send_to<T: Send + 'static>(
    timeout: &str,
    script: impl FnOnce(Conn) -> T + Send + 'static,
) -> (Run, Option<T>) {
    let server = FakeServer::start(script);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), timeout))
        .args(["--tls", "none", "--transcript", "-"])
        .run();
    (run, server.join())
}

/// Greets, then answers EHLO with a minimal 250.
fn greet_and_ehlo(c: &mut Conn) -> String {
    c.send(b"220 fake.test ESMTP\r\n");
    let ehlo = c.line();
    c.send(b"250 fake.test\r\n");
    ehlo
}

#[test]
fn garbage_greeting_exits_21() {
    let (run, _) = send_to("20", |mut c| {
        c.send(b"hello\r\n");
        c.until_eof()
    });
    run.expect_status(21).stderr_contains("greeting");
}

#[test]
fn bare_lf_greeting_exits_21() {
    let (run, _) = send_to("20", |mut c| {
        c.send(b"220 fake.test ESMTP\n");
        c.until_eof()
    });
    run.expect_status(21).stderr_contains("bare LF");
}

#[test]
fn silent_server_times_out_with_21() {
    let (run, _) = send_to("2", |mut c| c.until_eof());
    run.expect_status(21).stderr_contains("timed out");
    assert!(
        run.elapsed.as_secs_f64() < 15.0,
        "took {:?}\n{}",
        run.elapsed,
        run.dump()
    );
}

#[test]
fn connection_closed_after_ehlo_exits_6() {
    let (run, ehlo) = send_to("20", |mut c| {
        c.send(b"220 ok\r\n");
        c.line()
    });
    assert!(ehlo.is_some_and(|l| l.starts_with("EHLO ")));
    run.expect_status(6).stderr_contains("closed");
}

#[test]
fn reply_421_to_mail_from_exits_23() {
    let (run, mail) = send_to("20", |mut c| {
        greet_and_ehlo(&mut c);
        let mail = c.line();
        c.send(b"421 4.3.2 shutting down\r\n");
        mail
    });
    assert!(mail.is_some_and(|l| l.starts_with("MAIL FROM:<a@example.org>")));
    run.expect_status(23)
        .stderr_contains("421")
        .stderr_contains("shutting down");
}

#[test]
fn connection_closed_after_the_final_dot_is_delivery_unknown() {
    let (run, data) = send_to("20", |mut c| {
        greet_and_ehlo(&mut c);
        let mut commands = Vec::new();
        for reply in [&b"250 ok\r\n"[..], b"250 ok\r\n", b"354 go ahead\r\n"] {
            commands.push(c.line());
            c.send(reply);
        }
        (commands, c.until_dot())
    });
    let (commands, data) = data.expect("the client connected");
    assert!(commands[0].starts_with("MAIL FROM:"), "{commands:?}");
    assert!(
        commands[1].starts_with("RCPT TO:<b@example.org>"),
        "{commands:?}"
    );
    assert_eq!(commands[2], "DATA\r\n");
    assert!(data.ends_with(b"\r\n.\r\n"), "{}", run.dump());
    run.expect_status(26).stderr_contains("delivery unknown");
}

/// Reads one command, checks that it starts with `expect`, answers `reply`.
#[track_caller]
fn exchange(c: &mut Conn, expect: &str, reply: &str) -> String {
    let line = c.line();
    assert!(
        line.starts_with(expect),
        "expected {expect:?}, the client sent {line:?}"
    );
    c.send(reply.as_bytes());
    line
}

#[test]
fn data_injected_after_starttls_220_is_refused_with_29() {
    let server = FakeServer::start(|mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "250-fake.test\r\n250 STARTTLS\r\n");
        // The 220 and an injected reply in one segment (CVE-2011-0411).
        exchange(&mut c, "STARTTLS", "220 go ahead\r\n250 injected\r\n");
        c.until_eof()
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "20"))
        .args(["--tls", "starttls", "--transcript", "-"])
        .run();
    let after = server.join().expect("the client connected");
    run.expect_status(29).stderr_contains("injected");
    // No handshake was tried: nothing came after STARTTLS.
    assert!(after.is_empty(), "{after:?}\n{}", run.dump());
}

#[test]
fn ehlo_refused_falls_back_to_helo_and_delivers() {
    let (run, data) = send_to("20", |mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "500 5.5.1 what is EHLO\r\n");
        exchange(&mut c, "HELO ", "250 fake.test\r\n");
        exchange(&mut c, "MAIL FROM:<a@example.org>\r\n", "250 ok\r\n");
        exchange(&mut c, "RCPT TO:<b@example.org>\r\n", "250 ok\r\n");
        exchange(&mut c, "DATA\r\n", "354 go ahead\r\n");
        let data = c.until_dot();
        c.send(b"250 2.0.0 queued as X\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
        data
    });
    run.expect_status(0);
    let data = data.expect("the client connected");
    let raw = &data[..data.len() - 3]; // drop ".\r\n"
    let msg = crate::common::parse_message(raw);
    assert_eq!(msg.subject(), Some("test"), "{}", run.dump());
}

#[test]
fn ehlo_and_helo_refused_exits_22() {
    let (run, _) = send_to("20", |mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "500 no\r\n");
        exchange(&mut c, "HELO ", "550 go away\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
    });
    run.expect_status(22).stderr_contains("go away");
}

#[test]
fn data_refused_exits_25() {
    let (run, _) = send_to("20", |mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "MAIL", "250 ok\r\n");
        exchange(&mut c, "RCPT", "250 ok\r\n");
        exchange(&mut c, "DATA", "554 5.3.0 no data today\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
    });
    run.expect_status(25).stderr_contains("no data today");
}

#[test]
fn message_refused_after_the_dot_exits_26() {
    let (run, _) = send_to("20", |mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "MAIL", "250 ok\r\n");
        exchange(&mut c, "RCPT", "250 ok\r\n");
        exchange(&mut c, "DATA", "354 go ahead\r\n");
        c.until_dot();
        c.send(b"554 5.7.1 spam detected\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
    });
    run.expect_status(26).stderr_contains("spam detected");
    assert!(!run.stderr.contains("delivery unknown"), "{}", run.dump());
}

#[test]
fn no_reply_to_the_final_dot_is_delivery_unknown() {
    let (run, _) = send_to("2", |mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "MAIL", "250 ok\r\n");
        exchange(&mut c, "RCPT", "250 ok\r\n");
        exchange(&mut c, "DATA", "354 go ahead\r\n");
        c.until_dot();
        c.until_eof()
    });
    run.expect_status(26).stderr_contains("delivery unknown");
}

#[test]
fn too_many_recipients_452_splits_into_two_transactions() {
    let server = FakeServer::start(|mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "MAIL FROM:<a@example.org>", "250 ok\r\n");
        exchange(&mut c, "RCPT TO:<b@example.org>", "250 ok\r\n");
        exchange(
            &mut c,
            "RCPT TO:<c@example.org>",
            "452 4.5.3 too many recipients\r\n",
        );
        exchange(&mut c, "DATA", "354 go ahead\r\n");
        let first = c.until_dot();
        c.send(b"250 2.0.0 first\r\n");
        exchange(&mut c, "MAIL FROM:<a@example.org>", "250 ok\r\n");
        exchange(&mut c, "RCPT TO:<c@example.org>", "250 ok\r\n");
        exchange(&mut c, "DATA", "354 go ahead\r\n");
        let second = c.until_dot();
        c.send(b"250 2.0.0 second\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
        (first, second)
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "20"))
        .args(["--tls", "none", "--cc", "c@example.org", "--json"])
        .run();
    let (first, second) = server.join().expect("the client connected");
    run.expect_status(0);
    assert_eq!(first, second, "the same message both times");
    let v = run.json();
    assert_eq!(
        v["accepted"],
        serde_json::json!(["b@example.org", "c@example.org"]),
        "{v}"
    );
    assert_eq!(v["refused"], serde_json::json!([]), "{v}");
    assert_eq!(v["outcome"], "delivered", "{v}");
}

#[test]
fn json_reports_a_timeout() {
    let server = FakeServer::start(|mut c| c.until_eof());
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "1"))
        .args(["--tls", "none", "--json"])
        .run();
    server.join();
    run.expect_status(21);
    let v = run.json();
    assert_eq!(v["outcome"], "failed", "{v}");
    assert_eq!(v["error"]["stage"], "greeting", "{v}");
    assert_eq!(v["error"]["timeout"], true, "{v}");
    // Not a byte came: the port may expect implicit TLS, and the hint says so.
    let hint = v["error"]["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("--tls implicit"), "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sent nothing at all"), "{v}");
}

#[test]
fn a_half_greeting_then_silence_gets_no_implicit_tls_hint() {
    let server = FakeServer::start(|mut c| {
        c.send(b"220-fake.test slow\r\n");
        c.until_eof()
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "1"))
        .args(["--tls", "none", "--json"])
        .run();
    server.join();
    run.expect_status(21);
    let v = run.json();
    assert_eq!(v["error"]["hint"], serde_json::Value::Null, "{v}");
}

#[test]
fn refusal_then_silence_to_quit_keeps_the_refusals_status() {
    let (run, _) = send_to("2", |mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "MAIL", "250 ok\r\n");
        exchange(&mut c, "RCPT", "250 ok\r\n");
        exchange(&mut c, "DATA", "554 5.3.0 no data today\r\n");
        c.until_eof()
    });
    run.expect_status(25).stderr_contains("no data today");
}

#[test]
fn refusal_then_close_instead_of_quit_keeps_the_refusals_status() {
    let (run, _) = send_to("20", |mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "MAIL", "550 5.7.1 sender blocked\r\n");
        // Read QUIT and hang up without a word.
        c.line()
    });
    run.expect_status(23).stderr_contains("sender blocked");
}

#[test]
fn greeting_554_exits_21_quoting_it() {
    let (run, _) = send_to("20", |mut c| {
        c.send(b"554 5.7.1 no mail from you\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
    });
    run.expect_status(21).stderr_contains("no mail from you");
}

#[test]
fn endless_multiline_reply_is_a_protocol_error() {
    let (run, _) = send_to("20", |mut c| {
        let mut flood = Vec::new();
        for i in 0..1500 {
            flood.extend_from_slice(format!("220-line {i}\r\n").as_bytes());
        }
        c.send(&flood);
        c.until_eof()
    });
    run.expect_status(21).stderr_contains("1000");
}

#[test]
fn overlong_reply_line_is_a_protocol_error() {
    let (run, _) = send_to("20", |mut c| {
        let mut line = b"220 ".to_vec();
        line.resize(200 * 1024, b'x');
        c.send(&line);
        c.until_eof()
    });
    run.expect_status(21).stderr_contains("longer than");
}

#[test]
fn message_over_the_size_limit_is_not_uploaded() {
    let (run, commands) = send_to("20", |mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "250-fake.test\r\n250 SIZE 100\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
        c.until_eof()
    });
    run.expect_status(23).stderr_contains("SIZE");
    assert_eq!(commands.as_deref(), Some(&b""[..]), "{}", run.dump());
    assert!(
        !sent(&run.transcript())
            .iter()
            .any(|t| t.starts_with("MAIL")),
        "{}",
        run.dump()
    );
}

#[test]
fn utf8_address_without_smtputf8_exits_23_before_mail() {
    let server = FakeServer::start(|mut c| {
        greet_and_ehlo(&mut c);
        exchange(&mut c, "QUIT", "221 bye\r\n");
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", "a@example.org"])
        .args(["--to", "ü@example.org", "--body", "x", "--transcript", "-"])
        .run();
    server.join();
    run.expect_status(23).stderr_contains("SMTPUTF8");
    assert!(
        !sent(&run.transcript())
            .iter()
            .any(|t| t.starts_with("MAIL")),
        "{}",
        run.dump()
    );
}

#[test]
fn silent_implicit_tls_server_times_out() {
    let server = FakeServer::start(|mut c| c.until_eof());
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "2"))
        .args(["--tls", "implicit"])
        .run();
    server.join();
    run.expect_status(29).stderr_contains("timeout");
    assert!(run.elapsed.as_secs() < 15, "{}", run.dump());
}

#[test]
fn server_closing_during_the_starttls_handshake_exits_29() {
    let server = FakeServer::start(|mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "250-fake.test\r\n250 STARTTLS\r\n");
        exchange(&mut c, "STARTTLS", "220 go ahead\r\n");
        // Read the whole ClientHello record, then hang up cleanly.
        let mut header = [0u8; 5];
        c.raw()
            .read_exact(&mut header)
            .expect("a TLS record header");
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let mut hello = vec![0u8; len];
        c.raw().read_exact(&mut hello).expect("a ClientHello");
        header[0]
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "20"))
        .args(["--tls", "starttls"])
        .run();
    // 22: a TLS handshake record.
    assert_eq!(server.join(), Some(22));
    run.expect_status(29)
        .stderr_contains("closed the connection during the handshake");
}

#[test]
fn ehlo_refused_after_starttls_exits_32() {
    let server = FakeServer::start(|mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "250-fake.test\r\n250 STARTTLS\r\n");
        exchange(&mut c, "STARTTLS", "220 go ahead\r\n");
        let mut c = c.start_tls();
        exchange(&mut c, "EHLO ", "554 5.7.0 not after TLS\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "20"))
        .args(["--tls", "starttls", "--insecure", "--transcript", "-"])
        .run();
    server.join();
    run.expect_status(32).stderr_contains("not after TLS");
    let lines = run.transcript();
    assert!(
        lines
            .iter()
            .any(|l| l.prefix == "<~  " && l.text.starts_with("554")),
        "{}",
        run.dump()
    );
    // The EHLO inside TLS is not retried as HELO.
    assert!(
        !sent(&lines).iter().any(|t| t.starts_with("HELO")),
        "{}",
        run.dump()
    );
}

#[test]
fn implicit_tls_fake_server_with_insecure_delivers() {
    let server = FakeServer::start(|c| {
        let mut c = c.start_tls();
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "250 fake.test\r\n");
        exchange(&mut c, "MAIL FROM:<a@example.org>", "250 ok\r\n");
        exchange(&mut c, "RCPT TO:<b@example.org>", "250 ok\r\n");
        exchange(&mut c, "DATA", "354 go ahead\r\n");
        let data = c.until_dot();
        c.send(b"250 2.0.0 queued\r\n");
        exchange(&mut c, "QUIT", "221 bye\r\n");
        data
    });
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args_with_timeout(&server.addr(), "20"))
        .args(["--tls", "implicit", "--insecure", "--json"])
        .run();
    let data = server.join().expect("the client connected");
    run.expect_status(0);
    assert!(data.ends_with(b"\r\n.\r\n"));
    let v = run.json();
    assert_eq!(v["tls"]["verification"]["result"], "not_verified", "{v}");
}

#[test]
fn an_eml_file_that_grows_during_the_send_is_never_delivered() {
    let work = Work::new();
    let path = work.file("growing.eml", b"Subject: grows\r\n\r\nfirst part\r\n");
    let appended = path.clone();
    let server = FakeServer::start(move |mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        exchange(&mut c, "EHLO ", "250-fake.test\r\n250 SIZE 1000000\r\n");
        let mail = exchange(&mut c, "MAIL FROM:", "250 ok\r\n");
        exchange(&mut c, "RCPT TO:", "250 ok\r\n");
        // The file changes after SIZE was declared.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&appended)
            .unwrap();
        std::io::Write::write_all(&mut file, b"a line added meanwhile\r\n").unwrap();
        exchange(&mut c, "DATA", "354 go ahead\r\n");
        (mail, c.until_dot())
    });
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args([
            "--tls",
            "none",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
        ])
        .arg("--eml")
        .arg(&path)
        .run();
    let (mail, data) = server.join().expect("the client connected");
    assert!(mail.contains("SIZE=30"), "{mail}");
    assert!(
        !data.ends_with(b"\r\n.\r\n"),
        "the final dot went out: {}",
        String::from_utf8_lossy(&data)
    );
    run.expect_status(1)
        .stderr_contains("grew while it was being sent");
}
