//! A whole session and its ends: the happy path, 421, timeouts, cancel and EOF, closing politely after a failure, stopping on purpose.

use super::*;

// ----- the happy path: STARTTLS, AUTH PLAIN, one message -----

fn happy_config() -> SessionConfig {
    SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        job: Job::Send(Envelope {
            size: Some(BODY.len() as u64),
            ..envelope(&[BOB, CAROL])
        }),
        ..config()
    }
}

const EHLO_BEFORE_TLS: &str = "250-mx.example.org Hello client.example.org\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n";
const EHLO_AFTER_TLS: &str = "250-mx.example.org Hello client.example.org\r\n250-SIZE 10000000\r\n250-8BITMIME\r\n250-AUTH LOGIN PLAIN\r\n250 ENHANCEDSTATUSCODES\r\n";

/// Everything the server says in the happy path, in order.
const HAPPY_SERVER: [&str; 11] = [
    GREETING,
    EHLO_BEFORE_TLS,
    STARTTLS_GO,
    EHLO_AFTER_TLS,
    "235 2.7.0 Authentication successful\r\n",
    "250 2.1.0 Sender OK\r\n",
    "250 2.1.5 Recipient OK\r\n",
    "250 2.1.5 Recipient OK\r\n",
    GO_AHEAD,
    QUEUED,
    BYE,
];

/// Plays `replies` with `feed`, 10 ms apart, handling STARTTLS and the body
/// as a driver would.
fn play(s: &mut Script, replies: &[&str], feed: fn(&mut Script, &str)) {
    for reply in replies {
        s.tick(ms(10));
        feed(s, reply);
        s.react();
    }
}

fn happy_path_with(feed: fn(&mut Script, &str)) -> Script {
    let mut s = Script::start(happy_config());
    play(&mut s, &HAPPY_SERVER, feed);
    s
}

#[test]
fn happy_path_sends_the_exact_commands_in_order() {
    let plain = sasl::plain_response(&password()).unwrap();
    let mut s = Script::start(happy_config());
    assert!(s.client_lines().is_empty(), "nothing before the greeting");
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server(EHLO_BEFORE_TLS);
    assert_eq!(s.client_lines(), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    assert!(
        s.client_lines().is_empty(),
        "nothing while the handshake runs"
    );
    assert!(matches!(s.events.last(), Some(Event::StartTls)));
    s.tls_established();
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server(EHLO_AFTER_TLS);
    assert_eq!(s.client_lines(), [format!("AUTH PLAIN {plain}")]);
    s.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(
        s.client_lines(),
        [format!("MAIL FROM:<{FROM}> SIZE={}", BODY.len())]
    );
    s.server("250 2.1.0 Sender OK\r\n");
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{BOB}>")]);
    s.server("250 2.1.5 Recipient OK\r\n");
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{CAROL}>")]);
    s.server("250 2.1.5 Recipient OK\r\n");
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    assert!(matches!(s.events.last(), Some(Event::NeedBody)));
    s.body(&[BODY]);
    assert_eq!(
        s.client_lines(),
        [
            "From: alice@example.org",
            "To: bob@example.org",
            "Subject: Hello",
            "",
            "..leading dot",
            "Hi Bob.",
            "..",
            "bye",
            ".",
        ]
    );
    s.assert_running();
    s.server(QUEUED);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert!(s.client_lines().is_empty());
    s.assert_ok();
}

#[test]
fn happy_path_report() {
    let s = happy_path_with(Script::server);
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL]);
    assert!(report.refused.is_empty());
    assert_eq!(report.stage, Some(Stage::Quit));
    assert_eq!(report.greeting.as_ref().unwrap().code, ReplyCode(220));
    let final_reply = report.final_reply.as_ref().unwrap();
    assert_eq!(final_reply.code, ReplyCode(250));
    assert_eq!(final_reply.first_line(), "2.0.0 Ok: queued as 4F2A1");
    assert_eq!(report.auth, Some(Mechanism::Plain));
    assert_eq!(report.message_bytes, BODY.len() as u64);
    assert_eq!(report.tls, Some(tls_info()));

    let before = report.capabilities_before_tls.as_ref().unwrap();
    assert!(before.has("STARTTLS"));
    assert!(before.auth_mechanisms().is_empty());
    let after = report.capabilities.as_ref().unwrap();
    assert!(!after.has("STARTTLS"));
    assert_eq!(
        after.auth_mechanisms(),
        [Mechanism::Login, Mechanism::Plain]
    );
    assert_eq!(after.server_name, "mx.example.org");
    assert_eq!(after.size_limit(), Some(10_000_000));
}

