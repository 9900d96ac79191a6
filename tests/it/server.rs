//! A real, independent SMTP server for the integration tests: aiosmtpd (Python)
//! on loopback, driven by `tests/support/smtp_server.py`.
//!
//! Each [`TestServer`] gets its own CA + leaf certificate (made with rcgen), its
//! own ephemeral port and its own maildir in a temporary directory. The child's
//! stdin is a pipe that only we hold: when the `TestServer` is dropped (or the
//! test process dies) the pipe closes and the server exits, and `Drop` also
//! kills it outright.
//!
//! The Python interpreter is `$POSTSCOPE_TEST_PYTHON`, else `.venv/bin/python`
//! in the repository, else `python3`. `bash scripts/test.sh` sets all of that up.

// Not every helper is used by every test yet.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long the server may take to print its `PORT` line.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No TLS at all; STARTTLS is not offered.
    Plain,
    /// STARTTLS offered and required before MAIL/AUTH (only EHLO, NOOP,
    /// STARTTLS and QUIT are allowed before it).
    StartTls,
    /// The listening socket itself is TLS ("SMTPS", port-465 style).
    Implicit,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::StartTls => "starttls",
            Mode::Implicit => "implicit",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub mode: Mode,
    /// `"127.0.0.1"` or `"::1"`.
    pub host: &'static str,
    /// `(user, password)`: AUTH PLAIN/LOGIN is advertised (in plain mode over
    /// the clear connection, too) and required before MAIL; only this pair
    /// succeeds. `None`: AUTH is neither advertised nor required.
    pub auth: Option<(String, String)>,
    /// RCPT TO for these addresses gets
    /// `550 5.1.1 <ADDR>: Recipient address rejected: User unknown`.
    pub refuse_rcpt: Vec<String>,
    /// Advertise DSN (RFC 3461) and record its parameters ([`Received::dsn`]).
    pub dsn: bool,
    /// Offer XOAUTH2 and OAUTHBEARER and verify each token against this
    /// issuer's JWKS (signature, issuer, audience, expiry, scope, user).
    pub oauth_issuer: Option<String>,
}

impl ServerOptions {
    /// `mode` on 127.0.0.1, no AUTH, every recipient accepted.
    pub fn new(mode: Mode) -> ServerOptions {
        ServerOptions {
            mode,
            host: "127.0.0.1",
            auth: None,
            refuse_rcpt: Vec::new(),
            dsn: false,
            oauth_issuer: None,
        }
    }
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The MAIL FROM address without angle brackets; `""` for the null
    /// reverse-path `<>`.
    pub mail_from: String,
    /// The accepted RCPT TO addresses, in order (refused ones are not here).
    pub rcpt_tos: Vec<String>,
    /// The DATA bytes exactly as received, after dot-unstuffing and without
    /// the terminating `.` line.
    pub raw: Vec<u8>,
    /// With [`ServerOptions::dsn`], the DSN parameters exactly as sent:
    /// `{"mail": {"RET": .., "ENVID": ..}, "rcpt": [{"NOTIFY": .., "ORCPT":
    /// ..}, one per accepted recipient]}`; else null.
    pub dsn: serde_json::Value,
    /// After an OAuth login: `{"mechanism", "user", "sub"}`; else null.
    pub auth: serde_json::Value,
}

