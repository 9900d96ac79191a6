//! OAuth2 sign-in against a real provider on loopback (oidc-provider) and
//! an SMTP server that verifies the tokens against it (aiosmtpd + PyJWT):
//! the browser flow with the test playing the browser, a pasted answer, a
//! refused state, the device flow with slow_down, refresh before a send,
//! `invalid_grant`, both SASL mechanisms, and no token on disk or in a
//! transcript. Keychain: the real gnome-keyring scripts/test.sh starts.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use postscope::store::grants::Grant;
use postscope::store::secrets::{Keychain, SecretStore};

use crate::common::{Work, all_files, unique};
use crate::oauth_server::{OidcServer, PUBLIC_CLIENT, SCOPES, USER};
use crate::server::{Mode, ServerOptions, TestServer};

/// An SMTP server that takes only tokens from `oidc`.
fn smtp_for(oidc: &OidcServer) -> TestServer {
    TestServer::start(ServerOptions {
        oauth_issuer: Some(oidc.issuer().to_owned()),
        ..ServerOptions::new(Mode::StartTls)
    })
}

/// Adds an OAuth2 account for `smtp` signing in at `oidc`.
fn add_account(work: &Work, name: &str, smtp: &TestServer, oidc: &OidcServer) {
    let ca = smtp.ca_pem().display().to_string();
    let mut args = vec![
        "account",
        "add",
        name,
        "--server",
        &smtp.addr(),
        "--tls",
        "starttls",
        "--ca-file",
        &ca,
        "--oauth-issuer",
        oidc.issuer(),
        "--oauth-client-id",
        PUBLIC_CLIENT,
        "--timeout",
        "20",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    for s in SCOPES {
        args.extend(["--oauth-scope".to_owned(), s.to_owned()]);
    }
    let run = work.postscope().args(&args).run();
    run.expect_status(0);
    assert!(
        run.stdout.contains("postscope account login"),
        "{}",
        run.dump()
    );
}

/// `postscope account login …` running, its standard error read line by
/// line as it comes.
struct Login {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Login {
    fn start(work: &Work, args: &[&str], env: &[(&str, &str)]) -> Login {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_postscope"));
        cmd.args(["account", "login"])
            .args(args)
            .env("XDG_CONFIG_HOME", work.path().join("config"))
            .env("XDG_DATA_HOME", work.path().join("data"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start postscope account login");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Login {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// The first line of standard error `pick` accepts, waiting up to 30 s.
    fn wait_for(&mut self, what: &str, pick: impl Fn(&str) -> Option<String>) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    let found = pick(&line);
                    self.seen.push(line);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(_) => panic!(
                    "no {what} from account login; it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The authorization URL it printed.
    fn url(&mut self) -> String {
        self.wait_for("authorization URL", |l| {
            l.trim().starts_with("http").then(|| l.trim().to_owned())
        })
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("piped stdin");
        writeln!(stdin, "{line}").expect("write to account login");
    }

    /// Waits for the exit: status, standard output, everything it said.
    fn finish(mut self) -> (i32, String, String) {
        drop(self.child.stdin.take());
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        }
        let status = self.child.wait().expect("wait for account login");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        (status.code().unwrap_or(-1), out, self.seen.join("\n"))
    }
}

/// The account's grant as the keychain holds it.
fn grant(name: &str) -> Grant {
    let entry = Keychain
        .get(name)
        .expect("the keychain (run `bash scripts/test.sh`)")
        .expect("a keychain entry");
    Grant::from_secret(&entry).expect("a grant")
}

/// Signs `name` in through the browser flow, the provider playing the
/// browser.
fn sign_in(work: &Work, name: &str, oidc: &OidcServer) {
    let mut login = Login::start(work, &[name, "--no-browser"], &[]);
    let url = login.url();
    let page = oidc.browse(&url);
    assert_eq!(page["status"], 200, "{page}");
    let (status, out, said) = login.finish();
    assert_eq!(status, 0, "{said}\n{out}");
}

fn send(work: &Work, name: &str, extra: &[&str]) -> crate::common::Run {
    work.postscope()
        .args([
            "send",
            "--account",
            name,
            "--from",
            USER,
            "--to",
            "bob@example.net",
        ])
        .args([
            "--subject",
            "signed in",
            "--body",
            "hello",
            "--transcript",
            "-",
        ])
        .args(extra)
        .run()
}

#[test]
fn a_browser_sign_in_then_sends_with_both_mechanisms_and_no_token_touches_the_disk() {
    let oidc = OidcServer::start(3600);
    let smtp = smtp_for(&oidc);
    let work = Work::new();
    let name = unique("oauth");
    add_account(&work, &name, &smtp, &oidc);

    let mut login = Login::start(&work, &[&name, "--no-browser"], &[]);
    let url = login.url();
    let page = oidc.browse(&url);
    assert_eq!(page["status"], 200, "{page}");
    assert!(
        page["body"]
            .as_str()
            .unwrap()
            .contains("You can close this tab"),
        "{page}"
    );
    let (status, out, said) = login.finish();
    assert_eq!(status, 0, "{said}\n{out}");
    assert!(
        out.contains(&format!("Signed in to {name:?} as {USER}")),
        "{out}"
    );
    // PKCE S256, a state, a loopback redirect on a port of its own.
    let request = &oidc.requests()[0];
    assert_eq!(request["code_challenge_method"], "S256", "{request}");
    assert!(request["state"].as_str().is_some_and(|s| s.len() >= 16));
    assert!(
        request["redirect_uri"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{request}"
    );

    let list = work.postscope().args(["account", "list"]).run();
    assert!(
        list.stdout.contains(&format!("signed in as {USER}")),
        "{}",
        list.dump()
    );

    // OAUTHBEARER when offered; XOAUTH2 when asked for.
    let first = send(&work, &name, &[]);
    first.expect_status(0);
    assert!(
        first.stderr.contains("AUTH OAUTHBEARER <redacted>"),
        "{}",
        first.dump()
    );
    let second = send(&work, &name, &["--auth", "xoauth2"]);
    second.expect_status(0);
    assert!(
        second.stderr.contains("AUTH XOAUTH2 <redacted>"),
        "{}",
        second.dump()
    );
    let mechanisms: Vec<_> = smtp
        .messages()
        .iter()
        .map(|m| (m.auth["mechanism"].clone(), m.auth["user"].clone()))
        .collect();
    assert_eq!(
        mechanisms,
        [
            ("OAUTHBEARER".into(), USER.into()),
            ("XOAUTH2".into(), USER.into())
        ]
    );

    // The sign-in is never sent as a password, whatever --auth says.
    let plain = send(&work, &name, &["--auth", "plain"]);
    plain.expect_status(1);
    assert!(plain.stderr.contains("not a password"), "{}", plain.dump());
    assert_eq!(smtp.messages().len(), 2, "nothing sent");

    // The tokens are in the keychain and nowhere else.
    let tokens = grant(&name).tokens.expect("tokens in the keychain");
    let secrets = [
        tokens.access_token.clone(),
        tokens.refresh_token.clone().expect("a refresh token"),
    ];
    for (path, bytes) in all_files(work.path()) {
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a token in {}", path.display());
        }
    }
    for run in [&first, &second] {
        for s in &secrets {
            assert!(!run.stdout.contains(s.as_str()) && !run.stderr.contains(s.as_str()));
        }
    }
    let settings =
        std::fs::read_to_string(work.path().join("config/postscope/settings.json")).unwrap();
    assert!(
        settings.contains(PUBLIC_CLIENT) && settings.contains(USER),
        "{settings}"
    );

    work.postscope()
        .args(["account", "logout", &name])
        .run()
        .expect_status(0);
    assert_eq!(
        Keychain.get(&name).unwrap(),
        None,
        "signed out, nothing left"
    );
    let after = send(&work, &name, &[]);
    after.expect_status(1);
    assert!(
        after.stderr.contains("is not signed in"),
        "{}",
        after.dump()
    );
    assert!(
        after
            .stderr
            .contains(&format!("postscope account login {name}"))
    );
    work.postscope().args(["account", "remove", &name]).run();
}

#[test]
fn an_expiring_token_is_refreshed_before_each_send_and_a_revoked_grant_asks_to_sign_in() {
    // Access tokens live 2 s, under the refresh margin: every send refreshes.
    let oidc = OidcServer::start(2);
    let smtp = smtp_for(&oidc);
    let work = Work::new();
    let name = unique("refresh");
    add_account(&work, &name, &smtp, &oidc);
    sign_in(&work, &name, &oidc);
    let before = grant(&name).tokens.unwrap();

    send(&work, &name, &[]).expect_status(0);
    let after = grant(&name).tokens.unwrap();
    assert_ne!(
        after.access_token, before.access_token,
        "a new access token"
    );
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "the rotated refresh token is kept"
    );
    assert_eq!(after.signed_in_as.as_deref(), Some(USER));
    send(&work, &name, &[]).expect_status(0);
    assert_eq!(smtp.messages().len(), 2);

    // The provider revokes the grant: the send says what to do, sends
    // nothing, and the account shows as signed out.
    oidc.revoke_all();
    let refused = send(&work, &name, &[]);
    refused.expect_status(1);
    assert!(
        refused.stderr.contains("expired or was revoked"),
        "{}",
        refused.dump()
    );
    assert!(
        refused
            .stderr
            .contains(&format!("postscope account login {name}"))
    );
    assert_eq!(smtp.messages().len(), 2, "nothing sent");
    let list = work.postscope().args(["account", "list"]).run();
    assert!(list.stdout.contains("not signed in"), "{}", list.dump());
    work.postscope().args(["account", "remove", &name]).run();
}

#[test]
fn a_device_code_sign_in_polls_slows_down_when_told_and_sends() {
    let oidc = OidcServer::start(3600);
    let smtp = smtp_for(&oidc);
    let work = Work::new();
    let name = unique("device");
    add_account(&work, &name, &smtp, &oidc);
    oidc.set(serde_json::json!({"slow_down": 1}));
    let mut login = Login::start(&work, &[&name, "--device"], &[]);
    let code = login.wait_for("user code", |l| {
        let t = l.trim();
        (t.len() == 9 && t.as_bytes()[4] == b'-').then(|| t.to_owned())
    });
    // Polled at least once (pending, then slow_down) before approval.
    login.wait_for("slow-down note", |l| {
        l.contains("check less often: every 6 s")
            .then_some(String::new())
    });
    assert_eq!(oidc.approve(&code)["ok"], true);
    let (status, out, said) = login.finish();
    assert_eq!(status, 0, "{said}\n{out}");
    assert!(
        said.contains(&format!("{}/device", oidc.issuer())),
        "{said}"
    );
    send(&work, &name, &[]).expect_status(0);
    work.postscope().args(["account", "remove", &name]).run();
}

#[test]
fn a_wrong_state_is_refused_and_a_pasted_address_signs_in() {
    let oidc = OidcServer::start(3600);
    let smtp = smtp_for(&oidc);
    let work = Work::new();
    let name = unique("paste");
    add_account(&work, &name, &smtp, &oidc);
    let mut login = Login::start(&work, &[&name, "--no-browser"], &[]);
    let url = login.url();
    let redirect = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    // Another program (or a stale tab) knocks with another state.
    let forged = format!("{redirect}?code=forged&state=not-this-one");
    let mut response = ureq::get(&forged)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let page = response.body_mut().read_to_string().unwrap();
    assert!(page.contains("Not this sign-in"), "{page}");
    login.wait_for("refusal", |l| {
        l.contains("was refused").then_some(String::new())
    });

    // The browser ran elsewhere: its final address is pasted back.
    login.type_line("not an address");
    login.wait_for("paste refusal", |l| {
        l.starts_with("Not used:").then_some(String::new())
    });
    let location = oidc.redirect_for(&url);
    login.type_line(&location);
    let (status, out, said) = login.finish();
    assert_eq!(status, 0, "{said}\n{out}");
    send(&work, &name, &[]).expect_status(0);
    work.postscope().args(["account", "remove", &name]).run();
}

#[test]
fn without_a_keychain_login_saves_nothing_and_exits_1() {
    let oidc = OidcServer::start(3600);
    let smtp = smtp_for(&oidc);
    let work = Work::new();
    let name = unique("nokeychain");
    add_account(&work, &name, &smtp, &oidc);
    let login = Login::start(
        &work,
        &[&name, "--no-browser"],
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")],
    );
    let (status, _, said) = login.finish();
    assert_eq!(status, 1, "{said}");
    assert!(said.contains("nothing was saved"), "{said}");
    assert!(oidc.requests().is_empty(), "no browser step was started");
    work.postscope().args(["account", "remove", &name]).run();
}

#[test]
fn a_bad_token_is_refused_explained_and_the_exchange_finished() {
    let oidc = OidcServer::start(3600);
    let smtp = smtp_for(&oidc);
    let work = Work::new();
    for mechanism in ["xoauth2", "oauthbearer"] {
        let run = work
            .postscope()
            .args(crate::common::send_args(&smtp.addr()))
            .args(["--tls", "starttls", "--ca-file"])
            .arg(smtp.ca_pem())
            .args([
                "--auth",
                mechanism,
                "--auth-user",
                USER,
                "--token-env",
                "TOKEN",
            ])
            .args(["--transcript", "-"])
            .env("TOKEN", "not-a-jwt")
            .run();
        run.expect_status(28);
        assert!(
            run.stderr.contains("challenge decoded: {"),
            "{}",
            run.dump()
        );
        assert!(
            run.stderr.contains("expired or been revoked"),
            "{}",
            run.dump()
        );
        assert!(run.stderr.contains("535"), "{}", run.dump());
        assert!(!run.stderr.contains("not-a-jwt"), "the token is redacted");
    }
    assert!(smtp.messages().is_empty());
}
