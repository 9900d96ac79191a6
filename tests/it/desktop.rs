//! The desktop habits (issue 14): opening a message file from the file
//! manager, the window's icon and folders.

use crate::gui::{bare, shows, wait_until};

#[test]
fn a_message_file_opens_in_the_raw_view_with_its_implied_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Grüße.eml");
    std::fs::write(
        &path,
        "From: Ann <ann@example.org>\r\nTo: bob@example.net\r\n\
         Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n\r\nHello\r\n",
    )
    .unwrap();
    let mut h = bare();
    h.run();
    h.state_mut().open_message(path);
    wait_until(&mut h, "the file", |h| {
        shows(h, "RCPT TO:<bob@example.net>")
    });
    h.run();
    assert!(
        shows(&h, "Raw message — Grüße.eml"),
        "the window names the file"
    );
    assert!(shows(&h, "MAIL FROM:<ann@example.org>"));
    assert!(shows(&h, "Envelope its headers imply"));
    // No Date, no Message-ID: the linter says so above the text.
    assert!(shows(&h, "Date"));
    assert!(
        h.state().transcript().events().is_empty(),
        "nothing was sent"
    );
}

#[test]
fn a_missing_message_file_says_so_in_the_raw_view() {
    let mut h = bare();
    h.run();
    h.state_mut()
        .open_message("/nonexistent/postscope-test.eml".into());
    wait_until(&mut h, "the error", |h| {
        shows(h, "cannot open /nonexistent/postscope-test.eml")
    });
}

#[test]
fn the_command_palette_lists_actions_with_shortcuts_and_runs_one() {
    use egui::{Key, Modifiers};
    use egui_kittest::kittest::Queryable;
    use postscope::ui::Tab;
    let mut h = bare();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::K);
    h.run();
    assert!(shows(&h, "Go to Console"), "the palette lists the actions");
    assert!(shows(&h, "Ctrl+Shift+A"), "with their shortcuts");
    h.get_by_label("Command").type_text("console");
    h.run();
    assert!(!shows(&h, "Go to Drafts"), "filtered by what is typed");
    h.key_press(Key::Enter);
    h.run();
    assert_eq!(h.state().tab(), Tab::Console);
    assert!(!shows(&h, "Go to Compose"), "the palette closed");

    // Ctrl+Shift+P opens it too; Escape closes it without doing anything.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    h.run();
    assert!(shows(&h, "Theme: dark"));
    h.key_press(Key::Escape);
    h.run();
    assert!(!shows(&h, "Theme: dark"));
    assert_eq!(h.state().tab(), Tab::Console);
}

#[test]
fn shortcuts_switch_tabs_and_find_in_the_transcript() {
    use egui::{Key, Modifiers};
    use postscope::ui::Tab;
    let mut h = bare();
    h.run();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num4);
    h.run();
    assert_eq!(h.state().tab(), Tab::Sent);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num7);
    h.run();
    assert_eq!(h.state().tab(), Tab::Accounts);
    // Ctrl+Shift+T hides the transcript panel; Ctrl+F brings it back with
    // the cursor in its filter.
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::T);
    h.run();
    assert!(!shows(&h, "show only lines containing"));
    h.key_press_modifiers(Modifiers::COMMAND, Key::F);
    h.run();
    h.run();
    use egui_kittest::kittest::Queryable;
    let filter = h.get_by_label("Filter");
    assert!(filter.is_focused(), "the filter has the cursor");
    // Typing goes into it.
    filter.type_text("EHLO");
    h.run();
    assert_eq!(h.state().transcript().filter(), "EHLO");
    // Ctrl+1 is back to Compose.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num1);
    h.run();
    assert_eq!(h.state().tab(), Tab::Compose);
}