/// A running aiosmtpd server. Dropping it stops the server and removes its files.
pub struct TestServer {
    child: Child,
    /// Held only to be closed: EOF on the child's stdin stops it.
    stdin: Option<ChildStdin>,
    host: &'static str,
    port: u16,
    ca_pem: PathBuf,
    maildir: PathBuf,
    log: Arc<Mutex<String>>,
    // Removed when the fields drop, after `Drop::drop` has stopped the child.
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server. Panics (with the server's log) if Python or aiosmtpd
    /// is missing or the server does not come up within 20 s.
    pub fn start(opts: ServerOptions) -> TestServer {
        let dir = tempfile::Builder::new()
            .prefix("postscope-smtp-")
            .tempdir()
            .expect("create a temporary directory for the test SMTP server");
        let certs = make_certs(dir.path());
        let maildir = dir.path().join("maildir");
        std::fs::create_dir(&maildir).expect("create the maildir");

        let python = python();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .args(["--host", opts.host, "--mode", opts.mode.arg()])
            .arg("--cert")
            .arg(&certs.chain)
            .arg("--key")
            .arg(&certs.key)
            .arg("--maildir")
            .arg(&maildir);
        if let Some((user, password)) = &opts.auth {
            cmd.args(["--user", user, "--password", password]);
        }
        for addr in &opts.refuse_rcpt {
            cmd.args(["--refuse-rcpt", addr]);
        }
        if opts.dsn {
            cmd.arg("--dsn");
        }
        if let Some(issuer) = &opts.oauth_issuer {
            cmd.args(["--oauth-issuer", issuer]);
        }
        cmd.env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let mut child = cmd.spawn().unwrap_or_else(|err| {
            panic!(
                "could not start the test SMTP server with `{}` ({err}).\n{}",
                python.display(),
                SETUP_HINT
            )
        });
        let stdin = child.stdin.take();

        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let stderr_log = Arc::clone(&log);
        let stderr_thread = thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                append_line(&stderr_log, &line);
            }
        });

        let stdout = child.stdout.take().expect("piped stdout");
        let stdout_log = Arc::clone(&log);
        let (port_tx, port_rx) = mpsc::channel::<u16>();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match line.strip_prefix("PORT ").map(|p| p.trim().parse::<u16>()) {
                    Some(Ok(port)) => {
                        let _ = port_tx.send(port);
                    }
                    _ => append_line(&stdout_log, &format!("[stdout] {line}")),
                }
            }
        });

        let port = match port_rx.recv_timeout(START_TIMEOUT) {
            Ok(port) => port,
            Err(err) => {
                let why = match err {
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("printed no PORT line within {START_TIMEOUT:?}")
                    }
                    mpsc::RecvTimeoutError::Disconnected => {
                        "exited without printing a PORT line".to_string()
                    }
                };
                let _ = child.kill();
                let status = child.wait();
                let _ = stderr_thread.join();
                panic!(
                    "the test SMTP server (`{} {}`, {:?}) {why} (exit: {status:?}).\n{}\n\
                     --- server log ---\n{}",
                    python.display(),
                    script.display(),
                    opts.mode,
                    SETUP_HINT,
                    log.lock().unwrap_or_else(|e| e.into_inner()),
                );
            }
        };

        TestServer {
            child,
            stdin,
            host: opts.host,
            port,
            ca_pem: certs.ca,
            maildir,
            log,
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &'static str {
        self.host
    }

    /// `"127.0.0.1:PORT"` or `"[::1]:PORT"`.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The CA certificate (PEM) that signed the server's leaf certificate,
    /// whose SANs are `localhost`, `127.0.0.1` and `::1`.
    pub fn ca_pem(&self) -> &Path {
        &self.ca_pem
    }

    /// The server's log so far (aiosmtpd logs every command, AUTH arguments
    /// masked): handy in assertion messages.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The messages accepted so far, in order of arrival. Only complete ones:
    /// the server writes a message's envelope (`.json`) after its body (`.eml`).
    pub fn messages(&self) -> Vec<Received> {
        let entries = std::fs::read_dir(&self.maildir)
            .unwrap_or_else(|e| panic!("read maildir {}: {e}", self.maildir.display()));
        let mut envelopes: Vec<PathBuf> = entries
            .map(|e| e.expect("read maildir entry").path())
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        envelopes.sort();
        envelopes.into_iter().map(|p| read_received(&p)).collect()
    }

    /// Waits until at least `n` messages have arrived and returns all of them.
    /// Panics (with the server log) if that takes longer than `timeout`.
    pub fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            if Instant::now() >= deadline {
                panic!(
                    "expected {n} message(s) at the test SMTP server within {timeout:?}, \
                     got {}.\n--- server log ---\n{}",
                    messages.len(),
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SETUP_HINT: &str = "The integration tests need Python 3 with aiosmtpd 1.4.6: run \
     `bash scripts/test.sh` (it installs both into .venv), or point POSTSCOPE_TEST_PYTHON \
     at an interpreter that has aiosmtpd.";

fn append_line(log: &Mutex<String>, line: &str) {
    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
    log.push_str(line);
    log.push('\n');
}

/// `$POSTSCOPE_TEST_PYTHON`, else the repository's `.venv/bin/python`, else
/// `python3`. The smtplib client in tests/it/sandbox.rs uses it too.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("POSTSCOPE_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// Runs a Python script with `args` and returns its standard output;
/// panics, showing both streams, unless it exits 0.
pub fn run_python<S: AsRef<std::ffi::OsStr>>(
    script: &str,
    args: impl IntoIterator<Item = S>,
) -> String {
    let python = python();
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the Python script failed ({:?})\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn read_received(json_path: &Path) -> Received {
    let text = std::fs::read_to_string(json_path)
        .unwrap_or_else(|e| panic!("read {}: {e}", json_path.display()));
    let meta: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("parse {}: {e}\n{text}", json_path.display()));
    let eml = json_path.with_extension("eml");
    let raw = std::fs::read(&eml).unwrap_or_else(|e| panic!("read {}: {e}", eml.display()));
    let mail_from = meta["mail_from"].as_str().unwrap_or_default().to_string();
    let rcpt_tos = meta["rcpt_tos"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    if let Some(size) = meta["size"].as_u64() {
        assert_eq!(size, raw.len() as u64, "size of {}", eml.display());
    }
    Received {
        mail_from,
        rcpt_tos,
        raw,
        dsn: meta["dsn"].clone(),
        auth: meta["auth"].clone(),
    }
}

struct CertFiles {
    /// The CA certificate.
    ca: PathBuf,
    /// Leaf certificate followed by the CA certificate.
    chain: PathBuf,
    /// The leaf's private key (PKCS#8 PEM).
    key: PathBuf,
}

/// A fresh CA and a leaf for `localhost`, `127.0.0.1` and `::1` signed by it.
fn make_certs(dir: &Path) -> CertFiles {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate().expect("generate CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "postscope test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().expect("generate leaf key");
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .expect("leaf params");
    leaf_params.distinguished_name = DistinguishedName::new();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .expect("sign leaf certificate");

    let files = CertFiles {
        ca: dir.join("ca.pem"),
        chain: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    let write = |path: &Path, contents: &str| {
        std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()))
    };
    write(&files.ca, &ca_cert.pem());
    write(
        &files.chain,
        &format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
    );
    write(&files.key, &leaf_key.serialize_pem());
    files
}

#[test]
fn aiosmtpd_starts_in_every_mode() {
    let cases = [
        ServerOptions::new(Mode::Plain),
        ServerOptions {
            host: "::1",
            ..ServerOptions::new(Mode::Plain)
        },
        ServerOptions {
            auth: Some(("user".into(), "secret".into())),
            refuse_rcpt: vec!["nobody@example.test".into()],
            ..ServerOptions::new(Mode::StartTls)
        },
        ServerOptions {
            auth: Some(("user".into(), "secret".into())),
            ..ServerOptions::new(Mode::Implicit)
        },
    ];
    for opts in cases {
        let mode = opts.mode;
        let server = TestServer::start(opts);
        let stream = TcpStream::connect(server.addr())
            .unwrap_or_else(|e| panic!("connect to {} ({mode:?}): {e}", server.addr()));
        assert!(server.ca_pem().exists());
        if mode != Mode::Implicit {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(&stream);
            let mut greeting = String::new();
            reader.read_line(&mut greeting).unwrap();
            assert!(
                greeting.starts_with("220 aiosmtpd.test"),
                "{mode:?} greeting {greeting:?}\n{}",
                server.log()
            );
            (&stream).write_all(b"QUIT\r\n").unwrap();
        }
        assert!(server.messages().is_empty());
    }
}
