//! Helpers shared by the CLI integration tests: running the `postscope`
//! binary (isolated, with a watchdog), temporary files, reading its
//! transcript and JSON output, checking that secrets never leak, and small
//! hand-written "servers" that misbehave on purpose.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// How long one run of the binary may take before the test kills it. Every
/// run also passes `--timeout`, so this only catches a real hang.
const WATCHDOG: Duration = Duration::from_secs(90);

/// The sender, recipients and credentials most tests use.
pub const FROM: &str = "a@example.org";
pub const TO: &str = "b@example.org";
pub const USER: &str = "alice";
pub const PASSWORD: &str = "Tr0ub4dor&3-horse";

/// A temporary directory for one test: the binary's XDG directories and
/// whatever files the test writes. Removed on drop.
pub struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Work {
        let dir = tempfile::Builder::new()
            .prefix("postscope-it-")
            .tempdir()
            .expect("create a temporary directory");
        for sub in ["config", "data", "cache"] {
            std::fs::create_dir(dir.path().join(sub)).expect("create an XDG directory");
        }
        Work { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` in the directory and returns its path.
    pub fn file(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// A `postscope` invocation isolated in this directory.
    pub fn postscope(&self) -> Postscope {
        Postscope {
            args: Vec::new(),
            env: vec![
                ("XDG_CONFIG_HOME".into(), self.path().join("config").into()),
                ("XDG_DATA_HOME".into(), self.path().join("data").into()),
                ("XDG_CACHE_HOME".into(), self.path().join("cache").into()),
            ],
            stdin: None,
        }
    }
}

/// A command line for the binary, built up and then run.
pub struct Postscope {
    args: Vec<std::ffi::OsString>,
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    stdin: Option<Vec<u8>>,
}

impl Postscope {
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Postscope {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Postscope
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Postscope {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The password the usual way: `--password-env PW`.
    pub fn password(self, password: &str) -> Postscope {
        self.args(["--password-env", "PW"]).env("PW", password)
    }

    /// Pipes these bytes to standard input (otherwise it is /dev/null).
    pub fn stdin(mut self, bytes: &[u8]) -> Postscope {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// Runs the binary to its end (killing it after [`WATCHDOG`]).
    pub fn run(self) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_postscope"));
        cmd.args(&self.args)
            .env_remove("PW")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("start the postscope binary");
        if let Some(bytes) = self.stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            // The binary may exit without reading (a usage error): ignore EPIPE.
            let _ = pipe.write_all(&bytes);
        }
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for postscope") {
                break status;
            }
            if started.elapsed() > WATCHDOG {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "postscope {:?} still running after {WATCHDOG:?}; killed.\n--- stderr ---\n{}",
                    self.args,
                    String::from_utf8_lossy(&stderr.join().unwrap_or_default())
                );
            }
            thread::sleep(Duration::from_millis(10));
        };
        let text = |h: JoinHandle<Vec<u8>>| {
            let bytes = h.join().expect("read the output");
            String::from_utf8(bytes).expect("postscope's output is UTF-8")
        };
        let run = Run {
            args: self
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            status: status.code(),
            stdout: text(stdout),
            stderr: strip_ansi(&text(stderr)),
            elapsed: started.elapsed(),
        };
        // `POSTSCOPE_IT_SHOW=1 cargo test --test it -- --nocapture` shows every run.
        if std::env::var_os("POSTSCOPE_IT_SHOW").is_some() {
            eprintln!("{}\n", run.dump());
        }
        run
    }
}

fn drain(mut r: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Removes ANSI escape sequences (in case colours are ever forced).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What one run of the binary did.
pub struct Run {
    pub args: Vec<String>,
    /// The exit status (`None` if killed by a signal).
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Panics, showing everything, unless the exit status is `expected`.
    #[track_caller]
    pub fn expect_status(&self, expected: i32) -> &Run {
        assert_eq!(
            self.status,
            Some(expected),
            "unexpected exit status\n{}",
            self.dump()
        );
        self
    }

    /// The command line and its output, for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "--- args ---\n{:?}\n--- status ---\n{:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.status, self.elapsed, self.stdout, self.stderr
        )
    }

    /// Stdout as exactly one JSON value.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        single_json(&self.stdout).unwrap_or_else(|e| panic!("{e}\n{}", self.dump()))
    }

    /// The transcript lines streamed to stderr by `--transcript -`.
    pub fn transcript(&self) -> Vec<Line> {
        parse_text_transcript(&self.stderr)
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.dump()
        );
        self
    }
}

/// Parses `text` as exactly one JSON value, with nothing but whitespace around it.
pub fn single_json(text: &str) -> Result<serde_json::Value, String> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    let first = match values.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(format!("stdout is not JSON: {e}")),
        None => return Err("stdout holds no JSON value".into()),
    };
    match values.next() {
        None => Ok(first),
        Some(_) => Err("stdout holds more than one JSON value".into()),
    }
}

/// One line of a text transcript: `    12.3 ms <-  250 OK` is
/// `Line { prefix: "<-  ", text: "250 OK" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub prefix: String,
    pub text: String,
}

impl Line {
    /// A client line (` -> ` or ` ~> `).
    pub fn is_sent(&self) -> bool {
        self.prefix == " -> " || self.prefix == " ~> "
    }

    /// A server line (`<-  ` or `<~  `).
    pub fn is_received(&self) -> bool {
        self.prefix == "<-  " || self.prefix == "<~  "
    }
}

/// The transcript lines in `text` (other lines, such as the closing
/// summary, are skipped). The time column is 11 characters wide
/// (`{:>8.1} ms` or `{:>9.2} s`), then a space and the 4-character prefix.
pub fn parse_text_transcript(text: &str) -> Vec<Line> {
    const PREFIXES: [&str; 6] = [" -> ", " ~> ", "<-  ", "<~  ", "=== ", "*** "];
    text.lines()
        .filter_map(|line| {
            let time = line.get(..11)?;
            let time_ok = (time.ends_with(" ms") || time.ends_with(" s"))
                && time.trim().split(' ').next()?.parse::<f64>().is_ok();
            let prefix = line.get(12..16)?;
            if !time_ok || line.as_bytes()[11] != b' ' || !PREFIXES.contains(&prefix) {
                return None;
            }
            Some(Line {
                prefix: prefix.to_owned(),
                text: line[16..].to_owned(),
            })
        })
        .collect()
}

/// The texts of the client's lines.
pub fn sent(lines: &[Line]) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.is_sent())
        .map(|l| l.text.as_str())
        .collect()
}

