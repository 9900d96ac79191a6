//! What the window says about an engine failure: the engine's sentence,
//! then what to change in the window's own words (the command line says the
//! same with its flags).

use crate::app::{SecretProblem, SendFailure};
use crate::smtp::Remedy;

/// The failure and, if something in the window would help, what.
pub fn failure(e: &SendFailure) -> String {
    let what = match e {
        SendFailure::Secret(SecretProblem::NotInKeychain(_)) => {
            Some("Open Accounts, type it and press Save")
        }
        SendFailure::Secret(SecretProblem::NotAPassword(_)) => {
            Some("Open Accounts and type the password, or set Login back to OAuth2")
        }
        SendFailure::Secret(SecretProblem::NoUser(_)) => {
            Some("Open Accounts, fill in User with the address you signed in as, and Save")
        }
        SendFailure::Secret(p) if p.needs_sign_in() => Some(
            "The message waits in the Outbox: open Accounts, press Sign in…, then send it again",
        ),
        SendFailure::Secret(SecretProblem::Keychain(_)) => Some(
            "Open Accounts and type the password: without a keychain it is kept for this \
             session only",
        ),
        _ => e.remedy().map(remedy),
    };
    match what {
        Some(what) => format!("{e}. {what}"),
        None => e.to_string(),
    }
}

/// A remedy in the window's words: the controls a person can see.
pub fn remedy(remedy: Remedy) -> &'static str {
    match remedy {
        Remedy::ChooseTlsMode => {
            "If the port expects TLS from the start, choose “TLS (implicit, port 465)” \
             under Security; choose “None (clear text)” only to send unencrypted on purpose"
        }
        Remedy::SendWithoutLogin => "Set Login to “None” to send without logging in",
        Remedy::AllowPartial => "Remove the refused addresses, or correct them, and send again",
        Remedy::TryImplicitTls => {
            "A port that expects TLS from the first byte says nothing until it starts: \
             choose “TLS (implicit, port 465)” under Security"
        }
        Remedy::SendWithoutDsn => {
            "Set Delivery notices to “Server default” under “Cc, Bcc, Reply-To…” to send \
             without asking for them"
        }
        Remedy::TrustIssuer => {
            "Choose that CA's certificate as the account's CA file to trust it, or \
             tick “Accept invalid certificates (testing only)”"
        }
        Remedy::UseOAuth2 => {
            "This server takes OAuth2 sign-in, not passwords: open Accounts, set Login to \
             “OAuth2 (sign in with the browser)”, choose the provider and press Sign in…"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{Missing, SessionError, Stage};

    #[test]
    fn the_window_names_no_flag() {
        for r in [
            Remedy::ChooseTlsMode,
            Remedy::SendWithoutLogin,
            Remedy::AllowPartial,
            Remedy::SendWithoutDsn,
            Remedy::TryImplicitTls,
            Remedy::TrustIssuer,
            Remedy::UseOAuth2,
        ] {
            assert!(!remedy(r).contains("--"), "{}", remedy(r));
        }
        let e = SendFailure::Session(SessionError::Missing {
            stage: Stage::Tls,
            what: Missing::StartTls,
        });
        let text = failure(&e);
        assert!(
            text.contains("the server does not offer STARTTLS"),
            "{text}"
        );
        assert!(text.contains("under Security"), "{text}");
        let e = SendFailure::Secret(SecretProblem::NotInKeychain("work".into()));
        assert_eq!(
            failure(&e),
            "cannot log in: the OS keychain has no password for the account \"work\". Open \
             Accounts, type it and press Save"
        );
    }
}
