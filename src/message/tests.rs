use std::fs;
use std::path::{Path, PathBuf};

use mail_parser::{MessageParser, MimeHeaders};

use super::*;

fn draft() -> Draft {
    Draft {
        from: "Ada Lovelace <ada@example.org>".into(),
        to: vec!["bob@example.net".into()],
        subject: "Hello".into(),
        body: "Hi Bob.\n".into(),
        ..Draft::default()
    }
}

fn invalid(field: Field, input: &str) -> (String, String, String) {
    match parse_mailboxes(field, input) {
        Err(e @ BuildError::InvalidAddress { .. }) => {
            let text = e.to_string();
            let BuildError::InvalidAddress {
                field: f,
                input,
                reason,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(f, field);
            (input, reason, text)
        }
        other => panic!("{input:?}: expected InvalidAddress, got {other:?}"),
    }
}

fn assert_crlf(bytes: &[u8]) {
    assert!(bytes.ends_with(b"\r\n"), "output does not end with CRLF");
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at byte {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at byte {i}");
        }
    }
}

#[test]
fn field_display() {
    let names: Vec<String> = [
        Field::From,
        Field::To,
        Field::Cc,
        Field::Bcc,
        Field::ReplyTo,
    ]
    .iter()
    .map(|f| f.to_string())
    .collect();
    assert_eq!(names, ["From", "To", "Cc", "Bcc", "Reply-To"]);
}

#[test]
fn parses_valid_lists() {
    let list = parse_mailboxes(
        Field::To,
        r#""Doe, John" <john@example.org>, Ada Lovelace <ada@example.org>, bob@example.net,"#,
    )
    .unwrap();
    let got: Vec<(Option<&str>, String)> = list
        .iter()
        .map(|m| (m.name.as_deref(), m.email.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (Some("Doe, John"), "john@example.org".to_owned()),
            (Some("Ada Lovelace"), "ada@example.org".to_owned()),
            (None, "bob@example.net".to_owned()),
        ]
    );

    let bare = parse_mailboxes(Field::To, "\"\" <a@example.org>, <b@example.org>").unwrap();
    assert!(bare.iter().all(|m| m.name.is_none()));

    let one = parse_mailboxes(Field::Cc, "  José Núñez <jose@example.org>  ").unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].name.as_deref(), Some("José Núñez"));
    assert_eq!(one[0].email.to_string(), "jose@example.org");
}

#[test]
fn empty_input_is_no_mailboxes() {
    for input in ["", "   ", " , ", "\t"] {
        assert!(
            parse_mailboxes(Field::To, input).unwrap().is_empty(),
            "{input:?}"
        );
    }
}

