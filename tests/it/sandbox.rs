//! The local sandbox server (`postscope::sandbox`): driven by our own SMTP
//! engine, by Python's smtplib (an independent client), by a raw socket
//! (pipelining, limits, the STARTTLS injection case) and as the
//! `postscope sandbox` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use postscope::message::{self, Draft};
use postscope::sandbox::{CA_FILE_NAME, MAX_CONNECTIONS, Sandbox, SandboxConfig};
use postscope::smtp::{
    self, AuthPlan, CancelToken, ClientId, Connection, Credentials, Envelope, Job, Mechanism,
    Secret, SessionConfig, Target, Timeouts, TlsMode, TlsOptions,
};

use crate::common::{Work, send_args};
use crate::server::run_python;

const WAIT: Duration = Duration::from_secs(10);

fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).expect("start the sandbox")
}

/// Sends `bytes` to the sandbox with our engine.
fn engine_send(
    sandbox: &Sandbox,
    tls: TlsMode,
    auth: AuthPlan,
    envelope: (&str, Vec<String>),
    bytes: &[u8],
) -> (smtp::Report, Result<(), smtp::SessionError>) {
    let addr = sandbox.local_addr();
    let target = Target {
        host: addr.ip().to_string(),
        port: addr.port(),
    };
    let options = TlsOptions {
        extra_roots: vec![sandbox.ca_der()],
        ..Default::default()
    };
    let config = SessionConfig {
        quit_after: None,
        client_id: ClientId::parse("client.example").unwrap(),
        tls,
        auth,
        job: Job::Send(Envelope {
            from: envelope.0.to_owned(),
            recipients: envelope.1,
            size: Some(bytes.len() as u64),
            eight_bit: !bytes.is_ascii(),
            dsn: Default::default(),
        }),
        allow_partial: false,
        timeouts: Timeouts::uniform(Duration::from_secs(20)),
    };
    let body = bytes.to_vec();
    smtp::run(
        Connection {
            target: &target,
            tls: &options,
            cancel: &CancelToken::default(),
        },
        config,
        Some(&body),
        &mut |event| {
            if let smtp::Event::Transcript(e) = event {
                TRANSCRIPT.with(|t| t.borrow_mut().push(e.clone()));
            }
        },
    )
}

