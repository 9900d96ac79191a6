//! From parsed flags to the application layer's [`SendSpec`] and
//! [`ProbeSpec`], validated before any connection is made: a bad address or
//! an unreadable file is a [`UsageError`] (exit 1, nothing sent). The flags
//! describe an account, saved (`--account`) or not, so the server is made
//! exactly as the window makes a saved account's.

use std::io::Read;

use super::values::env_secret;
use super::{ConnectArgs, ProbeArgs, SendArgs, UsageError, account, server};
use crate::app::{Login, Outgoing, ProbeSpec, SecretSource, SendSpec};
use crate::message::{self, Draft, EmlError, FileBody};
use crate::smtp::{self, BodySource, Credentials, Mechanism, Secret, Stage};
use crate::store::settings::{Account, AuthSetting};

/// Everything `send` needs, validated.
pub struct SendRequest {
    /// The send.
    pub spec: SendSpec,
    /// Strings the transcript must never show (the password and its encodings).
    pub sensitive: Vec<String>,
}

impl ConnectArgs {
    /// The account the flags describe: the saved one `--account` names,
    /// with the flags given over it, or one made of the flags alone.
    pub(super) fn account(&self) -> Result<Account, UsageError> {
        let base = match &self.account {
            Some(name) => account::find(name)?,
            None => Account::default(),
        };
        let sec = &self.security;
        Ok(Account {
            server: self.server.clone().unwrap_or_else(|| base.server.clone()),
            tls: sec.tls.or(base.tls),
            ehlo: sec.ehlo.clone().or_else(|| base.ehlo.clone()),
            ca_file: sec.ca_file.clone().or_else(|| base.ca_file.clone()),
            insecure: sec.insecure || base.insecure,
            timeout_secs: sec.timeout.or(base.timeout_secs),
            ..base
        })
    }
}

/// The body from a file or `-` (standard input; a pipe or FIFO works too:
/// it is read once, now), at most `max` bytes of UTF-8.
fn read_text(source: &str, max: u64) -> Result<String, UsageError> {
    let name = if source == "-" {
        "standard input".to_owned()
    } else {
        format!("the body file {source}")
    };
    let reader: Box<dyn Read> = if source == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(source)
                .map_err(|e| UsageError::Invalid(format!("cannot read {name}: {e}")))?,
        )
    };
    let mut bytes = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| UsageError::Invalid(format!("cannot read {name}: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(UsageError::Invalid(format!(
            "{name} is over the limit of {max} bytes: raise --max-input to send it, \
             or attach it as a file"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        UsageError::Invalid(format!(
            "{name} is not UTF-8 text (a byte that cannot be read at offset {}): \
             convert it to UTF-8, or attach it as a file",
            e.utf8_error().valid_up_to()
        ))
    })
}

impl SendArgs {
    /// The secret from the flags, or from the keychain of `--account`.
    fn secret(&self, keychain_account: Option<&str>) -> Result<Option<Secret>, UsageError> {
        Ok(if let Some(var) = &self.password_env {
            Some(Secret::Password(env_secret(var, "password")?))
        } else if self.password_stdin {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map_err(|e| {
                UsageError::Invalid(format!("cannot read the password from standard input: {e}"))
            })?;
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            if line.is_empty() {
                return Err(UsageError::Invalid(
                    "--password-stdin: standard input gave an empty password".into(),
                ));
            }
            Some(Secret::Password(line))
        } else if let Some(var) = &self.token_env {
            Some(Secret::Token(env_secret(var, "token")?))
        } else if let (Some(account), Some(_)) = (keychain_account, &self.auth_user) {
            let secret = account::secret(account)?;
            Some(if self.auth.is_some_and(AuthSetting::takes_token) {
                Secret::Token(secret)
            } else {
                Secret::Password(secret)
            })
        } else {
            None
        })
    }

