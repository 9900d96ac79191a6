//! The real desktop UI, driven through its accessibility tree with
//! egui_kittest (headless, no display needed): fill the form, attach a file,
//! send to real servers, read the transcript panel.

use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mail_parser::MimeHeaders;
use postscope::smtp::TlsMode;
use postscope::store::mail::AccountChoice;
use postscope::ui::{App, AppOptions, Intent, Status, Tab};

use crate::server::{Mode, ServerOptions, TestServer};

pub(crate) fn harness(options: AppOptions) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| App::new(cc.egui_ctx.clone(), options.clone()))
}

/// Replaces the text of the field labelled `label`, by typing.
pub(crate) fn set_field(h: &mut Harness<'_, App>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::A);
    h.key_press(Key::Backspace);
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

/// Steps the UI until `done` holds (worker threads report in the meantime).
/// Uses `step`, not `run`: a spinner animates while sending.
pub(crate) fn step_until(h: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    wait_until(h, what, |h| done(h.state()));
}

/// Steps the window until `done` holds of it (what it shows, a file its
/// threads write), or fails after a minute naming `what`.
pub(crate) fn wait_until(
    h: &mut Harness<'_, App>,
    what: &str,
    mut done: impl FnMut(&Harness<'_, App>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(h) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

/// The app with no sandbox and no files.
pub(crate) fn bare() -> Harness<'static, App> {
    harness(AppOptions {
        start_sandbox: false,
        dirs: None,
    })
}

/// The Console tab, filled in for `server`.
fn console_for(server: &TestServer) -> Harness<'static, App> {
    let mut h = bare();
    h.run();
    h.get_by_label("Console").click();
    h.run();
    set_field(&mut h, "Server", server.host());
    set_field(&mut h, "Port", &server.port().to_string());
    h
}

/// The app with the sandbox running and no files.
pub(crate) fn with_sandbox() -> Harness<'static, App> {
    let mut h = harness(AppOptions {
        start_sandbox: true,
        dirs: None,
    });
    step_until(&mut h, "the sandbox to start", |app| {
        app.sandbox().is_some()
    });
    h.run();
    h
}

/// Clicks a button that starts a session and waits for the session to end.
pub(crate) fn click_and_wait(h: &mut Harness<'_, App>, button: &str, what: &str) {
    h.get_by_label(button).click();
    h.step();
    step_until(h, what, |app| !app.is_sending());
    h.run();
}

/// The text of every transcript line so far.
fn transcript_texts(h: &Harness<'_, App>) -> Vec<String> {
    h.state()
        .transcript()
        .events()
        .iter()
        .map(|e| e.text.clone())
        .collect()
}

/// True when some widget's label contains `text`.
pub(crate) fn shows(h: &Harness<'_, App>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn attach(h: &mut Harness<'_, App>, path: std::path::PathBuf) {
    let before = h.state().compose().attachments.len();
    h.state_mut().attach_files(vec![path]);
    step_until(h, "the attachment to be inspected", |app| {
        app.compose().attachments.len() > before
    });
}

fn use_custom_server(h: &mut Harness<'_, App>, server: &TestServer, security: TlsMode) {
    h.state_mut()
        .apply(Intent::ChooseAccount(AccountChoice::Custom));
    h.run();
    set_field(h, "Host", server.host());
    set_field(h, "Port", &server.port().to_string());
    h.state_mut().custom_mut().security = security;
    h.run();
}