#[test]
fn happy_path_timings_follow_the_stages() {
    let s = happy_path_with(Script::server);
    let report = s.assert_ok();
    let stages: Vec<Stage> = report.timings.iter().map(|t| t.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Connect,
            Stage::Greeting,
            Stage::Ehlo,
            Stage::Tls,
            Stage::TlsEhlo,
            Stage::Auth,
            Stage::Mail,
            Stage::Rcpt,
            Stage::Data,
            Stage::Message,
            Stage::Quit,
        ]
    );
    // `play` waits 10 ms before each reply; the clock starts at the connect.
    let at: Vec<u64> = report
        .timings
        .iter()
        .map(|t| t.at_ms.as_millis() as u64)
        .collect();
    assert_eq!(at, [0, 10, 20, 30, 40, 50, 60, 80, 90, 100, 110]);
    assert!(at.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn happy_path_stage_events_in_order() {
    let s = happy_path_with(Script::server);
    assert_eq!(
        s.stages(),
        [
            Stage::Connect,
            Stage::Greeting,
            Stage::Ehlo,
            Stage::Tls,
            Stage::TlsEhlo,
            Stage::Auth,
            Stage::Mail,
            Stage::Rcpt,
            Stage::Data,
            Stage::Message,
            Stage::Quit,
        ]
    );
}

#[test]
fn happy_path_transcript_never_holds_the_secret() {
    let s = happy_path_with(Script::server);
    let secrets = password().sensitive_strings();
    assert!(secrets.contains(&PASSWORD.to_string()));
    assert!(secrets.contains(&sasl::plain_response(&password()).unwrap()));
    for event in s.transcript() {
        for secret in &secrets {
            assert!(
                !event.text.contains(secret.as_str()),
                "secret in the transcript: {event:?}"
            );
        }
    }
    let finished = format!("{:?}", s.finished());
    for secret in &secrets {
        assert!(!finished.contains(secret.as_str()));
    }
    // The wire has it, of course; the transcript shows the redacted form.
    assert!(s.all_client_lines().iter().any(|l| l.contains(&secrets[2])));
    assert!(
        s.texts(Direction::Sent)
            .contains(&"AUTH PLAIN <redacted>".to_string())
    );
}

#[test]
fn happy_path_transcript_is_secure_after_starttls() {
    let s = happy_path_with(Script::server);
    let mut tls_started = false;
    let mut secure_lines = 0;
    for event in &s.events {
        match event {
            Event::StartTls => tls_started = true,
            Event::Transcript(t)
                if matches!(t.direction, Direction::Sent | Direction::Received) =>
            {
                assert_eq!(t.secure, tls_started, "{t:?}");
                secure_lines += usize::from(t.secure);
            }
            _ => {}
        }
    }
    assert!(tls_started);
    assert!(secure_lines > 10);
    // The reply that allowed STARTTLS was itself in clear text.
    let go = s
        .transcript()
        .into_iter()
        .find(|t| t.text == "220 2.0.0 Ready to start TLS")
        .unwrap();
    assert!(!go.secure);
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.starts_with("TLS established: TLSv1.3"))
    );
}

#[test]
fn happy_path_transcript_summarises_the_message() {
    let s = happy_path_with(Script::server);
    let sent = s.texts(Direction::Sent);
    let summary = format!("… {} bytes of message data …", BODY.len());
    let i = sent.iter().position(|t| *t == summary).unwrap();
    assert_eq!(sent[i - 1], "DATA");
    assert_eq!(sent[i + 1], ".");
    assert_eq!(sent[i + 2], "QUIT");
    assert!(!sent.iter().any(|t| t.contains("Hi Bob")));
}

