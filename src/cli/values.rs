//! The values of `--tls`, `--auth`, `--quit-after` and `--dsn-envid` as clap
//! sees them.
//!
//! The engine and the store have their own types ([`TlsMode`],
//! [`AuthSetting`], [`Stage`]) and know nothing of clap; these mirrors
//! carry the names and help texts the command line shows, and each parser
//! hands the domain value straight to the arguments struct.

use clap::ValueEnum;
use clap::builder::{EnumValueParser, MapValueParser, TypedValueParser};

use crate::smtp::{Stage, TlsMode};
use crate::store::settings::AuthSetting;

/// `--tls MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsArg {
    /// STARTTLS, required: stop before AUTH or mail if the server lacks it.
    Starttls,
    /// TLS from the first byte (RFC 8314; port 465).
    Implicit,
    /// STARTTLS when offered, else clear text (never AUTH in clear text).
    Opportunistic,
    /// No TLS at all: everything in clear text.
    None,
}

impl From<TlsArg> for TlsMode {
    fn from(arg: TlsArg) -> TlsMode {
        match arg {
            TlsArg::Starttls => TlsMode::StartTls,
            TlsArg::Implicit => TlsMode::Implicit,
            TlsArg::Opportunistic => TlsMode::Opportunistic,
            TlsArg::None => TlsMode::None,
        }
    }
}

/// `--auth MECH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// The strongest mechanism both sides have (when a user is given).
    Auto,
    /// SASL PLAIN.
    Plain,
    /// LOGIN.
    Login,
    /// XOAUTH2 with a bearer token.
    Xoauth2,
    /// OAUTHBEARER (RFC 7628) with a bearer token.
    Oauthbearer,
    /// OAuth2 sign-in (`account add` with the --oauth-* options).
    Oauth2,
    /// Do not log in.
    None,
}

impl From<AuthArg> for AuthSetting {
    fn from(arg: AuthArg) -> AuthSetting {
        match arg {
            AuthArg::Auto => AuthSetting::Auto,
            AuthArg::Plain => AuthSetting::Plain,
            AuthArg::Login => AuthSetting::Login,
            AuthArg::Xoauth2 => AuthSetting::Xoauth2,
            AuthArg::Oauthbearer => AuthSetting::Oauthbearer,
            AuthArg::Oauth2 => AuthSetting::Oauth2,
            AuthArg::None => AuthSetting::None,
        }
    }
}

/// `--quit-after STEP`: the stop points of [`Stage`], with swaks's names
/// for them as aliases (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuitAfterArg {
    /// The TCP connection (and implicit TLS) is up; hang up before the greeting.
    Connect,
    /// The 220 greeting.
    #[value(alias = "banner")]
    Greeting,
    /// The first EHLO (or HELO).
    #[value(aliases = ["first-helo", "first-ehlo", "helo-first"])]
    Ehlo,
    /// STARTTLS, the handshake and EHLO again (implicit TLS: the first EHLO).
    #[value(alias = "starttls")]
    Tls,
    /// The login (or the point where it would be, without one).
    Auth,
    /// MAIL FROM accepted.
    #[value(alias = "from")]
    Mail,
    /// Every RCPT TO answered: which recipients the server would take.
    #[value(alias = "to")]
    Rcpt,
    /// DATA answered 354; hang up without sending the message (the server
    /// discards the unfinished transaction, RFC 5321 §3.8).
    Data,
    /// The last EHLO: after TLS when TLS is used, else the first (swaks's `helo`).
    #[value(alias = "helo")]
    LastEhlo,
}

impl From<QuitAfterArg> for Stage {
    fn from(arg: QuitAfterArg) -> Stage {
        match arg {
            QuitAfterArg::Connect => Stage::Connect,
            QuitAfterArg::Greeting => Stage::Greeting,
            QuitAfterArg::Ehlo => Stage::Ehlo,
            QuitAfterArg::Tls => Stage::Tls,
            QuitAfterArg::Auth => Stage::Auth,
            QuitAfterArg::Mail => Stage::Mail,
            QuitAfterArg::Rcpt => Stage::Rcpt,
            QuitAfterArg::Data => Stage::Data,
            QuitAfterArg::LastEhlo => Stage::TlsEhlo,
        }
    }
}

/// A parser that reads `A`'s names and yields the domain type `T`.
fn mapped<A, T>() -> MapValueParser<EnumValueParser<A>, fn(A) -> T>
where
    A: ValueEnum + Clone + Send + Sync + 'static,
    T: From<A> + Clone + Send + Sync + 'static,
{
    EnumValueParser::<A>::new().map(T::from as fn(A) -> T)
}

/// The parser for `--tls`.
pub fn tls() -> MapValueParser<EnumValueParser<TlsArg>, fn(TlsArg) -> TlsMode> {
    mapped()
}

/// The parser for `--auth`.
pub fn auth() -> MapValueParser<EnumValueParser<AuthArg>, fn(AuthArg) -> AuthSetting> {
    mapped()
}

/// The parser for `--quit-after`.
pub fn quit_after() -> MapValueParser<EnumValueParser<QuitAfterArg>, fn(QuitAfterArg) -> Stage> {
    mapped()
}

/// `--dsn-envid ID`: checked as RFC 3461 §4.4 says, kept as given.
pub fn envid(text: &str) -> Result<String, String> {
    crate::smtp::dsn::check_envid(text).map(|()| text.to_owned())
}

/// A secret from an environment variable (`--password-env VAR` and the
/// like): set and not empty, or a sentence saying which it is not.
pub fn env_secret(var: &str, what: &str) -> Result<String, super::UsageError> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(super::UsageError::Invalid(format!(
            "the environment variable {var} (the {what}) is empty"
        ))),
        Err(_) => Err(super::UsageError::Invalid(format!(
            "the environment variable {var} (the {what}) is not set"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line names every engine value, in the engine's order.
    #[test]
    fn every_value_has_a_name() {
        let tls: Vec<TlsMode> = TlsArg::value_variants().iter().map(|&a| a.into()).collect();
        assert_eq!(tls, TlsMode::ALL);
        for (arg, mode) in TlsArg::value_variants().iter().zip(TlsMode::ALL) {
            assert_eq!(arg.to_possible_value().unwrap().get_name(), mode.name());
        }
        let steps: Vec<Stage> = QuitAfterArg::value_variants()
            .iter()
            .map(|&a| a.into())
            .collect();
        assert_eq!(steps[..8], Stage::STOP_POINTS);
        assert_eq!(steps[8], Stage::TlsEhlo);
        for (arg, q) in QuitAfterArg::value_variants()
            .iter()
            .zip(Stage::STOP_POINTS)
        {
            assert_eq!(arg.to_possible_value().unwrap().get_name(), q.name());
        }
        // Every alias the command line takes means what the engine says it means.
        for arg in QuitAfterArg::value_variants() {
            let value = arg.to_possible_value().unwrap();
            for name in value.get_name_and_aliases() {
                assert_eq!(Stage::from_name(name), Some(Stage::from(*arg)), "{name}");
            }
        }
    }
}