#[test]
fn the_theme_can_be_switched_in_the_menu_and_back_to_the_system() {
    use egui_kittest::kittest::Queryable;
    let mut h = bare();
    h.run();
    let pick = |h: &mut egui_kittest::Harness<'_, postscope::ui::App>, name: &str| {
        h.get_by_label("Menu").click();
        h.run();
        h.get_by_label(name).click();
        h.run();
    };
    pick(&mut h, "Dark");
    assert_eq!(
        h.ctx.options(|o| o.theme_preference),
        egui::ThemePreference::Dark
    );
    assert_eq!(h.ctx.theme(), egui::Theme::Dark);
    assert!(h.ctx.global_style().visuals.dark_mode);
    pick(&mut h, "Light");
    assert_eq!(h.ctx.theme(), egui::Theme::Light);
    assert!(!h.ctx.global_style().visuals.dark_mode);
    pick(&mut h, "Follow the system");
    assert_eq!(
        h.ctx.options(|o| o.theme_preference),
        egui::ThemePreference::System
    );
}

/// The Japanese font the test command installs (fonts-ipafont-gothic).
const JAPANESE_FONT: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";

#[test]
fn a_japanese_subject_renders_with_its_font_and_a_script_without_one_is_named() {
    use postscope::ui::Status;
    let font = std::fs::read(JAPANESE_FONT).unwrap_or_else(|e| {
        panic!("{JAPANESE_FONT}: {e} (scripts/test.sh installs fonts-ipafont-gothic)")
    });
    let mut h = bare();
    h.ctx.add_font(egui::FontInsert::new(
        "ipag",
        egui::FontData::from_owned(font),
        vec![egui::InsertFontFamily {
            family: egui::FontFamily::Proportional,
            priority: egui::FontPriority::Lowest,
        }],
    ));
    h.run();
    crate::gui::set_field(&mut h, "Subject", "会議の議事録");
    h.run();
    assert_eq!(h.state().compose().subject, "会議の議事録");
    assert!(
        h.ctx
            .fonts_mut(|f| f.has_glyphs(&egui::FontId::proportional(14.0), "会議の議事録")),
        "the Japanese font draws the subject"
    );
    assert!(
        !matches!(h.state().status(), Status::Warning(_)),
        "no notice while a font draws it: {:?}",
        h.state().status()
    );
    // Devanagari: no font here, so the window names the script and the
    // package (kittest panics on a missing glyph unless told to draw boxes).
    h.ctx
        .set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
    crate::gui::set_field(&mut h, "Subject", "नमस्ते");
    h.run();
    match h.state().status() {
        Status::Warning(text) => {
            assert!(text.contains("Devanagari"), "{text}");
            assert!(text.contains("fonts-noto-core"), "{text}");
        }
        other => panic!("no notice for Devanagari: {other:?}"),
    }
}

#[test]
fn the_learn_walk_goes_through_a_live_send_to_the_sandbox() {
    use egui::{Key, Modifiers};
    use egui_kittest::kittest::{NodeT, Queryable};
    use postscope::ui::Tab;
    let mut h = crate::gui::with_sandbox();
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num8);
    h.run();
    assert_eq!(h.state().tab(), Tab::Learn);
    assert!(shows(&h, "Send the example to see this step's lines"));
    h.get_by_label("Send the example to the Local sandbox")
        .click();
    h.step();
    crate::gui::step_until(&mut h, "the example to be sent", |app| {
        !app.is_sending() && app.sent().len() == 1
    });
    h.run();
    // Step 1: the greeting, from this very exchange, highlighted in the panel.
    assert!(
        shows(&h, "S: 220 postscope.sandbox"),
        "the greeting's line is shown"
    );
    let highlighted = |h: &egui_kittest::Harness<'_, postscope::ui::App>| -> Vec<String> {
        let t = h.state().transcript();
        t.highlighted()
            .iter()
            .map(|&i| t.events()[i].text.clone())
            .collect()
    };
    assert!(
        highlighted(&h).iter().any(|l| l.starts_with("220 ")),
        "{:?}",
        highlighted(&h)
    );
    h.get_by_label("Next ▶").click();
    h.run();
    assert!(
        highlighted(&h)[0].starts_with("EHLO "),
        "{:?}",
        highlighted(&h)
    );
    assert!(shows(&h, "every line but the last has a dash"));
    h.get_by_label("Next ▶").click();
    h.run();
    let tls = highlighted(&h);
    assert!(
        tls.iter().any(|l| l == "STARTTLS") && tls.iter().any(|l| l.starts_with("TLS established")),
        "{tls:?}"
    );
    h.get_by_label("Next ▶").click();
    h.run();
    assert!(
        highlighted(&h).iter().any(|l| l == "AUTH PLAIN <redacted>"),
        "{:?}",
        highlighted(&h)
    );
    h.get_by_label("Next ▶").click();
    h.run();
    assert!(shows(&h, "C: MAIL FROM:<you@postscope.sandbox>"));
    assert!(shows(&h, "C: RCPT TO:<ada@example.org>"));
    assert!(shows(&h, "They are not the From: and To:"));
    h.get_by_label("Next ▶").click();
    h.get_by_label("Next ▶").click();
    h.run();
    assert!(
        highlighted(&h).iter().any(|l| l.contains("queued as")),
        "{:?}",
        highlighted(&h)
    );
    h.get_by_label("Next ▶").click();
    h.run();
    assert!(highlighted(&h).iter().any(|l| l == "QUIT"));
    assert!(
        h.get_by_label("Next ▶").accesskit_node().is_disabled(),
        "the last step"
    );
    // Leaving the tab clears the highlight.
    h.key_press_modifiers(Modifiers::COMMAND, Key::Num1);
    h.run();
    assert!(h.state().transcript().highlighted().is_empty());
    // The transcript's Learn… button comes back here; a page opens.
    h.get_by_label("Learn…").click();
    h.run();
    assert_eq!(h.state().tab(), Tab::Learn);
    h.get_by_label("Reply codes: 2xx, 3xx, 4xx, 5xx and enhanced codes")
        .click();
    h.run();
    assert!(shows(&h, "Enhanced status codes (RFC 3463)"));
}

