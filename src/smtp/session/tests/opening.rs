//! The opening: the greeting, EHLO and HELO, TLS policy, AUTH, and probes.

use super::*;

// ----- AUTH -----

#[test]
fn auth_login_answers_both_challenges_and_redacts_them() {
    let (user64, pass64) = sasl::login_responses(&password()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH LOGIN"]), ["AUTH LOGIN"]);
    s.server("334 VXNlcm5hbWU6\r\n");
    assert_eq!(s.client_lines(), [user64]);
    s.server("334 UGFzc3dvcmQ6\r\n");
    assert_eq!(s.client_lines(), std::slice::from_ref(&pass64));
    s.server("235 2.7.0 Accepted\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);

    let sent = s.texts(Direction::Sent);
    let auth = sent.iter().position(|t| t == "AUTH LOGIN").unwrap();
    assert_eq!(sent[auth + 1], "<redacted>");
    assert_eq!(sent[auth + 2], "<redacted>");
    let notes = s.texts(Direction::Note);
    assert!(notes.contains(&"challenge decoded: Username:".to_string()));
    assert!(notes.contains(&"challenge decoded: Password:".to_string()));
    for event in s.transcript() {
        for secret in password().sensitive_strings() {
            assert!(!event.text.contains(&secret), "{event:?}");
        }
        assert!(!event.text.contains(&pass64));
    }

    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    assert_eq!(s.assert_ok().auth, Some(Mechanism::Login));
}

#[test]
fn xoauth2_failure_sends_an_empty_line_then_fails_at_auth() {
    let xoauth = sasl::xoauth2_response(&token()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(token()),
        ..config()
    });
    assert_eq!(
        after_starttls(&mut s, &["AUTH PLAIN LOGIN XOAUTH2"]),
        [format!("AUTH XOAUTH2 {xoauth}")]
    );
    // {"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}
    s.server("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==\r\n");
    assert_eq!(s.client_lines(), [""]);
    s.server("535 5.7.8 Username and Password not accepted\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);

    let error = s.error();
    assert!(
        matches!(&error, SessionError::Rejected { stage: Stage::Auth, reply } if reply.code == ReplyCode(535)),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 28);
    assert_eq!(s.report().auth, None);
    let sent = s.texts(Direction::Sent);
    assert!(sent.contains(&"AUTH XOAUTH2 <redacted>".to_string()));
    assert!(sent.contains(&"<redacted>".to_string()));
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains(r#""status":"401""#))
    );
    for event in s.transcript() {
        for secret in token().sensitive_strings() {
            assert!(!event.text.contains(&secret), "{event:?}");
        }
    }
}

#[test]
fn oauthbearer_is_preferred_and_its_failure_is_acknowledged_with_ctrl_a() {
    let bearer = sasl::oauthbearer_response(&token()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(token()),
        ..config()
    });
    assert_eq!(
        after_starttls(&mut s, &["AUTH PLAIN XOAUTH2 OAUTHBEARER"]),
        [format!("AUTH OAUTHBEARER {bearer}")]
    );
    // {"status":"invalid_token","scope":"smtp"}
    s.server("334 eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJzbXRwIn0=\r\n");
    assert_eq!(
        s.client_lines(),
        ["AQ=="],
        "RFC 7628 §3.2.3's dummy response"
    );
    s.server("535 5.7.8 Authentication failed\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Rejected {
            stage: Stage::Auth,
            ..
        }
    ));
    let notes = s.texts(Direction::Note);
    assert!(
        notes.iter().any(|n| n.contains("expired or been revoked")),
        "{notes:?}"
    );
    for event in s.transcript() {
        for secret in token().sensitive_strings() {
            assert!(!event.text.contains(&secret), "{event:?}");
        }
    }
}

#[test]
fn auth_refused_fails_at_auth_after_quit() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]).len(), 1);
    s.server("535 5.7.8 Authentication credentials invalid\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.assert_running();
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Auth,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 28);
}

#[test]
fn auto_prefers_plain_over_login() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH LOGIN CRAM-MD5 PLAIN"]);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("AUTH PLAIN "), "{lines:?}");
}

#[test]
fn auto_with_a_token_picks_xoauth2() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(token()),
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN LOGIN XOAUTH2"]);
    assert!(lines[0].starts_with("AUTH XOAUTH2 "), "{lines:?}");
    s.server("235 2.7.0 Accepted\r\n");
    assert_eq!(s.session.report.auth, Some(Mechanism::XOAuth2));
}

