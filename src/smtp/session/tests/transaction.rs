//! Transactions: MAIL, RCPT and DATA, their parameters, the message data, PIPELINING and CHUNKING.

use super::*;
use crate::smtp::dsn::{Dsn, Notify, Ret};

// ----- MAIL, RCPT, DATA -----

#[test]
fn mail_refused_fails_at_mail() {
    let mut s = at_mail(config(), &[]);
    s.server("550 5.7.1 Sender rejected\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Mail,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 23);
    assert!(!s.all_client_lines().iter().any(|l| l.starts_with("RCPT")));
}

#[test]
fn all_recipients_refused_resets_then_quits() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            ..config()
        },
        &[],
    );
    s.server(OK);
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{BOB}>")]);
    s.server("550 5.1.1 <bob@example.org>: User unknown\r\n");
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{CAROL}>")]);
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    assert_eq!(s.client_lines(), ["RSET"]);
    s.assert_running();
    s.server(OK);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::RecipientsRefused {
            refused, accepted, ..
        } => {
            assert_eq!(*accepted, 0);
            let addresses: Vec<&str> = refused.iter().map(|r| r.address.as_str()).collect();
            assert_eq!(addresses, [BOB, CAROL]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 24);
    assert!(error.to_string().starts_with("every recipient was refused"));
    let report = s.report();
    assert_eq!(report.refused.len(), 2);
    assert!(report.delivered.is_empty());
    assert!(!s.all_client_lines().contains(&"DATA".to_string()));
}

#[test]
fn one_refused_recipient_without_allow_partial_sends_nothing() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server(OK);
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    assert_eq!(
        s.client_lines(),
        [
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "RSET".into()
        ]
    );
    s.server(OK);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::RecipientsRefused {
            refused, accepted, ..
        } => {
            assert_eq!(*accepted, 1);
            assert_eq!(refused.len(), 1);
            assert_eq!(refused[0].address, CAROL);
            assert_eq!(refused[0].reply.code, ReplyCode(550));
            assert_eq!(
                refused[0].reply.message(),
                "<carol@example.org>: User unknown"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 24);
    let text = error.to_string();
    assert!(
        text.contains("<carol@example.org>: 550 <carol@example.org>: User unknown"),
        "{text}"
    );
    assert_eq!(error.remedy(), Some(crate::smtp::Remedy::AllowPartial));
    assert!(!s.all_client_lines().contains(&"DATA".to_string()));
    assert!(s.report().delivered.is_empty());
}

#[test]
fn one_refused_recipient_with_allow_partial_delivers_to_the_rest() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            allow_partial: true,
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server(OK);
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    assert_eq!(
        s.client_lines(),
        [
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "DATA".into()
        ]
    );
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains("partial delivery allowed"))
    );
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB]);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].address, CAROL);
}

#[test]
fn too_many_recipients_splits_into_two_transactions() {
    let mut s = at_mail(
        SessionConfig {
            job: Job::Send(Envelope {
                size: Some(BODY.len() as u64),
                ..envelope(&[BOB, CAROL, "dave@example.org"])
            }),
            ..config()
        },
        &["SIZE 10000000"],
    );
    s.server(OK);
    s.server(OK); // bob
    s.server("452 4.5.3 Too many recipients\r\n"); // carol
    assert_eq!(
        s.client_lines(),
        [
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "DATA".into()
        ]
    );
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains("the other 2 follow in another transaction"))
    );
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    let _ = s.client_lines();
    s.server(QUEUED);
    assert_eq!(
        s.client_lines(),
        [format!("MAIL FROM:<{FROM}> SIZE={}", BODY.len())]
    );
    s.server(OK);
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{CAROL}>")]);
    s.server(OK);
    assert_eq!(s.client_lines(), ["RCPT TO:<dave@example.org>"]);
    s.server(OK);
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 2);
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().unwrap(), ".");
    s.server("250 2.0.0 Ok: queued as 4F2A2\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL, "dave@example.org"]);
    assert!(report.refused.is_empty());
    assert_eq!(
        report.final_reply.unwrap().first_line(),
        "2.0.0 Ok: queued as 4F2A2"
    );
    assert_eq!(report.message_bytes, BODY.len() as u64);
}