thread_local! {
    /// The transcript of this thread's last [`engine_send`].
    static TRANSCRIPT: std::cell::RefCell<Vec<smtp::TranscriptEvent>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[test]
fn pipelining_and_chunking_send_to_100_recipients_in_three_client_turns() {
    let sandbox = start(SandboxConfig::default());
    // 100: the most the sandbox takes in one message (more get 452).
    let recipients: Vec<String> = (0..100).map(|i| format!("r{i}@example.org")).collect();
    TRANSCRIPT.with(|t| t.borrow_mut().clear());
    let (report, result) = engine_send(
        &sandbox,
        TlsMode::None,
        AuthPlan::None,
        ("a@example.org", recipients.clone()),
        b"Subject: many\r\n\r\nhello\r\n",
    );
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(report.delivered, recipients);
    // A client turn: the lines sent between two lines received.
    let turns: Vec<Vec<String>> = TRANSCRIPT.with(|t| {
        let mut turns: Vec<Vec<String>> = Vec::new();
        let mut open = false;
        for e in t.borrow().iter() {
            match e.direction {
                smtp::Direction::Sent if open => turns.last_mut().unwrap().push(e.text.clone()),
                smtp::Direction::Sent => {
                    turns.push(vec![e.text.clone()]);
                    open = true;
                }
                smtp::Direction::Received => open = false,
                _ => {}
            }
        }
        turns
    });
    assert_eq!(turns.len(), 3, "{turns:?}");
    assert!(turns[0][0].starts_with("EHLO"));
    // The sandbox offers CHUNKING too: no DATA round trip, the message
    // goes as BDAT ... LAST with QUIT behind it.
    assert_eq!(turns[1].len(), 101, "MAIL and 100 RCPT");
    assert!(turns[1][100].starts_with("RCPT TO:"));
    assert_eq!(turns[2], ["BDAT 24 LAST", "QUIT"]);
    assert_eq!(sandbox.inbox().wait_for(1, WAIT)[0].rcpt_to.len(), 100);

    // 150: the 50 the server put off with 452 go in a second transaction,
    // pipelined too.
    let recipients: Vec<String> = (0..150).map(|i| format!("s{i}@example.org")).collect();
    let (report, result) = engine_send(
        &sandbox,
        TlsMode::None,
        AuthPlan::None,
        ("a@example.org", recipients.clone()),
        b"Subject: more\r\n\r\nhello\r\n",
    );
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(report.delivered, recipients);
    let inbox = sandbox.inbox().wait_for(3, WAIT);
    assert_eq!(inbox[1].rcpt_to.len(), 100);
    assert_eq!(inbox[2].rcpt_to.len(), 50);
}

#[test]
fn engine_starttls_auth_bcc_and_attachments() {
    let sandbox = start(SandboxConfig::default());
    let work = Work::new();
    let bin: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\nnot really a pdf\n".to_vec();
    let draft = Draft {
        from: "Ada <ada@example.org>".into(),
        to: vec!["bob@example.org".into()],
        cc: vec!["carol@example.org".into()],
        bcc: vec!["hidden@example.org".into()],
        subject: "héllo sandbox".into(),
        body: "Hi Bob,\n.a line that starts with a dot\n".into(),
        attachments: vec![
            work.file("bin.dat", &bin),
            work.file("résumé final.pdf", &pdf),
        ],
        ..Draft::default()
    };
    let built = message::build(&draft).expect("build the message");
    let (report, result) = engine_send(
        &sandbox,
        TlsMode::StartTls,
        AuthPlan::Auto(Credentials {
            user: "sandbox".into(),
            secret: Secret::Password("sandbox".into()),
        }),
        (&built.envelope.from, built.envelope.recipients.clone()),
        &built.bytes,
    );
    assert!(result.is_ok(), "{result:?}\n{report:?}");
    assert!(report.tls.is_some());
    assert_eq!(report.auth, Some(Mechanism::Plain));

    let messages = sandbox.inbox().wait_for(1, WAIT);
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.id, 1);
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("sandbox"));
    assert_eq!(m.mail_from, "ada@example.org");
    assert_eq!(
        m.rcpt_to,
        ["bob@example.org", "carol@example.org", "hidden@example.org"]
    );
    assert!(m.peer.ip().is_loopback());
    // Byte for byte what was built (SMTP ends the last line with CRLF if it had none).
    let mut expected = built.bytes.clone();
    if !expected.ends_with(b"\r\n") {
        expected.extend_from_slice(b"\r\n");
    }
    assert!(
        m.raw == expected,
        "the captured message differs from the one sent"
    );
    let s = &m.summary;
    assert_eq!(s.subject, "héllo sandbox");
    assert_eq!(s.from, "Ada <ada@example.org>");
    assert_eq!(s.to, "bob@example.org");
    assert_eq!(s.cc, "carol@example.org");
    assert!(s.date.is_some());
    assert!(
        s.text_preview.starts_with("Hi Bob,"),
        "{:?}",
        s.text_preview
    );
    let names: Vec<(&str, u64)> = s
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.size))
        .collect();
    assert_eq!(
        names,
        [("bin.dat", 5000), ("résumé final.pdf", pdf.len() as u64)]
    );
    assert_eq!(s.attachments[1].content_type, "application/pdf");
    sandbox.stop();
}

#[test]
fn engine_over_clear_text_without_login() {
    let sandbox = start(SandboxConfig::default());
    let raw = b"Subject: plain\r\n\r\nhello\r\n";
    let (_, result) = engine_send(
        &sandbox,
        TlsMode::None,
        AuthPlan::None,
        ("a@example.org", vec!["b@example.org".into()]),
        raw,
    );
    assert!(result.is_ok(), "{result:?}");
    let m = &sandbox.inbox().wait_for(1, WAIT)[0];
    assert!(!m.tls);
    assert_eq!(m.auth_user, None);
    assert_eq!(m.raw, raw);
    assert_eq!(m.summary.subject, "plain");
}

