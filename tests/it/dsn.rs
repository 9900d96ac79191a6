//! Delivery status notifications (RFC 3461) on the wire: to aiosmtpd taught
//! DSN (tests/support), to one without it, and to the sandbox, which
//! records what it was asked.

use std::net::SocketAddr;
use std::time::Duration;

use postscope::sandbox::{Sandbox, SandboxConfig};
use postscope::smtp::{Notify, Ret};
use serde_json::json;

use crate::common::{FROM, NoConnect, TO, Work};
use crate::server::{Mode, ServerOptions, TestServer, run_python};

const WAIT: Duration = Duration::from_secs(10);

/// `postscope send` in clear text to `addr`, FROM to TO, with `args`.
fn send(work: &Work, addr: &str, args: &[&str]) -> crate::common::Run {
    work.postscope()
        .args(["send", "--server", addr, "--timeout", "20", "--tls", "none"])
        .args(["--from", FROM, "--to", TO, "--body", "b"])
        .args(args)
        .run()
}

#[test]
fn dsn_parameters_go_on_the_wire_to_a_server_that_offers_dsn() {
    let server = TestServer::start(ServerOptions {
        dsn: true,
        ..ServerOptions::new(Mode::Plain)
    });
    let work = Work::new();
    let addr = server.addr();
    // Every parameter, a second recipient, and an ENVID that needs xtext.
    send(
        &work,
        &addr,
        &[
            "--cc",
            "Zoë <zoë@example.org>",
            "--dsn-notify",
            "Success,failure",
            "--dsn-ret",
            "hdrs",
            "--dsn-envid",
            "run+1=a",
        ],
    )
    .expect_status(0);
    // NEVER alone, and a ready message (--eml) takes DSN as well.
    send(&work, &addr, &["--dsn-notify", "never"]).expect_status(0);
    let eml = work.file("m.eml", b"Subject: ready\r\n\r\nready\r\n");
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
        .args(["--from", FROM, "--to", TO, "--dsn-ret", "full"])
        .arg("--eml")
        .arg(&eml)
        .run()
        .expect_status(0);
    // Without any --dsn-*, no DSN parameter at all.
    send(&work, &addr, &[]).expect_status(0);

    let m = server.wait_for_messages(4, WAIT);
    let orcpt = format!("rfc822;{TO}");
    assert_eq!(
        m[0].dsn,
        json!({
            "mail": {"RET": "HDRS", "ENVID": "run+2B1+3Da"},
            // The non-ASCII address has no rfc822 ORCPT (RFC 6533's type is
            // left out, as ORCPT is optional).
            "rcpt": [
                {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": orcpt},
                {"NOTIFY": "SUCCESS,FAILURE"}
            ]
        }),
    );
    assert_eq!(m[0].rcpt_tos, [TO, "zoë@example.org"]);
    assert_eq!(
        m[1].dsn,
        json!({"mail": {}, "rcpt": [{"NOTIFY": "NEVER", "ORCPT": orcpt}]})
    );
    assert_eq!(
        m[2].dsn,
        json!({"mail": {"RET": "FULL"}, "rcpt": [{"ORCPT": orcpt}]})
    );
    assert_eq!(m[2].raw, b"Subject: ready\r\n\r\nready\r\n");
    assert_eq!(m[3].dsn, json!({"mail": {}, "rcpt": [{}]}));
}

#[test]
fn dsn_asked_of_a_server_without_it_exits_23_and_sends_nothing() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let run = send(
        &work,
        &server.addr(),
        &["--dsn-notify", "failure", "--json"],
    );
    run.expect_status(23);
    let v = run.json();
    assert_eq!(v["error"]["stage"], "mail", "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("does not offer DSN"), "{v}");
    send(&work, &server.addr(), &["--dsn-envid", "x"])
        .expect_status(23)
        .stderr_contains("leave out --dsn-notify, --dsn-ret and --dsn-envid");
    assert!(server.messages().is_empty());
    // aiosmtpd logs "sender:" for each MAIL it takes: none came.
    assert!(!server.log().contains(" sender: "), "{}", server.log());
    send(&work, &server.addr(), &[]).expect_status(0);
    assert!(server.log().contains(" sender: "), "{}", server.log());
}

#[test]
fn bad_dsn_values_are_usage_errors() {
    let work = Work::new();
    let listener = NoConnect::new();
    for (args, says) in [
        (
            ["--dsn-notify", "never,success"],
            "never cannot be combined",
        ),
        (["--dsn-notify", "always"], "\"always\" is not a notice"),
        (["--dsn-ret", "body"], "is not full or hdrs"),
        (
            ["--dsn-envid", "two words"],
            "printable ASCII without spaces",
        ),
    ] {
        send(&work, &listener.addr(), &args)
            .expect_status(1)
            .stderr_contains(says);
    }
    let long = "x".repeat(101);
    send(&work, &listener.addr(), &["--dsn-envid", &long])
        .expect_status(1)
        .stderr_contains("the limit is 100");
    listener.assert_untouched();
}

#[test]
fn dump_mail_shows_the_dsn_parameters_of_the_envelope() {
    let work = Work::new();
    let run = work
        .postscope()
        .args([
            "send",
            "--from",
            FROM,
            "--to",
            TO,
            "--body",
            "b",
            "--dump-mail",
        ])
        .args(["--dsn-notify", "delay,failure", "--dsn-envid", "e1"])
        .run();
    run.expect_status(0);
    assert_eq!(
        run.stderr,
        format!(
            "MAIL FROM:<{FROM}> ENVID=e1\nRCPT TO:<{TO}> NOTIFY=FAILURE,DELAY ORCPT=rfc822;{TO}\n"
        )
    );
}

/// An independent client (smtplib) asks the sandbox for DSN, a recipient
/// at a time, and gets a refusal for a NOTIFY that breaks RFC 3461.
const DSN_BY_SMTPLIB: &str = r#"
import smtplib, sys
s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=20)
s.ehlo("client.example")
assert s.has_extn("dsn"), s.esmtp_features
code, _ = s.docmd("MAIL FROM:<a@example.org> RET=HDRS ENVID=QQ+2B1")
assert code == 250, code
code, _ = s.docmd("RCPT TO:<b@example.org> NOTIFY=SUCCESS ORCPT=rfc822;B@Example.ORG")
assert code == 250, code
code, text = s.docmd("RCPT TO:<c@example.org> NOTIFY=NEVER,SUCCESS")
assert code == 501 and b"NEVER" in text, (code, text)
code, _ = s.docmd("RCPT TO:<d@example.org>")
assert code == 250, code
code, _ = s.data(b"Subject: dsn\r\nFrom: a@example.org\r\n\r\nx\r\n")
assert code == 250, code
s.quit()
"#;