#[test]
fn refusal_after_a_delivered_first_transaction_does_not_claim_nothing_was_sent() {
    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL, "dave@example.org"]),
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server(OK); // bob
    s.server("452 4.5.3 Too many recipients\r\n"); // carol, deferred
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED); // delivered to bob
    s.server(OK); // MAIL again
    s.server("550 5.1.1 <carol@example.org>: User unknown\r\n");
    s.server(OK); // dave
    assert_eq!(s.all_client_lines().last().unwrap(), "RSET");
    s.server(OK);
    s.server(BYE);
    let (report, result) = s.finished().unwrap();
    assert_eq!(report.delivered, [BOB]);
    let text = result.unwrap_err().to_string();
    assert!(!text.contains("nothing was sent"), "{text}");
}

#[test]
fn too_many_recipients_for_the_first_one_is_a_refusal() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    s.server("452 4.5.3 Too many recipients\r\n");
    assert_eq!(
        s.client_lines(),
        [format!("RCPT TO:<{BOB}>"), "RSET".into()]
    );
    s.server(OK);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::RecipientsRefused { accepted: 0, .. }
    ));
}

#[test]
fn data_refused_fails_at_data() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    s.server(OK);
    assert_eq!(s.client_lines().last().unwrap(), "DATA");
    s.server("554 5.5.1 No valid recipients\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Data,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 25);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);
}

#[test]
fn final_dot_refused_fails_at_message() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().unwrap(), ".");
    s.server("554 5.7.1 Message rejected as spam\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Message, reply } if reply.code == ReplyCode(554)
    ));
    assert_eq!(error.exit_status(), 26);
    let report = s.report();
    assert!(report.delivered.is_empty());
    assert_eq!(report.final_reply, None);
}

#[test]
fn eof_after_the_dot_is_delivery_unknown() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    let _ = s.client_lines();
    s.eof();
    let error = s.error();
    match &error {
        SessionError::DeliveryUnknown { reason } => {
            assert_eq!(reason, "the connection closed")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 26);
    assert!(
        s.client_lines().is_empty(),
        "no QUIT on a closed connection"
    );
}

#[test]
fn io_error_after_the_dot_is_delivery_unknown_with_its_detail() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.session
        .handle_io_error(s.now, "connection reset by peer".into());
    s.pump();
    assert_eq!(
        s.error(),
        SessionError::DeliveryUnknown {
            reason: "connection reset by peer".into()
        }
    );
}

#[test]
fn timeout_after_the_dot_is_delivery_unknown() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.advance(secs(601));
    let error = s.error();
    match &error {
        SessionError::DeliveryUnknown { reason } => {
            assert_eq!(reason, "no reply within 600 s")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 26);
}

// ----- MAIL FROM parameters -----

fn sized(size: u64) -> SessionConfig {
    SessionConfig {
        job: Job::Send(Envelope {
            size: Some(size),
            ..envelope(&[BOB])
        }),
        ..config()
    }
}

#[test]
fn message_larger_than_size_fails_before_mail() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(after_ehlo(&mut s, &["SIZE 1000"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert_eq!(
        error,
        SessionError::TooLarge {
            size: 5_000,
            limit: 1_000
        }
    );
    assert_eq!(error.exit_status(), 23);
    assert_eq!(s.all_client_lines(), [EHLO_LINE, "QUIT"]);
}

#[test]
fn size_is_declared_when_announced() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 10000"]),
        [format!("MAIL FROM:<{FROM}> SIZE=5000")]
    );
}

#[test]
fn size_is_declared_when_announced_without_a_limit() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(
        after_ehlo(&mut s, &["SIZE"]),
        [format!("MAIL FROM:<{FROM}> SIZE=5000")]
    );
}

