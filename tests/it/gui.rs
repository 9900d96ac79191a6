//! The real desktop UI, driven through its accessibility tree with
//! egui_kittest (headless, no display needed): fill the form, attach a file,
//! send to real servers, read the transcript panel.

use std::time::{Duration, Instant};

use egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use mail_parser::MimeHeaders;
use postscope::ui::{AccountChoice, App, AppOptions, Security, Status, Tab};

use crate::server::{Mode, ServerOptions, TestServer};

fn harness(options: AppOptions) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| App::new(cc.egui_ctx.clone(), options.clone()))
}

/// Replaces the text of the field labelled `label`, by typing.
fn set_field(h: &mut Harness<'_, App>, label: &str, text: &str) {
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
fn step_until(h: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

fn attach(h: &mut Harness<'_, App>, path: std::path::PathBuf) {
    let before = h.state().compose.attachments.len();
    h.state_mut().attach_files(vec![path]);
    step_until(h, "the attachment to be inspected", |app| {
        app.compose.attachments.len() > before
    });
}

fn use_custom_server(h: &mut Harness<'_, App>, server: &TestServer, security: Security) {
    h.state_mut().account = AccountChoice::Custom;
    h.run();
    set_field(h, "Host", server.host());
    set_field(h, "Port", &server.port().to_string());
    h.state_mut().custom.security = security;
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

    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: None,
    });
    h.run();
    use_custom_server(&mut h, &server, Security::StartTls);
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

    match &h.state().status {
        Status::Sent(text) => assert!(text.contains("250"), "{text}"),
        other => panic!("expected success, got {other:?}"),
    }
    // The transcript panel shows the final reply and the redacted login.
    assert!(
        h.query_all_by_label_contains("250 2.0.0 OK: queued")
            .next()
            .is_some()
    );
    let texts: Vec<String> = h
        .state()
        .transcript
        .events()
        .iter()
        .map(|e| e.text.clone())
        .collect();
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
    assert_eq!(h.state().compose.subject, "");
    assert_eq!(h.state().compose.from, "Alice <alice@example.org>");
    assert_eq!(h.state().sent.len(), 1);
    assert_eq!(h.state().sent[0].1.message.subject, "Report");
}

#[test]
fn a_bad_address_blocks_send_and_says_why() {
    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: None,
    });
    h.run();
    h.state_mut().account = AccountChoice::Custom;
    h.state_mut().custom.host = "127.0.0.1".into();
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
    assert!(
        h.query_all_by_label_contains("is not a valid address")
            .next()
            .is_none()
    );
    assert!(!h.get_by_label("Send").accesskit_node().is_disabled());
}

#[test]
fn a_server_refusal_is_shown_and_the_draft_kept() {
    let server = TestServer::start(ServerOptions {
        refuse_rcpt: vec!["nobody@example.org".into()],
        ..ServerOptions::new(Mode::Plain)
    });
    let mut h = harness(AppOptions {
        start_sandbox: false,
        dirs: None,
    });
    h.run();
    use_custom_server(&mut h, &server, Security::None);
    set_field(&mut h, "To", "nobody@example.org");
    let draft_before = h.state().compose.clone();

    h.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    h.step();
    step_until(&mut h, "the send to finish", |app| !app.is_sending());
    h.run();

    match &h.state().status {
        Status::Failed(text) => {
            assert!(text.contains("RCPT TO"), "{text}");
            assert!(
                text.contains("550") && text.contains("User unknown"),
                "{text}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        h.query_all_by_label_contains("User unknown")
            .next()
            .is_some()
    );
    assert_eq!(h.state().compose, draft_before);
    assert!(server.messages().is_empty());
}

#[test]
fn first_run_sends_to_the_sandbox_and_shows_it_in_the_inbox() {
    let mut h = harness(AppOptions {
        start_sandbox: true,
        dirs: None,
    });
    step_until(&mut h, "the sandbox to start", |app| {
        app.sandbox().is_some()
    });
    h.run();
    // The example message is ready to go: no account, no typing.
    h.get_by_label("Send").click();
    h.step();
    step_until(&mut h, "the send to finish", |app| !app.is_sending());
    h.run();
    match &h.state().status {
        Status::Sent(text) => assert!(text.contains("queued"), "{text}"),
        other => panic!("expected success, got {other:?}"),
    }
    let texts: Vec<String> = h
        .state()
        .transcript
        .events()
        .iter()
        .map(|e| e.text.clone())
        .collect();
    assert!(
        texts.iter().any(|t| t.starts_with("TLS established")),
        "{texts:?}"
    );

    h.get_by_label_contains("Sandbox inbox (1)").click();
    h.run();
    assert_eq!(h.state().tab, Tab::Inbox);
    h.get_by_label("Hello from Postscope").click();
    h.run();
    assert!(
        h.query_all_by_label_contains("Envelope: MAIL FROM <you@postscope.sandbox>")
            .next()
            .is_some()
    );
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
            entries
                .map(|e| e.unwrap().path())
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
        app.compose.subject == "Half-written thoughts"
    });
    h.run();
    assert!(
        h.query_all_by_label_contains("Restored the draft")
            .next()
            .is_some()
    );
    drop(h);

    // A damaged draft file is kept aside, the user is told, the app starts.
    std::fs::write(&path, b"{\"subject\": \"cut off").unwrap();
    let mut h = harness(options);
    step_until(
        &mut h,
        "the damaged draft to be reported",
        |app| matches!(&app.status, Status::Failed(t) if t.contains("was kept as")),
    );
    h.run();
    let kept: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".json.corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
}
