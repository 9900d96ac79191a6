//! How many messages a second the sandbox takes with every one on disk
//! before its 250: `cargo bench --bench sandbox_throughput [-- SESSIONS
//! MESSAGES_EACH]` (default 20 sessions of 250 messages each).
//!
//! Each session is one connection that sends its messages back to back,
//! MAIL, RCPT and DATA pipelined, then the message and its dot, as a busy
//! application's mailer does. The sandbox saves each message to a folder
//! (`--save-dir`), so a reply means the file is durable. Prints one line for
//! the README.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use postscope::sandbox::{Sandbox, SandboxConfig};

const MESSAGE: &[u8] = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: bench\r\n\
Date: Thu, 03 Dec 2026 12:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\n\r\n\
A short message, as notifications are.\r\n.\r\n";

fn reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut last = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a reply");
        assert!(!line.is_empty(), "the sandbox closed the connection");
        if line.as_bytes().get(3) != Some(&b'-') {
            return last + &line;
        }
        last.push_str(&line);
    }
}

fn session(addr: std::net::SocketAddr, messages: usize, start: &Barrier) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    reply(&mut reader);
    writer.write_all(b"EHLO bench.example\r\n").unwrap();
    reply(&mut reader);
    start.wait();
    for _ in 0..messages {
        writer
            .write_all(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
            .unwrap();
        for expect in ["250", "250", "354"] {
            let r = reply(&mut reader);
            assert!(r.starts_with(expect), "{r}");
        }
        writer.write_all(MESSAGE).unwrap();
        let r = reply(&mut reader);
        assert!(r.starts_with("250"), "{r}");
    }
    writer.write_all(b"QUIT\r\n").unwrap();
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sessions = args.first().copied().unwrap_or(20);
    let each = args.get(1).copied().unwrap_or(250);
    let dir = tempfile::Builder::new()
        .prefix("postscope-bench-")
        .tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| ".".into()))
        .expect("a folder for the captured mail");
    let sandbox = Sandbox::start(SandboxConfig {
        save_dir: Some(dir.path().to_owned()),
        max_messages: 100_000,
        max_connections: sessions + 4,
        max_per_client: sessions + 4,
        ..SandboxConfig::default()
    })
    .expect("start the sandbox");
    let addr = sandbox.local_addr();
    let start = Arc::new(Barrier::new(sessions + 1));
    let threads: Vec<_> = (0..sessions)
        .map(|_| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || session(addr, each, &start))
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for t in threads {
        t.join().expect("a session failed");
    }
    let took = began.elapsed();
    let total = sessions * each;
    let saved = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
        .count();
    assert_eq!(saved, total, "every message is on disk");
    sandbox.inbox().wait_for(total, Duration::from_secs(10));
    println!(
        "sandbox, {sessions} sessions x {each} messages, each saved and synced before its 250: \
         {total} in {:.2} s = {:.0} messages/s",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );
}
