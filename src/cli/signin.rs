//! `postscope account login|logout` and the OAuth2 options of `account
//! add`: sign-in from a terminal, with the system browser (or a printed
//! address and a pasted answer) or a device code; the refresh token goes
//! to the OS keychain, and `send --account` refreshes by itself.

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::UsageError;
use crate::app::SecretProblem;
use crate::app::oauth::{GrantPlace, How, OAuthLogin, system_browser};
use crate::oauth::{OAuthSettings, Progress, ProviderKind};
use crate::store::grants;
use crate::store::secrets::{Keychain, SecretError, SecretStore};
use crate::store::settings::Account;

/// `--oauth-provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    /// Gmail and Google Workspace (server smtp.gmail.com:587).
    Google,
    /// Microsoft 365 and Outlook.com (server smtp.office365.com:587).
    Microsoft,
    /// Any OpenID Connect issuer (--oauth-issuer) or explicit endpoints.
    Custom,
}

/// The OAuth2 options of `account add`.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "OAuth2 sign-in (--auth oauth2)")]
pub struct OAuthArgs {
    /// The provider: its issuer, scopes and server are preset.
    #[arg(long, value_name = "PROVIDER", value_enum)]
    pub oauth_provider: Option<ProviderArg>,
    /// An OpenID Connect issuer, found by discovery (custom providers).
    #[arg(long, value_name = "URL")]
    pub oauth_issuer: Option<String>,
    /// The client id Postscope is registered under (the README says how).
    #[arg(long, value_name = "ID")]
    pub oauth_client_id: Option<String>,
    /// Microsoft: the tenant (default common).
    #[arg(long, value_name = "TENANT")]
    pub oauth_tenant: Option<String>,
    /// The environment variable holding the client secret, for providers
    /// that give installed apps one (Google); kept in the OS keychain.
    #[arg(long, value_name = "VAR")]
    pub oauth_client_secret_env: Option<String>,
    /// A scope to ask for instead of the provider's (repeatable).
    #[arg(long = "oauth-scope", value_name = "SCOPE")]
    pub oauth_scopes: Vec<String>,
    /// The authorization endpoint, instead of discovery.
    #[arg(long, value_name = "URL", requires = "oauth_token_endpoint")]
    pub oauth_authorization_endpoint: Option<String>,
    /// The token endpoint, instead of discovery.
    #[arg(long, value_name = "URL", requires = "oauth_authorization_endpoint")]
    pub oauth_token_endpoint: Option<String>,
    /// The device authorization endpoint, with the other two.
    #[arg(long, value_name = "URL", requires = "oauth_token_endpoint")]
    pub oauth_device_endpoint: Option<String>,
}

impl OAuthArgs {
    /// True when any OAuth2 option was given.
    pub fn given(&self) -> bool {
        self.oauth_provider.is_some()
            || self.oauth_issuer.is_some()
            || self.oauth_client_id.is_some()
            || self.oauth_token_endpoint.is_some()
    }

