use std::time::Duration;

use super::*;

fn code(class: u8, subject: u16, detail: u16) -> EnhancedCode {
    EnhancedCode {
        class,
        subject,
        detail,
    }
}

fn received(text: &str) -> TranscriptEvent {
    TranscriptEvent {
        at: Duration::ZERO,
        direction: Direction::Received,
        secure: false,
        text: text.into(),
        code: text.get(..3).and_then(|c| c.parse().ok()).map(ReplyCode),
    }
}

fn sent(text: &str) -> TranscriptEvent {
    TranscriptEvent {
        at: Duration::ZERO,
        direction: Direction::Sent,
        secure: true,
        text: text.into(),
        code: None,
    }
}

#[test]
fn every_listed_reply_code_has_its_own_sentence() {
    let listed = [
        211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 432, 450, 451, 452, 454, 455, 500,
        501, 502, 503, 504, 521, 530, 534, 535, 538, 550, 551, 552, 553, 554, 555, 556,
    ];
    for c in listed {
        let text = reply_code(ReplyCode(c));
        assert!(!text.contains("yz:"), "{c} fell back: {text}");
        assert!(text.contains("RFC "), "{c} cites no RFC: {text}");
        assert!(!text.ends_with('.'), "{c}: {text}");
    }
    assert_eq!(
        reply_code(ReplyCode(250)),
        "Requested action okay, completed (RFC 5321 §4.2.2)"
    );
    assert!(reply_code(ReplyCode(235)).contains("RFC 4954"));
    assert!(reply_code(ReplyCode(535)).contains("app password"));
}

#[test]
fn unknown_reply_codes_fall_back_to_their_class() {
    assert!(reply_code(ReplyCode(299)).starts_with("2yz: the command succeeded"));
    assert!(reply_code(ReplyCode(399)).starts_with("3yz:"));
    assert!(reply_code(ReplyCode(471)).starts_with("4yz: a temporary failure"));
    assert!(reply_code(ReplyCode(599)).starts_with("5yz: a permanent failure"));
    assert!(reply_code(ReplyCode(999)).contains("not an SMTP reply code"));
    assert!(reply_code(ReplyCode(100)).contains("not an SMTP reply code"));
}

#[test]
fn enhanced_codes_and_their_fallbacks() {
    assert_eq!(
        enhanced_code(code(5, 1, 1)),
        "Bad destination mailbox address: no such user there, check the spelling (permanent failure, RFC 3463)"
    );
    assert!(enhanced_code(code(4, 2, 2)).contains("Mailbox full"));
    assert!(enhanced_code(code(4, 2, 2)).contains("temporary failure"));
    assert!(enhanced_code(code(2, 1, 5)).contains("recipient was accepted"));
    assert!(enhanced_code(code(2, 7, 0)).contains("authentication succeeded"));
    assert!(enhanced_code(code(5, 7, 8)).contains("RFC 4954"));
    assert!(enhanced_code(code(5, 7, 23)).contains("SPF"));
    assert!(enhanced_code(code(5, 7, 25)).contains("Reverse DNS"));
    assert!(enhanced_code(code(5, 7, 26)).contains("Multiple authentication checks"));
    assert!(enhanced_code(code(5, 7, 27)).contains("null MX"));
    let listed = [
        (2, 0, 0),
        (2, 1, 0),
        (2, 1, 5),
        (2, 6, 0),
        (2, 7, 0),
        (4, 2, 2),
        (4, 3, 0),
        (4, 3, 2),
        (4, 4, 1),
        (4, 4, 2),
        (4, 5, 3),
        (4, 7, 0),
        (4, 7, 1),
        (5, 1, 1),
        (5, 1, 2),
        (5, 1, 3),
        (5, 1, 7),
        (5, 1, 8),
        (5, 2, 1),
        (5, 2, 2),
        (5, 2, 3),
        (5, 3, 4),
        (5, 4, 1),
        (5, 5, 1),
        (5, 5, 2),
        (5, 5, 4),
        (5, 6, 0),
        (5, 7, 0),
        (5, 7, 1),
        (5, 7, 8),
        (5, 7, 9),
        (5, 7, 11),
        (5, 7, 23),
        (5, 7, 24),
        (5, 7, 25),
        (5, 7, 26),
        (5, 7, 27),
    ];
    for (c, s, d) in listed {
        let text = enhanced_code(code(c, s, d));
        assert!(!text.contains("unknown"), "{c}.{s}.{d}: {text}");
    }
    assert_eq!(
        enhanced_code(code(5, 7, 99)),
        "Permanent failure: security or policy status: detail 99 unknown (RFC 3463)"
    );
    assert_eq!(
        enhanced_code(code(4, 9, 1)),
        "Persistent transient failure: unknown subject 9: detail 1 unknown (RFC 3463)"
    );
    assert!(enhanced_code(code(3, 0, 0)).starts_with("Unknown class 3: "));
}