#[test]
fn no_common_mechanism_is_missing_at_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH CRAM-MD5 GSSAPI"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Auth,
            what,
        } => assert!(what.to_string().contains("CRAM-MD5, GSSAPI"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 28);
    assert!(!s.all_client_lines().iter().any(|l| l.starts_with("AUTH")));
}

#[test]
fn credentials_without_auth_offered_is_missing_at_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["SIZE 1000", "8BITMIME"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Auth,
            what,
        } => assert!(what.to_string().contains("does not offer AUTH"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 28);
}

#[test]
fn forced_mechanism_is_used_even_when_not_listed() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Login, password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["AUTH LOGIN"]);
}

#[test]
fn forced_plain_with_a_token_fails_before_sending_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Plain, token()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH PLAIN"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Auth(sasl::SaslError::WrongSecret { .. })
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 28);
}

#[test]
fn forced_unsupported_mechanism_fails_before_sending_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Other("CRAM-MD5".into()), password()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH CRAM-MD5"]), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Auth(sasl::SaslError::Unsupported(_))
    ));
}

#[test]

fn forced_login_with_a_token_fails_before_sending_auth() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Forced(Mechanism::Login, token()),
        ..config()
    });
    assert_eq!(after_starttls(&mut s, &["AUTH LOGIN"]), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Auth(sasl::SaslError::WrongSecret { .. })
    ));
}

// ----- TLS policy -----

#[test]
fn starttls_required_but_not_offered_sends_only_ehlo_and_quit() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["AUTH PLAIN LOGIN", "SIZE 1000"]),
        ["QUIT"]
    );
    s.server(BYE);
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Missing {
                stage: Stage::Tls,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 29);
    assert_eq!(s.all_client_lines(), [EHLO_LINE, "QUIT"]);
}

#[test]
fn starttls_refused_when_required_fails_at_tls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("454 4.7.0 TLS not available due to temporary reason\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::Tls,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 29);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
}

#[test]
fn tls_handshake_failure_fails_at_tls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    s.session
        .handle_tls_failed(s.now, "invalid peer certificate: UnknownIssuer".into());
    s.pump();
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Tls { stage: Stage::Tls, detail, .. } if detail.contains("UnknownIssuer")
    ));
    assert_eq!(error.exit_status(), 29);
    assert!(
        s.client_lines().is_empty(),
        "no QUIT on a broken connection"
    );
}

#[test]
fn opportunistic_uses_starttls_when_offered() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN"]);
    assert!(lines[0].starts_with("AUTH PLAIN "), "{lines:?}");
}

#[test]
fn opportunistic_without_starttls_refuses_auth_in_clear() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["AUTH PLAIN LOGIN"]), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    match &error {
        SessionError::Missing {
            stage: Stage::Auth,
            what,
        } => assert!(what.to_string().contains("unencrypted"), "{what}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 28);
    assert_eq!(s.all_client_lines(), [EHLO_LINE, "QUIT"]);
    for event in s.transcript() {
        for secret in password().sensitive_strings() {
            assert!(!event.text.contains(&secret));
        }
    }
}

#[test]
fn opportunistic_without_starttls_or_credentials_sends_in_clear_with_a_warning() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["SIZE 1000"]),
        [format!("MAIL FROM:<{FROM}>")]
    );
    let warnings = s.texts(Direction::Error);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("WITHOUT encryption"), "{warnings:?}");
    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    s.body(&[BODY]);
    s.server(QUEUED);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.tls, None);
    assert_eq!(report.capabilities_before_tls, None);
    assert!(s.transcript().iter().all(|t| !t.secure));
}

#[test]
fn opportunistic_starttls_refused_goes_on_in_clear() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("454 4.7.0 TLS not available\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);
    assert!(
        s.texts(Direction::Error)
            .iter()
            .any(|w| w.contains("STARTTLS refused") && w.contains("WITHOUT encryption"))
    );
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
}

#[test]
fn opportunistic_starttls_refused_still_refuses_auth_in_clear() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::Opportunistic,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]),
        ["STARTTLS"]
    );
    s.server("454 4.7.0 TLS not available\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert!(matches!(
        s.error(),
        SessionError::Missing {
            stage: Stage::Auth,
            ..
        }
    ));
    assert!(!s.all_client_lines().iter().any(|l| l.starts_with("AUTH")));
}

