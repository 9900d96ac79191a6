//! Opening the session: the greeting, EHLO (or HELO), STARTTLS and AUTH,
//! up to the first transaction (or, for a probe, QUIT).

use std::time::Instant;

use super::{AuthPlan, AuthStep, Event, Expect, Session, State, TlsMode};
use crate::smtp::capability::{Capabilities, Capability};
use crate::smtp::command::Command;
use crate::smtp::error::{Missing, SessionError, Stage};
use crate::smtp::reply::{Reply, ReplyClass, ReplyCode};
use crate::smtp::sasl::{self, Credentials, Mechanism};
use crate::smtp::transcript::Direction;

impl Session {
    /// Opportunistic TLS: STARTTLS was offered and refused.
    fn starttls_refused(&self) -> bool {
        matches!(&self.state, State::Opening(o) if o.starttls_refused)
    }

    pub(super) fn on_greeting(&mut self, now: Instant, reply: Reply) {
        self.report.greeting = Some(reply.clone());
        if reply.code != ReplyCode::READY {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Greeting,
                    reply,
                },
            );
        }
        self.complete(now, Stage::Greeting);
        if self.reached(now, Stage::Greeting, "") {
            return;
        }
        self.enter(Stage::Ehlo);
        self.send(
            now,
            Command::Ehlo(self.config.client_id.clone()),
            Expect::Ehlo,
        );
    }

    pub(super) fn on_ehlo(&mut self, now: Instant, reply: Reply) {
        let stage = self.stage;
        if reply.is_positive() {
            self.report.capabilities = Some(Capabilities::from_ehlo(&reply));
            self.complete(now, stage);
            return self.after_hello(now);
        }
        // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; fall
        // back to HELO (and so to no extensions). Not after STARTTLS, where
        // a refusal means something is wrong with the TLS session.
        if reply.code.class() == ReplyClass::PermanentNegative && stage == Stage::Ehlo {
            self.note(now, "EHLO refused; trying HELO (no extensions)");
            return self.send(
                now,
                Command::Helo(self.config.client_id.clone()),
                Expect::Helo,
            );
        }
        self.fail_politely(now, SessionError::Rejected { stage, reply });
    }

    pub(super) fn on_helo(&mut self, now: Instant, reply: Reply) {
        if !reply.is_positive() {
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Ehlo,
                    reply,
                },
            );
        }
        self.report.capabilities = Some(Capabilities {
            server_name: reply
                .first_line()
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned(),
            extensions: Vec::new(),
        });
        self.complete(now, Stage::Ehlo);
        self.after_hello(now);
    }

    pub(super) fn caps(&self) -> Capabilities {
        self.report.capabilities.clone().unwrap_or_default()
    }

    /// After a successful EHLO/HELO: STARTTLS, AUTH, or the transaction.
    pub(super) fn after_hello(&mut self, now: Instant) {
        if self.stage == Stage::Ehlo && self.reached(now, Stage::Ehlo, "") {
            return;
        }
        if self.secure && self.reached(now, Stage::Tls, "") {
            return;
        }
        let caps = self.caps();
        if !self.secure {
            match self.config.tls {
                TlsMode::StartTls | TlsMode::Opportunistic
                    if caps.offers(&Capability::StartTls) && !self.starttls_refused() =>
                {
                    self.enter(Stage::Tls);
                    return self.send(now, Command::StartTls, Expect::StartTls);
                }
                TlsMode::StartTls => {
                    return self.fail_politely(
                        now,
                        SessionError::Missing {
                            stage: Stage::Tls,
                            what: Missing::StartTls,
                        },
                    );
                }
                TlsMode::Opportunistic if self.starttls_refused() => {}
                TlsMode::Opportunistic => {
                    self.record(
                        now,
                        Direction::Error,
                        "the server does not offer STARTTLS: continuing WITHOUT encryption".into(),
                        None,
                    );
                }
                TlsMode::None => {
                    self.record(
                        now,
                        Direction::Error,
                        "TLS is off: everything, including any login, travels in clear text".into(),
                        None,
                    );
                }
                TlsMode::Implicit => {}
            }
        }
        // No STARTTLS follows: this was the last EHLO (the one inside TLS,
        // or the first).
        let at = if self.secure { Stage::Tls } else { Stage::Ehlo };
        if self.reached_as(now, Stage::TlsEhlo, at, "") {
            return;
        }
        // A probe with credentials logs in too (the account editor's "Test
        // connection"); without a transaction to start, it then quits.
        self.start_auth(now);
    }

    pub(super) fn on_starttls(&mut self, now: Instant, reply: Reply) {
        if reply.code != ReplyCode::READY {
            if self.config.tls == TlsMode::Opportunistic
                && reply.code.class() != ReplyClass::PositiveCompletion
            {
                self.record(
                    now,
                    Direction::Error,
                    format!("STARTTLS refused ({reply}): continuing WITHOUT encryption"),
                    None,
                );
                if let State::Opening(o) = &mut self.state {
                    o.starttls_refused = true;
                }
                return self.after_hello(now);
            }
            return self.fail_politely(
                now,
                SessionError::Rejected {
                    stage: Stage::Tls,
                    reply,
                },
            );
        }
        // RFC 3207 §5 / CVE-2011-0411: bytes after the 220 arrived in clear
        // text and could have been injected by anyone on the path.
        if self.parser.buffered() > 0 {
            return self.fail(
                now,
                SessionError::Protocol {
                    stage: Stage::Tls,
                    detail: "the server sent more data right after its 220 to STARTTLS; \
                             it could be injected, so the connection was dropped"
                        .into(),
                },
            );
        }
        self.state = State::AwaitingTls;
        self.deadline = None;
        self.events.push_back(Event::StartTls);
    }

    pub(super) fn start_auth(&mut self, now: Instant) {
        if self.reached(now, Stage::Tls, " (no TLS was negotiated)") {
            return;
        }
        let (mechanism, creds) = match &self.config.auth {
            AuthPlan::None => {
                if self.reached(now, Stage::Auth, " (no login was asked for)") {
                    return;
                }
                return self.start_transaction(now);
            }
            AuthPlan::Auto(creds) => {
                let offered = self.caps().auth_mechanisms().to_vec();
                if offered.is_empty() {
                    return self.fail_politely(
                        now,
                        SessionError::Missing {
                            stage: Stage::Auth,
                            what: Missing::Auth,
                        },
                    );
                }
                match sasl::choose(&offered, creds) {
                    Some(m) => (m, creds.clone()),
                    None => {
                        let names: Vec<&str> = offered.iter().map(Mechanism::name).collect();
                        return self.fail_politely(
                            now,
                            SessionError::Missing {
                                stage: Stage::Auth,
                                what: Missing::CommonMechanism {
                                    offered: names.iter().map(|n| n.to_string()).collect(),
                                },
                            },
                        );
                    }
                }
            }
            AuthPlan::Forced(m, creds) => (m.clone(), creds.clone()),
        };
        if !self.secure && self.config.tls != TlsMode::None {
            return self.fail_politely(
                now,
                SessionError::Missing {
                    stage: Stage::Auth,
                    what: Missing::EncryptionForLogin,
                },
            );
        }
        self.enter(Stage::Auth);
        if let State::Opening(o) = &mut self.state {
            o.mechanism = Some(mechanism.clone());
        }
        let command = match &mechanism {
            Mechanism::Plain => sasl::plain_response(&creds).map(|r| (Some(r), AuthStep::Final)),
            Mechanism::Login => sasl::login_responses(&creds).map(|_| (None, AuthStep::LoginUser)),
            Mechanism::XOAuth2 => {
                sasl::xoauth2_response(&creds).map(|r| (Some(r), AuthStep::Final))
            }
            Mechanism::OAuthBearer => {
                sasl::oauthbearer_response(&creds).map(|r| (Some(r), AuthStep::Final))
            }
            Mechanism::Other(_) => Err(sasl::SaslError::Unsupported(mechanism.clone())),
        };
        match command {
            Ok((initial, step)) => self.send(
                now,
                Command::Auth {
                    mechanism: mechanism.clone(),
                    initial,
                },
                Expect::Auth(step),
            ),
            Err(e) => self.fail_politely(now, e.into()),
        }
    }

    pub(super) fn credentials(&self) -> Option<&Credentials> {
        match &self.config.auth {
            AuthPlan::None => None,
            AuthPlan::Auto(c) | AuthPlan::Forced(_, c) => Some(c),
        }
    }

    pub(super) fn on_auth(&mut self, now: Instant, step: AuthStep, reply: Reply) {
        if reply.code == ReplyCode::AUTH_CHALLENGE {
            if let Some(text) = sasl::decode_challenge(reply.first_line()) {
                let text = text.trim_end_matches('\0').to_owned();
                self.note(now, format!("challenge decoded: {text}"));
                if let Some(why) = sasl::explain_token_error(&text) {
                    self.note(now, why);
                }
            }
            let creds = self.credentials().cloned();
            let logins = creds.as_ref().map(sasl::login_responses);
            match (step, logins) {
                (AuthStep::LoginUser, Some(Ok((user, _)))) => {
                    return self.send(
                        now,
                        Command::AuthResponse(user),
                        Expect::Auth(AuthStep::LoginPassword),
                    );
                }
                (AuthStep::LoginPassword, Some(Ok((_, pass)))) => {
                    return self.send(
                        now,
                        Command::AuthResponse(pass),
                        Expect::Auth(AuthStep::Final),
                    );
                }
                _ => {
                    // A challenge where none was expected (the OAuth
                    // mechanisms send their error this way): answer as the
                    // mechanism asks (an empty line, or ^A for OAUTHBEARER)
                    // and read the final refusal.
                    let mechanism = match &self.state {
                        State::Opening(o) => o.mechanism.clone(),
                        _ => None,
                    };
                    let ack = mechanism
                        .as_ref()
                        .map(sasl::error_acknowledgement)
                        .unwrap_or_default();
                    return self.send(
                        now,
                        Command::AuthResponse(ack),
                        Expect::Auth(AuthStep::Final),
                    );
                }
            }
        }
        if reply.is_positive() && step == AuthStep::Final {
            if let State::Opening(o) = &mut self.state {
                self.report.auth = o.mechanism.take();
            }
            self.complete(now, Stage::Auth);
            if self.reached(now, Stage::Auth, "") {
                return;
            }
            return self.start_transaction(now);
        }
        self.fail_politely(
            now,
            SessionError::Rejected {
                stage: Stage::Auth,
                reply,
            },
        );
    }
}