    /// The login the flags ask for, checked against the secret given.
    fn login(&self, secret: Option<Secret>) -> Result<Option<Credentials>, UsageError> {
        let creds = match (&self.auth_user, secret) {
            (Some(user), Some(secret)) => Some(Credentials { user: user.clone(), secret }),
            (Some(_), None) => return Err(UsageError::Invalid(
                "--auth-user needs a secret: --password-env VAR, --password-stdin or --token-env VAR".into(),
            )),
            (None, Some(_)) => return Err(UsageError::Invalid("a password or token was given without --auth-user".into())),
            (None, None) => None,
        };
        let needs = |m: Mechanism| {
            UsageError::Invalid(format!(
                "--auth {} needs --auth-user and a password or token",
                m.name().to_lowercase()
            ))
        };
        let token = creds.as_ref().map(|c| matches!(c.secret, Secret::Token(_)));
        match (self.auth.unwrap_or(AuthSetting::Auto), token) {
            (AuthSetting::None, Some(_)) => Err(UsageError::Invalid(
                "--auth none contradicts --auth-user: drop one of them".into(),
            )),
            (AuthSetting::Plain | AuthSetting::Login, Some(true)) => Err(UsageError::Invalid(
                "--auth plain and --auth login need a password (--password-env or \
                 --password-stdin), not a token; use --auth xoauth2 or oauthbearer for a token"
                    .into(),
            )),
            (a, Some(false)) if a.takes_token() => Err(UsageError::Invalid(format!(
                "--auth {} needs an OAuth2 token (--token-env VAR), not a password",
                if a == AuthSetting::Xoauth2 {
                    "xoauth2"
                } else {
                    "oauthbearer"
                }
            ))),
            (AuthSetting::Plain, None) => Err(needs(Mechanism::Plain)),
            (AuthSetting::Login, None) => Err(needs(Mechanism::Login)),
            (AuthSetting::Xoauth2, None) => Err(needs(Mechanism::XOAuth2)),
            (AuthSetting::Oauthbearer, None) => Err(needs(Mechanism::OAuthBearer)),
            (AuthSetting::Oauth2, Some(false)) => Err(UsageError::Invalid(
                "--auth oauth2 signs in with a token, not a password: use --account NAME of an \
                 account that signs in with OAuth2"
                    .into(),
            )),
            (AuthSetting::Oauth2, None) => Err(UsageError::Invalid(
                "--auth oauth2 needs --account NAME of an account that signs in with OAuth2 \
                 (`postscope account add NAME --auth oauth2 …`, then `postscope account login \
                 NAME`), or a token with --token-env VAR"
                    .into(),
            )),
            _ => Ok(creds),
        }
    }

    /// The message, validated and ready (attachments and a file are read
    /// as it is sent; a pipe is read now). Nothing touches the network.
    fn message(&self) -> Result<Outgoing, UsageError> {
        if self.password_stdin && self.body_file.as_deref() == Some("-") {
            return Err(UsageError::Invalid(
                "--password-stdin and --body-file - both read standard input; \
                 give the password with --password-env or the body as a file"
                    .into(),
            ));
        }
        if self.strict && self.eml.is_none() {
            return Err(UsageError::Invalid(
                "--strict checks a ready message: it needs --eml (what Postscope builds \
                 itself always lints clean)"
                    .into(),
            ));
        }
        if self.body_html.as_deref() == Some("-") && self.body_file.as_deref() == Some("-") {
            return Err(UsageError::Invalid(
                "--body-file - and --body-html - both read standard input; give one as a file"
                    .into(),
            ));
        }
        if self.password_stdin && self.eml.as_deref() == Some(std::path::Path::new("-")) {
            return Err(UsageError::Invalid(
                "--password-stdin and --eml - both read standard input; \
                 give the password with --password-env or the message as a file"
                    .into(),
            ));
        }
        let mut draft = Draft {
            from: self.from.clone(),
            to: self.to.clone(),
            cc: self.cc.clone(),
            bcc: self.bcc.clone(),
            reply_to: self.reply_to.clone(),
            subject: self.subject.clone().unwrap_or_default(),
            body: String::new(),
            headers: self.header.clone(),
            attachments: self.attach.clone(),
            envelope_from: self.envelope_from.clone().unwrap_or_default(),
            markdown: self.markdown,
            html: None,
            dsn: smtp::Dsn {
                notify: self.dsn_notify,
                ret: self.dsn_ret,
                envid: self.dsn_envid.clone(),
            },
        };
        Ok(match &self.eml {
            Some(path) => {
                let envelope = message::envelope(&draft)?;
                // A regular file is streamed from disk; a pipe is read once, now.
                let file = FileBody::open(path, self.max_input).map_err(|e| match e {
                    EmlError::TooLarge { .. } => {
                        UsageError::Invalid(format!("{e}: raise --max-input to send it"))
                    }
                    e => UsageError::Invalid(e.to_string()),
                })?;
                Outgoing::Ready {
                    envelope: smtp::Envelope {
                        size: file.size(),
                        eight_bit: file.eight_bit(),
                        ..envelope
                    },
                    body: Box::new(file),
                }
            }
            None => {
                draft.body = match (&self.body, &self.body_file) {
                    (Some(text), _) => text.clone(),
                    (None, Some(source)) => read_text(source, self.max_input)?,
                    (None, None) => String::new(),
                };
                if let Some(source) = &self.body_html {
                    draft.html = Some(read_text(source, self.max_input)?);
                }
                // Attachments are read and encoded as the message is sent.
                let built = message::build_streaming(&draft)?;
                Outgoing::Ready {
                    envelope: built.envelope.clone(),
                    body: Box::new(built),
                }
            }
        })
    }