#[test]
fn transcript_times_count_from_the_session_start() {
    let mut s = Script::new(config());
    s.tick(ms(40));
    s.connected();
    s.tick(ms(25));
    s.server(GREETING);
    let greeting = s.transcript()[0].clone();
    assert_eq!(greeting.direction, Direction::Received);
    assert_eq!(greeting.at, ms(65));
    let sent = s.transcript()[1].clone();
    assert_eq!(sent.direction, Direction::Sent);
    assert_eq!(sent.at, ms(65));
    s.server(&ehlo(&[]));
    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.timings[0].stage, Stage::Connect);
    assert_eq!(report.timings[0].at_ms, ms(40));
    assert_eq!(report.timings[1].at_ms, ms(65));
}

#[test]
fn multi_line_replies_are_one_transcript_event_per_line() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server(EHLO_BEFORE_TLS);
    let received: Vec<(String, Option<ReplyCode>)> = s
        .transcript()
        .into_iter()
        .filter(|t| t.direction == Direction::Received)
        .map(|t| (t.text.clone(), t.code))
        .collect();
    let code = Some(ReplyCode(250));
    assert_eq!(
        received,
        [
            (
                "220 mx.example.org ESMTP ready".to_string(),
                Some(ReplyCode(220))
            ),
            (
                "250-mx.example.org Hello client.example.org".to_string(),
                code
            ),
            ("250-SIZE 10000000".to_string(), code),
            ("250-8BITMIME".to_string(), code),
            ("250-STARTTLS".to_string(), code),
            ("250 ENHANCEDSTATUSCODES".to_string(), code),
        ]
    );
}

#[test]
fn a_reply_line_is_recorded_as_soon_as_it_is_complete() {
    let mut s = Script::start(config());
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    let before = s.transcript().len();
    s.server("250-mx.example.org Hello\r\n250-SIZE 1000");
    let after: Vec<String> = s.transcript()[before..]
        .iter()
        .map(|t| t.text.clone())
        .collect();
    assert_eq!(after, ["250-mx.example.org Hello"]);
    assert!(s.client_lines().is_empty(), "the reply is not over yet");
    s.server("0\r\n250 8BITMIME\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);
    assert_eq!(
        s.report_capabilities().size_limit(),
        Some(10_000),
        "a line split across reads is joined"
    );
}

#[test]
fn replies_split_byte_by_byte_give_the_same_session() {
    let whole = happy_path_with(Script::server);
    let bytewise = happy_path_with(Script::server_bytewise);
    bytewise.assert_ok();
    assert_eq!(bytewise.wire, whole.wire);
    assert_eq!(bytewise.transcript(), whole.transcript());
    assert_eq!(
        format!("{:?}", bytewise.events),
        format!("{:?}", whole.events)
    );
}

#[test]
fn replies_split_at_uneven_boundaries_give_the_same_session() {
    fn uneven(s: &mut Script, text: &str) {
        let bytes = text.as_bytes();
        let mut at = 0;
        for size in [3, 1, 7, 2, 5, 11].into_iter().cycle() {
            if at >= bytes.len() {
                break;
            }
            let end = (at + size).min(bytes.len());
            s.server_bytes(&bytes[at..end]);
            at = end;
        }
    }
    let whole = happy_path_with(Script::server);
    let split = happy_path_with(uneven);
    split.assert_ok();
    assert_eq!(split.wire, whole.wire);
    assert_eq!(format!("{:?}", split.events), format!("{:?}", whole.events));
}

// ----- 421 -----

#[test]
fn reply_421_to_rcpt_fails_at_once_without_quit() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    assert_eq!(s.client_lines(), [format!("RCPT TO:<{BOB}>")]);
    s.server("421 4.7.0 mx.example.org closing connection\r\n");
    assert!(s.client_lines().is_empty(), "no QUIT after 421");
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Rcpt, reply } if reply.code == ReplyCode(421)
    ));
    assert_eq!(error.exit_status(), 24);
}

#[test]
fn greeting_421_fails_without_quit() {
    let mut s = Script::start(config());
    s.server("421 4.3.2 Service not available\r\n");
    assert!(s.client_lines().is_empty());
    assert_eq!(s.error().exit_status(), 21);
}

