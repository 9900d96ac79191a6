//! Every message Postscope builds is right, whatever the draft: generated
//! drafts (names and subjects in many scripts, up to 500 recipients, long
//! attachment names, long and empty body lines, emoji, Markdown) are built as `send`
//! builds them, then checked by two parsers that share no code: Postscope's
//! own linter (no finding at all) and Python's `email` package with
//! `policy=default` (no defect, and every name, address, subject, file name
//! and the body read back as they were written).

use std::path::Path;

use postscope::message::{self, Draft, lint::lint};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::common::Work;
use crate::server::run_python;

/// Words in many scripts, with the characters that need quoting or encoding.
const WORDS: &[&str] = &[
    "Ada",
    "Zoë",
    "Łukasz",
    "Ελένη",
    "Иван",
    "محمد",
    "דוד",
    "वर्षा",
    "さくら",
    "李小龍",
    "김민준",
    "ภาษาไทย",
    "🎉",
    "👩‍💻",
    "O'Brien,",
    "Jr.",
    "(paren)",
    "x@y",
    "semi;colon",
    "tab\there",
    "=?utf-8?q?not?=",
    "\"quoted\"",
    "back\\slash",
    "-",
    "a",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => (1usize..3000).prop_map(|n| "x".repeat(n)),
        1 => (1usize..400).prop_map(|n| "ü".repeat(n)),
        1 => (1usize..200).prop_map(|n| "😀".repeat(n)),
    ]
}

fn words(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..max).prop_map(|w| w.join(" "))
}

/// A display name: short words only (a name is not a paragraph).
fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..6).prop_map(|w| w.join(" "))
}

/// `"name" <addr>` (quoted and escaped as a person would) or the bare address.
fn mailbox(name: &Option<String>, addr: &str) -> String {
    match name {
        Some(n) => format!(
            "\"{}\" <{addr}>",
            n.replace('\\', "\\\\").replace('"', "\\\"")
        ),
        None => addr.to_owned(),
    }
}

/// One generated draft, before its attachments are written.
#[derive(Debug, Clone)]
struct Case {
    from_name: Option<String>,
    to: Vec<Option<String>>,
    subject: String,
    body: String,
    markdown: bool,
    attachments: Vec<String>,
}

fn case() -> impl Strategy<Value = Case> {
    let recipients = prop_oneof![
        4 => prop::collection::vec(prop::option::of(name()), 1..8),
        1 => prop::collection::vec(prop::option::weighted(0.1, name()), 100..500),
    ];
    let body_line = prop_oneof![
        Just(String::new()),
        words(12),
        (900usize..3000).prop_map(|n| "y".repeat(n)),
        (1usize..600).prop_map(|n| "é ".repeat(n)),
    ];
    let attachment = (name(), 0usize..200).prop_map(|(n, extra)| {
        let mut s = format!("{n}{}.txt", "n".repeat(extra));
        // File names are at most 255 bytes on Linux.
        while s.len() > 250 {
            s.remove(0);
        }
        s.replace('/', "_")
    });
    (
        prop::option::of(name()),
        recipients,
        words(8),
        prop::collection::vec(body_line, 0..8),
        prop::collection::vec(attachment, 0..3),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(from_name, to, subject, lines, attachments, markdown)| Case {
                from_name,
                to,
                subject,
                body: lines.join("\n"),
                markdown,
                attachments,
            },
        )
}

/// What Python reads back: one JSON line per message, the defects and the
/// parsed fields, compared in Rust so a failure shows both sides.
const READ_BACK: &str = r#"
import json, sys
from email import policy
from email.parser import BytesParser
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    defects = [repr(d) for part in msg.walk() for d in part.defects]
    for part in msg.walk():
        for name, value in part.items():
            defects += [f"{name}: {d!r}" for d in getattr(value, "defects", ())]
    body = msg.get_body(("plain",))
    # Whitespace in a display name is not significant (RFC 5322 §3.2.5).
    name = lambda n: " ".join(n.split())
    print(json.dumps({
        "path": path,
        "defects": defects,
        "from": [[name(a.display_name), a.addr_spec] for a in msg["from"].addresses],
        "to": [[name(a.display_name), a.addr_spec] for a in msg["to"].addresses],
        "subject": str(msg["subject"] or ""),
        # The text as written; a final line end is the transfer's, not the text's.
        "body": body.get_content().replace("\r\n", "\n").rstrip("\n") if body is not None else None,
        "files": [p.get_filename() for p in msg.iter_attachments()],
        "html": msg.get_body(("html",)) is not None,
    }))
"#;

#[test]
fn every_generated_draft_builds_a_message_both_parsers_accept() {
    let work = Work::new();
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(40);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let built = std::cell::RefCell::new(Vec::new());
    runner
        .run(&case(), |case| {
            let n = built.borrow().len();
            let path = build(work.path(), n, &case);
            let bytes = std::fs::read(&path).unwrap();
            let findings = lint(&bytes);
            prop_assert!(
                findings.is_empty(),
                "{case:?}\n{}",
                findings
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            built.borrow_mut().push((path, case));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let built = built.into_inner();
    let stdout = run_python(READ_BACK, built.iter().map(|(p, _)| p));
    let read: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(read.len(), built.len());
    for ((path, case), got) in built.iter().zip(&read) {
        let expected = json!({
            "path": path,
            "defects": [],
            "from": [[spaced(&case.from_name), "from@example.org"]],
            "to": case.to.iter().enumerate()
                .map(|(i, n)| json!([spaced(n), format!("r{i}@example.org")]))
                .collect::<Vec<_>>(),
            "subject": case.subject,
            "body": case.body.trim_end_matches('\n'),
            // Python's get_filename strips the name's outer white space.
            "files": case.attachments.iter().map(|a| a.trim()).collect::<Vec<_>>(),
            "html": case.markdown,
        });
        for (key, want) in expected.as_object().unwrap() {
            assert_eq!(
                &got[key],
                want,
                "{}: the {key} read back differently by Python's email package",
                path.display()
            );
        }
    }
}

/// A display name with its whitespace runs as one space.
fn spaced(name: &Option<String>) -> String {
    name.as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the case as `postscope send` would, and writes the message.
fn build(dir: &Path, n: usize, case: &Case) -> std::path::PathBuf {
    let case_dir = dir.join(format!("case-{n}"));
    std::fs::create_dir_all(&case_dir).unwrap();
    let attachments = case
        .attachments
        .iter()
        .map(|name| {
            let path = case_dir.join(name);
            std::fs::write(&path, format!("contents of {name}\n")).unwrap();
            path
        })
        .collect();
    let draft = Draft {
        from: mailbox(&case.from_name, "from@example.org"),
        to: vec![
            case.to
                .iter()
                .enumerate()
                .map(|(i, name)| mailbox(name, &format!("r{i}@example.org")))
                .collect::<Vec<_>>()
                .join(", "),
        ],
        subject: case.subject.clone(),
        body: case.body.clone(),
        markdown: case.markdown,
        attachments,
        ..Draft::default()
    };
    let built =
        message::build_streaming(&draft).unwrap_or_else(|e| panic!("{case:?} does not build: {e}"));
    let bytes = built.to_bytes().unwrap();
    let path = dir.join(format!("case-{n}.eml"));
    std::fs::write(&path, bytes).unwrap();
    path
}
