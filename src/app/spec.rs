//! What a send or a probe is to do, made the same way from a saved
//! account, the command line's flags or the window's forms.

use std::sync::Arc;
use std::time::Duration;

use super::secrets::{SecretProblem, read_secret};
use crate::message::Draft;
use crate::smtp::{
    AuthPlan, BodySource, ClientId, Credentials, Envelope, Mechanism, Secret, Stage, Target,
    Timeouts, TlsMode, TlsOptions,
};
use crate::store::secrets::SecretStore;
use crate::store::settings::{Account, AuthSetting};

/// Where and how to connect: everything but the login and the message.
#[derive(Debug, Clone)]
pub struct Server {
    /// The server.
    pub target: Target,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// Certificate checking.
    pub tls_options: TlsOptions,
    /// The EHLO name.
    pub client_id: ClientId,
    /// Time limits.
    pub timeouts: Timeouts,
}

/// Why an account's settings do not make a server to connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerProblem {
    /// No server was given.
    #[error("no server was given")]
    NoServer,
    /// The server is not `HOST` or `HOST:PORT`.
    #[error("{value:?} is not a server: {why}")]
    BadServer {
        /// As given.
        value: String,
        /// Why not.
        why: String,
    },
    /// The EHLO name is neither a domain nor an IP address.
    #[error("{0:?} is not a domain name or an IP address")]
    BadEhlo(String),
}

impl Server {
    /// The server of an account: a saved one, or the one the command line's
    /// flags describe. The port picks the TLS mode unless the account says.
    /// The CA file is read when connecting, not here.
    pub fn of_account(account: &Account) -> Result<Server, ServerProblem> {
        if account.server.trim().is_empty() {
            return Err(ServerProblem::NoServer);
        }
        let target = Target::parse(&account.server).map_err(|why| ServerProblem::BadServer {
            value: account.server.clone(),
            why: why.to_string(),
        })?;
        let client_id = match &account.ehlo {
            Some(name) => {
                ClientId::parse(name).ok_or_else(|| ServerProblem::BadEhlo(name.clone()))?
            }
            None => ClientId::local(),
        };
        Ok(Server {
            tls: TlsMode::or_default_for(account.tls, target.port),
            target,
            tls_options: TlsOptions {
                ca_file: account.ca_file.clone(),
                extra_roots: Vec::new(),
                dangerous_accept_invalid_certs: account.insecure,
            },
            client_id,
            timeouts: account
                .timeout_secs
                .map(|s| Timeouts::uniform(Duration::from_secs(s)))
                .unwrap_or_default(),
        })
    }

    /// The local sandbox: STARTTLS with its in-memory CA trusted.
    pub fn sandbox(addr: std::net::SocketAddr, ca_der: Vec<u8>) -> Server {
        Server {
            target: Target {
                host: addr.ip().to_string(),
                port: addr.port(),
            },
            tls: TlsMode::StartTls,
            tls_options: TlsOptions {
                extra_roots: vec![ca_der],
                ..TlsOptions::default()
            },
            client_id: ClientId::local(),
            timeouts: Timeouts::uniform(Duration::from_secs(30)),
        }
    }
}

/// Where a password or token comes from. Reading the keychain may wait on
/// D-Bus or an unlock prompt, so it happens on the job's thread.
#[derive(Clone)]
pub enum SecretSource {
    /// Already known (typed, from the environment, or read earlier).
    Given(Secret),
    /// The OS keychain entry of a saved account.
    Keychain {
        /// The keychain.
        store: Arc<dyn SecretStore>,
        /// The account's name.
        account: String,
        /// The entry is an OAuth2 token, not a password.
        token: bool,
    },
    /// An OAuth2 sign-in: a fresh access token, refreshed if need be.
    OAuth(super::oauth::OAuthLogin),
}

impl SecretSource {
    /// A secret typed in: an OAuth2 token or a password.
    pub fn typed(secret: String, token: bool) -> SecretSource {
        SecretSource::Given(if token {
            Secret::Token(secret)
        } else {
            Secret::Password(secret)
        })
    }
}

/// How to log in.
#[derive(Clone)]
pub struct Login {
    /// The user name.
    pub user: String,
    /// The password or token.
    pub secret: SecretSource,
    /// Which mechanism; automatic picks the strongest both sides have.
    pub mechanism: AuthSetting,
}

impl Login {
    /// The login of a saved account whose secret is in `store`, if it logs
    /// in.
    pub fn of_account(account: &Account, secret: SecretSource) -> Option<Login> {
        account.logs_in().then(|| Login {
            user: account.user.clone().unwrap_or_default(),
            secret,
            mechanism: account.auth.unwrap_or(AuthSetting::Auto),
        })
    }

    /// The secret, from wherever it is (this may wait on the keychain).
    pub fn plan(self) -> Result<AuthPlan, SecretProblem> {
        let mut user = self.user;
        let secret = match self.secret {
            SecretSource::OAuth(login) => {
                let tokens = login.access_token()?;
                if user.trim().is_empty() {
                    user = tokens
                        .signed_in_as
                        .clone()
                        .ok_or_else(|| SecretProblem::NoUser(login.account.clone()))?;
                }
                Secret::Token(tokens.access_token)
            }
            SecretSource::Given(s) => s,
            SecretSource::Keychain {
                store,
                account,
                token,
            } => {
                let s = read_secret(&*store, &account)?;
                if token {
                    Secret::Token(s)
                } else {
                    Secret::Password(s)
                }
            }
        };
        Ok(plan(self.mechanism, user, secret))
    }
}

/// The engine's plan for a mechanism setting and credentials. The faces
/// check beforehand that the secret suits the mechanism.
fn plan(mechanism: AuthSetting, user: String, secret: Secret) -> AuthPlan {
    let credentials = Credentials { user, secret };
    match mechanism {
        AuthSetting::None => AuthPlan::None,
        AuthSetting::Auto => AuthPlan::Auto(credentials),
        AuthSetting::Plain => AuthPlan::Forced(Mechanism::Plain, credentials),
        AuthSetting::Login => AuthPlan::Forced(Mechanism::Login, credentials),
        AuthSetting::Xoauth2 => AuthPlan::Forced(Mechanism::XOAuth2, credentials),
        AuthSetting::Oauthbearer => AuthPlan::Forced(Mechanism::OAuthBearer, credentials),
        // With a token, auto picks OAUTHBEARER or XOAUTH2, as offered.
        AuthSetting::Oauth2 => AuthPlan::Auto(credentials),
    }
}

/// The message to send.
pub enum Outgoing {
    /// A draft, built on the job's thread (reading the attachments there).
    Draft(Box<Draft>),
    /// A message ready to go: its envelope and its bytes.
    Ready {
        /// Where it goes, with its size and 8-bit flag.
        envelope: Envelope,
        /// The bytes, read as they are sent.
        body: Box<dyn BodySource + Send>,
    },
}

/// A send: server, login, message and how far to go.
pub struct SendSpec {
    /// Where and how to connect.
    pub server: Server,
    /// How to log in, if at all.
    pub login: Option<Login>,
    /// The message.
    pub message: Outgoing,
    /// Deliver to the accepted recipients when some are refused.
    pub allow_partial: bool,
    /// Stop on purpose after this step.
    pub quit_after: Option<Stage>,
}

/// A probe: connect, see what the server offers, log in if there is a
/// login, and quit without sending.
pub struct ProbeSpec {
    /// Where and how to connect.
    pub server: Server,
    /// How to log in, if at all ("Test connection" checks the password).
    pub login: Option<Login>,
    /// Stop on purpose after this step.
    pub quit_after: Option<Stage>,
}