const SMTPLIB_SCRIPT: &str = r#"
import smtplib, ssl, sys
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
msg = (b"From: p@example.org\r\nTo: q@example.org\r\nSubject: from python\r\n\r\n"
       b".a line with a leading dot\r\n8-bit: \xc3\xa9\r\n")
with smtplib.SMTP(host, port, timeout=20) as s:
    s.ehlo("python.example")
    assert s.has_extn("starttls"), s.esmtp_features
    assert s.has_extn("pipelining") and s.has_extn("chunking") and s.has_extn("8bitmime")
    s.starttls(context=ctx)
    s.ehlo("python.example")
    assert not s.has_extn("starttls"), s.esmtp_features
    s.login("pyuser", "any password")
    refused = s.sendmail("p@example.org", ["q@example.org", "r@example.org"], msg,
                         mail_options=["BODY=8BITMIME"])
    assert refused == {}, refused
    code, text = s.noop()
    assert code == 250, (code, text)
with smtplib.SMTP(host, port, timeout=20) as s:
    s.ehlo("python.example")
    s.user, s.password = "loginuser", "pw"
    code, text = s.auth("LOGIN", s.auth_login)
    assert code == 235, (code, text)
    s.sendmail("<>", ["q@example.org"], b"Subject: second\r\n\r\nx\r\n")
print("OK")
"#;

#[test]
fn python_smtplib_starttls_login_and_send() {
    let sandbox = start(SandboxConfig::default());
    let work = Work::new();
    let ca = work.file("ca.pem", sandbox.ca_pem().as_bytes());
    let addr = sandbox.local_addr();
    let stdout = run_python(
        SMTPLIB_SCRIPT,
        [
            addr.ip().to_string().into(),
            addr.port().to_string().into(),
            ca.into_os_string(),
        ],
    );
    assert_eq!(stdout.trim(), "OK");
    let messages = sandbox.inbox().wait_for(2, WAIT);
    assert_eq!(messages.len(), 2);
    let m = &messages[0];
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("pyuser"));
    assert_eq!(m.rcpt_to, ["q@example.org", "r@example.org"]);
    assert_eq!(
        m.raw,
        b"From: p@example.org\r\nTo: q@example.org\r\nSubject: from python\r\n\r\n\
          .a line with a leading dot\r\n8-bit: \xc3\xa9\r\n"
    );
    assert_eq!(m.summary.subject, "from python");
    let m = &messages[1];
    assert!(!m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("loginuser"));
    assert_eq!(m.mail_from, "");
}

/// A client that speaks raw SMTP over a socket.
struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect to the sandbox");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut raw = Raw {
            reader: BufReader::new(stream),
        };
        let greeting = raw.reply();
        assert_eq!(
            greeting,
            "220 postscope.sandbox Postscope sandbox ESMTP ready\r\n"
        );
        raw
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    /// One whole reply (all its lines).
    fn reply(&mut self) -> String {
        let mut reply = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read a reply");
            assert!(
                n > 0,
                "the sandbox closed the connection; so far: {reply:?}"
            );
            reply.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    }

    /// The first line of each of the next `n` replies.
    fn replies(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| self.reply().lines().last().unwrap_or_default().to_owned())
            .collect()
    }
}

fn codes(replies: &[String]) -> Vec<&str> {
    replies.iter().map(|r| &r[..3]).collect()
}