#[test]
fn size_is_not_declared_when_not_announced() {
    let mut s = Script::start(sized(5_000));
    assert_eq!(
        after_ehlo(&mut s, &["8BITMIME"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

#[test]
fn unknown_size_is_not_declared() {
    let mut s = Script::start(config());
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 1000"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

fn eight_bit(eight_bit: bool) -> SessionConfig {
    SessionConfig {
        job: Job::Send(Envelope {
            eight_bit,
            ..envelope(&[BOB])
        }),
        ..config()
    }
}

#[test]
fn body_8bitmime_when_eight_bit_and_announced() {
    let mut s = Script::start(eight_bit(true));
    assert_eq!(
        after_ehlo(&mut s, &["8BITMIME"]),
        [format!("MAIL FROM:<{FROM}> BODY=8BITMIME")]
    );
}

#[test]
fn no_body_param_when_not_announced() {
    let mut s = Script::start(eight_bit(true));
    assert_eq!(
        after_ehlo(&mut s, &["SIZE"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

#[test]
fn no_body_param_for_seven_bit_messages() {
    let mut s = Script::start(eight_bit(false));
    assert_eq!(
        after_ehlo(&mut s, &["8BITMIME"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
}

#[test]
fn all_parameters_together_in_order() {
    let mut s = Script::start(SessionConfig {
        job: Job::Send(Envelope {
            size: Some(1234),
            eight_bit: true,
            ..envelope(&["josé@example.org"])
        }),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 10000", "8BITMIME", "SMTPUTF8"]),
        [format!(
            "MAIL FROM:<{FROM}> SIZE=1234 BODY=8BITMIME SMTPUTF8"
        )]
    );
}

#[test]
fn smtputf8_declared_for_a_non_ascii_recipient() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&["josé@example.org"]),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SMTPUTF8"]),
        [format!("MAIL FROM:<{FROM}> SMTPUTF8")]
    );
    s.server(OK);
    assert_eq!(s.client_lines(), ["RCPT TO:<josé@example.org>"]);
}

#[test]
fn smtputf8_declared_for_a_non_ascii_sender() {
    let mut s = Script::start(SessionConfig {
        job: Job::Send(Envelope {
            from: "zoë@example.org".into(),
            ..envelope(&[BOB])
        }),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SMTPUTF8"]),
        ["MAIL FROM:<zoë@example.org> SMTPUTF8"]
    );
}

#[test]
fn non_ascii_address_without_smtputf8_is_missing_at_mail() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, "josé@example.org"]),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["8BITMIME"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Mail,
            what,
        } => assert!(what.to_string().contains("SMTPUTF8"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 23);
}

#[test]
fn null_sender_is_sent_as_empty_path() {
    let mut s = Script::start(SessionConfig {
        job: Job::Send(Envelope {
            from: String::new(),
            ..envelope(&[BOB])
        }),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &[]), ["MAIL FROM:<>"]);
}

// ----- the message data -----

#[test]
fn body_chunks_are_dot_stuffed_across_boundaries() {
    let mut s = at_body(config());
    let _ = s.client_lines();
    s.body(&[
        b"Subject: dots\r\n\r\nfirst line\r",
        b"\n",
        b".starts with a dot\r\n",
        b".",
        b"\r\nbare\nfeed\n..two\r\nlast",
    ]);
    let wire = String::from_utf8(s.wire.clone()).unwrap();
    assert!(
        wire.ends_with(
            "Subject: dots\r\n\r\nfirst line\r\n..starts with a dot\r\n..\r\nbare\r\nfeed\r\n...two\r\nlast\r\n.\r\n"
        ),
        "{wire:?}"
    );
}

#[test]
fn body_progress_counts_the_bytes_taken() {
    let total = 10 + 1 + 20;
    let mut s = at_body(SessionConfig {
        job: Job::Send(Envelope {
            size: Some(total),
            ..envelope(&[BOB])
        }),
        ..config()
    });
    s.body(&[b"0123456789", b".", b"abcdefghij\r\n.klmnopq"]);
    let progress: Vec<(u64, Option<u64>)> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { sent, total } => Some((*sent, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        [(10, Some(total)), (11, Some(total)), (total, Some(total))]
    );
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().message_bytes, total);
}

#[test]
fn body_progress_without_a_known_size() {
    let mut s = at_body(config());
    s.body(&[b"abc"]);
    assert!(s.events.iter().any(|e| matches!(
        e,
        Event::Progress {
            sent: 3,
            total: None
        }
    )));
}

#[test]
fn body_summary_groups_digits() {
    let mut body = b"Subject: big\r\n\r\n".to_vec();
    body.resize(1_234_567, b'x');
    let mut s = at_body(config());
    s.body(&[&body[..1000], &body[1000..]]);
    let sent = s.texts(Direction::Sent);
    assert!(
        sent.contains(&"… 1 234 567 bytes of message data …".to_string()),
        "{sent:?}"
    );
    assert_eq!(sent.last().unwrap(), ".");
    assert_eq!(
        format!("… {} bytes of message data …", group_digits(1_234_567)),
        "… 1 234 567 bytes of message data …"
    );
    assert!(
        sent.iter().all(|t| !t.contains("xxxx")),
        "the data itself stays out of the transcript"
    );
}

#[test]
fn empty_body_is_just_the_dot() {
    let mut s = at_body(config());
    let _ = s.client_lines();
    s.body(&[]);
    assert_eq!(s.client_lines(), ["."]);
    assert!(
        s.texts(Direction::Sent)
            .contains(&"… 0 bytes of message data …".to_string())
    );
}

#[test]
fn body_before_354_is_ignored() {
    let mut s = at_mail(config(), &[]);
    let wire = s.wire.len();
    s.session.push_body(s.now, b"too early");
    s.session.end_body(s.now);
    s.pump();
    assert_eq!(s.wire.len(), wire);
    assert_eq!(s.count(|e| matches!(e, Event::Progress { .. })), 0);
    s.assert_running();
}

#[test]
fn group_digits_inserts_a_space_every_three_digits() {
    assert_eq!(group_digits(0), "0");
    assert_eq!(group_digits(7), "7");
    assert_eq!(group_digits(999), "999");
    assert_eq!(group_digits(1_000), "1 000");
    assert_eq!(group_digits(12_345), "12 345");
    assert_eq!(group_digits(123_456), "123 456");
    assert_eq!(group_digits(34_512_331), "34 512 331");
    assert_eq!(group_digits(u64::MAX), "18 446 744 073 709 551 615");
}

// ----- PIPELINING (RFC 2920) -----

fn mail_line() -> String {
    format!("MAIL FROM:<{FROM}>")
}

#[test]
fn pipelining_sends_the_envelope_and_data_in_one_turn() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    // Turn 1: EHLO. Turn 2: MAIL, both RCPTs and DATA together.
    assert_eq!(
        after_ehlo(&mut s, &["PIPELINING"]),
        [
            mail_line(),
            format!("RCPT TO:<{BOB}>"),
            format!("RCPT TO:<{CAROL}>"),
            "DATA".into()
        ]
    );
    // The replies may come in one packet.
    s.server(&format!("{OK}{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    // Turn 3: the message, the dot and QUIT together (RFC 2920 §3.1).
    let lines = s.client_lines();
    assert_eq!(lines[lines.len() - 2..], [".", "QUIT"]);
    s.server(&format!("{QUEUED}{BYE}"));
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL]);
}

#[test]
fn pipelined_refusal_hangs_up_at_the_354_and_sends_nothing() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]).len(), 4);
    s.server(OK);
    s.server(OK);
    s.server("550 5.1.1 <carol@example.org>: no such user\r\n");
    assert!(
        s.client_lines().is_empty(),
        "DATA is already out; wait for it"
    );
    s.server(GO_AHEAD);
    assert!(
        s.client_lines().is_empty(),
        "no data, no dot: the connection closes"
    );
    let (report, result) = s.finished().expect("finished at once");
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 24);
    assert!(report.delivered.is_empty());
    assert_eq!(report.refused.len(), 1);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);

    // With --allow-partial the accepted one gets it.
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        allow_partial: true,
        ..config()
    });
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!("{OK}{OK}550 5.1.1 no such user\r\n{GO_AHEAD}"));
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().map(String::as_str), Some("QUIT"));
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().delivered, [BOB]);
}