    /// `--dump-mail`: the message and its envelope, without connecting.
    pub fn into_dump(self) -> Result<Outgoing, UsageError> {
        if self.connect.json || self.connect.transcript.as_deref() == Some("-") {
            return Err(UsageError::Invalid(
                "--dump-mail writes the message to standard output and its envelope to \
                 standard error: it cannot be combined with --json or --transcript -"
                    .into(),
            ));
        }
        self.message()
    }

    /// Validates everything and builds the message. Nothing touches the network.
    pub fn into_request(mut self) -> Result<SendRequest, UsageError> {
        let account = self.connect.account()?;
        let keychain_account = self.connect.account.clone();
        if self.connect.account.is_some() {
            self.auth = self.auth.or(account.auth);
            if self.auth_user.is_none() && self.auth != Some(AuthSetting::None) {
                self.auth_user = account.user.clone();
            }
        }
        let server = server(&account)?;
        let message = self.message()?;
        if self.eml.is_some() {
            super::lint::check_ready(&message, self.strict)?;
        }
        let explicit =
            self.password_env.is_some() || self.password_stdin || self.token_env.is_some();
        // A signed-in account with OAuth2 (or a mechanism named for it,
        // `--auth xoauth2`): a fresh access token, not the keychain entry.
        let wants_token = matches!(
            self.auth,
            Some(AuthSetting::Oauth2 | AuthSetting::Xoauth2 | AuthSetting::Oauthbearer)
        );
        let secret = if account.signs_in() && wants_token && !explicit {
            // A signed-in account: a fresh access token (refreshed now if
            // it is about to expire), before anything connects.
            let (user, token) = super::signin::access(&account)?;
            self.auth_user = Some(user);
            Some(Secret::Token(token))
        } else {
            self.secret(keychain_account.as_deref())?
        };
        let creds = self.login(secret)?;
        let sensitive = creds
            .as_ref()
            .map(Credentials::sensitive_strings)
            .unwrap_or_default();
        let login = creds.map(|c| Login {
            user: c.user,
            secret: SecretSource::Given(c.secret),
            mechanism: self.auth.unwrap_or(AuthSetting::Auto),
        });
        Ok(SendRequest {
            spec: SendSpec {
                server,
                login,
                message,
                allow_partial: self.allow_partial,
                quit_after: self.quit_after,
            },
            sensitive,
        })
    }
}

impl ProbeArgs {
    /// Validates the options. Nothing touches the network.
    pub fn into_request(self) -> Result<ProbeSpec, UsageError> {
        if let Some(q) = self.quit_after
            && q > Stage::TlsEhlo
        {
            let q = q.name();
            return Err(UsageError::Invalid(format!(
                "probe --quit-after {q}: a probe never logs in or starts a transaction; \
                 use connect, greeting, ehlo or tls (or `send --quit-after {q}`)"
            )));
        }
        let account = self.connect.account()?;
        Ok(ProbeSpec {
            server: server(&account)?,
            login: None,
            quit_after: self.quit_after,
        })
    }
}