#[test]
fn pipelined_commands_size_limit_and_inbox_cap() {
    let sandbox = start(SandboxConfig {
        max_messages: 3,
        max_message_size: 10_000,
        ..SandboxConfig::default()
    });
    let inbox = sandbox.inbox();
    let mut c = Raw::connect(sandbox.local_addr());
    c.send(b"EHLO raw.example\r\n");
    let ehlo = c.reply();
    assert!(ehlo.contains("250-SIZE 10000\r\n"), "{ehlo}");
    assert!(ehlo.ends_with("250 DSN\r\n"), "{ehlo}");

    // Declared too big: refused at MAIL.
    c.send(b"MAIL FROM:<a@example.org> SIZE=20000\r\n");
    assert_eq!(
        c.replies(1),
        ["552 5.3.4 Message size exceeds fixed limit of 10000 bytes"]
    );
    // Too big without a declaration: read to the end, refused, not stored.
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(codes(&c.replies(3)), ["250", "250", "354"]);
    let line = [b"x".repeat(998), b"\r\n".to_vec()].concat();
    for _ in 0..20 {
        c.send(&line);
    }
    c.send(b".\r\n");
    let refused = c.replies(1);
    assert!(refused[0].starts_with("552 5.3.4 "), "{refused:?}");
    assert!(inbox.is_empty());

    // Five messages in one pipelined batch; the cap keeps the newest three.
    let mut batch = Vec::new();
    for i in 1..=5 {
        batch.extend_from_slice(
            format!(
                "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n\
                 Subject: n{i}\r\n\r\nbody {i}\r\n.\r\n"
            )
            .as_bytes(),
        );
    }
    batch.extend_from_slice(b"QUIT\r\n");
    c.send(&batch);
    let replies = c.replies(21);
    for i in 0..5 {
        assert_eq!(
            codes(&replies[i * 4..i * 4 + 4]),
            ["250", "250", "354", "250"]
        );
        assert_eq!(
            replies[i * 4 + 3],
            format!("250 2.0.0 Ok: queued as {}", i + 1)
        );
    }
    assert_eq!(
        replies[20],
        "221 2.0.0 postscope.sandbox closing connection"
    );
    let mut rest = Vec::new();
    c.reader.read_to_end(&mut rest).expect("read to the end");
    assert!(rest.is_empty());

    let kept = inbox.wait_for(3, WAIT);
    let subjects: Vec<&str> = kept.iter().map(|m| m.summary.subject.as_str()).collect();
    assert_eq!(subjects, ["n3", "n4", "n5"]);
    assert_eq!(inbox.dropped(), 2);
    assert_eq!(kept[2].raw, b"Subject: n5\r\n\r\nbody 5\r\n");
}

#[test]
fn starttls_discards_commands_pipelined_in_clear_text() {
    let sandbox = start(SandboxConfig::default());
    let mut c = Raw::connect(sandbox.local_addr());
    c.send(b"EHLO raw.example\r\n");
    c.reply();
    // The injection: MAIL FROM sent in clear text right behind STARTTLS.
    c.send(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n");
    assert_eq!(c.replies(1), ["220 2.0.0 Ready to start TLS"]);
    assert!(
        c.reader.buffer().is_empty(),
        "a reply came for the injected command"
    );

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(sandbox.ca_der()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let client = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = c.reader.into_inner();
    let mut tls = BufReader::new(rustls::StreamOwned::new(client, tcp));
    // Had the injected MAIL been kept, this RCPT would be accepted.
    tls.get_mut()
        .write_all(b"EHLO raw.example\r\nRCPT TO:<b@example.org>\r\nQUIT\r\n")
        .unwrap();
    let mut read_reply = || {
        let mut line = String::new();
        loop {
            line.clear();
            tls.read_line(&mut line).expect("read over TLS");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    };
    assert_eq!(read_reply(), "250 DSN\r\n");
    assert_eq!(read_reply(), "503 5.5.1 Need MAIL command first\r\n");
    assert!(read_reply().starts_with("221 "));
    assert!(sandbox.inbox().is_empty());
}

#[test]
fn stop_is_prompt_with_idle_clients_and_connections_are_capped() {
    // All from 127.0.0.1: the per-address cap is lifted to show the global one.
    let sandbox = start(SandboxConfig {
        max_per_client: MAX_CONNECTIONS,
        ..SandboxConfig::default()
    });
    let addr = sandbox.local_addr();
    let mut idle = Raw::connect(addr);
    // Fill every slot, then one more is turned away.
    let mut others: Vec<Raw> = (1..MAX_CONNECTIONS).map(|_| Raw::connect(addr)).collect();
    let mut extra = TcpStream::connect(addr).unwrap();
    extra.set_read_timeout(Some(WAIT)).unwrap();
    let mut refused = String::new();
    let _ = extra.read_to_string(&mut refused);
    assert!(refused.starts_with("421 4.7.0 "), "{refused:?}");
    others.truncate(1);
    others[0].send(b"NOOP\r\n");
    assert_eq!(codes(&others[0].replies(1)), ["250"]);

    let started = Instant::now();
    sandbox.stop();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        started.elapsed()
    );
    // The idle client's connection was closed.
    let mut rest = Vec::new();
    let n = idle.reader.read_to_end(&mut rest).unwrap_or(0);
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&rest));
}