#[test]
fn tls_none_with_credentials_sends_auth_with_a_loud_warning() {
    let plain = sasl::plain_response(&password()).unwrap();
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::None,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(
        after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]),
        [format!("AUTH PLAIN {plain}")],
        "STARTTLS is not used with --tls none, even when offered"
    );
    let transcript = s.transcript();
    let warning = transcript
        .iter()
        .position(|t| t.direction == Direction::Error)
        .expect("a warning");
    assert!(transcript[warning].text.contains("clear text"));
    assert!(transcript[warning].text.contains("login"));
    let auth = transcript
        .iter()
        .position(|t| t.text == "AUTH PLAIN <redacted>")
        .unwrap();
    assert!(warning < auth, "the warning comes before the AUTH");
    assert!(!transcript[auth].secure);
}

#[test]
fn implicit_tls_is_secure_from_the_first_byte() {
    let mut s = Script::new(SessionConfig {
        tls: TlsMode::Implicit,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    s.session.handle_connected(s.now, Some(tls_info()));
    s.pump();
    let lines = after_ehlo(&mut s, &["STARTTLS", "AUTH PLAIN"]);
    assert!(
        lines[0].starts_with("AUTH PLAIN "),
        "no STARTTLS inside TLS"
    );
    assert!(
        s.transcript()
            .iter()
            .filter(|t| matches!(t.direction, Direction::Sent | Direction::Received))
            .all(|t| t.secure)
    );
    assert_eq!(s.session.report.tls, Some(tls_info()));
}

#[test]
fn data_injected_after_the_starttls_220_is_a_protocol_error() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("220 go ahead\r\n250 injected\r\n");
    let error = s.error();
    match &error {
        SessionError::Protocol {
            stage: Stage::Tls,
            detail,
        } => assert!(detail.contains("injected"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(error.exit_status(), 29);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
    assert!(
        s.client_lines().is_empty(),
        "the connection is just dropped"
    );
    // A handshake result arriving anyway changes nothing.
    s.tls_established();
    assert!(s.client_lines().is_empty());
    assert!(s.finished().is_some());
}

#[test]
fn even_a_partial_line_after_the_starttls_220_is_rejected() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server("220 go ahead\r\n250-AUTH PL");
    assert!(matches!(
        s.error(),
        SessionError::Protocol {
            stage: Stage::Tls,
            ..
        }
    ));
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 0);
}

#[test]

fn clear_text_received_while_awaiting_the_handshake_is_rejected() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    assert_eq!(s.count(|e| matches!(e, Event::StartTls)), 1);
    // Injected in clear text, in a separate read, before the handshake.
    s.server("250-mx.evil.example\r\n250-AUTH PLAIN\r\n");
    s.tls_established();
    let _ = s.client_lines();
    s.server(&ehlo(&["AUTH LOGIN"]));
    // The AUTH PLAIN the attacker announced must not reach the capabilities.
    assert!(
        matches!(
            s.finished(),
            Some((
                _,
                Err(SessionError::Protocol {
                    stage: Stage::Tls,
                    ..
                })
            ))
        ),
        "capabilities after TLS: {:?}",
        s.session.report.capabilities
    );
}

#[test]
fn nothing_is_awaited_during_the_handshake() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        timeouts: Timeouts::uniform(secs(5)),
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
    s.server(STARTTLS_GO);
    assert_eq!(s.session.poll_timeout(), None);
    s.advance(secs(60));
    s.assert_running();
    s.tls_established();
    assert_eq!(s.session.poll_timeout(), Some(s.now + secs(5)));
}

// ----- EHLO and HELO -----

#[test]
fn ehlo_refused_falls_back_to_helo() {
    let mut s = Script::start(config());
    s.server(GREETING);
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server("502 5.5.2 Command not recognized\r\n");
    assert_eq!(s.client_lines(), ["HELO client.example.org"]);
    assert!(
        s.texts(Direction::Note)
            .iter()
            .any(|n| n.contains("trying HELO"))
    );
    s.server("250 mx.example.org\r\n");
    assert_eq!(s.client_lines(), [format!("MAIL FROM:<{FROM}>")]);
    let caps = s.report_capabilities();
    assert_eq!(caps.server_name, "mx.example.org");
    assert!(caps.extensions.is_empty());
}