/// True if some line has this prefix and a text starting with `start`.
pub fn has_line(lines: &[Line], prefix: &str, start: &str) -> bool {
    lines
        .iter()
        .any(|l| l.prefix == prefix && l.text.starts_with(start))
}

/// Every form of the secret that could leak: the password, its base64, and
/// the SASL PLAIN response (`\0user\0password`) in base64.
pub fn secret_forms(user: &str, password: &str) -> Vec<String> {
    vec![
        password.to_owned(),
        B64.encode(password),
        B64.encode(format!("\0{user}\0{password}")),
        B64.encode(format!("{user}\0{user}\0{password}")),
    ]
}

/// Panics if `text` holds the password in any form.
#[track_caller]
pub fn assert_no_secrets(what: &str, text: &str, user: &str, password: &str) {
    for secret in secret_forms(user, password) {
        assert!(
            !text.contains(&secret),
            "{what} contains a secret ({secret:?}):\n{text}"
        );
    }
}

/// Arguments every `send` needs against `addr`: `--timeout 20`, a sender,
/// one recipient, a subject and a body.
pub fn send_args(addr: &str) -> Vec<String> {
    send_args_with_timeout(addr, "20")
}

/// [`send_args`] with another `--timeout`.
pub fn send_args_with_timeout(addr: &str, timeout: &str) -> Vec<String> {
    [
        "send",
        "--server",
        addr,
        "--timeout",
        timeout,
        "--from",
        FROM,
        "--to",
        TO,
        "--subject",
        "test",
        "--body",
        "hello",
    ]
    .map(String::from)
    .to_vec()
}

/// Parses a received message.
pub fn parse_message(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("unparseable message:\n{}", String::from_utf8_lossy(raw)))
}

/// A listener that must never be connected to: the address to pass, and a
/// check afterwards.
pub struct NoConnect {
    listener: TcpListener,
}

impl NoConnect {
    pub fn new() -> NoConnect {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        NoConnect { listener }
    }

    pub fn addr(&self) -> String {
        self.listener
            .local_addr()
            .expect("local address")
            .to_string()
    }