#[test]
fn rejects_invalid_addresses() {
    let (input, reason, text) = invalid(Field::To, "bob@");
    assert_eq!(input, "bob@");
    assert_eq!(reason, "the domain after the @ is missing");
    assert_eq!(
        text,
        "To: \"bob@\" is not a valid address: the domain after the @ is missing; \
         write it as name@example.org or Name <name@example.org>"
    );

    let (input, reason, _) = invalid(Field::Cc, "not an address");
    assert_eq!(input, "not an address");
    assert!(reason.contains("no @"), "{reason}");

    // The bad entry is named, not the whole list.
    let (input, _, _) = invalid(Field::Bcc, "ok@example.org,  bob@ , x@example.org");
    assert_eq!(input, "bob@");

    // An unquoted name with a comma splits; the hint says to quote it.
    let (input, reason, _) = invalid(Field::To, "Doe, John <john@example.org>");
    assert_eq!(input, "Doe");
    assert!(reason.contains("double quotes"), "{reason}");

    let (_, reason, _) = invalid(Field::ReplyTo, "Ada <ada@example.org");
    assert!(reason.contains("not closed"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "\"Ada <ada@example.org>");
    assert!(reason.contains("double quote"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "Ada Lovelace ada@example.org");
    assert!(reason.contains("spaces"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "@example.org");
    assert!(reason.contains("nothing before"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "a@b@example.org");
    assert!(reason.contains("more than one @"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "a@[192.0.2.1]");
    assert!(reason.contains("literals"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "\"john doe\"@example.org");
    assert!(reason.contains("quoted"), "{reason}");
    let (_, reason, _) = invalid(Field::To, "ada@exa_mple..org");
    assert!(reason.contains("not a valid domain"), "{reason}");
}

#[test]
fn builds_multipart_with_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..=255u8).collect();
    let bin_path = dir.path().join("blob.bin");
    fs::write(&bin_path, &binary).unwrap();
    // Text-like content with bare LFs and a lone CR: must survive byte for byte.
    let pdf: Vec<u8> = b"%PDF-1.4\nline two\rline three\r\n\x00\xff end".to_vec();
    let pdf_path = dir.path().join("résumé final.pdf");
    fs::write(&pdf_path, &pdf).unwrap();

    let subject =
        "Grüße – résumé ✉ and a rather long subject line that lettre has to fold somewhere";
    let d = Draft {
        from: "Ada Lovelace <ada@example.org>".into(),
        to: vec![r#""Doe, John" <john@example.org>, bob@example.net"#.into()],
        cc: vec!["Carol <carol@example.com>".into()],
        bcc: vec!["secret@hidden.example".into(), "BOB@example.net".into()],
        reply_to: vec!["replies@example.org".into()],
        subject: subject.into(),
        body: "Hello,\r\nplease see attached.\n\nÀ bientôt\n".into(),
        headers: vec!["X-Campaign: spring".into()],
        attachments: vec![bin_path.clone(), pdf_path.clone()],
        envelope_from: String::new(),
        markdown: false,
        html: None,
        dsn: Dsn::default(),
    };
    let built = build(&d).unwrap();
    let bytes = &built.bytes;
    let text = String::from_utf8(bytes.clone()).unwrap();
    if std::env::var_os("POSTSCOPE_SHOW_MESSAGE").is_some() {
        println!("{text}");
    }

    assert_crlf(bytes);
    // No Bcc header (the random boundary and Message-ID may spell "bcc").
    assert!(
        !text
            .split("\r\n")
            .any(|l| l.to_ascii_lowercase().starts_with("bcc")),
        "Bcc leaked:\n{text}"
    );
    assert!(
        !text.contains("secret@hidden.example"),
        "Bcc address leaked:\n{text}"
    );

    assert_eq!(built.envelope.from, "ada@example.org");
    assert_eq!(
        built.envelope.recipients,
        [
            "john@example.org",
            "bob@example.net",
            "carol@example.com",
            "secret@hidden.example"
        ]
    );

    let msg = MessageParser::default()
        .parse(bytes)
        .expect("mail-parser accepts the output");
    assert_eq!(msg.subject(), Some(subject));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(
        (from.name(), from.address()),
        (Some("Ada Lovelace"), Some("ada@example.org"))
    );
    let to: Vec<_> = msg
        .to()
        .unwrap()
        .iter()
        .map(|a| (a.name(), a.address()))
        .collect();
    assert_eq!(
        to,
        [
            (Some("Doe, John"), Some("john@example.org")),
            (None, Some("bob@example.net"))
        ]
    );
    let cc: Vec<_> = msg
        .cc()
        .unwrap()
        .iter()
        .map(|a| (a.name(), a.address()))
        .collect();
    assert_eq!(cc, [(Some("Carol"), Some("carol@example.com"))]);
    assert_eq!(
        msg.reply_to().unwrap().first().unwrap().address(),
        Some("replies@example.org")
    );
    assert!(msg.bcc().is_none());

    assert!(msg.date().is_some());
    let id = msg.message_id().expect("Message-ID present");
    assert!(id.ends_with("@example.org"), "{id}");
    assert_eq!(
        msg.header_raw("User-Agent").map(str::trim),
        Some(concat!("Postscope/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(msg.header_raw("X-Campaign").map(str::trim), Some("spring"));
    assert!(msg.root_part().is_content_type("multipart", "mixed"));

    let body = msg.body_text(0).unwrap();
    assert_eq!(
        body.replace("\r\n", "\n").trim_end(),
        "Hello,\nplease see attached.\n\nÀ bientôt"
    );
    let text_part = msg.text_part(0).unwrap();
    let ct = text_part.content_type().unwrap();
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert_eq!(
        ct.attribute("charset")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("utf-8")
    );

    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 2);
    assert_eq!(atts[0].attachment_name(), Some("blob.bin"));
    assert_eq!(atts[0].contents(), &binary[..]);
    assert!(atts[0].is_content_type("application", "octet-stream"));
    assert_eq!(atts[1].attachment_name(), Some("résumé final.pdf"));
    assert_eq!(atts[1].contents(), &pdf[..]);
    assert!(atts[1].is_content_type("application", "pdf"));

    assert_eq!(
        built.attachments,
        [
            AttachmentInfo {
                path: bin_path,
                file_name: "blob.bin".into(),
                content_type: "application/octet-stream".into(),
                size: 256,
            },
            AttachmentInfo {
                path: pdf_path,
                file_name: "résumé final.pdf".into(),
                content_type: "application/pdf".into(),
                size: pdf.len() as u64,
            },
        ]
    );
}

#[test]
fn builds_single_text_part_without_attachments() {
    let mut d = draft();
    d.body = "one\ntwo\rthree\r\n".to_owned() + &"long é line ".repeat(20);
    d.bcc = vec!["hidden@example.org".into()];
    d.to = vec![];
    let built = build(&d).unwrap();
    assert_crlf(&built.bytes);
    let text = String::from_utf8(built.bytes.clone()).unwrap();
    assert!(!text.contains("hidden@example.org"));
    assert!(!text.contains("multipart"));
    assert_eq!(built.envelope.recipients, ["hidden@example.org"]);
    let msg = MessageParser::default().parse(&built.bytes).unwrap();
    assert!(msg.root_part().is_content_type("text", "plain"));
    assert!(msg.to().is_none());
    assert_eq!(msg.header_raw("MIME-Version").map(str::trim), Some("1.0"));
    let body = msg.body_text(0).unwrap().replace("\r\n", "\n");
    assert_eq!(
        body.trim_end(),
        ("one\ntwo\nthree\n".to_owned() + &"long é line ".repeat(20)).trim_end()
    );
    assert_eq!(msg.attachment_count(), 0);
}

#[test]
fn missing_attachment_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no such file.txt");
    let mut d = draft();
    d.attachments = vec![path.clone()];
    let err = build(&d).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(matches!(err, BuildError::AttachmentMissing { path: p } if p == path));
}

#[test]
fn directory_attachment_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut d = draft();
    d.attachments = vec![dir.path().to_path_buf()];
    let err = build(&d).unwrap_err();
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
    assert!(matches!(err, BuildError::AttachmentNotAFile { path } if path == dir.path()));
}

#[test]
fn invalid_headers_are_rejected() {
    for (header, why) in [
        ("X-Foo: a\r\nBcc: evil@example.org", "line break"),
        ("X-Foo: a\nb", "line break"),
        ("X Foo: bar", "header name"),
        ("X-Foo : bar", "before the colon"),
        ("Nocolon", "Name: value"),
        (": value", "empty"),
        ("X-Tëst: x", "header name"),
        ("bcc: someone@example.org", "envelope"),
        ("content-type: text/html", "MIME structure"),
        ("MIME-Version: 2.0", "MIME structure"),
        ("X-Bell: \u{7}", "control"),
    ] {
        let mut d = draft();
        d.headers = vec![header.to_owned()];
        match build(&d) {
            Err(BuildError::InvalidHeader { header: h, reason }) => {
                assert_eq!(h, header);
                assert!(reason.contains(why), "{header:?}: {reason}");
            }
            other => panic!("{header:?}: expected InvalidHeader, got {other:?}"),
        }
    }
    let mut d = draft();
    d.headers = vec!["X-A: 1".into(), "x-a: 2".into()];
    assert!(matches!(build(&d), Err(BuildError::InvalidHeader { .. })));

    // A good non-ASCII value is encoded, not rejected.
    let mut d = draft();
    d.headers = vec!["X-Note:  café au lait ".into(), "Keywords:".into()];
    let built = build(&d).unwrap();
    let msg = MessageParser::default().parse(&built.bytes).unwrap();
    let note = msg.header_as("X-Note", mail_parser::HeaderForm::Text);
    assert_eq!(note.first().and_then(|v| v.as_text()), Some("café au lait"));
}

#[test]
fn recipients_and_sender_are_required() {
    let mut d = draft();
    d.to = vec!["  ".into()];
    let err = build(&d).unwrap_err();
    assert!(matches!(err, BuildError::MissingRecipient));
    assert_eq!(
        err.to_string(),
        "no recipients: give at least one of To, Cc or Bcc"
    );

    let mut d = draft();
    d.from = String::new();
    assert!(matches!(build(&d), Err(BuildError::MissingFrom)));

    let mut d = draft();
    d.from = "a@example.org, b@example.org".into();
    assert!(matches!(
        build(&d),
        Err(BuildError::TooManyFrom { count: 2, .. })
    ));

    let mut d = draft();
    d.cc = vec!["bob@".into()];
    assert!(matches!(
        build(&d),
        Err(BuildError::InvalidAddress {
            field: Field::Cc,
            ..
        })
    ));
}

#[test]
fn recipients_are_deduplicated_case_insensitively() {
    let mut d = draft();
    d.to = vec!["Bob <Bob@Example.NET>".into()];
    d.cc = vec!["bob@example.net, carol@example.com".into()];
    d.bcc = vec!["CAROL@example.com".into()];
    let built = build(&d).unwrap();
    assert_eq!(
        built.envelope.recipients,
        ["Bob@Example.NET", "carol@example.com"]
    );
}

#[test]
fn subject_line_breaks_are_unfolded() {
    let mut d = draft();
    d.subject = "first\r\nsecond\n".into();
    let built = build(&d).unwrap();
    let msg = MessageParser::default().parse(&built.bytes).unwrap();
    assert_eq!(msg.subject(), Some("first second"));
}

#[test]
fn content_type_guess() {
    assert_eq!(
        guess_content_type(Path::new("a/b/report.PDF")),
        "application/pdf"
    );
    assert_eq!(guess_content_type(Path::new("photo.jpg")), "image/jpeg");
    assert_eq!(
        guess_content_type(Path::new("noext")),
        "application/octet-stream"
    );
    assert_eq!(
        guess_content_type(&PathBuf::from("x.unknownext")),
        "application/octet-stream"
    );
}

/// The header part of a built message: every line within RFC 5322's limits.
fn header_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_owned();
    head.split("\r\n").map(str::to_owned).collect()
}

#[test]
fn long_address_lists_are_folded_between_addresses() {
    let bare: Vec<String> = (0..200)
        .map(|i| format!("user{i:03}@example.org"))
        .collect();
    let named: Vec<String> = (0..60)
        .map(|i| format!("Ünïcødé Person {i} <named{i}@example.org>"))
        .collect();
    let d = Draft {
        to: vec![bare.join(", ")],
        cc: vec![named.join(", ")],
        reply_to: vec![bare[..40].join(",")],
        ..draft()
    };
    let built = build(&d).unwrap();
    let lines = header_lines(&built.bytes);
    for line in &lines {
        assert!(line.len() <= 78, "{} characters: {line}", line.len());
    }
    // Folded, not broken: a parser reads every address back.
    let msg = MessageParser::default().parse(&built.bytes).unwrap();
    let to: Vec<String> = msg
        .to()
        .unwrap()
        .iter()
        .map(|a| a.address().unwrap().to_owned())
        .collect();
    assert_eq!(to, bare);
    let cc: Vec<&mail_parser::Addr> = msg.cc().unwrap().iter().collect();
    assert_eq!(cc.len(), 60);
    assert_eq!(cc[59].name(), Some("Ünïcødé Person 59"));
    assert_eq!(cc[59].address(), Some("named59@example.org"));
    assert_eq!(msg.reply_to().unwrap().iter().count(), 40);
    assert_eq!(built.envelope.recipients.len(), 260);
}

#[test]
fn a_long_subject_folds_even_without_spaces() {
    for subject in [
        "x".repeat(3000),
        "Grüße ".repeat(300),
        format!("short words then {} and more", "y".repeat(200)),
        "=?utf-8?q?looks_encoded?= but is typed".to_owned(),
    ] {
        let d = Draft {
            subject: subject.clone(),
            ..draft()
        };
        let built = build(&d).unwrap();
        for line in header_lines(&built.bytes) {
            assert!(line.len() <= 78, "{} characters: {line}", line.len());
        }
        let msg = MessageParser::default().parse(&built.bytes).unwrap();
        assert_eq!(
            msg.subject(),
            Some(subject.trim_end()),
            "read back as written"
        );
    }
}

#[test]
fn an_extra_header_no_fold_can_shorten_is_refused() {
    let d = Draft {
        headers: vec![format!("X-Token: {}", "z".repeat(1000))],
        ..draft()
    };
    match build(&d) {
        Err(BuildError::InvalidHeader { reason, .. }) => {
            assert!(reason.contains("998"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Long but foldable: fine, and within the limits.
    let d = Draft {
        headers: vec![format!("X-Words: {}", "word ".repeat(400))],
        ..draft()
    };
    let built = build(&d).unwrap();
    for line in header_lines(&built.bytes) {
        assert!(line.len() <= 998, "{} characters", line.len());
    }
}

#[test]
fn body_lines_over_998_are_never_sent_as_they_are() {
    for body in [
        "a".repeat(5000),
        format!("start {} end\n", "word ".repeat(400)),
        "ü".repeat(2000),
    ] {
        let d = Draft {
            body: body.clone(),
            ..draft()
        };
        let built = build(&d).unwrap();
        let text = String::from_utf8_lossy(&built.bytes).into_owned();
        for line in text.split("\r\n") {
            assert!(line.len() <= 998, "{} characters", line.len());
        }
        let msg = MessageParser::default().parse(&built.bytes).unwrap();
        let back = msg.body_text(0).unwrap().replace("\r\n", "\n");
        assert_eq!(back.trim_end(), body.trim_end());
    }
}

#[test]
fn the_envelope_sender_can_differ_from_from_or_be_null() {
    let bounce = Draft {
        envelope_from: "bounces+42@lists.example.org".into(),
        ..draft()
    };
    let built = build(&bounce).unwrap();
    assert_eq!(built.envelope.from, "bounces+42@lists.example.org");
    let text = String::from_utf8_lossy(&built.bytes);
    assert!(
        text.starts_with("From: Ada Lovelace <ada@example.org>\r\n"),
        "{text}"
    );
    assert!(
        !text.contains("bounces+42"),
        "the envelope sender is no header"
    );

    let null = Draft {
        envelope_from: " <> ".into(),
        ..draft()
    };
    assert_eq!(build(&null).unwrap().envelope.from, "");
    assert_eq!(envelope(&null).unwrap().from, "", "--eml too");

    let (_, _, text) = invalid(Field::EnvelopeFrom, "not an address");
    assert!(text.contains("Envelope sender"), "{text}");
    let two = Draft {
        envelope_from: "a@example.org, b@example.org".into(),
        ..draft()
    };
    assert!(matches!(
        build(&two),
        Err(BuildError::TooManyEnvelopeFrom { count: 2, .. })
    ));
}

#[test]
fn an_extra_header_replaces_the_one_postscope_would_write() {
    let d = Draft {
        headers: vec![
            "From: \"Spoofed\" <ceo@bank.example>".into(),
            "Subject: replaced".into(),
            "Date: Mon, 1 Jan 2001 00:00:00 +0000".into(),
            "Message-ID: <fixed@test.example>".into(),
            "To: undisclosed-recipients:;".into(),
        ],
        ..draft()
    };
    let built = build(&d).unwrap();
    let text = String::from_utf8_lossy(&built.bytes).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap();
    let count = |name: &str| {
        head.split("\r\n")
            .filter(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .count()
    };
    for name in ["From", "Subject", "Date", "Message-ID", "To"] {
        assert_eq!(count(name), 1, "one {name} header:\n{head}");
    }
    assert!(
        head.contains("From: \"Spoofed\" <ceo@bank.example>"),
        "{head}"
    );
    assert!(head.contains("Message-ID: <fixed@test.example>"), "{head}");
    assert!(
        head.contains("Date: Mon, 1 Jan 2001 00:00:00 +0000"),
        "{head}"
    );
    assert!(head.contains("Subject: replaced"), "{head}");
    // The envelope is still the fields': the header is only what is shown.
    assert_eq!(built.envelope.from, "ada@example.org");
    assert_eq!(built.envelope.recipients, ["bob@example.net"]);
}

#[test]
fn long_attachment_names_stay_within_the_line_limits() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.txt", "Ünïcødé name with spaces ".repeat(7));
    let long = dir.path().join(&name);
    fs::write(&long, b"content").unwrap();
    let plain = dir.path().join(format!("{}.txt", "a".repeat(200)));
    fs::write(&plain, b"content").unwrap();
    // Quotes and an encoded-word look-alike: RFC 2231's percent form.
    let odd_name = format!(
        "\"quoted\" =?utf-8?q?x?= back\\slash {}.txt",
        "q".repeat(60)
    );
    let odd = dir.path().join(&odd_name);
    fs::write(&odd, b"content").unwrap();
    let d = Draft {
        attachments: vec![long, plain, odd],
        ..draft()
    };
    let built = build(&d).unwrap();
    let text = String::from_utf8_lossy(&built.bytes).into_owned();
    assert!(
        text.contains("filename*0*=utf-8''%22quoted%22%20%3D%3F"),
        "{text}"
    );
    assert_eq!(lint::lint(&built.bytes), [], "{text}");
    for line in text.split("\r\n") {
        assert!(line.len() <= 998, "{} characters: {line}", line.len());
        if line.starts_with("Content-") || line.starts_with(' ') {
            assert!(
                line.len() <= 78,
                "a MIME header line of {}: {line}",
                line.len()
            );
        }
    }
    let msg = MessageParser::default().parse(&built.bytes).unwrap();
    let names: Vec<&str> = msg
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert_eq!(names.len(), 3, "{text}");
    assert_eq!(names[0], name);
    assert_eq!(names[2], odd_name);
}

#[test]
fn markdown_is_sent_as_text_and_html_alternatives() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    fs::write(&file, b"notes").unwrap();
    for attachments in [vec![], vec![file]] {
        let d = Draft {
            body: "# Hi\n\n**Grüße** to <you>\n".into(),
            markdown: true,
            attachments: attachments.clone(),
            ..draft()
        };
        let built = build(&d).unwrap();
        assert_eq!(lint::lint(&built.bytes), []);
        let msg = MessageParser::default().parse(&built.bytes).unwrap();
        let text = msg.body_text(0).unwrap().replace("\r\n", "\n");
        assert_eq!(text.trim_end(), "# Hi\n\n**Grüße** to <you>", "as written");
        let html = msg.body_html(0).unwrap();
        assert!(html.contains("<h1>Hi</h1>"), "{html}");
        assert!(
            html.contains("<strong>Grüße</strong> to &lt;you&gt;"),
            "{html}"
        );
        assert_eq!(msg.attachments().count(), attachments.len());
        let raw = String::from_utf8_lossy(&built.bytes);
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert_eq!(raw.contains("multipart/mixed"), !attachments.is_empty());
    }
}

#[test]
fn ready_html_gets_a_text_part_of_its_own_words_or_the_given_one() {
    let html = "<html><body><h1>Invoice</h1><p>Total: 5&nbsp;&euro;</p></body></html>";
    let made = build(&Draft {
        body: String::new(),
        html: Some(html.into()),
        ..draft()
    })
    .unwrap();
    let msg = MessageParser::default().parse(&made.bytes).unwrap();
    assert_eq!(
        msg.body_text(0).unwrap().replace("\r\n", "\n"),
        "Invoice\n\nTotal: 5 €\n"
    );
    assert!(msg.body_html(0).unwrap().contains("<h1>Invoice</h1>"));
    let given = build(&Draft {
        body: "See the HTML.".into(),
        html: Some(html.into()),
        ..draft()
    })
    .unwrap();
    let msg = MessageParser::default().parse(&given.bytes).unwrap();
    assert_eq!(msg.body_text(0).unwrap().trim_end(), "See the HTML.");
}
