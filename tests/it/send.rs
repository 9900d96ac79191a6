//! `postscope send` against a real SMTP server (aiosmtpd): TLS, AUTH,
//! recipients, attachments, transcripts and `--json`.

use std::time::Duration;

use mail_parser::MimeHeaders as _;

use crate::common::{
    FROM, PASSWORD, TO, USER, Work, assert_no_secrets, has_line, parse_message,
    parse_text_transcript, send_args, sent,
};
use crate::server::{Mode, ServerOptions, TestServer};

const WAIT: Duration = Duration::from_secs(10);

fn auth_server(mode: Mode) -> TestServer {
    TestServer::start(ServerOptions {
        auth: Some((USER.into(), PASSWORD.into())),
        ..ServerOptions::new(mode)
    })
}

/// 4 KiB+ holding every byte value, many times over.
fn every_byte() -> Vec<u8> {
    (0..=255u8).cycle().take(256 * 17 + 5).collect()
}

#[test]
fn starttls_auth_delivers_bcc_attachments_and_utf8_subject() {
    let server = auth_server(Mode::StartTls);
    let work = Work::new();
    let bin = every_byte();
    let bin_path = work.file("bin.dat", &bin);
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    pdf.extend((0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let pdf_path = work.file("résumé final.pdf", &pdf);
    let body = "Hi Bob,\n.a line that starts with a dot\nünïcödé text\n";

    let run = work
        .postscope()
        .args([
            "send",
            "--server",
            &server.addr(),
            "--timeout",
            "20",
            "--tls",
            "starttls",
            "--auth-user",
            USER,
        ])
        .password(PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .args(["--from", FROM, "--to", TO, "--cc", "c@example.org"])
        .args(["--bcc", "hidden@example.org", "--subject", "héllo"])
        .args(["--body", body, "--transcript", "-"])
        .arg("--attach")
        .arg(&bin_path)
        .arg("--attach")
        .arg(&pdf_path)
        .run();
    run.expect_status(0);

    // The envelope: everyone, Bcc included; one message only.
    let messages = server.wait_for_messages(1, WAIT);
    assert_eq!(messages.len(), 1, "{}", run.dump());
    let m = &messages[0];
    assert_eq!(m.mail_from, FROM);
    let mut rcpts = m.rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["b@example.org", "c@example.org", "hidden@example.org"]
    );

    // The content: no trace of the Bcc.
    let raw = String::from_utf8_lossy(&m.raw);
    assert!(!raw.contains("hidden@example.org"), "Bcc leaked:\n{raw}");
    assert!(
        !raw.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "a Bcc header was written:\n{raw}"
    );
    let msg = parse_message(&m.raw);
    assert!(msg.bcc().is_none());
    assert_eq!(msg.subject(), Some("héllo"));
    assert!(msg.to().is_some_and(|a| a.contains(TO)));
    assert!(msg.cc().is_some_and(|a| a.contains("c@example.org")));
    let text = msg.body_text(0).expect("a text body").replace("\r\n", "\n");
    assert_eq!(text.trim_end(), body.trim_end(), "body text");

    // The attachments, byte for byte, with their names.
    let attachments: Vec<_> = msg.attachments().collect();
    assert_eq!(attachments.len(), 2, "{raw}");
    let by_name = |name: &str| {
        attachments
            .iter()
            .find(|a| a.attachment_name() == Some(name))
            .unwrap_or_else(|| {
                let names: Vec<_> = attachments.iter().map(|a| a.attachment_name()).collect();
                panic!("no attachment named {name:?}; names: {names:?}\n{raw}")
            })
    };
    let got_bin = by_name("bin.dat").contents();
    assert_eq!(got_bin.len(), bin.len());
    assert_eq!(
        ring::digest::digest(&ring::digest::SHA256, got_bin).as_ref(),
        ring::digest::digest(&ring::digest::SHA256, &bin).as_ref(),
        "bin.dat differs"
    );
    assert_eq!(by_name("résumé final.pdf").contents(), pdf.as_slice());

    // The live transcript.
    let lines = run.transcript();
    assert!(
        has_line(&lines, "=== ", "TLS established"),
        "{}",
        run.dump()
    );
    assert!(has_line(&lines, " ~> ", "EHLO"), "{}", run.dump());
    assert!(
        lines
            .iter()
            .any(|l| l.prefix == " ~> " && l.text == "AUTH PLAIN <redacted>"),
        "{}",
        run.dump()
    );
    // Before TLS, only EHLO and STARTTLS went out in clear text.
    let clear: Vec<&str> = lines
        .iter()
        .filter(|l| l.prefix == " -> ")
        .map(|l| l.text.as_str())
        .collect();
    assert!(
        clear
            .iter()
            .all(|t| t.starts_with("EHLO ") || *t == "STARTTLS"),
        "{clear:?}"
    );
    // The reply to the final dot, inside TLS.
    let dot = lines
        .iter()
        .position(|l| l.prefix == " ~> " && l.text == ".")
        .unwrap_or_else(|| panic!("no final dot\n{}", run.dump()));
    let reply = lines[dot + 1..]
        .iter()
        .find(|l| l.is_received())
        .expect("a reply to the dot");
    assert_eq!(reply.prefix, "<~  ");
    assert!(reply.text.starts_with("250"), "{reply:?}");
    assert_no_secrets("stderr", &run.stderr, USER, PASSWORD);
    assert_no_secrets("stdout", &run.stdout, USER, PASSWORD);
}

#[test]
fn implicit_tls_with_auth_delivers() {
    let server = auth_server(Mode::Implicit);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args([
            "--tls",
            "implicit",
            "--auth-user",
            USER,
            "--transcript",
            "-",
        ])
        .password(PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(0);
    let lines = run.transcript();
    // TLS from the first byte: even the greeting came inside it.
    let first = lines
        .iter()
        .find(|l| l.is_sent() || l.is_received())
        .expect("a protocol line");
    assert_eq!(first.prefix, "<~  ", "{}", run.dump());
    assert!(first.text.starts_with("220"), "{first:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.prefix != " -> " && l.prefix != "<-  "),
        "a line went in clear text\n{}",
        run.dump()
    );
    assert!(
        sent(&lines).contains(&"AUTH PLAIN <redacted>"),
        "{}",
        run.dump()
    );
    assert_eq!(server.wait_for_messages(1, WAIT)[0].rcpt_tos, [TO]);
    assert_no_secrets("stderr", &run.stderr, USER, PASSWORD);
}

#[test]
fn implicit_tls_with_forced_auth_login_and_password_on_stdin() {
    let server = auth_server(Mode::Implicit);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--tls", "implicit", "--auth", "login", "--auth-user", USER])
        .args(["--password-stdin", "--transcript", "-"])
        .arg("--ca-file")
        .arg(server.ca_pem())
        .stdin(format!("{PASSWORD}\n").as_bytes())
        .run();
    run.expect_status(0);
    let lines = run.transcript();
    let out = sent(&lines);
    let auth = out
        .iter()
        .position(|t| *t == "AUTH LOGIN")
        .unwrap_or_else(|| panic!("no AUTH LOGIN\n{}", run.dump()));
    assert_eq!(
        out[auth + 1..auth + 3],
        ["<redacted>", "<redacted>"],
        "{}",
        run.dump()
    );
    assert!(
        lines
            .iter()
            .any(|l| l.is_received() && l.text.starts_with("235")),
        "{}",
        run.dump()
    );
    assert_eq!(server.wait_for_messages(1, WAIT).len(), 1);
    assert_no_secrets("stderr", &run.stderr, USER, PASSWORD);
}

#[test]
fn wrong_password_exits_28_with_the_servers_words() {
    let server = auth_server(Mode::StartTls);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--auth-user", USER, "--transcript", "-"])
        .password("not-the-password")
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(28)
        .stderr_contains("535")
        .stderr_contains("Authentication credentials invalid");
    assert!(
        !sent(&run.transcript())
            .iter()
            .any(|t| t.starts_with("MAIL")),
        "{}",
        run.dump()
    );
    assert_no_secrets("stderr", &run.stderr, USER, "not-the-password");
    assert!(server.messages().is_empty());
}

#[test]
fn required_starttls_missing_stops_before_auth_and_mail() {
    // A clear-text server that advertises AUTH and requires it.
    let server = auth_server(Mode::Plain);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args([
            "--tls",
            "starttls",
            "--auth-user",
            USER,
            "--transcript",
            "-",
        ])
        .password(PASSWORD)
        .run();
    run.expect_status(29).stderr_contains("STARTTLS");
    let lines = run.transcript();
    let out = sent(&lines);
    assert!(out.iter().any(|t| t.starts_with("EHLO")), "{}", run.dump());
    // Nothing but EHLO and QUIT: no AUTH, no MAIL.
    assert!(
        out.iter().all(|t| t.starts_with("EHLO ") || *t == "QUIT"),
        "{}",
        run.dump()
    );
    assert_no_secrets("stderr", &run.stderr, USER, PASSWORD);
    assert!(server.messages().is_empty());
}

#[test]
fn opportunistic_tls_never_sends_auth_in_clear_text() {
    let server = auth_server(Mode::Plain);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args([
            "--tls",
            "opportunistic",
            "--auth-user",
            USER,
            "--transcript",
            "-",
        ])
        .password(PASSWORD)
        .run();
    run.expect_status(28);
    let lines = run.transcript();
    let out = sent(&lines);
    assert!(
        out.iter()
            .all(|t| !t.starts_with("AUTH") && !t.starts_with("MAIL") && *t != "<redacted>"),
        "{}",
        run.dump()
    );
    assert_no_secrets("stderr", &run.stderr, USER, PASSWORD);
    assert!(server.messages().is_empty());
}

#[test]
fn unknown_ca_fails_with_29_and_points_to_ca_file() {
    let server = TestServer::start(ServerOptions::new(Mode::StartTls));
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--transcript", "-"])
        .run();
    run.expect_status(29).stderr_contains("--ca-file");
    assert!(
        run.stderr.contains("does not trust") || run.stderr.contains("UnknownIssuer"),
        "stderr does not say the CA is unknown\n{}",
        run.dump()
    );
    assert!(
        !sent(&run.transcript())
            .iter()
            .any(|t| t.starts_with("MAIL")),
        "{}",
        run.dump()
    );
    assert!(server.messages().is_empty());
}

#[test]
fn insecure_delivers_to_an_unknown_ca_with_a_loud_warning() {
    let server = TestServer::start(ServerOptions::new(Mode::StartTls));
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--insecure", "--transcript", "-"])
        .run();
    run.expect_status(0);
    let lines = run.transcript();
    assert!(
        lines.iter().any(|l| l.prefix == "*** "
            && l.text.starts_with("WARNING")
            && l.text.contains("was NOT verified")
            && l.text.contains("does not trust")),
        "{}",
        run.dump()
    );
    assert_eq!(server.wait_for_messages(1, WAIT).len(), 1);
}

#[test]
fn jsonl_transcript_file_is_valid_and_has_no_secrets() {
    let server = auth_server(Mode::StartTls);
    let work = Work::new();
    let path = work.path().join("out.jsonl");
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--auth-user", USER])
        .password(PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .arg("--transcript")
        .arg(&path)
        .run();
    run.expect_status(0);
    // The transcript went to the file, not to stderr.
    assert!(run.transcript().is_empty(), "{}", run.dump());

    let text = std::fs::read_to_string(&path).expect("read out.jsonl");
    assert_no_secrets("out.jsonl", &text, USER, PASSWORD);
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("a header line")).expect("header is JSON");
    assert_eq!(header["version"], 1, "{header}");
    assert_eq!(header["kind"], "postscope-transcript", "{header}");
    assert_eq!(header["server"], server.addr(), "{header}");

    let mut last_t = 0;
    let mut dirs = std::collections::BTreeSet::new();
    let mut secure_sent = 0;
    let mut events = 0;
    for line in lines {
        let e: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line:?}"));
        events += 1;
        let t = e["t_us"].as_u64().unwrap_or_else(|| panic!("t_us: {line}"));
        assert!(t >= last_t, "time went backwards: {line}");
        last_t = t;
        let dir = e["dir"].as_str().unwrap_or_else(|| panic!("dir: {line}"));
        assert!(
            ["sent", "received", "note", "error"].contains(&dir),
            "{line}"
        );
        let secure = e["secure"]
            .as_bool()
            .unwrap_or_else(|| panic!("secure: {line}"));
        assert!(e["text"].is_string(), "{line}");
        if dir == "received" {
            let code = e["code"].as_u64().unwrap_or_else(|| panic!("code: {line}"));
            assert!((200..600).contains(&code), "{line}");
        } else {
            assert!(e.get("code").is_none(), "{line}");
        }
        if dir == "sent" && secure {
            secure_sent += 1;
        }
        dirs.insert(dir.to_owned());
    }
    assert!(events > 10, "{text}");
    assert!(secure_sent > 0, "nothing was sent inside TLS:\n{text}");
    assert!(
        dirs.contains("sent") && dirs.contains("received") && dirs.contains("note"),
        "{dirs:?}"
    );
    assert!(text.contains(r#""text":"AUTH PLAIN <redacted>""#), "{text}");
}

#[test]
fn text_transcript_file_uses_swaks_prefixes_and_has_no_secrets() {
    let server = auth_server(Mode::StartTls);
    let work = Work::new();
    let path = work.path().join("out.txt");
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--auth-user", USER])
        .password(PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .arg("--transcript")
        .arg(&path)
        .run();
    run.expect_status(0);
    let text = std::fs::read_to_string(&path).expect("read out.txt");
    assert_no_secrets("out.txt", &text, USER, PASSWORD);
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with("=== Postscope transcript")),
        "{text}"
    );
    let lines = parse_text_transcript(&text);
    // Every line after the header is a transcript line.
    assert_eq!(lines.len(), text.lines().count() - 1, "{text}");
    for (prefix, start) in [
        ("<-  ", "220"),
        (" -> ", "EHLO"),
        (" -> ", "STARTTLS"),
        ("=== ", "TLS established"),
        (" ~> ", "EHLO"),
        (" ~> ", "AUTH PLAIN <redacted>"),
        ("<~  ", "235"),
        (" ~> ", "MAIL FROM:<a@example.org>"),
        (" ~> ", "QUIT"),
    ] {
        assert!(
            has_line(&lines, prefix, start),
            "no {prefix:?}{start:?} line:\n{text}"
        );
    }
}

#[test]
fn json_result_for_a_delivery() {
    let server = auth_server(Mode::StartTls);
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--auth-user", USER, "--json"])
        .password(PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(0);
    let v = run.json();
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(v["command"], "send", "{v}");
    assert_eq!(v["outcome"], "delivered", "{v}");
    assert_eq!(v["exit_status"], 0, "{v}");
    assert_eq!(v["accepted"], serde_json::json!([TO]), "{v}");
    assert_eq!(v["refused"], serde_json::json!([]), "{v}");
    assert_eq!(v["final_reply"]["code"], 250, "{v}");
    assert_eq!(v["auth"], "PLAIN", "{v}");
    assert!(v["error"].is_null(), "{v}");
    let tls_version = v["tls"]["version"].as_str().unwrap_or_default();
    assert!(tls_version.starts_with("TLSv1"), "{v}");
    assert_eq!(v["tls"]["verification"]["result"], "verified", "{v}");
    assert!(
        v["timings"].as_array().is_some_and(|t| !t.is_empty()),
        "{v}"
    );
    assert!(v["message_bytes"].as_u64().is_some_and(|n| n > 0), "{v}");
    assert_no_secrets("stdout", &run.stdout, USER, PASSWORD);
    assert_eq!(server.wait_for_messages(1, WAIT).len(), 1);
}

fn refusing_server() -> TestServer {
    TestServer::start(ServerOptions {
        refuse_rcpt: vec!["nobody@example.org".into()],
        ..ServerOptions::new(Mode::Plain)
    })
}

#[test]
fn refused_recipient_fails_with_24_and_sends_nothing() {
    let server = refusing_server();
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--tls", "none", "--to", "nobody@example.org", "--json"])
        .args(["--transcript", "-"])
        .run();
    run.expect_status(24);
    // The transaction is abandoned with RSET; no DATA.
    let lines = run.transcript();
    let out = sent(&lines);
    assert!(out.contains(&"RSET"), "{}", run.dump());
    assert!(!out.contains(&"DATA"), "{}", run.dump());
    let v = run.json();
    assert_eq!(v["outcome"], "failed", "{v}");
    assert_eq!(v["exit_status"], 24, "{v}");
    assert_eq!(v["refused"][0]["address"], "nobody@example.org", "{v}");
    assert_eq!(v["refused"][0]["reply"]["code"], 550, "{v}");
    assert_eq!(v["refused"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(run.stderr.contains("nobody@example.org"), "{}", run.dump());
    assert!(server.messages().is_empty());
}

#[test]
fn allow_partial_delivers_to_the_accepted_recipient() {
    let server = refusing_server();
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--tls", "none", "--to", "nobody@example.org"])
        .args(["--allow-partial", "--json"])
        .run();
    run.expect_status(0);
    let v = run.json();
    assert_eq!(v["exit_status"], 0, "{v}");
    assert_eq!(v["accepted"], serde_json::json!([TO]), "{v}");
    assert_eq!(v["refused"][0]["address"], "nobody@example.org", "{v}");
    assert_eq!(v["final_reply"]["code"], 250, "{v}");
    let messages = server.wait_for_messages(1, WAIT);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_tos, [TO]);
}

#[test]
fn ipv6_loopback_delivers() {
    let server = TestServer::start(ServerOptions {
        host: "::1",
        ..ServerOptions::new(Mode::Plain)
    });
    let addr = server.addr();
    assert!(addr.starts_with("[::1]:"), "{addr}");
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&addr))
        .args(["--tls", "none", "--json"])
        .run();
    run.expect_status(0);
    assert_eq!(run.json()["server"], addr);
    let messages = server.wait_for_messages(1, WAIT);
    assert_eq!(messages[0].rcpt_tos, [TO]);
    let msg = parse_message(&messages[0].raw);
    assert_eq!(msg.subject(), Some("test"));
}

#[test]
fn headers_cannot_be_injected_and_dot_lines_survive() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let body = "first\n.\n..\n.dot\nlast";
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", "Ëve Example <a@example.org>"])
        .args(["--to", "b@example.org, Cé <c@example.org>"])
        .args(["--reply-to", "r@example.org", "--header", "X-Test: 1"])
        .args(["--subject", "hi\r\nX-Injected: yes", "--body", body])
        .run();
    run.expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(m.rcpt_tos, ["b@example.org", "c@example.org"]);
    let msg = parse_message(&m.raw);
    let raw = String::from_utf8_lossy(&m.raw);
    assert!(
        !raw.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("x-injected")),
        "a header was injected through --subject:\n{raw}"
    );
    assert!(msg.header("X-Injected").is_none(), "{raw}");
    assert_eq!(msg.header_raw("X-Test").map(str::trim), Some("1"), "{raw}");
    assert!(
        msg.reply_to().is_some_and(|a| a.contains("r@example.org")),
        "{raw}"
    );
    let from = msg.from().and_then(|a| a.first()).expect("a From");
    assert_eq!(from.name(), Some("Ëve Example"), "{raw}");
    assert_eq!(from.address(), Some(FROM));
    let text = msg.body_text(0).expect("a text body").replace("\r\n", "\n");
    assert_eq!(text.trim_end(), body, "{raw}");
}

#[test]
fn eml_is_sent_as_it_is() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let eml = b"From: x@example.org\r\nTo: y@example.org\r\nSubject: ready made\r\n\r\n\
                line1\r\n.\r\n..x\r\n";
    let path = work.file("message.eml", eml);
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", FROM, "--to", TO, "--eml"])
        .arg(&path)
        .run();
    run.expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(m.mail_from, FROM);
    assert_eq!(m.rcpt_tos, [TO]);
    assert_eq!(
        String::from_utf8_lossy(&m.raw),
        String::from_utf8_lossy(eml)
    );
}