    #[track_caller]
    pub fn assert_untouched(&self) {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok((_, peer)) => panic!("postscope connected (from {peer}) though it should not have"),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A one-connection server written in the test: accepts the first
/// connection on 127.0.0.1 and runs `script` on it in a thread. What the
/// script returns comes back from [`FakeServer::join`].
pub struct FakeServer<T> {
    addr: SocketAddr,
    /// Set by [`FakeServer::join`]: stop waiting for a connection.
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Option<T>>,
}

impl<T: Send + 'static> FakeServer<T> {
    pub fn start(script: impl FnOnce(Conn) -> T + Send + 'static) -> FakeServer<T> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stop_accepting = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if stop_accepting.load(Ordering::SeqCst) || Instant::now() > deadline {
                            return None;
                        }
                        thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            };
            stream.set_nonblocking(false).expect("blocking");
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .expect("read timeout");
            Some(script(Conn::new(stream)))
        });
        FakeServer { addr, stop, handle }
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Call once the client has exited: waits for the script to end and
    /// returns what it returned, or `None` if nobody connected.
    pub fn join(self) -> Option<T> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .join()
            .expect("the fake server's script panicked")
    }
}

/// Anything a fake server can talk over: TCP, or TLS on top of it.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// The server side of a fake server's connection.
pub struct Conn {
    reader: BufReader<Box<dyn Stream>>,
}

impl Conn {
    fn new(stream: TcpStream) -> Conn {
        Conn {
            reader: BufReader::new(Box::new(stream)),
        }
    }

    /// Sends raw bytes (a write error is ignored: the client may be gone).
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.reader.get_mut().write_all(bytes);
        let _ = self.reader.get_mut().flush();
    }

    /// The stream itself, for raw reads.
    pub fn raw(&mut self) -> &mut dyn Stream {
        self.reader.get_mut().as_mut()
    }

    /// Reads one line, CRLF included; empty at end of stream.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let _ = self.reader.read_line(&mut line);
        line
    }

    /// Reads until `\r\n.\r\n` (the end of DATA) and returns what came,
    /// or everything up to the end of the stream if it never came.
    pub fn until_dot(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        let mut byte = [0u8; 1];
        while !data.ends_with(b"\r\n.\r\n") {
            match self.reader.read(&mut byte) {
                Ok(1) => data.push(byte[0]),
                _ => break,
            }
        }
        data
    }

    /// Reads until the client closes the connection (or 60 s pass).
    pub fn until_eof(&mut self) -> Vec<u8> {
        let mut rest = Vec::new();
        let _ = self.reader.read_to_end(&mut rest);
        rest
    }

    /// Becomes the server side of a TLS session (after answering STARTTLS
    /// with 220, or at once for implicit TLS), with a throwaway self-signed
    /// certificate: the client needs `--insecure`. The handshake runs on
    /// the first read or write.
    pub fn start_tls(self) -> Conn {
        assert!(
            self.reader.buffer().is_empty(),
            "the client sent data before the TLS handshake"
        );
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("generate a self-signed certificate");
        let key =
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key.into())
        .expect("a server certificate");
        let server = rustls::ServerConnection::new(Arc::new(config)).expect("a TLS server");
        let tcp = self.reader.into_inner();
        Conn {
            reader: BufReader::new(Box::new(rustls::StreamOwned::new(server, tcp))),
        }
    }
}

#[test]
fn helper_single_json_rejects_trailing_values() {
    // "A single JSON object" must mean one.
    assert!(single_json("{\"a\":1}\n").is_ok());
    assert!(single_json("{\"a\":1}\n{\"b\":2}\n").is_err());
    assert!(single_json("").is_err());
}

#[test]
fn helper_parses_text_transcript_lines() {
    let text = "    12.3 ms <-  250 OK\n  1234.5 ms  ~> QUIT\n    12.00 s === note\n\
                delivered to 1 recipient(s)\n  server said: 250 OK\n";
    let lines = parse_text_transcript(text);
    assert_eq!(
        lines,
        [
            Line {
                prefix: "<-  ".into(),
                text: "250 OK".into()
            },
            Line {
                prefix: " ~> ".into(),
                text: "QUIT".into()
            },
            Line {
                prefix: "=== ".into(),
                text: "note".into()
            },
        ]
    );
}

/// An account name no other test (or earlier run) uses.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Every file under `dir`, with its bytes.
pub fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}