#[test]
fn unsolicited_421_during_the_body_fails_at_once() {
    let mut s = at_body(config());
    s.session
        .push_body(s.now, b"Subject: x\r\n\r\nhalf a message");
    s.pump();
    s.server("421 4.4.2 Timeout, closing connection\r\n");
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Message, reply } if reply.code == ReplyCode(421)
    ));
    assert_eq!(error.exit_status(), 26);
    // The data already pushed went out; nothing after it, no final dot, no QUIT.
    s.session.push_body(s.now, b"more\r\n");
    s.session.end_body(s.now);
    s.pump();
    let wire = String::from_utf8(s.wire.clone()).unwrap();
    assert!(wire.ends_with("half a message"), "{wire:?}");
}

#[test]
fn unsolicited_421_while_awaiting_the_handshake_fails() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    // Anything in clear text between the 220 and the handshake is refused,
    // even a 421: it could have been injected.
    s.server("421 4.7.0 Bye\r\n");
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Protocol {
            stage: Stage::Tls,
            ..
        }
    ));
    s.tls_established();
    assert!(s.client_lines().is_empty());
}

#[test]
fn reply_421_to_quit_is_still_success() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.server(QUEUED);
    assert_eq!(s.client_lines().last().unwrap(), "QUIT");
    s.server("421 4.4.2 closing\r\n");
    s.assert_ok();
}

// ----- timeouts -----

#[test]
fn greeting_waits_300_seconds_by_default() {
    let mut s = Script::start(config());
    assert_eq!(s.session.poll_timeout(), Some(s.t0 + secs(300)));
    s.advance(secs(300) - ms(1));
    s.assert_running();
    s.advance(ms(2));
    let error = s.error();
    assert_eq!(
        error,
        SessionError::Timeout {
            stage: Stage::Greeting,
            after: secs(300),
            silent: true,
        }
    );
    assert_eq!(error.remedy(), Some(crate::smtp::Remedy::TryImplicitTls));
    assert_eq!(error.exit_status(), 21);
    assert!(s.client_lines().is_empty());
}

#[test]
fn the_greeting_wait_starts_at_the_connect() {
    let mut s = Script::new(config());
    assert_eq!(
        s.session.poll_timeout(),
        None,
        "nothing awaited before connect"
    );
    s.tick(secs(20));
    s.connected();
    assert_eq!(s.session.poll_timeout(), Some(s.t0 + secs(320)));
}

#[test]
fn the_deadline_is_inclusive() {
    let mut s = Script::start(config());
    s.advance(secs(300));
    assert!(matches!(s.error(), SessionError::Timeout { .. }));
}

#[test]
fn the_reply_to_the_dot_waits_600_seconds_by_default() {
    let mut s = at_body(config());
    s.tick(secs(7));
    s.body(&[BODY]);
    let sent_at = s.now;
    assert_eq!(s.session.poll_timeout(), Some(sent_at + secs(600)));
    s.advance(secs(599));
    s.assert_running();
    s.advance(secs(2));
    assert!(matches!(s.error(), SessionError::DeliveryUnknown { .. }));
}

#[test]
fn each_wait_uses_its_own_limit() {
    let timeouts = Timeouts {
        connect: secs(1),
        greeting: secs(11),
        command: secs(12),
        mail: secs(13),
        rcpt: secs(14),
        data_init: secs(15),
        data_block: secs(16),
        data_end: secs(17),
    };
    let mut s = Script::start(SessionConfig {
        timeouts,
        ..config()
    });
    let deadline = |s: &Script| s.session.poll_timeout().map(|d| d - s.now);
    assert_eq!(deadline(&s), Some(secs(11)), "greeting");
    s.tick(secs(1));
    s.server(GREETING);
    assert_eq!(deadline(&s), Some(secs(12)), "EHLO");
    s.tick(secs(1));
    s.server(&ehlo(&[]));
    assert_eq!(deadline(&s), Some(secs(13)), "MAIL");
    s.tick(secs(1));
    s.server(OK);
    assert_eq!(deadline(&s), Some(secs(14)), "RCPT");
    s.tick(secs(1));
    s.server(OK);
    assert_eq!(deadline(&s), Some(secs(15)), "DATA");
    s.tick(secs(1));
    s.server(GO_AHEAD);
    assert_eq!(deadline(&s), None, "the body is written, not awaited");
    s.tick(secs(1));
    s.body(&[BODY]);
    assert_eq!(deadline(&s), Some(secs(17)), "the final dot");
    s.tick(secs(1));
    s.server(QUEUED);
    assert_eq!(deadline(&s), Some(secs(12)), "QUIT");
    s.server(BYE);
    assert_eq!(deadline(&s), None);
    s.assert_ok();
}