#[test]
fn a_ready_message_that_breaks_the_rules_is_sent_with_warnings_or_refused_by_strict() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    // No Date, a Bcc left in, a multipart never closed.
    let eml = b"From: x@example.org\r\nTo: y@example.org\r\nBcc: z@example.org\r\n\
                Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\ntext\r\n";
    let path = work.file("broken.eml", eml);
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", FROM, "--to", TO, "--eml"])
        .arg(&path)
        .run();
    run.expect_status(0)
        .stderr_contains("postscope lint finds 2 errors, 2 warnings in the message (sent anyway; --strict refuses it)")
        .stderr_contains("error: there is no Date header (RFC 5322 §3.6)")
        .stderr_contains("line 3: warning: a Bcc header is left in the message")
        .stderr_contains("the multipart is never closed");
    assert_eq!(server.wait_for_messages(1, WAIT)[0].raw, eml);
    // --strict: refused before connecting.
    let nowhere = crate::common::NoConnect::new();
    work.postscope()
        .args([
            "send",
            "--server",
            &nowhere.addr(),
            "--timeout",
            "5",
            "--strict",
        ])
        .args(["--tls", "none", "--from", FROM, "--to", TO, "--eml"])
        .arg(&path)
        .run()
        .expect_status(1)
        .stderr_contains("refused by --strict")
        .stderr_contains("--strict: the message has 2 errors (listed above); nothing was sent");
    nowhere.assert_untouched();
    // A message with warnings only goes, even with --strict; a clean one says nothing.
    let clean = work.file(
        "clean.eml",
        b"From: x@example.org\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\
          Message-ID: <1@example.org>\r\nSubject: ok\r\n\r\nfine\r\n",
    );
    let run = work
        .postscope()
        .args([
            "send",
            "--server",
            &server.addr(),
            "--timeout",
            "20",
            "--strict",
        ])
        .args(["--tls", "none", "--from", FROM, "--to", TO, "--eml"])
        .arg(&clean)
        .run();
    run.expect_status(0);
    assert!(!run.stderr.contains("lint"), "{}", run.stderr);
    // --strict without --eml is a usage error.
    work.postscope()
        .args([
            "send",
            "--from",
            FROM,
            "--to",
            TO,
            "--body",
            "b",
            "--strict",
            "--dump-mail",
        ])
        .run()
        .expect_status(1)
        .stderr_contains("--eml");
}

