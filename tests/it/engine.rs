//! The engine used as a library: cancellation from another thread, and the
//! CLI's Ctrl-C.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use postscope::smtp::{
    self, AuthPlan, CancelToken, ClientId, Connection, Event, Job, SessionConfig, SessionError,
    Stage, Target, Timeouts, TlsMode, TlsOptions,
};

/// A server that accepts and then says nothing, ever.
fn silent_server() -> (u16, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            // Hold the connection open until the client goes away.
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                line.clear();
            }
        }
    });
    (port, handle)
}

#[test]
fn cancel_from_another_thread_stops_a_blocked_session() {
    let (port, server) = silent_server();
    let target = Target {
        host: "127.0.0.1".into(),
        port,
    };
    let cancel = CancelToken::default();
    let canceller = {
        let cancel = cancel.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            cancel.cancel();
        })
    };
    let config = SessionConfig {
        quit_after: None,
        client_id: ClientId::parse("client.example.org").unwrap(),
        tls: TlsMode::None,
        auth: AuthPlan::None,
        job: Job::Probe,
        allow_partial: false,
        // The default greeting wait is 5 minutes: only cancellation can end this quickly.
        timeouts: Timeouts::default(),
    };
    let mut saw_greeting_stage = false;
    let (_report, result) = smtp::run(
        Connection {
            target: &target,
            tls: &TlsOptions::default(),
            cancel: &cancel,
        },
        config,
        None,
        &mut |e| saw_greeting_stage |= matches!(e, Event::Stage(Stage::Greeting)),
    );
    canceller.join().unwrap();
    assert!(saw_greeting_stage);
    assert_eq!(
        result,
        Err(SessionError::Cancelled {
            stage: Stage::Greeting
        })
    );
    assert_eq!(result.unwrap_err().exit_status(), 130);
    server.join().unwrap();
}

#[test]
fn ctrl_c_cancels_the_cli_with_status_130() {
    let (port, server) = silent_server();
    let mut child = Command::new(env!("CARGO_BIN_EXE_postscope"))
        .args([
            "probe",
            "--server",
            &format!("127.0.0.1:{port}"),
            "--tls",
            "none",
            "--transcript",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it is connected and waiting for the greeting.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 && !line.contains("connected to") {
        line.clear();
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "stderr: {rest}");
    assert!(rest.contains("cancelled during greeting"), "stderr: {rest}");
    server.join().unwrap();
}