#[test]
fn every_wait_times_out_in_its_own_stage() {
    let expected = [
        Stage::Greeting,
        Stage::Ehlo,
        Stage::Tls,
        Stage::TlsEhlo,
        Stage::Auth,
        Stage::Mail,
        Stage::Rcpt,
        Stage::Rcpt,
        Stage::Data,
    ];
    for (replies, stage) in expected.iter().enumerate() {
        let mut s = Script::start(SessionConfig {
            timeouts: Timeouts::uniform(secs(5)),
            ..happy_config()
        });
        play(&mut s, &HAPPY_SERVER[..replies], Script::server);
        assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
        s.advance(ms(4_999));
        s.assert_running();
        s.advance(ms(2));
        assert_eq!(
            s.error(),
            SessionError::Timeout {
                stage: *stage,
                after: secs(5),
                // Nothing at all before the greeting: perhaps implicit TLS.
                silent: replies == 0,
            },
            "after {replies} replies"
        );
        assert_eq!(s.error().exit_status(), stage.exit_status());
    }
}

#[test]
fn a_timeout_after_the_dot_with_uniform_limits_is_delivery_unknown() {
    let mut s = Script::start(SessionConfig {
        timeouts: Timeouts::uniform(secs(5)),
        ..happy_config()
    });
    play(&mut s, &HAPPY_SERVER[..9], Script::server);
    assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
    s.advance(secs(6));
    assert_eq!(
        s.error(),
        SessionError::DeliveryUnknown {
            reason: "no reply within 5 s".into()
        }
    );
}

#[test]
fn no_reply_to_quit_is_still_success() {
    let mut s = Script::start(SessionConfig {
        timeouts: Timeouts::uniform(secs(5)),
        ..happy_config()
    });
    play(&mut s, &HAPPY_SERVER[..10], Script::server);
    assert_eq!(s.all_client_lines().last().unwrap(), "QUIT");
    s.advance(secs(6));
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB, CAROL]);
    assert!(
        s.texts(Direction::Note)
            .contains(&"no reply to QUIT; closing".to_string())
    );
}

#[test]
fn no_reply_to_quit_after_a_refusal_keeps_the_refusal() {
    let mut s = at_mail(
        SessionConfig {
            timeouts: Timeouts::uniform(secs(5)),
            ..config()
        },
        &[],
    );
    s.server("550 5.7.1 Sender rejected\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.advance(secs(6));
    assert_eq!(s.error().exit_status(), 23);
}

#[test]
fn timeouts_before_the_deadline_do_nothing() {
    let mut s = Script::start(config());
    for _ in 0..299 {
        s.advance(secs(1));
    }
    s.assert_running();
    assert!(s.texts(Direction::Error).is_empty());
}

// ----- cancel, EOF, and the session staying finished -----

#[test]
fn cancel_during_rcpt_stops_everything() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    let _ = s.client_lines();
    s.cancel();
    let error = s.error();
    assert_eq!(error, SessionError::Cancelled { stage: Stage::Rcpt });
    assert_eq!(error.exit_status(), 130);
    assert!(s.client_lines().is_empty());
    let events = s.events.len();
    s.server(OK);
    s.advance(secs(3600));
    s.eof();
    s.cancel();
    assert_eq!(s.events.len(), events, "no events after Finished");
    assert!(s.client_lines().is_empty());
}

#[test]
fn cancel_before_the_greeting() {
    let mut s = Script::start(config());
    s.cancel();
    assert_eq!(
        s.error(),
        SessionError::Cancelled {
            stage: Stage::Greeting
        }
    );
}

#[test]
fn cancel_during_the_body() {
    let mut s = at_body(config());
    s.session.push_body(s.now, b"partial");
    s.cancel();
    assert_eq!(
        s.error(),
        SessionError::Cancelled {
            stage: Stage::Message
        }
    );
    s.session.push_body(s.now, b"more");
    s.session.end_body(s.now);
    s.pump();
    assert!(!s.wire.ends_with(b".\r\n"), "no final dot after cancel");
}