#[test]
fn five_hundred_bare_recipients_go_in_one_message_with_folded_headers() {
    // aiosmtpd refuses a line over 998 octets ("500 Line too long"), as
    // strict servers do: an unfolded To: of 500 addresses would be refused.
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let to: Vec<String> = (0..500).map(|i| format!("r{i:03}@example.org")).collect();
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "30"])
        .args(["--tls", "none", "--from", FROM, "--subject", "many"])
        .args(["--to", &to.join(","), "--body", "hi"])
        .run();
    run.expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(m.rcpt_tos, to, "one transaction, every recipient");
    let raw = String::from_utf8_lossy(&m.raw);
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");
    let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    assert_eq!(parsed.to().unwrap().iter().count(), 500);
}

#[test]
fn dump_mail_shows_exactly_what_is_sent_and_connects_to_nothing() {
    let work = Work::new();
    // No --server: nothing is connected to.
    let dump = work
        .postscope()
        .args([
            "send",
            "--from",
            FROM,
            "--to",
            TO,
            "--bcc",
            "hidden@example.org",
        ])
        .args(["--subject", "dumped", "--body", ".a dot\nbare LF\n"])
        .arg("--dump-mail")
        .run();
    dump.expect_status(0);
    assert!(dump.stdout.starts_with("From: "), "{}", dump.stdout);
    assert!(
        dump.stdout.contains("\r\nSubject: dumped\r\n"),
        "{}",
        dump.stdout
    );
    assert!(
        dump.stdout.contains("\r\n.a dot\r\nbare LF\r\n"),
        "not dot-stuffed, CRLF"
    );
    assert!(
        !dump.stdout.to_ascii_lowercase().contains("\nbcc"),
        "{}",
        dump.stdout
    );
    assert!(
        dump.stderr.contains(&format!("MAIL FROM:<{FROM}>")),
        "{}",
        dump.stderr
    );
    assert!(
        dump.stderr.contains("RCPT TO:<hidden@example.org>"),
        "{}",
        dump.stderr
    );
    // What it shows is what is sent: piped into --eml -, it arrives as shown.
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    work.postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", FROM, "--to", TO, "--eml", "-"])
        .stdin(dump.stdout.as_bytes())
        .run()
        .expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(String::from_utf8_lossy(&m.raw), dump.stdout);
    // --json and --transcript - write to the same streams: refused.
    work.postscope()
        .args(["send", "--from", FROM, "--to", TO, "--dump-mail", "--json"])
        .run()
        .expect_status(1)
        .stderr_contains("cannot be combined");
}

