//! `postscope probe` against a real SMTP server.

use crate::common::{USER, Work};
use crate::server::{Mode, ServerOptions, TestServer};

fn keywords(caps: &serde_json::Value) -> Vec<String> {
    caps["extensions"]
        .as_array()
        .unwrap_or_else(|| panic!("no extensions in {caps}"))
        .iter()
        .map(|c| c["keyword"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn starttls_server() -> TestServer {
    TestServer::start(ServerOptions {
        auth: Some((USER.into(), "unused-password".into())),
        ..ServerOptions::new(Mode::StartTls)
    })
}

#[test]
fn probe_json_reports_capabilities_and_certificate() {
    let server = starttls_server();
    let work = Work::new();
    let run = work
        .postscope()
        .args([
            "probe",
            "--server",
            &server.addr(),
            "--timeout",
            "20",
            "--json",
        ])
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(0);
    let v = run.json();
    assert_eq!(v["version"], 1, "{v}");
    assert_eq!(v["command"], "probe", "{v}");
    assert_eq!(v["outcome"], "ok", "{v}");
    assert_eq!(v["exit_status"], 0, "{v}");
    assert_eq!(v["greeting"]["code"], 220, "{v}");
    let after = keywords(&v["capabilities"]);
    assert!(after.iter().any(|k| k == "AUTH"), "{after:?}\n{v}");
    let before = keywords(&v["capabilities_before_tls"]);
    assert!(before.iter().any(|k| k == "STARTTLS"), "{before:?}\n{v}");
    let tls = &v["tls"];
    assert!(
        tls["version"]
            .as_str()
            .is_some_and(|s| s.starts_with("TLSv1")),
        "{v}"
    );
    assert_eq!(tls["verification"]["result"], "verified", "{v}");
    // What openssl s_client shows besides: the key exchange, the key and
    // the signature algorithm.
    assert!(
        tls["key_exchange"].as_str().is_some_and(|k| !k.is_empty()),
        "{v}"
    );
    let leaf = &tls["chain"][0];
    assert!(
        leaf["public_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("RSA ") || k.starts_with("EC ")),
        "{v}"
    );
    assert!(
        leaf["signature"]
            .as_str()
            .is_some_and(|k| k.contains("SHA") || k.contains("sha")),
        "{v}"
    );
    let sans: Vec<&str> = tls["chain"][0]["subject_alt_names"]
        .as_array()
        .unwrap_or_else(|| panic!("no SANs in {v}"))
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert!(
        sans.contains(&"localhost") || sans.contains(&"127.0.0.1"),
        "{sans:?}"
    );
    assert!(
        v["timings"].as_array().is_some_and(|t| !t.is_empty()),
        "{v}"
    );
    assert!(server.messages().is_empty());
}

#[test]
fn probe_human_output_names_tls_version_and_verification() {
    let server = starttls_server();
    let work = Work::new();
    let run = work
        .postscope()
        .args(["probe", "--server", &server.addr(), "--timeout", "20"])
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(0);
    let tls_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("TLS "))
        .unwrap_or_else(|| panic!("no TLS line\n{}", run.dump()));
    assert!(tls_line.contains("TLSv1"), "{}", run.dump());
    let cert_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("Certificate"))
        .unwrap_or_else(|| panic!("no Certificate line\n{}", run.dump()));
    assert!(
        cert_line.contains("verified") && !cert_line.contains("NOT"),
        "{}",
        run.dump()
    );
    assert!(run.stdout.contains("STARTTLS"), "{}", run.dump());
}

#[test]
fn probe_plain_server_without_tls() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let run = work
        .postscope()
        .args(["probe", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "none", "--json"])
        .run();
    run.expect_status(0);
    let v = run.json();
    assert_eq!(v["outcome"], "ok", "{v}");
    assert!(v["tls"].is_null(), "{v}");
    assert!(v["capabilities_before_tls"].is_null(), "{v}");
    assert!(v["capabilities"]["extensions"].is_array(), "{v}");
}

#[test]
fn probe_plain_server_with_default_tls_fails_with_29() {
    let server = TestServer::start(ServerOptions::new(Mode::Plain));
    let work = Work::new();
    let run = work
        .postscope()
        .args([
            "probe",
            "--server",
            &server.addr(),
            "--timeout",
            "20",
            "--json",
        ])
        .run();
    run.expect_status(29);
    let v = run.json();
    assert_eq!(v["outcome"], "failed", "{v}");
    assert_eq!(v["exit_status"], 29, "{v}");
    assert!(v["tls"].is_null(), "{v}");
    run.stderr_contains("STARTTLS");
}

#[test]
fn probe_implicit_tls() {
    let server = TestServer::start(ServerOptions::new(Mode::Implicit));
    let work = Work::new();
    let run = work
        .postscope()
        .args(["probe", "--server", &server.addr(), "--timeout", "20"])
        .args(["--tls", "implicit", "--json"])
        .arg("--ca-file")
        .arg(server.ca_pem())
        .run();
    run.expect_status(0);
    let v = run.json();
    assert_eq!(v["greeting"]["code"], 220, "{v}");
    assert!(v["capabilities_before_tls"].is_null(), "{v}");
    assert_eq!(v["tls"]["verification"]["result"], "verified", "{v}");
}

#[test]
fn probe_unknown_ca_shows_the_chain_and_why() {
    let server = TestServer::start(ServerOptions::new(Mode::StartTls));
    let work = Work::new();
    let run = work
        .postscope()
        .args([
            "probe",
            "--server",
            &server.addr(),
            "--timeout",
            "20",
            "--json",
        ])
        .run();
    run.expect_status(29);
    let v = run.json();
    assert_eq!(v["outcome"], "failed", "{v}");
    let tls = &v["tls"];
    assert_eq!(tls["verification"]["result"], "not_verified", "{v}");
    let reason = tls["verification"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("does not trust"), "{v}");
    assert_eq!(tls["chain"][0]["subject"], "CN=localhost", "{v}");

    // The same, for people.
    let run = work
        .postscope()
        .args(["probe", "--server", &server.addr(), "--timeout", "20"])
        .run();
    run.expect_status(29);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("Certificate") && l.contains("NOT verified")),
        "{}",
        run.dump()
    );
    assert!(run.stdout.contains("CN=localhost"), "{}", run.dump());
}
