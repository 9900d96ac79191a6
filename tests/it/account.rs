//! Saved accounts with their secrets in the real OS keychain (a Secret
//! Service: gnome-keyring under dbus-run-session, started by
//! scripts/test.sh), and the "no password on disk" promise.

use std::time::Duration;

use postscope::store::secrets::{Keychain, SecretStore};

use crate::common::{PASSWORD, USER, Work, all_files, assert_no_secrets, unique};
use crate::server::{Mode, ServerOptions, TestServer};

#[test]
fn keychain_set_get_delete_against_the_real_secret_service() {
    let name = unique("kc");
    let status = Keychain.get(&name);
    assert_eq!(
        status,
        Ok(None),
        "the OS keychain is not usable here: run the tests with `bash scripts/test.sh`, \
         which starts gnome-keyring under dbus-run-session"
    );
    Keychain.set(&name, "first").unwrap();
    assert_eq!(Keychain.get(&name).unwrap().as_deref(), Some("first"));
    Keychain.set(&name, "second").unwrap();
    assert_eq!(Keychain.get(&name).unwrap().as_deref(), Some("second"));
    Keychain.delete(&name).unwrap();
    assert_eq!(Keychain.get(&name).unwrap(), None);
    // Deleting what is not there is not an error.
    Keychain.delete(&name).unwrap();
}

#[test]
fn a_saved_account_sends_without_retyping_and_no_password_touches_the_disk() {
    let server = TestServer::start(ServerOptions {
        auth: Some((USER.into(), PASSWORD.into())),
        ..ServerOptions::new(Mode::StartTls)
    });
    let work = Work::new();
    let name = unique("work");
    let ca = server.ca_pem().display().to_string();
    work.postscope()
        .args([
            "account",
            "add",
            &name,
            "--server",
            &server.addr(),
            "--tls",
            "starttls",
        ])
        .args(["--ca-file", &ca, "--auth-user", USER])
        .stdin(format!("{PASSWORD}\n").as_bytes())
        .run()
        .expect_status(0);

    let list = work.postscope().args(["account", "list"]).run();
    list.expect_status(0);
    assert!(
        list.stdout.contains(&name) && list.stdout.contains(&server.addr()),
        "{}",
        list.dump()
    );
    assert_eq!(Keychain.get(&name).unwrap().as_deref(), Some(PASSWORD));

    // No --server, no password: both come from the account.
    let sent = work
        .postscope()
        .args([
            "send",
            "--account",
            &name,
            "--timeout",
            "20",
            "--transcript",
            "-",
        ])
        .args([
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org",
            "--subject",
            "saved",
        ])
        .run();
    sent.expect_status(0);
    assert!(
        sent.stderr.contains("AUTH PLAIN <redacted>"),
        "{}",
        sent.dump()
    );
    assert_no_secrets("the transcript", &sent.stderr, USER, PASSWORD);
    assert_eq!(
        server.wait_for_messages(1, Duration::from_secs(10)).len(),
        1
    );

    // The config and data folders hold the account, never its password.
    let files = all_files(work.path());
    assert!(
        files.iter().any(|(p, _)| p.ends_with("settings.json")),
        "{files:?}"
    );
    for (path, bytes) in &files {
        assert_no_secrets(
            &path.display().to_string(),
            &String::from_utf8_lossy(bytes),
            USER,
            PASSWORD,
        );
    }
    // And every file and folder Postscope made is private.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for (path, _) in &files {
            assert_eq!(mode(path), 0o600, "{}", path.display());
            let folder = path.parent().unwrap();
            if folder.ends_with("postscope") || folder.parent().unwrap().ends_with("postscope") {
                assert_eq!(mode(folder), 0o700, "{}", folder.display());
            }
        }
    }

    work.postscope()
        .args(["account", "remove", &name])
        .run()
        .expect_status(0);
    assert_eq!(Keychain.get(&name).unwrap(), None);
    work.postscope()
        .args([
            "send",
            "--account",
            &name,
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
        ])
        .run()
        .expect_status(1)
        .stderr_contains("no account named");
}

#[test]
fn a_corrupt_settings_file_is_kept_and_reported() {
    let work = Work::new();
    let config = work.path().join("config/postscope");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("settings.json"), b"{\"accounts\": [").unwrap();
    let run = work.postscope().args(["account", "list"]).run();
    run.expect_status(1).stderr_contains("was kept as");
    let kept = std::fs::read_dir(&config)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("settings.json.corrupt-")
        })
        .count();
    assert_eq!(kept, 1);
    // Adding an account afterwards starts a fresh file; the old one stays kept.
    work.postscope()
        .args([
            "account",
            "add",
            &unique("fresh"),
            "--server",
            "smtp.example.org",
        ])
        .run()
        .expect_status(0);
}