#[test]
fn pipelined_mail_refusal_reads_every_reply_then_quits() {
    let mut s = Script::start(config());
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]).len(), 3);
    s.server("550 5.7.1 sender refused\r\n");
    assert!(s.client_lines().is_empty());
    s.server("503 5.5.1 need MAIL first\r\n");
    assert!(s.client_lines().is_empty());
    s.server("503 5.5.1 need RCPT first\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 23, "{error}");
    assert!(error.to_string().contains("sender refused"), "{error}");

    // Every recipient refused: DATA is refused too, and QUIT follows.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!(
        "{OK}550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n"
    ));
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 24);
}

#[test]
fn pipelined_452_defers_the_rest_to_a_second_transaction() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!(
        "{OK}{OK}452 4.5.3 too many recipients\r\n{GO_AHEAD}"
    ));
    s.body(&[BODY]);
    assert_eq!(
        s.client_lines().last().map(String::as_str),
        Some("."),
        "no QUIT yet: Carol is still to come"
    );
    s.server(QUEUED);
    // The second transaction, pipelined again, for Carol alone.
    assert_eq!(
        s.client_lines(),
        [mail_line(), format!("RCPT TO:<{CAROL}>"), "DATA".into()]
    );
    s.server(&format!("{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().map(String::as_str), Some("QUIT"));
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().delivered, [BOB, CAROL]);
}