    /// The server a preset implies.
    pub fn default_server(&self) -> Option<&'static str> {
        match self.oauth_provider {
            Some(ProviderArg::Google) => Some("smtp.gmail.com:587"),
            Some(ProviderArg::Microsoft) => Some("smtp.office365.com:587"),
            _ => None,
        }
    }

    /// The settings, checked, and the client secret if one was given.
    pub fn settings(&self) -> Result<(OAuthSettings, Option<String>), UsageError> {
        let bad = |s: String| UsageError::Invalid(s);
        let provider = match self.oauth_provider {
            Some(ProviderArg::Google) => ProviderKind::Google,
            Some(ProviderArg::Microsoft) => ProviderKind::Microsoft,
            Some(ProviderArg::Custom) | None => ProviderKind::Custom,
        };
        let client_id = self.oauth_client_id.clone().unwrap_or_default();
        if client_id.trim().is_empty() {
            return Err(bad(
                "--auth oauth2 needs --oauth-client-id ID: register Postscope with the provider \
                 as a desktop app (the README's \"Sign in with OAuth2\" says how)"
                    .into(),
            ));
        }
        if provider == ProviderKind::Custom
            && self.oauth_issuer.is_none()
            && self.oauth_token_endpoint.is_none()
        {
            return Err(bad(
                "--auth oauth2 needs --oauth-provider google|microsoft, --oauth-issuer URL, \
                 or --oauth-authorization-endpoint and --oauth-token-endpoint"
                    .into(),
            ));
        }
        if self.oauth_tenant.is_some() && provider != ProviderKind::Microsoft {
            return Err(bad(
                "--oauth-tenant is for --oauth-provider microsoft".into()
            ));
        }
        let check = |what: &'static str, url: &Option<String>| -> Result<(), UsageError> {
            if let Some(u) = url {
                crate::oauth::http::endpoint_url(what, u).map_err(|e| bad(e.to_string()))?;
            }
            Ok(())
        };
        check("the issuer", &self.oauth_issuer)?;
        check(
            "the authorization endpoint",
            &self.oauth_authorization_endpoint,
        )?;
        check("the token endpoint", &self.oauth_token_endpoint)?;
        check("the device endpoint", &self.oauth_device_endpoint)?;
        let secret = self
            .oauth_client_secret_env
            .as_deref()
            .map(|var| super::values::env_secret(var, "OAuth client secret"))
            .transpose()?;
        let settings = OAuthSettings {
            provider,
            issuer: self.oauth_issuer.clone(),
            tenant: self.oauth_tenant.clone(),
            client_id: client_id.trim().to_owned(),
            scopes: self.oauth_scopes.clone(),
            authorization_endpoint: self.oauth_authorization_endpoint.clone(),
            token_endpoint: self.oauth_token_endpoint.clone(),
            device_authorization_endpoint: self.oauth_device_endpoint.clone(),
            has_client_secret: secret.is_some(),
        };
        Ok((settings, secret))
    }
}

/// `postscope account login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account's name.
    pub name: String,
    /// Sign in with a code entered on another device (RFC 8628), where the
    /// provider allows it (Microsoft does; Google not for mail).
    #[arg(long)]
    pub device: bool,
    /// Do not start a browser: print the address to open (on any machine)
    /// and wait; the address the browser ends on can be pasted back.
    #[arg(long)]
    pub no_browser: bool,
}

/// The login of a saved OAuth2 account, its grant in the keychain.
pub fn oauth_login(account: &Account) -> Result<OAuthLogin, UsageError> {
    let settings = account
        .oauth
        .clone()
        .filter(|_| account.signs_in())
        .ok_or_else(|| {
            UsageError::Invalid(format!(
                "the account {:?} does not sign in with OAuth2; add it again with `postscope \
             account add {} … --auth oauth2 --oauth-client-id ID …`",
                account.name, account.name
            ))
        })?;
    Ok(OAuthLogin {
        account: account.name.clone(),
        settings,
        place: GrantPlace::Keychain(Arc::new(Keychain)),
        timeout: Duration::from_secs(account.timeout_secs.unwrap_or(30)),
    })
}

/// Signs `account` in. `Ok(Some(user))` when the provider named a user
/// and the account had none: the caller saves it.
pub fn login(args: LoginArgs, account: Account) -> Result<Option<String>, UsageError> {
    let login = oauth_login(&account)?;
    // Without a keychain the refresh token has nowhere to go: say so
    // before the person spends a minute in the browser.
    if let Err(e @ SecretError::Unavailable(_)) = Keychain.get(&account.name) {
        return Err(UsageError::Invalid(format!(
            "nothing was saved: {e}. A sign-in keeps its refresh token there (the window can \
             sign in for one session without it)"
        )));
    }
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    // Lines typed (or pasted) on standard input: a redirect address.
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if !line.trim().is_empty() && tx.send(line).is_err() {
                break;
            }
        }
    });
    let no_browser = args.no_browser;
    let opener = move |url: &str| {
        if no_browser {
            Err("--no-browser".to_owned())
        } else {
            system_browser(url)
        }
    };
    let pasted = || rx.try_recv().ok();
    let how = if args.device {
        How::Device
    } else {
        How::Browser {
            opener: &opener,
            pasted: &pasted,
        }
    };
    let hint = account.user.clone().or_else(|| account.email.clone());
    let signed = login
        .sign_in(how, hint.as_deref(), &mut show, &|| {
            cancel.load(Ordering::SeqCst)
        })
        .map_err(|e| UsageError::Invalid(problem(&account.name, &e)))?;
    if let Err(e) = signed.kept {
        return Err(UsageError::Invalid(format!(
            "signed in, but nothing was saved: {e}"
        )));
    }
    let who = signed.tokens.signed_in_as.clone();
    println!(
        "Signed in to {:?}{}{}. The refresh token is in the OS keychain; `postscope send \
         --account {}` renews the access token by itself.",
        account.name,
        who.as_ref().map(|w| format!(" as {w}")).unwrap_or_default(),
        signed
            .tokens
            .expires_at
            .map(|t| format!(" (access token until {})", crate::clock::local_date_time(t)))
            .unwrap_or_default(),
        account.name
    );
    Ok(who.filter(|_| account.user.as_deref().is_none_or(str::is_empty)))
}