#[test]
fn compose_attach_and_send_to_a_real_server() {
    let server = TestServer::start(ServerOptions {
        auth: Some(("alice".into(), "correct horse".into())),
        ..ServerOptions::new(Mode::StartTls)
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rapport d'été.bin");
    let content: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    std::fs::write(&file, &content).unwrap();

    let mut h = bare();
    h.run();
    use_custom_server(&mut h, &server, TlsMode::StartTls);
    // aiosmtpd's certificate comes from the test's own CA.
    h.get_by_label("Accept invalid certificates (testing only)")
        .click();
    set_field(&mut h, "User", "alice");
    set_field(&mut h, "Password", "correct horse");
    set_field(&mut h, "From", "Alice <alice@example.org>");
    set_field(&mut h, "To", "Bob <bob@example.org>");
    set_field(&mut h, "Subject", "Report");
    set_field(&mut h, "Message", "See the attachment.");
    attach(&mut h, file.clone());
    assert!(h.query_by_label("rapport d'été.bin").is_some());

    h.get_by_label("Send").click();
    h.step();
    assert!(h.state().is_sending());
    step_until(&mut h, "the send to finish", |app| !app.is_sending());
    h.run();

    match &h.state().status() {
        Status::Sent(text) => assert!(text.contains("250"), "{text}"),
        other => panic!("expected success, got {other:?}"),
    }
    // The transcript panel shows the final reply and the redacted login.
    assert!(shows(&h, "250 2.0.0 OK: queued"));
    let texts = transcript_texts(&h);
    assert!(
        texts.iter().any(|t| t == "AUTH PLAIN <redacted>"),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.contains("correct horse")));

    let received = server.wait_for_messages(1, Duration::from_secs(10));
    let parsed = mail_parser::MessageParser::default()
        .parse(&received[0].raw)
        .unwrap();
    let attachment = parsed.attachment(0).expect("the attachment arrived");
    assert_eq!(attachment.attachment_name(), Some("rapport d'été.bin"));
    assert_eq!(attachment.contents(), content.as_slice());
    // Sent: the composer moves on to a new message from the same sender,
    // and the message is in Sent with its transcript.
    assert_eq!(h.state().compose().subject, "");
    assert_eq!(h.state().compose().from, "Alice <alice@example.org>");
    assert_eq!(h.state().sent().len(), 1);
    assert_eq!(h.state().sent()[0].1.subject, "Report");
}

#[test]
fn a_bad_address_blocks_send_and_says_why() {
    let mut h = bare();
    h.run();
    h.state_mut()
        .apply(Intent::ChooseAccount(AccountChoice::Custom));
    h.state_mut().custom_mut().host = "127.0.0.1".into();
    h.run();
    set_field(&mut h, "To", "bob@");
    let explanation = h
        .get_all_by_label_contains("is not a valid address")
        .next()
        .unwrap();
    let text = format!("{explanation:?}");
    assert!(text.contains("bob@"), "{text}");
    let send = h.get_by_label("Send");
    assert!(send.accesskit_node().is_disabled());
    // Ctrl+Enter does not send either.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    h.run();
    assert!(!h.state().is_sending());

    set_field(&mut h, "To", "bob@example.org");
    assert!(!shows(&h, "is not a valid address"));
    assert!(!h.get_by_label("Send").accesskit_node().is_disabled());
}

#[test]
fn a_server_refusal_is_shown_and_the_draft_kept() {
    let server = TestServer::start(ServerOptions {
        refuse_rcpt: vec!["nobody@example.org".into()],
        ..ServerOptions::new(Mode::Plain)
    });
    let mut h = bare();
    h.run();
    use_custom_server(&mut h, &server, TlsMode::None);
    set_field(&mut h, "To", "nobody@example.org");
    let draft_before = h.state().compose().clone();

    h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    h.step();
    step_until(&mut h, "the send to finish", |app| !app.is_sending());
    h.run();

    match &h.state().status() {
        Status::Failed(text) => {
            assert!(text.contains("RCPT TO"), "{text}");
            assert!(
                text.contains("550") && text.contains("User unknown"),
                "{text}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(shows(&h, "User unknown"));
    assert_eq!(h.state().compose(), &draft_before);
    assert!(server.messages().is_empty());
}

#[test]
fn first_run_sends_to_the_sandbox_and_shows_it_in_the_inbox() {
    let mut h = with_sandbox();
    // The example message is ready to go: no account, no typing.
    click_and_wait(&mut h, "Send", "the send to finish");
    match &h.state().status() {
        Status::Sent(text) => assert!(text.contains("queued"), "{text}"),
        other => panic!("expected success, got {other:?}"),
    }
    let texts = transcript_texts(&h);
    assert!(
        texts.iter().any(|t| t.starts_with("TLS established")),
        "{texts:?}"
    );

    h.get_by_label_contains("Sandbox inbox (1)").click();
    h.run();
    assert_eq!(h.state().tab(), Tab::Inbox);
    h.get_by_label("Hello from Postscope").click();
    h.run();
    assert!(shows(&h, "Envelope: MAIL FROM <you@postscope.sandbox>"));
    // What Postscope sends lints clean, in the list and in the message's view.
    assert!(shows(&h, "✔ lints clean"));
}

#[test]
fn the_draft_is_saved_while_typing_and_restored_on_the_next_start() {
    let root = tempfile::tempdir().unwrap();
    let dirs = postscope::store::DataDirs::at(root.path());
    let options = AppOptions {
        start_sandbox: false,
        dirs: Some(dirs.clone()),
    };
    let mut h = harness(options.clone());
    step_until(&mut h, "the saved draft to be looked for", |app| {
        !app.draft_unsaved()
    });
    set_field(&mut h, "Subject", "Half-written thoughts");
    // No explicit save: the form is written a moment after the last change.
    step_until(&mut h, "the draft to be saved", |app| !app.draft_unsaved());
    let drafts = dirs.data.join("drafts");
    let saved_with = |text: &str| {
        std::fs::read_dir(&drafts).ok().and_then(|entries| {
            // Finished files only, not a temporary one still being written.
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(text)))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let path = loop {
        if let Some(path) = saved_with("Half-written thoughts") {
            break path;
        }
        assert!(
            Instant::now() < deadline,
            "the draft never reached {}",
            drafts.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // A crash: the harness is forgotten without running any exit code.
    std::mem::forget(h);

    let mut h = harness(options.clone());
    step_until(&mut h, "the draft to be restored", |app| {
        app.compose().subject == "Half-written thoughts"
    });
    h.run();
    assert!(shows(&h, "Restored the draft"));
    drop(h);

    // A damaged draft file is kept aside, the user is told, the app starts.
    std::fs::write(&path, b"{\"subject\": \"cut off").unwrap();
    let mut h = harness(options);
    step_until(
        &mut h,
        "the damaged draft to be reported",
        |app| matches!(&app.status(), Status::Failed(t) if t.contains("was kept as")),
    );
    h.run();
    let kept: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".json.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
}

pub(crate) fn wait_for_status(h: &mut Harness<'_, App>, what: &str, pattern: &str) {
    step_until(h, what, |app| match &app.status() {
        Status::Sent(t) | Status::Idle(t) | Status::Failed(t) | Status::Warning(t) => {
            t.contains(pattern)
        }
        Status::Sending { .. } => false,
    });
}

/// Picks an entry of the account menu in the top bar, by clicking.
pub(crate) fn pick_account(h: &mut Harness<'_, App>, name: &str) {
    h.get_by_label("Compose").click();
    h.run();
    h.get_by_label("Account").click();
    h.run();
    h.get_by_label(name).click();
    h.run();
}

#[test]
fn an_account_added_in_the_window_is_tested_used_and_kept_across_restarts() {
    use postscope::store::secrets::{Keychain, SecretStore};

    let server = TestServer::start(ServerOptions {
        auth: Some((crate::common::USER.into(), crate::common::PASSWORD.into())),
        ..ServerOptions::new(Mode::StartTls)
    });
    let root = tempfile::tempdir().unwrap();
    let dirs = postscope::store::DataDirs::at(root.path());
    let options = AppOptions {
        start_sandbox: false,
        dirs: Some(dirs.clone()),
    };
    let name = crate::common::unique("gui");
    let mut h = harness(options.clone());
    step_until(&mut h, "the store to be read", |app| !app.draft_unsaved());

    // Add the account through the form.
    h.get_by_label("Accounts").click();
    h.run();
    set_field(&mut h, "Name", &name);
    set_field(&mut h, "Display name", "Alice Example");
    set_field(&mut h, "Email", "alice@example.org");
    set_field(&mut h, "Host", server.host());
    set_field(&mut h, "Port", &server.port().to_string());
    set_field(&mut h, "User", crate::common::USER);
    set_field(&mut h, "Password", crate::common::PASSWORD);
    set_field(&mut h, "CA file", &server.ca_pem().display().to_string());
    h.get_by_label("Save").click();
    h.run();
    wait_for_status(&mut h, "the account to be saved", "Saved the account");
    assert_eq!(
        Keychain.get(&name),
        Ok(Some(crate::common::PASSWORD.to_string())),
        "the password went to the OS keychain"
    );
    assert!(h.state().settings().account(&name).is_some());

    // Test connection: capabilities, certificate and login, nothing sent.
    h.get_by_label("Test connection").click();
    h.step();
    step_until(&mut h, "the test to finish", |app| !app.is_sending());
    h.run();
    assert!(
        shows(&h, "The connection works; logged in with PLAIN"),
        "{:?}",
        h.state().status()
    );
    assert!(shows(&h, "Certificate verified for"));
    assert!(shows(&h, "8BITMIME"));
    assert!(server.messages().is_empty(), "a test sends nothing");

    // Send with it: From comes from the account.
    pick_account(&mut h, &name);
    assert_eq!(
        h.state().compose().from,
        "Alice Example <alice@example.org>"
    );
    set_field(&mut h, "To", "Bob <bob@example.org>");
    set_field(&mut h, "Subject", "Through a saved account");
    click_and_wait(&mut h, "Send", "the send to finish");
    assert!(
        matches!(&h.state().status(), Status::Sent(t) if t.contains("in Sent")),
        "{:?}",
        h.state().status()
    );
    assert_eq!(
        server.wait_for_messages(1, Duration::from_secs(10)).len(),
        1
    );
    drop(h);

    // After a restart: the account is there, and sends without any typing.
    let mut h = harness(options.clone());
    step_until(&mut h, "the store to be read", |app| {
        app.settings().account(&name).is_some() && app.sent().len() == 1
    });
    h.run();
    pick_account(&mut h, &name);
    set_field(&mut h, "To", "carol@example.org");
    set_field(&mut h, "Subject", "After a restart");
    click_and_wait(&mut h, "Send", "the second send to finish");
    assert!(
        matches!(&h.state().status(), Status::Sent(_)),
        "{:?}",
        h.state().status()
    );
    assert_eq!(
        server.wait_for_messages(2, Duration::from_secs(10)).len(),
        2
    );

    // Sent history: both, each with its redacted transcript, on disk.
    h.get_by_label("Sent (2)").click();
    h.run();
    h.get_all_by_label_contains("After a restart")
        .next()
        .unwrap()
        .click();
    h.run();
    h.get_by_label("Show transcript").click();
    h.run();
    assert!(
        h.state()
            .transcript()
            .events()
            .iter()
            .any(|e| e.text == "AUTH PLAIN <redacted>")
    );
    // Delete it: the keychain entry goes too.
    h.get_by_label("Accounts").click();
    h.run();
    h.get_by_label(&name).click();
    h.run();
    h.get_by_label("Delete…").click();
    h.run();
    h.get_by_label("Delete for good").click();
    h.run();
    wait_for_status(&mut h, "the account to be deleted", "Deleted the account");
    assert_eq!(Keychain.get(&name), Ok(None));
    assert!(h.state().settings().accounts.is_empty());

    // Closing the window waits for the store; then look at every file.
    drop(h);
    let files = crate::common::all_files(root.path());
    let sent_files = files
        .iter()
        .filter(|(p, _)| p.parent().is_some_and(|d| d.ends_with("sent")))
        .count();
    assert_eq!(sent_files, 2, "{files:?}");
    // No file under the config and data folders holds the password.
    for (path, bytes) in &files {
        crate::common::assert_no_secrets(
            &path.display().to_string(),
            &String::from_utf8_lossy(bytes),
            crate::common::USER,
            crate::common::PASSWORD,
        );
    }
}

#[test]
fn a_failed_send_waits_in_the_outbox_and_a_retry_moves_it_to_sent() {
    let server = TestServer::start(ServerOptions {
        refuse_rcpt: vec!["later@example.org".into()],
        ..ServerOptions::new(Mode::Plain)
    });
    let root = tempfile::tempdir().unwrap();
    let dirs = postscope::store::DataDirs::at(root.path());
    let options = AppOptions {
        start_sandbox: false,
        dirs: Some(dirs.clone()),
    };
    let mut h = harness(options.clone());
    step_until(&mut h, "the store to be read", |app| !app.draft_unsaved());
    use_custom_server(&mut h, &server, TlsMode::None);
    set_field(&mut h, "To", "later@example.org");
    set_field(&mut h, "Subject", "Try again");
    click_and_wait(&mut h, "Send", "the send to fail");
    assert!(
        matches!(&h.state().status(), Status::Failed(t) if t.contains("kept in the Outbox")),
        "{:?}",
        h.state().status()
    );
    // The composer keeps the message; the Outbox lists it with the reason.
    assert_eq!(h.state().compose().subject, "Try again");
    h.get_by_label("Outbox (1)").click();
    h.run();
    assert!(shows(&h, "User unknown"));
    // Closing the window waits for the store; then it is on disk with the
    // failed exchange.
    drop(h);
    let on_disk = crate::common::all_files(&dirs.data.join("drafts"));
    assert_eq!(on_disk.len(), 1, "{on_disk:?}");
    let text = String::from_utf8_lossy(&on_disk[0].1);
    assert!(
        text.contains("\"attempt\"") && text.contains("RCPT TO"),
        "{text}"
    );

    // A restart finds it in the Outbox; fix the address and retry from there.
    let mut h = harness(options);
    step_until(&mut h, "the outbox to be read", |app| {
        app.drafts().iter().any(|(_, d)| d.attempt.is_some())
    });
    h.run();
    h.state_mut()
        .apply(Intent::ChooseAccount(AccountChoice::Custom));
    h.state_mut().custom_mut().host = server.host().into();
    h.state_mut().custom_mut().port = server.port().to_string();
    h.state_mut().custom_mut().security = TlsMode::None;
    set_field(&mut h, "To", "bob@example.org");
    h.get_by_label("Outbox (1)").click();
    h.run();
    h.get_by_label("Retry").click();
    h.step();
    step_until(&mut h, "the retry to finish", |app| !app.is_sending());
    h.run();
    assert!(
        matches!(&h.state().status(), Status::Sent(_)),
        "{:?}",
        h.state().status()
    );
    assert_eq!(
        server.wait_for_messages(1, Duration::from_secs(10)).len(),
        1
    );
    assert!(h.state().drafts().is_empty(), "sent once, moved to Sent");
    assert_eq!(h.state().sent().len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !crate::common::all_files(&dirs.data.join("drafts")).is_empty() {
        assert!(Instant::now() < deadline, "the draft file was not removed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_retry_after_delivery_unknown_asks_first() {
    // The server takes the whole message, then hangs up without a reply.
    let server = crate::common::FakeServer::start(|mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        let _ = c.line();
        c.send(b"250 fake.test\r\n");
        for reply in [&b"250 ok\r\n"[..], b"250 ok\r\n", b"354 go ahead\r\n"] {
            let _ = c.line();
            c.send(reply);
        }
        c.until_dot()
    });
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: Some(postscope::store::DataDirs::at(root.path())),
    });
    step_until(&mut h, "the store to be read", |app| !app.draft_unsaved());
    h.state_mut()
        .apply(Intent::ChooseAccount(AccountChoice::Custom));
    h.state_mut().custom_mut().host = addr.ip().to_string();
    h.state_mut().custom_mut().port = addr.port().to_string();
    h.state_mut().custom_mut().security = TlsMode::None;
    h.run();
    click_and_wait(&mut h, "Send", "the send to end");
    assert!(
        server
            .join()
            .is_some_and(|data| data.ends_with(b"\r\n.\r\n"))
    );
    assert!(
        h.state()
            .drafts()
            .iter()
            .any(|(_, d)| d.attempt.as_ref().is_some_and(|a| a.delivery_unknown)),
        "{:?}",
        h.state().status()
    );
    h.get_by_label("Outbox (1)").click();
    h.run();
    assert!(shows(
        &h,
        "delivery unknown, the server may have it already"
    ));

    // Retry: a question, not a second copy.
    h.get_by_label("Retry").click();
    h.run();
    assert!(!h.state().is_sending());
    assert!(shows(&h, "Send this message again?"));
    h.get_by_label("Don't send").click();
    h.run();
    assert!(!h.state().is_sending());
    assert!(!shows(&h, "Send this message again?"));

    // Saying yes sends (the fake server is gone now: connection refused),
    // and the message stays in the Outbox with the new reason.
    h.get_by_label("Send").click();
    h.run();
    h.get_by_label("Send again").click();
    h.step();
    step_until(&mut h, "the second attempt to end", |app| !app.is_sending());
    h.run();
    let attempt = h.state().drafts()[0].1.attempt.clone().unwrap();
    assert!(!attempt.delivery_unknown, "{attempt:?}");
    assert_eq!(attempt.stage, "connect", "{attempt:?}");
}

#[test]
fn an_account_added_by_the_cli_appears_when_the_window_regains_focus() {
    let root = tempfile::tempdir().unwrap();
    let dirs = postscope::store::DataDirs::at(root.path());
    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: Some(dirs.clone()),
    });
    step_until(&mut h, "the store to be read", |app| !app.draft_unsaved());
    assert!(h.state().settings().accounts.is_empty());
    // What `postscope account add` does, while the window is open.
    let mut settings = postscope::store::settings::Settings::default();
    settings.accounts.push(postscope::store::settings::Account {
        name: "from-the-cli".into(),
        server: "smtp.example.org:587".into(),
        ..Default::default()
    });
    settings.save(&dirs).unwrap();
    h.event(egui::Event::WindowFocused(false));
    h.step();
    h.event(egui::Event::WindowFocused(true));
    step_until(&mut h, "the settings to be read again", |app| {
        app.settings().account("from-the-cli").is_some()
    });
    h.get_by_label("Account").click();
    h.run();
    assert!(h.query_by_label("from-the-cli").is_some());
}

#[test]
fn stop_after_rcpt_checks_recipients_and_delivers_nothing() {
    let mut h = with_sandbox();
    h.get_by_label("Stop after").click();
    h.run();
    h.get_by_label("RCPT TO (check recipients)").click();
    h.run();
    assert_eq!(h.state().quit_after(), Some(postscope::smtp::Stage::Rcpt));
    click_and_wait(&mut h, "Send", "the check to finish");
    assert!(
        matches!(&h.state().status(), Status::Sent(t)
            if t.contains("Stopped after RCPT TO") && t.contains("ada@example.org")),
        "{:?}",
        h.state().status()
    );
    assert_eq!(h.state().sandbox().unwrap().inbox().len(), 0);
    assert!(h.state().sent().is_empty(), "a check is not a delivery");
    assert_eq!(h.state().compose().subject, "Hello from Postscope");
    let sent: Vec<String> = h
        .state()
        .transcript()
        .events()
        .iter()
        .filter(|e| e.direction == postscope::smtp::Direction::Sent)
        .map(|e| e.text.clone())
        .collect();
    assert_eq!(sent.last().map(String::as_str), Some("QUIT"));
    assert!(!sent.iter().any(|t| t == "DATA"), "{sent:?}");
}

#[test]
fn a_saved_transcript_loads_and_is_drawn_as_a_sequence_diagram() {
    // A real exchange, saved by the CLI as JSON Lines.
    let server = TestServer::start(ServerOptions {
        auth: Some((crate::common::USER.into(), crate::common::PASSWORD.into())),
        ..ServerOptions::new(Mode::StartTls)
    });
    let work = crate::common::Work::new();
    let saved = work.path().join("session.jsonl");
    work.postscope()
        .args(crate::common::send_args(&server.addr()))
        .args(["--auth-user", crate::common::USER])
        .password(crate::common::PASSWORD)
        .arg("--ca-file")
        .arg(server.ca_pem())
        .arg("--transcript")
        .arg(&saved)
        .run()
        .expect_status(0);

    let mut h = bare();
    h.run();
    h.state_mut().open_transcript_file(saved.clone());
    step_until(&mut h, "the transcript to load", |app| {
        app.transcript().loaded_from.is_some()
    });
    h.run();
    assert!(shows(&h, "Loaded"), "{:?}", h.state().status());
    h.get_by_label("Diagram").click();
    h.run();
    // One arrow per command and reply, the login redacted, TLS marked.
    assert_eq!(
        h.state().transcript().mode,
        postscope::ui::transcript::Mode::Diagram
    );
    let auth = h.get_by_label("⇒ AUTH PLAIN <redacted>");
    auth.click();
    h.run();
    assert_eq!(
        h.state()
            .transcript()
            .selected
            .map(|i| h.state().transcript().events()[i].text.clone())
            .as_deref(),
        Some("AUTH PLAIN <redacted>")
    );
    assert!(shows(&h, "Client to server, inside TLS"));
    assert!(shows(&h, "Meaning:"), "clicking an arrow explains it");
    // Replies are there too, with their meaning on click.
    h.get_all_by_label_contains("⇐ 235").next().unwrap().click();
    h.run();
    assert!(shows(&h, "Authentication succeeded"));

    // A file that is not a transcript: a clear error, nothing replaced.
    let bad = work.file("notes.jsonl", b"just some notes\n");
    h.state_mut().open_transcript_file(bad);
    step_until(
        &mut h,
        "the bad file to be refused",
        |app| matches!(&app.status(), Status::Failed(t) if t.contains("line 1")),
    );
    assert!(
        h.state()
            .transcript()
            .events()
            .iter()
            .any(|e| e.text == "AUTH PLAIN <redacted>")
    );
}

/// Steps until the transcript has more lines starting with `prefix` than `before`.
fn wait_for_reply(h: &mut Harness<'_, App>, prefix: &str) {
    let count = |app: &App| {
        app.transcript()
            .events()
            .iter()
            .filter(|e| e.text.starts_with(prefix))
            .count()
    };
    let before = count(h.state());
    step_until(h, &format!("a line starting with {prefix:?}"), |app| {
        count(app) > before
    });
}

#[test]
fn the_console_drives_a_whole_session_by_hand() {
    let server = TestServer::start(ServerOptions {
        auth: Some((crate::common::USER.into(), crate::common::PASSWORD.into())),
        ..ServerOptions::new(Mode::StartTls)
    });
    let mut h = console_for(&server);
    // The test server's own CA, as `openssl s_client -CAfile`.
    set_field(&mut h, "CA file", &server.ca_pem().display().to_string());
    h.get_by_label("Connect").click();
    h.step();
    wait_for_reply(&mut h, "220");

    // A command typed by hand, sent with Enter.
    h.get_by_label("Command").focus();
    h.step();
    h.get_by_label("Command").type_text("EHLO console.test");
    h.key_press(Key::Enter);
    step_until(&mut h, "the EHLO reply", |app| {
        app.transcript()
            .events()
            .iter()
            .any(|e| e.text == "250 HELP")
    });
    assert!(
        h.state()
            .transcript()
            .events()
            .iter()
            .any(|e| e.text == "250-STARTTLS")
    );

    // STARTTLS upgrades the live connection and shows the certificate.
    h.get_by_label("STARTTLS").click();
    h.step();
    step_until(&mut h, "TLS", |app| app.console().state.tls.is_some());
    h.step();
    assert!(shows(&h, "Certificate verified for"));
    assert!(
        h.query_all_by_label_contains("TLS (TLSv1.")
            .next()
            .is_some(),
        "the state line says TLS"
    );
    h.get_by_label("EHLO").click();
    h.step();
    wait_for_reply(&mut h, "250 ");

    // AUTH from the helper fields: the base64 is made and hidden for you.
    set_field(&mut h, "User", crate::common::USER);
    set_field(&mut h, "Password", crate::common::PASSWORD);
    h.get_by_label("AUTH").click();
    h.step();
    wait_for_reply(&mut h, "235");
    assert!(h.state().console().state.authenticated);

    // A transaction by hand; MAIL and RCPT sent together (pipelining).
    h.get_by_label("Command").focus();
    h.step();
    h.get_by_label("Command")
        .type_text("MAIL FROM:<alice@example.org>");
    h.key_press_modifiers(Modifiers::SHIFT, Key::Enter);
    h.get_by_label("Command")
        .type_text("RCPT TO:<bob@example.org>");
    h.key_press(Key::Enter);
    step_until(&mut h, "both replies", |app| {
        app.console().state.in_transaction && app.console().state.awaiting == 0
    });
    let texts: Vec<&str> = h
        .state()
        .transcript()
        .events()
        .iter()
        .map(|e| e.text.as_str())
        .collect();
    let mail = texts
        .iter()
        .position(|t| t.starts_with("MAIL FROM"))
        .unwrap();
    assert!(
        texts[mail + 1].starts_with("RCPT TO"),
        "both lines went out before the first reply: {texts:?}"
    );
    h.state_mut().console_mut().message =
        "Subject: by hand\n\n.a line with a leading dot\nbye\n".into();
    h.get_by_label("DATA").click();
    h.step();
    step_until(&mut h, "the message to be accepted", |app| {
        !app.console().state.in_transaction && app.console().state.awaiting == 0
    });
    assert!(
        h.state()
            .transcript()
            .events()
            .iter()
            .any(|e| e.text.starts_with("354")),
        "DATA was answered"
    );
    // Up brings back what was typed last (the pipelined pair).
    h.get_by_label("Command").focus();
    h.step();
    h.key_press(Key::ArrowUp);
    h.step();
    assert_eq!(
        h.state().console().input,
        "MAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.org>"
    );
    h.state_mut().console_mut().input.clear();
    h.get_by_label("QUIT").click();
    h.step();
    step_until(&mut h, "the connection to close", |app| {
        !app.console().state.connected
    });

    let received = server.wait_for_messages(1, Duration::from_secs(10));
    let raw = String::from_utf8_lossy(&received[0].raw);
    assert!(raw.contains("\r\n.a line with a leading dot\r\n"), "{raw}");
    let texts = transcript_texts(&h);
    assert!(
        texts.iter().any(|t| t == "AUTH PLAIN <redacted>"),
        "{texts:?}"
    );
    let all = texts.join("\n");
    crate::common::assert_no_secrets(
        "the console transcript",
        &all,
        crate::common::USER,
        crate::common::PASSWORD,
    );
}

#[test]
fn the_probe_view_explains_capabilities_tls_and_timing() {
    let server = TestServer::start(ServerOptions::new(Mode::StartTls));
    let mut h = console_for(&server);
    h.get_by_label("Probe").click();
    h.step();
    step_until(&mut h, "the probe to finish", |app| !app.console().probing);
    h.run();
    // Verification fails (the test CA is not trusted) and says why.
    assert!(
        shows(&h, "issued by a CA this machine does not trust"),
        "{:?}",
        h.state().status()
    );
    let (report, _) = h.state().console().probe.clone().expect("a probe report");
    assert!(report.greeting.is_some());
    assert!(report.capabilities_before_tls.is_some() || report.capabilities.is_some());
    assert!(shows(&h, "SIZE 67108864"), "capabilities are listed");
    assert!(shows(&h, "67.1 MB"), "SIZE is explained in MB");
    assert!(shows(&h, "greeting"));
}

#[test]
fn a_crash_during_a_send_leaves_the_message_in_the_outbox_as_maybe_delivered() {
    // A server that greets and then says nothing more.
    let server = crate::common::FakeServer::start(|mut c| {
        c.send(b"220 fake.test ESMTP\r\n");
        let _ = c.line();
        std::thread::sleep(Duration::from_secs(5));
    });
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    let root = tempfile::tempdir().unwrap();
    let dirs = postscope::store::DataDirs::at(root.path());
    let options = AppOptions {
        start_sandbox: false,
        dirs: Some(dirs.clone()),
    };
    let mut h = harness(options.clone());
    step_until(&mut h, "the store to be read", |app| !app.draft_unsaved());
    h.state_mut()
        .apply(Intent::ChooseAccount(AccountChoice::Custom));
    h.state_mut().custom_mut().host = addr.ip().to_string();
    h.state_mut().custom_mut().port = addr.port().to_string();
    h.state_mut().custom_mut().security = TlsMode::None;
    h.run();
    h.get_by_label("Send").click();
    h.step();
    assert!(h.state().is_sending());
    // While it is out, the draft on disk says its fate is unknown.
    let deadline = Instant::now() + Duration::from_secs(10);
    // Only finished files count, not a temporary one still being written.
    while !crate::common::all_files(&dirs.data.join("drafts"))
        .iter()
        .any(|(path, bytes)| {
            path.extension().is_some_and(|e| e == "json")
                && String::from_utf8_lossy(bytes).contains("\"stage\": \"sending\"")
        })
    {
        assert!(Instant::now() < deadline, "no in-flight marker on disk");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The window shows it as being sent, not as failed.
    assert!(h.state().drafts().iter().all(|(_, d)| d.attempt.is_none()));
    std::mem::forget(h); // a crash

    let mut h = harness(options);
    step_until(&mut h, "the outbox to be read", |app| {
        app.drafts()
            .iter()
            .any(|(_, d)| d.attempt.as_ref().is_some_and(|a| a.delivery_unknown))
    });
    h.run();
    h.get_by_label("Outbox (1)").click();
    h.run();
    assert!(shows(&h, "delivery unknown"));
}

#[test]
fn the_raw_view_shows_the_message_and_its_envelope_without_sending() {
    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: None,
    });
    h.run();
    h.get_by_label("Raw…").click();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !shows(&h, "RCPT TO:<ada@example.org>") {
        assert!(std::time::Instant::now() < until, "the Raw view never came");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run();
    assert!(shows(&h, "MAIL FROM:<you@postscope.sandbox>"));
    assert!(shows(&h, "Subject: Hello from Postscope"));
    assert!(shows(&h, "To: Ada Lovelace <ada@example.org>"));
    // The linter's verdict sits above the message.
    assert!(shows(&h, "✔ lints clean"));
    assert!(
        h.state().transcript().events().is_empty(),
        "nothing was sent"
    );
}

#[test]
fn the_envelope_sender_row_sets_mail_from_apart_from_from() {
    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: None,
    });
    h.run();
    h.get_by_label("Cc, Bcc, Reply-To…").click();
    h.run();
    set_field(&mut h, "Envelope sender", "not an address");
    h.run();
    let problems = h.state().compose().problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        shows(&h, &format!("⚠ {}", problems[0].1)),
        "shown under the row"
    );
    set_field(&mut h, "Envelope sender", "<>");
    h.run();
    assert_eq!(h.state().compose().envelope_from, "<>");
    h.get_by_label("Raw…").click();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !shows(&h, "MAIL FROM:<>") {
        assert!(
            std::time::Instant::now() < until,
            "the Raw view never showed the null sender"
        );
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    // The header is still From's.
    assert!(shows(&h, "From: You <you@postscope.sandbox>"));
}

#[test]
fn the_markdown_toggle_sends_text_and_html_and_the_inbox_shows_both() {
    let mut h = with_sandbox();
    h.get_by_label("Markdown").click();
    h.run();
    assert!(h.state().compose().markdown);
    click_and_wait(&mut h, "Send", "the send to finish");
    assert!(
        matches!(h.state().status(), Status::Sent(_)),
        "{:?}",
        h.state().status()
    );
    h.get_by_label_contains("Sandbox inbox (1)").click();
    h.run();
    h.get_by_label("Hello from Postscope").click();
    h.run();
    assert!(shows(&h, "Text part"));
    assert!(shows(&h, "HTML part, read as text"));
    assert!(shows(&h, "✔ lints clean"));
}

#[test]
fn the_delivery_notices_row_asks_the_sandbox_for_dsn() {
    let mut h = with_sandbox();
    h.get_by_label("Cc, Bcc, Reply-To…").click();
    h.run();
    h.get_by_value("Server default").click();
    h.run();
    h.get_by_label("On success or failure").click();
    h.run();
    h.get_by_value("Return: server's choice").click();
    h.run();
    h.get_by_label("Return: headers only").click();
    h.run();
    // The ID box keeps only what RFC 3461 allows: no spaces.
    set_field(&mut h, "Envelope ID", "run 42");
    h.run();
    let dsn = h.state().compose().dsn.clone();
    assert_eq!(dsn.envid.as_deref(), Some("run42"));
    assert_eq!(dsn.ret, Some(postscope::smtp::Ret::Hdrs));
    click_and_wait(&mut h, "Send", "the send to finish");
    assert!(
        matches!(h.state().status(), Status::Sent(_)),
        "{:?}",
        h.state().status()
    );
    assert!(
        transcript_texts(&h)
            .iter()
            .any(|t| t.ends_with("NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;ada@example.org")),
        "{:?}",
        transcript_texts(&h)
    );
    h.get_by_label_contains("Sandbox inbox (1)").click();
    h.run();
    h.get_by_label("Hello from Postscope").click();
    h.run();
    assert!(shows(
        &h,
        "Delivery notices asked for (DSN): RET=HDRS ENVID=run42 NOTIFY=SUCCESS,FAILURE ORCPT 1 of 1"
    ));
}

#[test]
fn the_inbox_lists_what_the_sandbox_refused() {
    use std::io::{Read, Write};
    let mut h = with_sandbox();
    let addr = h.state().sandbox().unwrap().local_addr();
    let mut raw = std::net::TcpStream::connect(addr).unwrap();
    raw.write_all(b"RCPT TO:<b@example.org>\r\nQUIT\r\n")
        .unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = String::new();
    let _ = raw.read_to_string(&mut rest);
    assert!(rest.contains("503 5.5.1"), "{rest}");
    h.get_by_label("Sandbox inbox (0)").click();
    h.run();
    step_until(&mut h, "the refusal to be recorded", |app| {
        !app.sandbox().unwrap().inbox().incidents().is_empty()
    });
    h.run();
    h.get_by_label("⚠ Refusals and errors (1)").click();
    h.run();
    assert!(shows(&h, "RCPT: 503 5.5.1 Need MAIL command first"));
}
