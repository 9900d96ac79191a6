//! The desktop habits (issue 14): opening a message file from the file
//! manager, the window's icon and folders.

use std::time::{Duration, Instant};

use crate::gui::{bare, shows};

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
    let until = Instant::now() + Duration::from_secs(10);
    while !shows(&h, "RCPT TO:<bob@example.net>") {
        assert!(Instant::now() < until, "the file never showed");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
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
    let until = Instant::now() + Duration::from_secs(10);
    while !shows(&h, "cannot open /nonexistent/postscope-test.eml") {
        assert!(Instant::now() < until, "no error shown");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
}
