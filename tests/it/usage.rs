//! Usage errors (exit 1, no connection), `--help`, and a refused connection.

use crate::common::{NoConnect, PASSWORD, USER, Work, send_args};

/// Runs `send` with `extra` arguments against a listener that must stay
/// untouched, expects exit 1 and returns stderr.
#[track_caller]
fn usage_error(work: &Work, extra: &[&str]) -> String {
    let listener = NoConnect::new();
    let run = work
        .postscope()
        .args(send_args(&listener.addr()))
        .args(extra)
        .run();
    run.expect_status(1);
    assert!(run.stdout.is_empty(), "{}", run.dump());
    listener.assert_untouched();
    run.stderr
}

#[test]
fn malformed_to_names_the_field() {
    let work = Work::new();
    let err = usage_error(&work, &["--to", "not an address"]);
    assert!(err.contains("To"), "{err}");
    assert!(err.contains("not an address"), "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
}

#[test]
fn missing_attachment_names_the_path() {
    let work = Work::new();
    let path = work.path().join("no such file.pdf");
    let err = usage_error(&work, &["--attach", path.to_str().unwrap()]);
    assert!(err.contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn no_recipient_is_refused() {
    let work = Work::new();
    let listener = NoConnect::new();
    let run = work
        .postscope()
        .args(["send", "--server", &listener.addr(), "--timeout", "20"])
        .args(["--from", "a@example.org", "--body", "x"])
        .run();
    run.expect_status(1).stderr_contains("recipient");
    listener.assert_untouched();
}

#[test]
fn unknown_option_exits_1_not_2() {
    let work = Work::new();
    let err = usage_error(&work, &["--no-such-option"]);
    assert!(err.contains("--no-such-option"), "{err}");
}

#[test]
fn missing_required_option_exits_1() {
    let work = Work::new();
    let run = work
        .postscope()
        .args(["send", "--from", "a@example.org"])
        .run();
    run.expect_status(1).stderr_contains("--server");
}

#[test]
fn auth_user_without_a_secret() {
    let work = Work::new();
    let err = usage_error(&work, &["--auth-user", USER]);
    assert!(err.contains("--auth-user"), "{err}");
}

#[test]
fn password_env_that_is_not_set() {
    let work = Work::new();
    let err = usage_error(
        &work,
        &[
            "--auth-user",
            USER,
            "--password-env",
            "POSTSCOPE_IT_UNSET_VAR",
        ],
    );
    assert!(err.contains("POSTSCOPE_IT_UNSET_VAR"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
}

#[test]
fn unreadable_ca_file_is_a_usage_error() {
    let work = Work::new();
    let path = work.path().join("missing-ca.pem");
    let err = usage_error(&work, &["--ca-file", path.to_str().unwrap()]);
    assert!(err.contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn help_exits_0_and_lists_exit_statuses() {
    let work = Work::new();
    for args in [&["--help"][..], &["send", "--help"], &["probe", "--help"]] {
        let run = work.postscope().args(args).run();
        run.expect_status(0);
        let text = format!("{}{}", run.stdout, run.stderr);
        assert!(text.contains("Exit status"), "{}", run.dump());
        for status in [" 28 ", " 29 ", " 24 "] {
            assert!(text.contains(status), "no {status:?}\n{}", run.dump());
        }
    }
}

#[test]
fn closed_port_exits_2() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let work = Work::new();
    let run = work
        .postscope()
        .args(send_args(&format!("127.0.0.1:{port}")))
        .args(["--tls", "none", "--json"])
        .run();
    run.expect_status(2);
    let v = run.json();
    assert_eq!(v["exit_status"], 2, "{v}");
    assert_eq!(v["error"]["stage"], "connect", "{v}");
    run.stderr_contains("could not connect");
}

#[test]
fn lint_finds_what_is_wrong_and_passes_what_postscope_builds() {
    let work = Work::new();
    let dump = work
        .postscope()
        .args(["send", "--from", "a@example.org", "--to", "b@example.org"])
        .args(["--subject", "clean", "--body", "hello", "--dump-mail"])
        .run();
    dump.expect_status(0);
    let clean = work
        .postscope()
        .args(["lint", "-"])
        .stdin(dump.stdout.as_bytes())
        .run();
    clean.expect_status(0);
    assert!(
        clean
            .stdout
            .contains("standard input: 0 error(s), 0 warning(s)"),
        "{}",
        clean.stdout
    );

    let broken = work.file(
        "broken.eml",
        b"From: a@example.org\r\nBcc: hidden@example.org\r\nSubject: x\n\r\nbody\r\n",
    );
    let run = work.postscope().arg("lint").arg(&broken).run();
    run.expect_status(1);
    assert!(
        run.stdout
            .contains("line 3: error: the line ends in a bare LF"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("there is no Date header (RFC 5322 §3.6)"),
        "{}",
        run.stdout
    );
    let json = work
        .postscope()
        .arg("lint")
        .arg(&broken)
        .arg("--json")
        .run();
    json.expect_status(1);
    let value = json.json();
    assert_eq!(value["errors"], 2, "{value}");
    assert!(
        value["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "RFC 5322 §3.6.3")
    );

    let missing = work
        .postscope()
        .args(["lint", "/no/such/message.eml"])
        .run();
    missing.expect_status(2).stderr_contains("cannot read");
    work.postscope().arg("lint").run().expect_status(2);
}

#[test]
fn a_line_break_in_an_address_is_named_and_never_echoed_raw() {
    let work = Work::new();
    let err = usage_error(
        &work,
        &["--cc", "c@example.org\r\nRCPT TO:<evil@example.org>"],
    );
    assert!(err.contains("line break"), "{err}");
    assert!(err.contains("c@example.org\\x0d\\x0aRCPT"), "{err}");
    assert!(!err.contains('\r'), "{err:?}");
    assert_eq!(
        err.lines().count(),
        2,
        "the error and 'nothing was sent': {err:?}"
    );
    let run = work
        .postscope()
        .args(["send", "--server", "bad\nhost", "--from", "a@example.org"])
        .args(["--to", "b@example.org", "--body", "x"])
        .run();
    run.expect_status(1)
        .stderr_contains("\"bad\\nhost\": a host name has no spaces, line breaks");
}

#[test]
fn an_account_command_does_not_say_nothing_was_sent() {
    let work = Work::new();
    let run = work
        .postscope()
        .args(["account", "remove", "no-such-account"])
        .run();
    run.expect_status(1).stderr_contains("no account named");
    assert!(!run.stderr.contains("nothing was sent"), "{}", run.dump());
}

#[test]
fn manual_pages_and_completions_come_from_the_command_line_itself() {
    let work = Work::new();
    let dir = work.path().join("man");
    work.postscope()
        .arg("man")
        .arg("--out-dir")
        .arg(&dir)
        .run()
        .expect_status(0);
    for name in [
        "postscope",
        "postscope-send",
        "postscope-probe",
        "postscope-sandbox",
    ] {
        let page = std::fs::read_to_string(dir.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(page.contains(&format!(".TH {name} 1")), "{page}");
    }
    let send = std::fs::read_to_string(dir.join("postscope-send.1")).unwrap();
    assert!(send.contains("dsn\\-notify"), "every flag is in its page");
    let top = work.postscope().arg("man").run();
    top.expect_status(0);
    assert!(top.stdout.contains(".TH postscope 1"));
    for shell in ["bash", "zsh", "fish"] {
        let run = work.postscope().args(["completions", shell]).run();
        run.expect_status(0);
        assert!(
            run.stdout.contains("sandbox") && run.stdout.contains("dump-mail"),
            "{shell}: {}",
            run.dump()
        );
    }
    work.postscope()
        .args(["completions", "tcsh"])
        .run()
        .expect_status(1);
}

#[test]
fn a_mistyped_subcommand_is_not_taken_for_a_file() {
    let work = Work::new();
    let run = work.postscope().arg("sned").run();
    run.expect_status(1)
        .stderr_contains("neither a subcommand nor a message file");
}