#[test]
fn stopping_after_rcpt_does_not_pipeline() {
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB]),
        ..stopping(Stage::Rcpt)
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), [mail_line()]);
}

#[test]
fn a_refusal_of_the_pipelined_message_is_reported_once_quit_answers() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!("{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    assert_eq!(s.client_lines().last().map(String::as_str), Some("QUIT"));
    s.server("554 5.7.1 message refused as spam\r\n");
    assert!(s.client_lines().is_empty(), "QUIT is not said twice");
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 26);
    assert!(error.to_string().contains("spam"), "{error}");

    // The connection lost after the dot: delivery unknown, as without pipelining.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING"]);
    s.server(&format!("{OK}{OK}{GO_AHEAD}"));
    s.body(&[BODY]);
    s.eof();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );
}

// ----- CHUNKING (RFC 3030) -----

#[test]
fn chunking_sends_the_message_in_bdat_chunks_without_dots() {
    let mut s = Script::start(config());
    assert_eq!(
        after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]),
        [mail_line(), format!("RCPT TO:<{BOB}>")],
        "no DATA"
    );
    s.server(&format!("{OK}{OK}"));
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 1);
    // 150 KiB with a leading dot and bare LFs: three chunks, LAST the third.
    let mut body = b".dot stays\nline\n".to_vec();
    body.extend(std::iter::repeat_n(b'x', 150 * 1024));
    s.body(&[&body]);
    let wire = s.wire[s.read..].to_vec();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        text.starts_with("BDAT 65536\r\n.dot stays\r\nline\r\n"),
        "{}",
        &text[..40]
    );
    assert!(!text.contains("\r\n.\r\n"), "no final dot");
    let sent = s.texts(Direction::Sent);
    let bdats: Vec<&String> = sent.iter().filter(|t| t.starts_with("BDAT")).collect();
    assert_eq!(bdats.len(), 3, "{bdats:?}");
    assert!(bdats[2].ends_with(" LAST"), "{bdats:?}");
    let total: usize = bdats
        .iter()
        .map(|b| b.split(' ').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(
        total,
        body.len() + 2 + 2,
        "a CR for each bare LF, and a final CRLF"
    );
    assert_eq!(
        sent.last().map(String::as_str),
        Some("QUIT"),
        "pipelined after LAST"
    );
    s.read = s.wire.len();
    s.server(&format!("{OK}{OK}{QUEUED}{BYE}"));
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB]);
    assert_eq!(report.final_reply.unwrap().code.0, 250);
}