#[test]
fn cancel_after_the_final_dot_means_delivery_unknown() {
    let mut s = at_body(config());
    s.body(&[b"Subject: x\r\n\r\nhello\r\n"]);
    s.cancel();
    let error = s.error();
    assert!(
        matches!(error, SessionError::DeliveryUnknown { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 26);
}

#[test]
fn cancel_while_closing_after_delivery_is_still_a_delivery() {
    let mut s = at_body(config());
    s.body(&[b"Subject: x\r\n\r\nhello\r\n"]);
    s.server("250 2.0.0 Ok: queued as 7\r\n");
    assert!(s.client_lines().contains(&"QUIT".to_string()));
    s.cancel();
    let report = s.assert_ok();
    assert_eq!(report.delivered.len(), 1);
}

#[test]
fn terminal_escapes_from_the_server_are_shown_not_obeyed() {
    let mut s = Script::start(config());
    s.server("220 mx \x1b[2J\x1b[31mready\r\n");
    let received = s.texts(Direction::Received);
    assert_eq!(received, ["220 mx \\x1b[2J\\x1b[31mready"]);
}

#[test]
fn the_session_stays_finished() {
    let mut s = Script::start(config());
    s.server("554 5.7.1 Go away\r\n");
    s.server(BYE);
    let error = s.error();
    let events = s.events.len();
    let wire = s.wire.len();
    s.server(GREETING);
    s.server("garbage\r\n");
    s.eof();
    s.session.handle_io_error(s.now, "reset".into());
    s.advance(secs(10_000));
    s.cancel();
    s.tls_established();
    s.session.handle_tls_failed(s.now, "late".into());
    s.session.push_body(s.now, BODY);
    s.session.end_body(s.now);
    s.session.handle_connected(s.now, None);
    s.pump();
    assert_eq!(s.events.len(), events);
    assert_eq!(s.wire.len(), wire);
    assert_eq!(s.error(), error, "exactly one Finished, unchanged");
}

#[test]
fn eof_in_the_middle_is_connection_lost() {
    let mut s = at_mail(config(), &[]);
    s.eof();
    let error = s.error();
    assert_eq!(
        error,
        SessionError::ConnectionLost {
            stage: Stage::Mail,
            detail: None
        }
    );
    assert_eq!(error.exit_status(), 6);
    assert!(s.client_lines().is_empty());
}

#[test]
fn io_error_in_the_middle_is_connection_lost_with_detail() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.session.handle_io_error(s.now, "broken pipe".into());
    s.pump();
    let error = s.error();
    assert_eq!(
        error,
        SessionError::ConnectionLost {
            stage: Stage::Ehlo,
            detail: Some("broken pipe".into())
        }
    );
    assert_eq!(error.exit_status(), 6);
}

#[test]
fn eof_as_the_answer_to_quit_is_success() {
    let mut s = at_body(config());
    s.body(&[BODY]);
    s.server(QUEUED);
    assert_eq!(s.client_lines().last().unwrap(), "QUIT");
    s.eof();
    let report = s.assert_ok();
    assert_eq!(report.delivered, [BOB]);
    assert_eq!(report.timings.last().unwrap().stage, Stage::Quit);
}

#[test]
fn eof_as_the_answer_to_quit_after_a_refusal_keeps_the_refusal() {
    let mut s = at_mail(config(), &[]);
    s.server("550 5.7.1 Sender rejected\r\n");
    s.eof();
    assert!(matches!(
        s.error(),
        SessionError::Rejected {
            stage: Stage::Mail,
            ..
        }
    ));
}

#[test]
fn connect_failure_finishes_at_connect() {
    let mut s = Script::new(config());
    let error = SessionError::Connect {
        target: "mx.example.org:25".into(),
        detail: "connection refused".into(),
    };
    s.session.handle_connect_failed(s.now, error.clone());
    s.pump();
    assert_eq!(s.error(), error);
    assert_eq!(s.error().exit_status(), 2);
    assert_eq!(s.report().stage, Some(Stage::Connect));
    assert!(s.report().timings.is_empty());
}

#[test]
fn failure_is_recorded_in_the_transcript() {
    let mut s = at_mail(config(), &[]);
    s.eof();
    let errors = s.texts(Direction::Error);
    assert_eq!(
        errors.last().unwrap(),
        &s.error().to_string(),
        "the last error line says why the session stopped"
    );
}

#[test]
fn report_stage_is_the_furthest_entered() {
    let mut s = at_mail(config(), &[]);
    s.server(OK);
    s.eof();
    assert_eq!(s.report().stage, Some(Stage::Rcpt));
}

// ----- a failure stored while the connection is closed politely -----

/// All recipients refused: the client has sent RSET and waits for its reply.
fn refused_then_rset(timeouts: Timeouts) -> Script {
    let mut s = at_mail(
        SessionConfig {
            timeouts,
            ..config()
        },
        &[],
    );
    s.server(OK);
    s.server("550 5.1.1 User unknown\r\n");
    assert_eq!(
        s.client_lines(),
        [format!("RCPT TO:<{BOB}>"), "RSET".into()]
    );
    s
}

#[test]
fn a_refused_rset_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::default());
    s.server("500 5.5.1 What?\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.error().exit_status(), 24);
}