/// What a sign-in shows on the terminal (standard error: standard output
/// stays for the result).
fn show(p: Progress) {
    match p {
        Progress::OpenBrowser { url, opened } => {
            match opened {
                Ok(()) => eprintln!("Opened your browser to sign in. If it did not appear, open:"),
                Err(_) => eprintln!("Open this address in a browser (on this or any machine):"),
            }
            eprintln!("\n  {url}\n");
            eprintln!(
                "Waiting for the browser… If it runs on another machine, paste here the \
                 address it ends on (it starts with http://127.0.0.1 or http://localhost) \
                 and press Enter. Ctrl+C stops."
            );
        }
        Progress::PasteRefused(why) => eprintln!("Not used: {why}"),
        Progress::WrongState => {
            eprintln!("An answer for another sign-in reached the listener and was refused.")
        }
        Progress::DeviceCode {
            user_code,
            verification_uri,
            verification_uri_complete,
            expires_in,
        } => {
            eprintln!(
                "To sign in, open {verification_uri} on any device and enter the code\n\n  \
                 {user_code}\n\n(it expires in {} minutes{}). Waiting… Ctrl+C stops.",
                expires_in.as_secs().div_ceil(60),
                verification_uri_complete
                    .map(|u| format!("; or open {u}"))
                    .unwrap_or_default()
            );
        }
        Progress::SlowedDown(every) => eprintln!(
            "The provider asked to check less often: every {} s now.",
            every.as_secs()
        ),
        Progress::Exchanging => eprintln!("Signed in at the provider; getting the tokens…"),
    }
}

/// Signs an account out: its tokens leave the keychain.
pub fn logout(account: &Account) -> Result<(), UsageError> {
    let name = &account.name;
    oauth_login(account)?
        .sign_out()
        .map_err(|e| UsageError::Invalid(format!("nothing was changed: {e}")))?;
    println!(
        "Signed out of {name:?}: its tokens are gone from the OS keychain (the provider's \
         grant stays until you revoke it in your account's security settings)."
    );
    Ok(())
}

/// How `account list` shows an OAuth2 account's state.
pub fn status(account: &Account) -> String {
    let provider = account
        .oauth
        .as_ref()
        .map(OAuthSettings::describe)
        .unwrap_or_else(|| "no provider".into());
    let grantor = account
        .oauth
        .as_ref()
        .map(OAuthSettings::grantor)
        .unwrap_or_default();
    let state = match grants::load(&Keychain, &account.name) {
        Ok(g) => match (g.tokens_from(&grantor), g.signed_in_as()) {
            (Some(t), who) => format!(
                "signed in{}{}",
                who.as_ref().map(|w| format!(" as {w}")).unwrap_or_default(),
                t.expires_at
                    .map(|e| format!(", token until {}", crate::clock::local_date_time(e)))
                    .unwrap_or_default()
            ),
            (None, _) => format!("not signed in: `postscope account login {}`", account.name),
        },
        Err(e) => format!("keychain unavailable ({e})"),
    };
    format!("oauth2 via {provider}, {state}")
}

/// A saved OAuth2 account's user and fresh access token, for `send`.
pub fn access(account: &Account) -> Result<(String, String), UsageError> {
    let tokens = oauth_login(account)?
        .access_token()
        .map_err(|e| UsageError::Invalid(problem(&account.name, &e)))?;
    let user = account
        .user
        .clone()
        .filter(|u| !u.is_empty())
        .or(tokens.signed_in_as)
        .ok_or_else(|| {
            UsageError::Invalid(format!(
                "the provider did not say who signed in to {:?}: add the account again with \
                 --auth-user ADDRESS",
                account.name
            ))
        })?;
    Ok((user, tokens.access_token))
}

/// A sign-in problem, with what to do.
fn problem(name: &str, e: &SecretProblem) -> String {
    if e.needs_sign_in() {
        format!("{e} (`postscope account login {name}`)")
    } else {
        e.to_string()
    }
}