#[test]
fn sent_lists_from_its_index_and_reads_a_transcript_when_opened() {
    use egui_kittest::kittest::Queryable;
    use postscope::ui::{AppOptions, Tab};
    let root = tempfile::tempdir().unwrap();
    let dirs = postscope::store::DataDirs::at(root.path());
    let options = AppOptions {
        start_sandbox: true,
        dirs: Some(dirs.clone()),
    };
    {
        let mut h = crate::gui::harness(options.clone());
        crate::gui::step_until(&mut h, "the sandbox", |app| app.sandbox().is_some());
        h.run();
        h.get_by_label("Send").click();
        h.step();
        crate::gui::step_until(&mut h, "the send", |app| {
            !app.is_sending() && app.sent().len() == 1
        });
        // The record and its summary are written on the store thread.
        let index = root.path().join("data/sent-index.json");
        wait_until(&mut h, "the Sent index", |_| index.is_file());
    }
    // A new window: the list comes from the index, the transcript from the
    // record only when asked.
    let mut h = crate::gui::harness(options);
    crate::gui::step_until(&mut h, "the history", |app| app.sent().len() == 1);
    h.run();
    assert!(h.state().transcript().events().is_empty());
    h.get_by_label("Sent (1)").click();
    h.run();
    h.get_all_by_label_contains("Hello from Postscope")
        .next()
        .expect("the Sent row")
        .click();
    h.run();
    h.get_by_label("Show transcript").click();
    crate::gui::step_until(&mut h, "the transcript to be read", |app| {
        !app.transcript().events().is_empty()
    });
    h.run();
    assert!(shows(&h, "AUTH PLAIN <redacted>"));
    assert_eq!(h.state().tab(), Tab::Sent);
}