#[test]
fn client_commands() {
    assert!(
        command("EHLO client.example.org")
            .unwrap()
            .contains("client.example.org")
    );
    assert!(command("helo [127.0.0.1]").unwrap().starts_with("Hello"));
    assert!(command("STARTTLS").unwrap().contains("RFC 3207"));
    for line in [
        "DATA",
        "RSET",
        "NOOP",
        "QUIT",
        "HELP",
        "VRFY bob",
        "EXPN list",
        ".",
    ] {
        assert!(command(line).is_some(), "{line}");
    }
    assert!(
        command("BDAT 1000 LAST")
            .unwrap()
            .contains("last chunk of 1.0 kB")
    );
    assert!(
        command("BDAT 512")
            .unwrap()
            .starts_with("Sends a chunk of 512 bytes")
    );
    assert!(
        command("RCPT TO:<b@example.org> NOTIFY=FAILURE")
            .unwrap()
            .contains("b@example.org as a recipient")
    );
    assert_eq!(command("XYZZY"), None);
    assert_eq!(command("MAIL"), None);
    assert_eq!(command(""), None);
}

#[test]
fn mail_from_parameters_are_explained() {
    let text = command("MAIL FROM:<a@example.org> SIZE=1200 BODY=8BITMIME SMTPUTF8").unwrap();
    assert!(
        text.starts_with("Starts a new message from a@example.org"),
        "{text}"
    );
    assert!(
        text.contains("SIZE=1200 declares the message size (1.2 kB)"),
        "{text}"
    );
    assert!(
        text.contains("BODY=8BITMIME says the body may contain 8-bit data"),
        "{text}"
    );
    assert!(text.contains("SMTPUTF8 asks for UTF-8"), "{text}");
    let bounce = command("MAIL FROM:<>").unwrap();
    assert!(bounce.contains("null sender"), "{bounce}");
}

#[test]
fn auth_lines() {
    let plain = command("AUTH PLAIN <redacted>").unwrap();
    assert!(plain.starts_with("Logs in with PLAIN"), "{plain}");
    assert!(plain.contains("hidden in the transcript"), "{plain}");
    assert!(
        command("AUTH LOGIN")
            .unwrap()
            .starts_with("Logs in with LOGIN")
    );
    assert!(
        command("AUTH XOAUTH2 <redacted>")
            .unwrap()
            .contains("OAuth 2.0")
    );
    assert!(command("AUTH CRAM-MD5").unwrap().contains("RFC 2195"));
    assert!(
        command("AUTH SCRAM-SHA-256")
            .unwrap()
            .contains("SCRAM-SHA-256")
    );
    let response = command("<redacted>").unwrap();
    assert!(response.contains("334 challenge"), "{response}");
    assert_eq!(event(&sent("<redacted>")), Some(response));
}

#[test]
fn message_data_summary_line() {
    let text = command("… 1 234 567 bytes of message data …").unwrap();
    assert!(text.contains("(1.2 MB)"), "{text}");
}

#[test]
fn replies_in_the_transcript() {
    let challenge = event(&received("334 VXNlcm5hbWU6")).unwrap();
    assert!(challenge.starts_with("Login challenge"), "{challenge}");
    assert!(
        challenge.ends_with("decodes to \"Username:\""),
        "{challenge}"
    );
    // An empty challenge (PLAIN without initial response) explains just the code.
    assert_eq!(
        event(&received("334 ")).unwrap(),
        reply_code(ReplyCode(334))
    );

    let refused = event(&received("550 5.1.1 <bob@example.org>: User unknown")).unwrap();
    assert!(refused.starts_with("Mailbox unavailable"), "{refused}");
    assert!(
        refused.contains("; 5.1.1: Bad destination mailbox address"),
        "{refused}"
    );

    assert_eq!(
        event(&received("250 2.0.0 Ok")).unwrap(),
        "Requested action okay, completed (RFC 5321 §4.2.2); 2.0.0: Success, nothing more specific to report (success, RFC 3463)"
    );
    assert!(
        event(&received("250 OK"))
            .unwrap()
            .starts_with("Requested action okay")
    );
}

#[test]
fn ehlo_reply_lines() {
    assert_eq!(
        event(&received("250-PIPELINING")).unwrap(),
        "PIPELINING extension: commands can be sent in batches (RFC 2920)"
    );
    assert!(
        event(&received("250-SIZE 35882577"))
            .unwrap()
            .contains("35.9 MB")
    );
    assert!(event(&received("250 STARTTLS")).unwrap().contains("TLS"));
    assert!(
        event(&received("250-AUTH PLAIN LOGIN"))
            .unwrap()
            .contains("PLAIN, LOGIN")
    );
    assert!(event(&received("250-ETRN")).unwrap().contains("RFC 1985"));
    assert!(
        event(&received("250-X-EXPS GSSAPI NTLM"))
            .unwrap()
            .starts_with("X-EXPS extension")
    );
    assert!(
        event(&received("250-mx.example.org Hello client [192.0.2.1]"))
            .unwrap()
            .starts_with("The server's name")
    );
}

#[test]
fn notes_and_errors_have_no_explanation() {
    for direction in [Direction::Note, Direction::Error] {
        let e = TranscriptEvent {
            direction,
            ..sent("QUIT")
        };
        assert_eq!(event(&e), None);
    }
    assert!(event(&sent("QUIT")).unwrap().contains("221"));
    assert_eq!(event(&sent("FOO")), None);
}