#[test]
fn the_envelope_sender_apart_from_the_from_header_and_the_null_sender() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    for envelope_from in ["bounces@example.org", "<>"] {
        work.postscope()
            .args(["send", "--server", &server.addr(), "--timeout", "20"])
            .args(["--tls", "none", "--from", FROM, "--to", TO, "--body", "b"])
            .args(["--envelope-from", envelope_from])
            .run()
            .expect_status(0);
    }
    let m = server.wait_for_messages(2, WAIT);
    assert_eq!(m[0].mail_from, "bounces@example.org");
    assert!(
        m[1].mail_from.is_empty() || m[1].mail_from == "<>",
        "the null sender: {:?}",
        m[1].mail_from
    );
    for message in &m {
        let parsed = crate::common::parse_message(&message.raw);
        assert_eq!(
            parsed.from().unwrap().first().unwrap().address(),
            Some(FROM)
        );
    }
}

#[test]
fn a_header_override_changes_what_is_shown_not_the_envelope() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    work.postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", FROM, "--to", TO, "--body", "b"])
        .args(["--header", "From: Chief Executive <ceo@bank.example>"])
        .args(["--header", "Date: not a date at all"])
        .run()
        .expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    assert_eq!(m.mail_from, FROM, "the envelope is --from's");
    let raw = String::from_utf8_lossy(&m.raw);
    assert!(
        raw.contains("\r\nFrom: Chief Executive <ceo@bank.example>\r\n")
            || raw.starts_with("From: Chief Executive <ceo@bank.example>\r\n"),
        "{raw}"
    );
    assert!(
        raw.contains("\r\nDate: not a date at all\r\n"),
        "a broken Date is a test case too: {raw}"
    );
    assert_eq!(
        raw.matches("\r\nDate:").count() + usize::from(raw.starts_with("Date:")),
        1
    );
}