/// The `postscope sandbox` binary, running, with its stdout read line by line.
struct Headless {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Headless {
    fn start(work: &Work, save_dir: &Path) -> Headless {
        let mut child = Command::new(env!("CARGO_BIN_EXE_postscope"))
            .args(["sandbox", "--listen", "127.0.0.1:0", "--save-dir"])
            .arg(save_dir)
            .env("XDG_CONFIG_HOME", work.path().join("config"))
            .env("XDG_DATA_HOME", work.path().join("data"))
            .env("XDG_CACHE_HOME", work.path().join("cache"))
            // A zone given for the child only (a POSIX rule, no tzdata
            // needed): its lines must show local time with the offset.
            .env("TZ", "NPT-5:45")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start postscope sandbox");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Headless {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next stdout line that contains `needle` (panics after 20 s).
    fn line_with(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?} from postscope sandbox; stdout so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends deliberately broken mail with Python's smtplib, which passes the
/// bytes on as they are (it fixes only line endings and dots).
const BROKEN_BY_SMTPLIB: &str = r#"
import smtplib, sys
host, port = sys.argv[1], int(sys.argv[2])
msg = (b"From: p@example.org\r\n"
       b"To: Jane Doe q@example.org\r\n"
       b"Bcc: hidden@example.org\r\n"
       b"Subject: =?utf-8?B?not*base64!?=\r\n"
       b"Content-Type: multipart/mixed; boundary=\"zz\"\r\n"
       b"\r\n"
       b"--zz\r\n"
       b"Content-Transfer-Encoding: base64\r\n"
       b"\r\n"
       b"not*base64\r\n"
       b"--zz\r\n"
       b"\r\n"
       b"the last part, never closed\r\n")
with smtplib.SMTP(host, port, timeout=20) as s:
    s.sendmail("p@example.org", ["q@example.org"], msg)
print("OK")
"#;

#[test]
fn the_headless_sandbox_lints_what_an_independent_client_sends() {
    let work = Work::new();
    let mut server = Headless::start(&work, &work.path().join("saved"));
    let first = server.line_with("listening on ");
    let addr: SocketAddr = first.rsplit(' ').next().unwrap().parse().unwrap();
    run_python(
        BROKEN_BY_SMTPLIB,
        [addr.ip().to_string(), addr.port().to_string()],
    );
    let line = server.line_with("#1 ");
    assert!(line.ends_with("lint: 5 errors, 2 warnings"), "{line}");
    // Then one line per finding, in line order, each naming its rule.
    for expected in [
        "error: there is no Date header (RFC 5322 §3.6)",
        "warning: there is no Message-ID header (RFC 5322 §3.6.4)",
        "line 2: error: To: \"Jane Doe q@example.org\" is not an address: a name needs \
         the address after it in <…> (RFC 5322 §3.4)",
        "line 3: warning: a Bcc header is left in the message",
        "line 4: error: Subject: the encoded word",
        "line 10: error: a character that is not base64 in a base64 body (RFC 2045 §6.8)",
        "line 13: error: the multipart is never closed: no --zz-- line (RFC 2046 §5.1.1)",
    ] {
        let found = server.line_with("    ");
        assert!(found.contains(expected), "{found:?} is not {expected:?}");
    }
}

#[test]
fn headless_binary_prints_saves_and_stops_on_ctrl_c() {
    let work = Work::new();
    let save_dir = work.path().join("saved");
    let mut server = Headless::start(&work, &save_dir);
    let first = server.line_with("listening on ");
    let addr: SocketAddr = first
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    assert_ne!(addr.port(), 0, "{first}");
    server.line_with("Any user name and password is accepted");
    server.line_with("Ctrl-C");
    let ca = save_dir.join(CA_FILE_NAME);
    assert!(ca.exists(), "{} was not written", ca.display());

    // Clear text.
    let run = work
        .postscope()
        .args(send_args(&addr.to_string()))
        .args(["--tls", "none"])
        .run();
    run.expect_status(0);
    let line = server.line_with("#1 ");
    assert_eq!(line.get(8..18), Some(" +05:45  #"), "local time: {line}");
    assert!(
        line.contains("a@example.org -> b@example.org")
            && line.contains("\"test\"")
            && line.contains("clear text"),
        "{line}"
    );

    // STARTTLS, trusting the saved CA, with a login and an attachment.
    let attachment = work.file("notes.txt", b"some notes\n");
    let run = work
        .postscope()
        .args(send_args(&addr.to_string()))
        .args(["--tls", "starttls", "--auth-user", "someone"])
        .password("whatever")
        .arg("--ca-file")
        .arg(&ca)
        .arg("--attach")
        .arg(&attachment)
        .run();
    run.expect_status(0);
    let line = server.line_with("#2 ");
    assert!(
        line.contains("(TLS, user someone)") && line.contains("attachments: notes.txt"),
        "{line}"
    );

    // A refusal is printed too, with `!`, whom and why.
    {
        let mut raw = TcpStream::connect(addr).unwrap();
        raw.write_all(b"MAIL FROM:<a@example.org>\r\nQUIT\r\n")
            .unwrap();
        let mut rest = String::new();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        let _ = raw.read_to_string(&mut rest);
        assert!(rest.contains("503 5.5.1"), "{rest}");
    }
    let line = server.line_with("  !  ");
    assert!(
        line.contains(" +05:45  !  127.0.0.1:")
            && line.ends_with("MAIL: 503 5.5.1 Send EHLO or HELO first"),
        "{line}"
    );

    // Both messages were saved, whole.
    let mut saved: Vec<PathBuf> = std::fs::read_dir(&save_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    saved.sort();
    assert_eq!(saved.len(), 2, "{saved:?}");
    for path in &saved {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "captured mail is private: {}", path.display());
    }
    let names: Vec<String> = saved
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names[0].ends_with("-000001.eml") && names[1].ends_with("-000002.eml"),
        "{names:?}"
    );
    let first_eml = std::fs::read(&saved[0]).unwrap();
    let text = String::from_utf8_lossy(&first_eml);
    assert!(
        text.contains("Subject: test\r\n") && text.ends_with("hello\r\n"),
        "{text}"
    );

    // Ctrl-C: a clean stop, exit 0.
    let pid = server.child.id().to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
    server.line_with("sandbox stopped; 2 message(s) received.");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "postscope sandbox did not exit after SIGINT"
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn headless_binary_explains_a_port_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let work = Work::new();
    let run = work.postscope().args(["sandbox", "--listen", &addr]).run();
    run.expect_status(1)
        .stderr_contains(&format!("cannot listen on {addr}"))
        .stderr_contains("--listen 127.0.0.1:0");
}

#[test]
fn ipv6_loopback_with_starttls() {
    let sandbox = start(SandboxConfig {
        listen: "[::1]:0".parse().unwrap(),
        ..SandboxConfig::default()
    });
    let (_, result) = engine_send(
        &sandbox,
        TlsMode::StartTls,
        AuthPlan::None,
        ("a@example.org", vec!["b@example.org".into()]),
        b"Subject: v6\r\n\r\nhi\r\n",
    );
    assert!(result.is_ok(), "{result:?}");
    let m = &sandbox.inbox().wait_for(1, WAIT)[0];
    assert!(m.tls && m.peer.is_ipv6());
}

#[test]
fn handles_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Sandbox>();
    send_sync::<postscope::sandbox::Inbox>();
    send_sync::<postscope::sandbox::Captured>();
}

#[test]
fn a_message_of_many_bdat_chunks_arrives_byte_for_byte() {
    let sandbox = start(SandboxConfig::default());
    let mut raw = b"Subject: chunks\r\n\r\n".to_vec();
    for i in 0..20_000 {
        // Lines that start with a dot too: BDAT sends them as they are.
        raw.extend_from_slice(format!(".line {i} of the message\r\n").as_bytes());
    }
    assert!(raw.len() > 5 * 64 * 1024);
    TRANSCRIPT.with(|t| t.borrow_mut().clear());
    let (report, result) = engine_send(
        &sandbox,
        TlsMode::StartTls,
        AuthPlan::None,
        ("a@example.org", vec!["b@example.org".into()]),
        &raw,
    );
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(report.message_bytes, raw.len() as u64);
    let chunks = TRANSCRIPT.with(|t| {
        t.borrow()
            .iter()
            .filter(|e| e.text.starts_with("BDAT"))
            .count()
    });
    assert!(chunks > 5, "{chunks} chunks");
    let m = &sandbox.inbox().wait_for(1, WAIT)[0];
    assert_eq!(m.raw, raw);
}

#[test]
fn markdown_and_ready_html_arrive_as_both_parts() {
    let sandbox = start(SandboxConfig::default());
    let work = Work::new();
    let addr = sandbox.local_addr().to_string();
    let send = |args: &[&str]| {
        work.postscope()
            .args([
                "send",
                "--server",
                &addr,
                "--timeout",
                "20",
                "--tls",
                "none",
            ])
            .args(["--from", "a@example.org", "--to", "b@example.org"])
            .args(args)
            .run()
            .expect_status(0);
    };
    send(&[
        "--subject",
        "md",
        "--body",
        "# Hi\n\n*Grüße*\n",
        "--markdown",
    ]);
    let html = work.file("page.html", b"<h1>Invoice</h1><p>Total: 5&nbsp;&euro;</p>");
    send(&["--subject", "html", "--body-html", html.to_str().unwrap()]);
    let messages = sandbox.inbox().wait_for(2, WAIT);
    let md = &messages[0].summary;
    assert_eq!(
        md.text_preview.replace("\r\n", "\n").trim_end(),
        "# Hi\n\n*Grüße*"
    );
    let md_html = md.html.as_deref().expect("an HTML part");
    assert!(
        md_html.contains("<h1>Hi</h1>") && md_html.contains("<em>Grüße</em>"),
        "{md_html}"
    );
    let ready = &messages[1].summary;
    assert_eq!(
        ready.text_preview.replace("\r\n", "\n"),
        "Invoice\n\nTotal: 5 €\n"
    );
    assert!(ready.html.as_deref().unwrap().contains("<h1>Invoice</h1>"));
    assert!(
        messages.iter().all(|m| m.findings.is_empty()),
        "lints clean"
    );
    // A plain message has no HTML part (mail-parser's made-up one is not counted).
    send(&["--subject", "plain", "--body", "just text"]);
    assert_eq!(sandbox.inbox().wait_for(3, WAIT)[2].summary.html, None);
}

#[test]
fn five_hundred_bare_recipients_go_to_the_sandbox_in_five_transactions() {
    // The sandbox takes 100 recipients a transaction (452 4.5.3 beyond): the
    // rest go in further transactions of the same message.
    let sandbox = start(SandboxConfig::default());
    let work = Work::new();
    let to: Vec<String> = (0..500).map(|i| format!("r{i:03}@example.org")).collect();
    work.postscope()
        .args(["send", "--server", &sandbox.local_addr().to_string()])
        .args([
            "--timeout",
            "30",
            "--tls",
            "none",
            "--from",
            "a@example.org",
        ])
        .args(["--subject", "many", "--to", &to.join(","), "--body", "hi"])
        .run()
        .expect_status(0);
    let messages = sandbox.inbox().wait_for(5, WAIT);
    assert_eq!(messages.len(), 5);
    let got: Vec<String> = messages.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    assert_eq!(got, to, "every recipient once, in order");
    for m in &messages {
        assert_eq!(m.rcpt_to.len(), 100);
        assert_eq!(m.raw, messages[0].raw, "the same message each time");
        assert!(m.findings.is_empty(), "{:?}", m.findings);
    }
    let raw = String::from_utf8_lossy(&messages[0].raw);
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(head.lines().all(|l| l.len() <= 78), "{head}");
}
