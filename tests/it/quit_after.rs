//! `--quit-after`: stop at a chosen step, successfully, against a real
//! server (aiosmtpd), and check in its log how far the exchange went.

use std::time::Duration;

use crate::common::{TO, Work, send_args};
use crate::server::{Mode, ServerOptions, TestServer};

fn send_stopping(server: &TestServer, step: &str, extra: &[&str]) -> crate::common::Run {
    Work::new()
        .postscope()
        .args(send_args(&server.addr()))
        .args(["--tls", "none", "--quit-after", step, "--transcript", "-"])
        .args(extra)
        .run()
}

#[test]
fn every_step_stops_there_and_nothing_is_delivered() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    // The commands sent, by their verb: each step ends right after its own.
    for (step, verbs) in [
        ("connect", &[][..]),
        ("greeting", &["QUIT"][..]),
        ("ehlo", &["EHLO", "QUIT"][..]),
        ("tls", &["EHLO", "QUIT"][..]),
        ("auth", &["EHLO", "QUIT"][..]),
        ("mail", &["EHLO", "MAIL", "QUIT"][..]),
        ("rcpt", &["EHLO", "MAIL", "RCPT", "QUIT"][..]),
        ("data", &["EHLO", "MAIL", "RCPT", "DATA"][..]),
    ] {
        let run = send_stopping(&server, step, &[]);
        run.expect_status(0);
        assert!(
            run.stderr.contains(&format!(
                "stopped after {step} as asked (--quit-after {step})"
            )),
            "{step}: {}",
            run.dump()
        );
        assert!(
            run.stderr
                .contains(&format!("stopping after {step} as asked")),
            "the transcript says where it stopped: {}",
            run.dump()
        );
        let transcript = run.transcript();
        let sent: Vec<&str> = crate::common::sent(&transcript)
            .into_iter()
            .map(|c| c.split([' ', ':']).next().unwrap_or(c))
            .collect();
        assert_eq!(sent, verbs, "{step}: {}", run.dump());
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(server.messages().is_empty(), "no step delivered a message");
}

#[test]
fn rcpt_reports_the_accepted_recipients_in_json_and_refusals_fail() {
    let server = TestServer::start(ServerOptions {
        refuse_rcpt: vec!["nobody@example.org".into()],
        ..ServerOptions::new(Mode::Plain)
    });
    let run = send_stopping(&server, "rcpt", &["--json", "--cc", "c@example.org"]);
    run.expect_status(0);
    let json = run.json();
    assert_eq!(json["outcome"], "stopped", "{}", run.dump());
    assert_eq!(json["stopped_after"], "rcpt");
    let accepted: Vec<&str> = json["accepted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(accepted, [TO, "c@example.org"]);

    let run = send_stopping(&server, "rcpt", &["--cc", "nobody@example.org"]);
    run.expect_status(24).stderr_contains("User unknown");
    assert!(server.messages().is_empty());
}

#[test]
fn probe_takes_only_the_early_steps() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let run = work
        .postscope()
        .args(["probe", "--server", &server.addr(), "--tls", "none"])
        .args(["--quit-after", "greeting", "--timeout", "20"])
        .run();
    run.expect_status(0);
    assert!(run.stdout.contains("Greeting"), "{}", run.dump());
    assert!(!run.stdout.contains("Capabilities"), "{}", run.dump());

    let run = work
        .postscope()
        .args(["probe", "--server", &server.addr(), "--quit-after", "rcpt"])
        .run();
    run.expect_status(1)
        .stderr_contains("a probe never logs in");
}