#[test]
fn helo_refused_fails_at_ehlo() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server("500 5.5.1 Unrecognized command\r\n");
    assert_eq!(
        s.client_lines(),
        [EHLO_LINE.to_string(), "HELO client.example.org".into()]
    );
    s.server("550 5.7.1 Go away\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Ehlo, reply } if reply.code == ReplyCode(550)
    ));
    assert_eq!(error.exit_status(), 22);
}

#[test]
fn ehlo_temporary_failure_does_not_fall_back() {
    let mut s = Script::start(config());
    s.server(GREETING);
    let _ = s.client_lines();
    s.server("451 4.3.0 Try again later\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    assert_eq!(s.error().exit_status(), 22);
}

#[test]
fn helo_without_starttls_fails_when_tls_is_required() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    s.server(GREETING);
    s.server("502 5.5.2 EHLO not supported\r\n");
    s.server("250 mx.example.org\r\n");
    assert_eq!(
        s.all_client_lines(),
        [EHLO_LINE, "HELO client.example.org", "QUIT"]
    );
}

#[test]
fn ehlo_refused_after_starttls_fails_at_tls_ehlo() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["STARTTLS"]), ["STARTTLS"]);
    s.server(STARTTLS_GO);
    s.tls_established();
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    s.server("554 5.7.0 Too many errors\r\n");
    assert_eq!(s.client_lines(), ["QUIT"], "no HELO fallback inside TLS");
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        error,
        SessionError::Rejected {
            stage: Stage::TlsEhlo,
            ..
        }
    ));
    assert_eq!(error.exit_status(), 32);
}

// ----- the greeting -----

#[test]
fn greeting_554_is_rejected_at_greeting() {
    let mut s = Script::start(config());
    s.server("554 5.7.1 No SMTP service here\r\n");
    assert_eq!(s.client_lines(), ["QUIT"]);
    s.server(BYE);
    let error = s.error();
    assert!(matches!(
        &error,
        SessionError::Rejected { stage: Stage::Greeting, reply } if reply.code == ReplyCode(554)
    ));
    assert_eq!(error.exit_status(), 21);
    assert_eq!(
        s.report().greeting.unwrap().first_line(),
        "5.7.1 No SMTP service here"
    );
}

#[test]
fn multi_line_greeting_is_accepted() {
    let mut s = Script::start(config());
    s.server("220-mx.example.org ESMTP\r\n220-No UCE\r\n220 Ready\r\n");
    assert_eq!(s.client_lines(), [EHLO_LINE]);
    assert_eq!(
        s.session.report.greeting.as_ref().unwrap().lines,
        ["mx.example.org ESMTP", "No UCE", "Ready"]
    );
}

/// Feeds `input` as the greeting and returns the protocol error's detail.
fn greeting_protocol_error(input: &[u8]) -> String {
    let mut s = Script::start(config());
    s.server_bytes(input);
    let error = s.error();
    assert_eq!(error.exit_status(), 21, "{error:?}");
    assert!(
        s.client_lines().is_empty(),
        "no QUIT to a server that broke the protocol"
    );
    assert!(error.to_string().contains("during greeting"), "{error}");
    match error {
        SessionError::Protocol {
            stage: Stage::Greeting,
            detail,
        } => detail,
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"SSH-2.0-OpenSSH_9.6\r\n");
    assert!(detail.contains("not an SMTP reply"), "{detail}");
    assert!(detail.contains("SSH-2.0"), "{detail}");
}

#[test]
fn bare_lf_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"220 mx.example.org ready\n");
    assert!(detail.contains("bare LF"), "{detail}");
}

#[test]
fn nul_in_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"220 mx.example\0org\r\n");
    assert!(detail.contains("NUL"), "{detail}");
}

#[test]
fn mixed_code_multi_line_greeting_is_a_protocol_error() {
    let detail = greeting_protocol_error(b"220-mx.example.org\r\n250 ready\r\n");
    assert!(detail.contains("mixed codes (220 then 250)"), "{detail}");
}

#[test]
fn endless_greeting_line_is_a_protocol_error() {
    let mut line = b"220 ".to_vec();
    line.resize(MAX_LINE_LEN + 1, b'x');
    let detail = greeting_protocol_error(&line);
    assert!(detail.contains("longer than"), "{detail}");
}