#[test]
fn eml_from_a_pipe_is_sent_whole() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let eml = b"From: x@example.org\r\nTo: y@example.org\r\nSubject: piped\r\n\r\n\
                .leading dot\r\nGr\xc3\xbc\xc3\x9fe\r\n";
    // `-` and `/dev/stdin` (a pipe here, as with `--eml <(…)`): both were
    // once read twice, and the pipe sent an empty message.
    for name in ["-", "/dev/stdin"] {
        let run = work
            .postscope()
            .args(["send", "--server", &server.addr(), "--timeout", "20"])
            .args(["--tls", "none", "--from", FROM, "--to", TO, "--eml", name])
            .stdin(eml)
            .run();
        run.expect_status(0);
    }
    let messages = server.wait_for_messages(2, WAIT);
    for m in &messages {
        assert_eq!(m.raw, eml, "{}", String::from_utf8_lossy(&m.raw));
    }
}

/// `postscope send` to `server` in clear text from FROM to TO, with `args`
/// and `stdin`.
fn send_in_clear(
    work: &Work,
    server: &TestServer,
    args: &[&str],
    stdin: &[u8],
) -> crate::common::Run {
    work.postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", FROM, "--to", TO])
        .args(args)
        .stdin(stdin)
        .run()
}

#[test]
fn an_empty_or_oversized_eml_sends_nothing() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let send = |args: &[&str], stdin: &[u8]| send_in_clear(&work, &server, args, stdin);
    send(&["--eml", "-"], b"")
        .expect_status(1)
        .stderr_contains("standard input is empty");
    send(
        &["--eml", "-", "--max-input", "10"],
        b"Subject: too long for ten\r\n\r\nx\r\n",
    )
    .expect_status(1)
    .stderr_contains("--max-input");
    send(
        &["--eml", "-", "--password-stdin", "--auth-user", "u"],
        b"x",
    )
    .expect_status(1)
    .stderr_contains("both read standard input");
    assert!(server.messages().is_empty(), "nothing was sent");
}