#[test]

fn reply_421_to_rset_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::default());
    s.server("421 4.7.0 closing\r\n");
    let error = s.error();
    assert!(
        matches!(error, SessionError::RecipientsRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 24);
}

#[test]

fn eof_during_rset_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::default());
    s.eof();
    let error = s.error();
    assert!(
        matches!(error, SessionError::RecipientsRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 24);
}

#[test]

fn rset_timeout_keeps_the_recipients_error() {
    let mut s = refused_then_rset(Timeouts::uniform(secs(5)));
    s.advance(secs(6));
    let error = s.error();
    assert!(
        matches!(error, SessionError::RecipientsRefused { .. }),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 24);
}

#[test]

fn garbage_reply_to_quit_keeps_the_stored_error() {
    let mut s = at_mail(config(), &[]);
    s.server("550 5.7.1 Sender rejected\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server("bye bye\r\n");
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Rejected {
                stage: Stage::Mail,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 23);
}

// ----- small things -----

#[test]
fn driver_notes_go_into_the_transcript() {
    let mut s = Script::new(config());
    s.session.note(s.now, "connecting to mx.example.org:25");
    s.pump();
    let t = s.transcript();
    let note = t.last().unwrap();
    assert_eq!(note.direction, Direction::Note);
    assert_eq!(note.text, "connecting to mx.example.org:25");
    assert!(!note.secure);
}

#[test]
fn stage_accessor_follows_the_session() {
    let mut s = Script::new(config());
    assert_eq!(s.session.stage(), Stage::Connect);
    s.connected();
    assert_eq!(s.session.stage(), Stage::Greeting);
    s.server(GREETING);
    assert_eq!(s.session.stage(), Stage::Ehlo);
    s.server(&ehlo(&[]));
    assert_eq!(s.session.stage(), Stage::Mail);
    assert_eq!(
        s.session.config().client_id.to_string(),
        "client.example.org"
    );
}

#[test]
fn nothing_is_sent_before_the_greeting() {
    let mut s = Script::start(config());
    s.advance(secs(10));
    assert!(s.client_lines().is_empty());
    assert!(s.wire.is_empty());
}

// ----- --quit-after -----

#[test]
fn quit_after_connect_hangs_up_before_the_greeting() {
    let s = Script::start(stopping(Stage::Connect));
    let report = s.assert_ok();
    assert!(s.all_client_lines().is_empty(), "not even QUIT");
    assert_eq!(report.stopped_after, Some(Stage::Connect));
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|t| t.contains("stopping after connect as asked"))
    );
}

#[test]
fn quit_after_greeting_and_ehlo_say_quit() {
    let mut s = Script::start(stopping(Stage::Greeting));
    s.server(GREETING);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.assert_ok().stopped_after, Some(Stage::Greeting));

    let mut s = Script::start(stopping(Stage::Ehlo));
    assert_eq!(after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.capabilities.unwrap().has("STARTTLS"));
}