#[test]
fn endless_greeting_line_fed_in_pieces_is_a_protocol_error() {
    let mut s = Script::start(config());
    s.server("220 ");
    let chunk = "x".repeat(16 * 1024);
    for _ in 0..7 {
        s.server(&chunk);
    }
    assert!(matches!(
        s.error(),
        SessionError::Protocol {
            stage: Stage::Greeting,
            ..
        }
    ));
}

#[test]
fn garbage_in_the_ehlo_reply_names_the_ehlo_stage() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server("250-mx.example.org\r\nhello?\r\n");
    let error = s.error();
    assert!(
        matches!(
            error,
            SessionError::Protocol {
                stage: Stage::Ehlo,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.exit_status(), 22);
}

#[test]
fn a_reply_nobody_asked_for_is_a_protocol_error() {
    let mut s = Script::start(config());
    s.server(GREETING);
    s.server(&ehlo(&[]));
    s.server(OK);
    s.server(OK);
    s.server(GO_AHEAD);
    // While the client streams the message the server should be silent.
    s.server("250 what?\r\n");
    let error = s.error();
    match &error {
        SessionError::Protocol {
            stage: Stage::Message,
            detail,
        } => assert!(detail.contains("nobody asked for"), "{detail}"),
        other => panic!("{other:?}"),
    }
}

// ----- probe -----

#[test]
fn probe_without_credentials_never_logs_in() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        job: Job::Probe,
        ..config()
    });
    assert_eq!(
        after_starttls(&mut s, &["AUTH PLAIN LOGIN", "SIZE 35882577"]),
        ["QUIT"]
    );
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(
        s.all_client_lines(),
        [EHLO_LINE, "STARTTLS", EHLO_LINE, "QUIT"]
    );
    let caps = report.capabilities.unwrap();
    assert_eq!(caps.auth_mechanisms(), [Mechanism::Plain, Mechanism::Login]);
    assert_eq!(caps.size_limit(), Some(35_882_577));
    assert!(report.capabilities_before_tls.unwrap().has("STARTTLS"));
    assert_eq!(report.tls, Some(tls_info()));
    assert_eq!(report.auth, None);
    assert_eq!(report.final_reply, None);
    assert_eq!(
        report.timings.iter().map(|t| t.stage).collect::<Vec<_>>(),
        [
            Stage::Connect,
            Stage::Greeting,
            Stage::Ehlo,
            Stage::Tls,
            Stage::TlsEhlo,
            Stage::Quit
        ]
    );
}

#[test]
fn probe_with_credentials_logs_in_then_quits_without_mail() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        job: Job::Probe,
        ..config()
    });
    let lines = after_starttls(&mut s, &["AUTH PLAIN LOGIN"]);
    assert!(lines[0].starts_with("AUTH PLAIN "), "{lines:?}");
    s.server("235 2.7.0 Authentication successful\r\n");
    assert_eq!(s.client_lines(), ["QUIT"], "no MAIL FROM in a probe");
    s.server(BYE);
    let report = s.assert_ok();
    assert!(report.auth.is_some(), "the login is reported");
    assert_eq!(report.final_reply, None);

    // A refused login fails the probe at the AUTH stage.
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        auth: AuthPlan::Auto(password()),
        job: Job::Probe,
        ..config()
    });
    let _ = after_starttls(&mut s, &["AUTH PLAIN"]);
    s.server("535 5.7.8 Authentication credentials invalid\r\n");
    let _ = s.client_lines();
    s.server(BYE);
    let (_, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().stage(), Stage::Auth);
}

#[test]
fn probe_in_clear_text() {
    let mut s = Script::start(SessionConfig {
        job: Job::Probe,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING", "STARTTLS"]), ["QUIT"]);
    s.server(BYE);
    let report = s.assert_ok();
    assert_eq!(report.tls, None);
    assert!(report.capabilities.unwrap().has("PIPELINING"));
}

#[test]
fn probe_requiring_tls_fails_without_starttls() {
    let mut s = Script::start(SessionConfig {
        tls: TlsMode::StartTls,
        job: Job::Probe,
        ..config()
    });
    assert_eq!(after_ehlo(&mut s, &["PIPELINING"]), ["QUIT"]);
    s.server(BYE);
    let (report, result) = s.finished().unwrap();
    assert_eq!(result.unwrap_err().exit_status(), 29);
    assert!(
        report.capabilities.unwrap().has("PIPELINING"),
        "what the server offers is reported even on failure"
    );
}