#[test]
fn body_from_standard_input() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let run = work
        .postscope()
        .args(["send", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--from", FROM, "--to", TO])
        .args(["--subject", "stdin", "--body-file", "-"])
        .stdin("from stdin\n.\nend\n".as_bytes())
        .run();
    run.expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    let msg = parse_message(&m.raw);
    let text = msg.body_text(0).expect("a text body").replace("\r\n", "\n");
    assert_eq!(text.trim_end(), "from stdin\n.\nend");
}

#[test]
fn a_body_from_a_pipe_is_bounded_and_must_be_text_and_a_piped_attachment_is_refused() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let send = |args: &[&str], stdin: &[u8]| send_in_clear(&work, &server, args, stdin);
    // /dev/stdin is a pipe here, as `--body-file <(…)` would be: read once.
    send(&["--body-file", "/dev/stdin"], "piped body\n".as_bytes()).expect_status(0);
    let m = &server.wait_for_messages(1, WAIT)[0];
    let text = parse_message(&m.raw).body_text(0).unwrap().into_owned();
    assert_eq!(text.trim_end(), "piped body");
    send(
        &["--body-file", "-", "--max-input", "5"],
        b"longer than five",
    )
    .expect_status(1)
    .stderr_contains("standard input is over the limit of 5 bytes: raise --max-input");
    send(&["--body-file", "-"], b"caf\xe9 in Latin-1")
        .expect_status(1)
        .stderr_contains(
            "standard input is not UTF-8 text (a byte that cannot be read at offset 3)",
        );
    send(
        &["--body", "b", "--attach", "/dev/stdin"],
        b"attachment bytes",
    )
    .expect_status(1)
    .stderr_contains("attachment /dev/stdin: not a regular file")
    .stderr_contains("save what it holds to a file and attach that");
    assert_eq!(server.messages().len(), 1, "only the first was sent");
}

