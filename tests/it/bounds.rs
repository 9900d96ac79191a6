//! The sandbox's bounds from the outside: nobody can lock it out by
//! trickling bytes or stalling a handshake, absurd input gets a clear
//! refusal, and every refusal is recorded. Timers are short here; the
//! defaults are the same code with longer numbers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use postscope::sandbox::{DataFloor, Sandbox, SandboxConfig};

use crate::common::{Work, send_args};
use crate::server::run_python;

fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).expect("start the sandbox")
}

/// Connects and reads the greeting.
fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect to the sandbox");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let greeting = line(&mut reader);
    assert!(greeting.starts_with("220 "), "{greeting}");
    reader
}

fn line(reader: &mut BufReader<TcpStream>) -> String {
    let mut text = String::new();
    let _ = reader.read_line(&mut text);
    text
}

fn send(reader: &mut BufReader<TcpStream>, bytes: &[u8]) {
    reader.get_mut().write_all(bytes).expect("write");
}

/// Everything the server sends until it closes.
fn until_closed(reader: &mut BufReader<TcpStream>) -> String {
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    rest
}

#[test]
fn sixty_four_trickling_clients_cannot_lock_a_newcomer_out() {
    let sandbox = start(SandboxConfig {
        evict_after: Duration::from_secs(1),
        command_timeout: Duration::from_secs(4),
        ..SandboxConfig::default()
    });
    let addr = sandbox.local_addr();
    let mut tricklers: Vec<BufReader<TcpStream>> = (0..sandbox.config().max_connections)
        .map(|_| connect(addr))
        .collect();
    // Each starts a command and never ends it: one byte every 200 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<TcpStream> = tricklers
        .iter()
        .map(|r| r.get_ref().try_clone().unwrap())
        .collect();
    let trickle = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut writers = writers;
            while !stop.load(Ordering::Relaxed) {
                for w in &mut writers {
                    let _ = w.write_all(b"N");
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    thread::sleep(Duration::from_millis(1500));
    // (The trickling stops here so that no write meets a closed socket,
    // whose reset could swallow the 421 before it is read.)
    stop.store(true, Ordering::Relaxed);
    trickle.join().unwrap();
    // The sandbox is full of them, yet a newcomer is served at once.
    let work = Work::new();
    let started = Instant::now();
    work.postscope()
        .args(send_args(&addr.to_string()))
        .args(["--tls", "none"])
        .run()
        .expect_status(0);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sandbox.inbox().wait_for(1, Duration::from_secs(5)).len(), 1);
    // The one pushed out was told why; the rest end at the command deadline.
    let evicted = sandbox
        .inbox()
        .wait_for_incident("closed for a newcomer", Duration::from_secs(5))
        .expect("an eviction is recorded");
    assert!(
        evicted.text.starts_with("closed: 421 4.7.0"),
        "{}",
        evicted.text
    );
    let mut told = Vec::new();
    for t in &mut tricklers {
        told.push(until_closed(t));
    }
    // Every trickler was told why it was closed: pushed out for a newcomer
    // (at the per-address cap of 32 while they connected, or for the
    // newcomer), or cut off at the command deadline.
    let evicted = told.iter().filter(|t| t.contains("421 4.7.0")).count();
    let cut = told
        .iter()
        .filter(|t| t.contains("421 4.4.2") && t.contains("not complete within 4 s"))
        .count();
    assert!(evicted >= 1, "{told:?}");
    assert_eq!(evicted + cut, tricklers.len(), "{told:?}");
}

#[test]
fn a_stalled_tls_handshake_is_dropped_on_time() {
    let sandbox = start(SandboxConfig {
        tls_timeout: Duration::from_secs(1),
        ..SandboxConfig::default()
    });
    let mut client = connect(sandbox.local_addr());
    send(&mut client, b"EHLO stall.example\r\n");
    while !line(&mut client).starts_with("250 ") {}
    send(&mut client, b"STARTTLS\r\n");
    assert!(line(&mut client).starts_with("220 "));
    // No ClientHello: the sandbox gives up after a second.
    let started = Instant::now();
    until_closed(&mut client);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    let incident = sandbox
        .inbox()
        .wait_for_incident("TLS handshake failed", Duration::from_secs(5))
        .expect("the stalled handshake is recorded");
    assert!(incident.text.contains("within 1 s"), "{}", incident.text);
}

#[test]
fn a_handshake_trickled_byte_by_byte_is_dropped_on_time_too() {
    let sandbox = start(SandboxConfig {
        tls_timeout: Duration::from_secs(1),
        ..SandboxConfig::default()
    });
    let mut client = connect(sandbox.local_addr());
    send(&mut client, b"EHLO trickle.example\r\nSTARTTLS\r\n");
    while !line(&mut client).starts_with("220 ") {}
    // A TLS record header promising 512 bytes of handshake, then one byte
    // every 200 ms: each byte once restarted the wait.
    let mut writer = client.get_ref().try_clone().unwrap();
    let trickle = thread::spawn(move || {
        let _ = writer.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]);
        for _ in 0..30 {
            thread::sleep(Duration::from_millis(200));
            if writer.write_all(&[0x01]).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    until_closed(&mut client);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    trickle.join().unwrap();
    sandbox
        .inbox()
        .wait_for_incident("within 1 s", Duration::from_secs(5))
        .expect("the slow handshake is recorded");
}

#[test]
fn message_data_below_the_floor_is_cut_off() {
    let sandbox = start(SandboxConfig {
        data_floor: DataFloor {
            bytes: 1000,
            per: Duration::from_secs(1),
        },
        ..SandboxConfig::default()
    });
    let mut client = connect(sandbox.local_addr());
    send(
        &mut client,
        b"HELO slow.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
    );
    for _ in 0..4 {
        line(&mut client);
    }
    let started = Instant::now();
    let mut writer = client.get_ref().try_clone().unwrap();
    let trickle = thread::spawn(move || {
        for _ in 0..40 {
            if writer.write_all(b"x").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let told = until_closed(&mut client);
    assert!(
        told.contains("421 4.4.2") && told.contains("message data too slow"),
        "{told}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    trickle.join().unwrap();
    assert!(sandbox.inbox().is_empty(), "nothing half-sent is kept");
}

#[test]
fn an_absurd_size_is_refused_and_every_refusal_recorded() {
    let sandbox = start(SandboxConfig::default());
    let mut client = connect(sandbox.local_addr());
    send(&mut client, b"EHLO big.example\r\n");
    while !line(&mut client).starts_with("250 ") {}
    for (command, code) in [
        (
            &b"MAIL FROM:<a@example.org> SIZE=99999999999999999999999\r\n"[..],
            "552 5.3.4",
        ),
        (b"MAIL FROM:<a@example.org> SIZE=lots\r\n", "501 5.5.4"),
        (b"MAIL FROM:<a@example.org> SIZE=51000000\r\n", "552 5.3.4"),
    ] {
        send(&mut client, command);
        let reply = line(&mut client);
        assert!(reply.starts_with(code), "{reply}");
    }
    send(&mut client, b"QUIT\r\n");
    until_closed(&mut client);
    let incidents = sandbox.inbox().incidents();
    let texts: Vec<&str> = incidents.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[0].starts_with("MAIL: 552 5.3.4"), "{texts:?}");
    assert!(texts[1].starts_with("MAIL: 501 5.5.4"), "{texts:?}");
    assert!(
        incidents.iter().all(|i| i.peer.ip().is_loopback()),
        "{incidents:?}"
    );
}

/// From 127.0.0.2: two connections are served, a third refused; 127.0.0.1
/// is still served.
const PER_ADDRESS: &str = r#"
import socket, sys
port = int(sys.argv[1])
def conn(source):
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
    return s, s.recv(512).decode()
held = [conn("127.0.0.2") for _ in range(2)]
assert all(g.startswith("220 ") for _, g in held), held
_, third = conn("127.0.0.2")
assert third.startswith("421 4.7.0") and "127.0.0.2" in third, third
_, local = conn("127.0.0.1")
assert local.startswith("220 "), local
"#;

#[test]
fn one_address_has_its_own_cap() {
    let sandbox = start(SandboxConfig {
        max_per_client: 2,
        evict_after: Duration::from_secs(60),
        ..SandboxConfig::default()
    });
    run_python(PER_ADDRESS, [sandbox.local_addr().port().to_string()]);
    let refused = sandbox
        .inbox()
        .wait_for_incident("refused:", Duration::from_secs(5))
        .expect("the refusal is recorded");
    assert_eq!(refused.peer.ip().to_string(), "127.0.0.2");
    assert!(
        refused
            .text
            .contains("Too many connections from 127.0.0.2 (2 open)"),
        "{}",
        refused.text
    );
}

#[test]
fn the_headless_sandbox_takes_its_bounds_from_flags_in_fractions_of_a_second() {
    use std::process::{Command, Stdio};
    let work = Work::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postscope"))
        .args([
            "sandbox",
            "--listen",
            "127.0.0.1:0",
            "--command-timeout",
            "0.3",
        ])
        .args(["--max-recipients", "2", "--max-sessions-per-client", "3"])
        .env("XDG_CONFIG_HOME", work.path().join("config"))
        .env("XDG_DATA_HOME", work.path().join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start postscope sandbox");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Press Ctrl-C") {
        let before = banner.len();
        out.read_line(&mut banner).unwrap();
        assert!(banner.len() > before, "the sandbox ended: {banner}");
    }
    assert!(
        banner.contains("64 sessions (3 per address), 2 recipients a message, 0.3 s per command"),
        "{banner}"
    );
    let addr: SocketAddr = banner
        .lines()
        .next()
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|a| a.parse().ok())
        .expect("the address in the first line");
    let mut client = connect(addr);
    send(&mut client, b"HELO x\r\nMAIL FROM:<a@b.c>\r\n");
    for rcpt in ["one", "two", "three"] {
        send(&mut client, format!("RCPT TO:<{rcpt}@b.c>\r\n").as_bytes());
    }
    for _ in 0..4 {
        line(&mut client);
    }
    assert!(
        line(&mut client).starts_with("452 4.5.3"),
        "the third recipient"
    );
    let started = Instant::now();
    send(&mut client, b"NOO");
    let told = until_closed(&mut client);
    assert!(told.contains("not complete within 0.3 s"), "{told}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let mut incident = String::new();
    while !incident.contains("  !  ") {
        incident.clear();
        out.read_line(&mut incident).unwrap();
    }
    let _ = child.kill();
    let _ = child.wait();
}