#[test]
fn the_sandbox_offers_dsn_and_records_each_recipients_request() {
    let sandbox = Sandbox::start(SandboxConfig::default()).expect("start the sandbox");
    let addr: SocketAddr = sandbox.local_addr();
    run_python(
        DSN_BY_SMTPLIB,
        [addr.ip().to_string(), addr.port().to_string()],
    );
    // And Postscope's own client, with every parameter.
    let work = Work::new();
    send(
        &work,
        &addr.to_string(),
        &[
            "--dsn-notify",
            "success,failure,delay",
            "--dsn-envid",
            "ps-2",
        ],
    )
    .expect_status(0);
    let messages = sandbox.inbox().wait_for(2, WAIT);
    let first = &messages[0];
    assert_eq!(first.rcpt_to, ["b@example.org", "d@example.org"]);
    assert_eq!(first.dsn.ret, Some(Ret::Hdrs));
    assert_eq!(first.dsn.envid.as_deref(), Some("QQ+1"), "xtext decoded");
    assert_eq!(first.dsn.recipients.len(), 2);
    assert_eq!(
        first.dsn.recipients[0].notify,
        Some(Notify {
            success: true,
            failure: false,
            delay: false
        })
    );
    assert_eq!(
        first.dsn.recipients[0].orcpt.as_deref(),
        Some("B@Example.ORG")
    );
    assert_eq!(first.dsn.recipients[1], Default::default());
    assert_eq!(
        first.dsn.describe(&first.rcpt_to),
        "RET=HDRS ENVID=QQ+1 b@example.org NOTIFY=SUCCESS, d@example.org no NOTIFY ORCPT 1 of 2"
    );
    let second = &messages[1];
    assert_eq!(
        second.dsn.describe(&second.rcpt_to),
        "ENVID=ps-2 NOTIFY=SUCCESS,FAILURE,DELAY ORCPT 1 of 1"
    );
}