#[test]
fn auth_requested_but_not_offered_exits_28() {
    let server = TestServer::start(ServerOptions::new(Mode::StartTls));
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--auth-user", USER, "--transcript", "-"])
        .password(PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(28).stderr_contains("does not offer AUTH");
    assert!(
        !sent(&run.transcript())
            .iter()
            .any(|t| t.starts_with("MAIL")),
        "{}",
        run.dump()
    );
    assert!(server.messages().is_empty());
}

#[test]
fn html_transcript_is_one_page_with_the_diagram_and_no_secrets() {
    let server = auth_server(Mode::StartTls);
    let work = Work::new();
    let html = work.path().join("share.html");
    let jsonl = work.path().join("share.jsonl");
    for path in [&html, &jsonl] {
        work.postscope()
            .args(send_args(&server.addr()))
            .args(["--auth-user", USER])
            .password(PASSWORD)
            .arg("--ca-file")
            .arg(server.ca_pem())
            .arg("--transcript")
            .arg(path)
            .run()
            .expect_status(0);
    }
    let page = std::fs::read_to_string(&html).expect("read share.html");
    assert_no_secrets("share.html", &page, USER, PASSWORD);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("<svg") && page.contains("SMTP sequence diagram"));
    assert!(page.contains("AUTH PLAIN &lt;redacted&gt;"), "{page}");
    assert!(page.contains(">TLS</text>"), "the TLS boundary is drawn");
    assert_eq!(page.matches("</html>").count(), 1, "written once");

    // The JSON Lines file of the same exchange reads back into events.
    let (header, events) =
        postscope::smtp::transcript::parse_jsonl(&std::fs::read_to_string(&jsonl).unwrap())
            .expect("a saved transcript loads");
    assert_eq!(header.server, server.addr());
    assert!(events.iter().any(|e| e.text == "AUTH PLAIN <redacted>"));
    assert!(events.iter().any(|e| e.text.starts_with("250") && e.secure));
}