#[test]
fn quit_after_tls_waits_for_the_ehlo_inside_tls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..stopping(Stage::Tls)
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.tls.is_some());
    assert_eq!(report.auth, None, "no login after the stop");

    // Without TLS there is nothing to wait for: it stops where TLS would be.
    let mut s = Script::start(stopping(Stage::Tls));
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), ["QUIT"]);
    s.server(BYE);
    s.assert_ok();
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|t| t.contains("no TLS was negotiated"))
    );
}

#[test]
fn quit_after_the_last_ehlo_is_the_one_inside_tls_or_the_first() {
    // With STARTTLS: the EHLO after the handshake.
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..stopping(Stage::TlsEhlo)
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.tls.is_some());
    assert_eq!(report.stopped_after, Some(Stage::Tls));

    // Without TLS: the first EHLO is the last one.
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::None,
        ..stopping(Stage::TlsEhlo)
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.stopped_after, Some(Stage::Ehlo));
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|t| t == "stopping after ehlo as asked"),
        "{:?}",
        s.texts(Direction::Note)
    );
}

#[test]
fn stage_names_and_swaks_aliases() {
    for stage in Stage::STOP_POINTS {
        assert_eq!(Stage::from_name(stage.name()), Some(stage));
        assert_eq!(
            serde_json::to_value(stage).unwrap(),
            stage.name(),
            "JSON and the command line say the same"
        );
    }
    for (alias, stage) in [
        ("banner", Stage::Greeting),
        ("FIRST-HELO", Stage::Ehlo),
        ("first-ehlo", Stage::Ehlo),
        ("helo-first", Stage::Ehlo),
        ("helo", Stage::TlsEhlo),
        ("last-ehlo", Stage::TlsEhlo),
        ("starttls", Stage::Tls),
        ("from", Stage::Mail),
        ("To", Stage::Rcpt),
        ("dot", Stage::Message),
        ("quit", Stage::Quit),
    ] {
        assert_eq!(Stage::from_name(alias), Some(stage), "{alias}");
    }
    assert_eq!(Stage::from_name("lunch"), None);
}

#[test]
fn quit_after_auth_logs_in_then_quits() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..stopping(Stage::Auth)
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN"]);
    assert!(lines[0].starts_with("AUTH PLAIN "));
    s.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.assert_ok().auth, Some(Mechanism::Plain));
}

#[test]
fn quit_after_mail_and_rcpt_send_no_message() {
    let mut s = at_mail(stopping(Stage::Mail), &[]);
    s.server(OK);
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.assert_ok().stopped_after, Some(Stage::Mail));

    let mut s = at_mail(
        SessionConfig {
            job: send_to(&[BOB, CAROL]),
            ..stopping(Stage::Rcpt)
        },
        &[],
    );
    s.server(OK);
    assert!(s.client_lines()[0].starts_with("RCPT TO:<bob@"));
    s.server(OK);
    assert!(s.client_lines()[0].starts_with("RCPT TO:<carol@"));
    s.server("250 2.1.5 OK\r\n");
    assert_eq!(s.client_lines(), ["QUIT"], "no DATA");
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.accepted, [BOB, CAROL]);
    assert!(report.delivered.is_empty());

    // A refused recipient is still a failure (exit 24): that is the answer
    // the check was for.
    let mut s = at_mail(stopping(Stage::Rcpt), &[]);
    s.server(OK);
    let _ = s.client_lines();
    s.server("550 5.1.1 no such user\r\n");
    assert_eq!(s.client_lines(), ["RSET"]);
    s.server(OK);
    let _ = s.client_lines();
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 24);
}

#[test]
fn quit_after_data_hangs_up_without_the_message() {
    let mut s = at_mail(stopping(Stage::Data), &[]);
    s.server(OK);
    let _ = s.client_lines();
    s.server(OK);
    assert_eq!(s.client_lines(), ["DATA"]);
    s.server(GO_AHEAD);
    let report = s.assert_ok();
    assert!(s.client_lines().is_empty(), "no data, no dot, no QUIT");
    assert_eq!(report.stopped_after, Some(Stage::Data));
    assert_eq!(report.message_bytes, 0);
    assert_eq!(s.count(|e| matches!(e, Event::NeedBody)), 0);
}
