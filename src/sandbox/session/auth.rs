//! AUTH, server side: PLAIN and LOGIN, read with `smtp::sasl`. The
//! sandbox accepts any password; it only needs a user name.

use smtp_proto::{AUTH_LOGIN, AUTH_PLAIN};

use super::{Mode, Session};
use crate::smtp::reply::{EnhancedCode, Reply, ReplyCode};
use crate::smtp::sasl;

impl Session {
    pub(super) fn auth(&mut self, mechanism: u64, initial: &str) {
        if self.helo.is_none() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Send EHLO first",
            );
        }
        if self.auth_user.is_some() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "Already authenticated",
            );
        }
        if self.tx.from.is_some() {
            return self.reply(
                ReplyCode::BAD_SEQUENCE,
                EnhancedCode::INVALID_COMMAND,
                "AUTH is not allowed during a mail transaction",
            );
        }
        match mechanism {
            AUTH_PLAIN if initial.is_empty() => {
                self.say(Reply::new(ReplyCode::AUTH_CHALLENGE, None, ""));
                self.mode = Mode::AuthPlain;
            }
            AUTH_PLAIN => self.auth_plain(initial.as_bytes()),
            AUTH_LOGIN if initial.is_empty() => {
                self.say(Reply::new(
                    ReplyCode::AUTH_CHALLENGE,
                    None,
                    sasl::LOGIN_USER_CHALLENGE,
                ));
                self.mode = Mode::AuthLoginUser;
            }
            AUTH_LOGIN => self.auth_login_user(initial.as_bytes()),
            _ => self.reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                EnhancedCode::INVALID_ARGUMENTS,
                "Unrecognized authentication type (supported: PLAIN LOGIN)",
            ),
        }
    }

    pub(super) fn auth_plain(&mut self, response: &[u8]) {
        let response = String::from_utf8_lossy(response);
        if sasl::is_cancel(&response) {
            return self.auth_cancelled();
        }
        match sasl::read_plain(&response) {
            // Any password will do: this is the sandbox.
            Some(login) => self.auth_ok(login.user),
            None => self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::SYNTAX_ERROR,
                "Malformed PLAIN response (base64 of authzid NUL user NUL password)",
            ),
        }
    }

    pub(super) fn auth_login_user(&mut self, response: &[u8]) {
        let response = String::from_utf8_lossy(response);
        if sasl::is_cancel(&response) {
            return self.auth_cancelled();
        }
        match sasl::read_login(&response) {
            Some(user) => {
                self.say(Reply::new(
                    ReplyCode::AUTH_CHALLENGE,
                    None,
                    sasl::LOGIN_PASSWORD_CHALLENGE,
                ));
                self.mode = Mode::AuthLoginPassword(user);
            }
            _ => self.reply(
                ReplyCode::BAD_ARGUMENTS,
                EnhancedCode::SYNTAX_ERROR,
                "Malformed LOGIN user name (base64 expected)",
            ),
        }
    }

    pub(super) fn auth_ok(&mut self, user: String) {
        self.auth_user = Some(user);
        self.reply(
            ReplyCode::AUTH_OK,
            EnhancedCode::AUTH_OK,
            "Authentication successful (the sandbox accepts any password)",
        );
    }

    pub(super) fn auth_cancelled(&mut self) {
        self.reply(
            ReplyCode::BAD_ARGUMENTS,
            EnhancedCode::FAILED,
            "Authentication cancelled",
        );
    }
}