#[test]
fn without_a_file_dialog_a_typed_path_attaches_and_saves_in_the_chosen_format() {
    use egui_kittest::kittest::Queryable;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "some notes\n").unwrap();
    let mut h = crate::gui::with_sandbox();
    h.state_mut().use_typed_paths();
    h.get_by_label("Attach files…").click();
    h.run();
    assert!(shows(&h, "ile dialogs are turned off"), "it says why");
    crate::gui::set_field(&mut h, "Path", file.to_str().unwrap());
    h.get_by_label("Attach").click();
    crate::gui::step_until(&mut h, "the attachment", |app| {
        app.compose().attachments.len() == 1
    });
    assert_eq!(h.state().compose().attachments[0].name, "notes.txt");

    // Send, then save the transcript as a web page by typing a path.
    h.get_by_label("Send").click();
    h.step();
    crate::gui::step_until(&mut h, "the send", |app| !app.is_sending());
    h.run();
    h.get_by_label("Save…").click();
    h.run();
    let target = dir.path().join("session.txt");
    crate::gui::set_field(&mut h, "Path", target.to_str().unwrap());
    h.get_by_label("Web page with the diagram (.html)").click();
    h.run();
    assert!(
        shows(&h, "session.html"),
        "the path shown takes the format's extension"
    );
    h.get_by_label("Save").click();
    let saved = dir.path().join("session.html");
    wait_until(&mut h, "the saved page", |_| saved.is_file());
    let page = std::fs::read_to_string(&saved).unwrap();
    assert!(page.contains("<svg"), "a web page with the diagram");
    assert!(!dir.path().join("session.txt").exists());

    // The same path again: nothing is replaced before the user says so.
    std::fs::write(&saved, "keep me").unwrap();
    h.get_by_label("Save…").click();
    h.run();
    crate::gui::set_field(&mut h, "Path", saved.to_str().unwrap());
    h.get_by_label("Web page with the diagram (.html)").click();
    h.run();
    h.get_by_label("Save").click();
    wait_until(&mut h, "the question", |h| {
        shows(h, "exists. Save again to replace it")
    });
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "keep me");
    h.get_by_label("Replace").click();
    wait_until(&mut h, "the replaced page", |_| {
        std::fs::read_to_string(&saved).is_ok_and(|p| p.contains("<svg"))
    });
}

#[test]
fn the_cursor_starts_in_from_and_tab_follows_the_form() {
    use egui::Key;
    use egui_kittest::kittest::Queryable;
    let mut h = bare();
    h.run();
    h.run();
    assert!(
        h.get_by_label("From").is_focused(),
        "From has the cursor at start"
    );
    h.key_press(Key::Tab);
    h.run();
    assert!(h.get_by_label("To").is_focused(), "Tab goes on to To");
    h.key_press(Key::Tab);
    h.run();
    assert!(h.get_by_label("Subject").is_focused(), "then Subject");
}

#[test]
fn an_unsaved_change_in_the_account_form_is_marked() {
    use egui_kittest::kittest::Queryable;
    let mut h = bare();
    h.run();
    h.get_by_label("Accounts").click();
    h.run();
    assert!(!shows(&h, "unsaved changes"));
    crate::gui::set_field(&mut h, "Name", "Work");
    assert!(shows(&h, "unsaved changes"));
    // Labels come before their menus, and still name them.
    h.get_by_label("Security").click();
    h.run();
}

#[test]
fn at_1024_by_700_the_console_keeps_every_control_and_word_in_view() {
    use egui_kittest::kittest::Queryable;
    use postscope::ui::{App, AppOptions};
    let mut h = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1024.0, 700.0))
        .build_eframe(|cc| {
            App::new(
                cc.egui_ctx.clone(),
                AppOptions {
                    start_sandbox: true,
                    dirs: None,
                },
            )
        });
    crate::gui::step_until(&mut h, "the sandbox", |app| app.sandbox().is_some());
    let addr = h.state().sandbox().unwrap().local_addr();
    h.get_by_label("Console").click();
    h.run();
    crate::gui::set_field(&mut h, "Server", &addr.ip().to_string());
    crate::gui::set_field(&mut h, "Port", &addr.port().to_string());
    h.get_by_label("Connect").click();
    crate::gui::step_until(&mut h, "the greeting", |app| {
        app.transcript()
            .events()
            .iter()
            .any(|e| e.text.starts_with("220 "))
    });
    h.run();
    // The central panel ends where the transcript panel begins.
    let edge = h.get_by_label("Filter").rect().left();
    for control in [
        "Disconnect",
        "EHLO",
        "QUIT",
        "AUTH",
        "MAIL FROM",
        "RCPT TO",
        "VRFY",
        "DATA",
    ] {
        let rect = h.get_by_label(control).rect();
        assert!(
            rect.right() <= edge && rect.right() <= 1024.0,
            "{control} is pushed off the edge: {rect:?}, the panel ends at {edge}"
        );
    }
    let state = h
        .get_all_by_label_contains("not logged in")
        .next()
        .expect("the state line says \"not logged in\", whole");
    assert!(state.rect().right() <= edge, "{:?}", state.rect());
}