#[test]
fn a_refused_chunk_fails_the_message_and_a_refused_rcpt_sends_none() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[&vec![b'y'; 100 * 1024]]);
    s.server("552 5.3.4 message too big\r\n");
    s.server("503 5.5.1 no transaction\r\n");
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.exit_status(), 26);
    assert!(error.to_string().contains("too big"), "{error}");

    // A refused recipient: no BDAT at all, QUIT.
    let mut s = Script::start(SessionConfig {
        job: send_to(&[BOB, CAROL]),
        ..config()
    });
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}550 5.1.1 no such user\r\n"));
    assert_eq!(s.client_lines(), ["QUIT"]);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 24);

    // A refused MAIL: QUIT after the RCPT replies.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server("550 5.7.1 sender refused\r\n");
    assert!(s.client_lines().is_empty());
    s.server("503 5.5.1 need MAIL\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 23);
}

#[test]
fn losing_the_connection_after_bdat_last_is_delivery_unknown() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[BODY]);
    s.eof();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );

    // Before LAST went out, nothing can have been delivered.
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.session.push_body(s.now, &vec![b'z'; 70 * 1024]);
    s.pump();
    s.eof();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::ConnectionLost { .. })),
        "{result:?}"
    );
}

#[test]
fn chunking_without_pipelining_uses_data() {
    let mut s = Script::start(config());
    assert_eq!(after_ehlo(&mut s, &["CHUNKING"]), [mail_line()]);
}

#[test]
fn a_timeout_or_cancel_after_bdat_last_is_delivery_unknown() {
    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[&vec![b'q'; 70 * 1024]]);
    s.server(OK); // the first chunk; LAST is still unanswered
    s.advance(secs(601));
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );

    let mut s = Script::start(config());
    let _ = after_ehlo(&mut s, &["PIPELINING", "CHUNKING"]);
    s.server(&format!("{OK}{OK}"));
    s.body(&[BODY]);
    s.cancel();
    let (_, result) = s.finished().unwrap();
    assert!(
        matches!(result, Err(SessionError::DeliveryUnknown { .. })),
        "{result:?}"
    );
}

fn with_dsn(dsn: Dsn) -> SessionConfig {
    SessionConfig {
        job: Job::Send(Envelope {
            dsn,
            ..envelope(&[BOB, "josé@example.org"])
        }),
        ..config()
    }
}

#[test]
fn dsn_parameters_on_mail_and_every_rcpt() {
    let mut s = Script::start(with_dsn(Dsn {
        notify: Some(Notify {
            success: true,
            failure: true,
            delay: false,
        }),
        ret: Some(Ret::Hdrs),
        envid: Some("a b".into()),
    }));
    assert_eq!(
        after_ehlo(&mut s, &["SMTPUTF8", "DSN"]),
        [format!("MAIL FROM:<{FROM}> SMTPUTF8 RET=HDRS ENVID=a+20b")]
    );
    s.server(OK);
    assert_eq!(
        s.client_lines(),
        [format!(
            "RCPT TO:<{BOB}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{BOB}"
        )]
    );
    s.server(OK);
    // No rfc822 ORCPT for an address that is not ASCII.
    assert_eq!(
        s.client_lines(),
        ["RCPT TO:<josé@example.org> NOTIFY=SUCCESS,FAILURE"]
    );
}

#[test]
fn dsn_without_the_extension_is_missing_at_mail() {
    let mut s = Script::start(with_dsn(Dsn {
        notify: Some(Notify::NEVER),
        ..Dsn::default()
    }));
    assert_eq!(after_ehlo(&mut s, &["SMTPUTF8"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(
        matches!(
            &error,
            SessionError::Missing {
                stage: Stage::Mail,
                what: crate::smtp::Missing::Dsn
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 23);
    assert_eq!(error.remedy(), Some(crate::smtp::Remedy::SendWithoutDsn));
}
