//! `postscope account list|add|login|logout|remove`: saved accounts for
//! scripts. The settings file holds the server and login name; the password
//! or token goes to the OS keychain, read from standard input so it never
//! appears in an argument list or a shell history. OAuth2 accounts sign in
//! with `login` ([`super::signin`]).

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{SecurityArgs, UsageError, failure};
use crate::app::SecretProblem;
use crate::store::DataDirs;
use crate::store::accounts::{self, Change, IfNoKeychain};
use crate::store::secrets::Keychain;
use crate::store::settings::{Account, AuthSetting, Settings};

/// The `account` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// List the saved accounts.
    List,
    /// Save an account (or replace one of the same name). With --auth-user,
    /// the first line of standard input is the password (or, with --auth
    /// xoauth2, the token) and goes to the OS keychain.
    Add(Box<AddArgs>),
    /// Sign an OAuth2 account in (browser, or --device): the refresh token
    /// goes to the OS keychain.
    Login(super::signin::LoginArgs),
    /// Sign an OAuth2 account out: its tokens leave the keychain.
    Logout {
        /// The account's name.
        name: String,
    },
    /// Forget an account and its keychain entry.
    Remove {
        /// The account's name.
        name: String,
    },
}

/// `postscope account add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The name to pick it by (`send --account NAME`).
    pub name: String,
    /// The server, HOST or HOST:PORT (the Google and Microsoft presets
    /// know theirs).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// The address to send from (the desktop app fills From with it).
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// The name to show in From.
    #[arg(long, value_name = "NAME")]
    pub display_name: Option<String>,
    /// How to log in (default: auto when --auth-user is given).
    #[arg(long, value_name = "MECH", value_parser = super::values::auth())]
    pub auth: Option<AuthSetting>,
    /// The user name; the password is read from standard input.
    #[arg(long, value_name = "USER")]
    pub auth_user: Option<String>,
    #[command(flatten)]
    pub security: SecurityArgs,
    #[command(flatten)]
    pub oauth: super::signin::OAuthArgs,
}

fn dirs() -> Result<DataDirs, UsageError> {
    DataDirs::platform().ok_or_else(|| {
        UsageError::Invalid("no home folder to keep settings in (is HOME set?)".into())
    })
}

fn load(dirs: &DataDirs) -> Result<Settings, UsageError> {
    match Settings::load(dirs) {
        (settings, None) => Ok(settings),
        (_, Some(problem)) => Err(UsageError::Invalid(problem.to_string())),
    }
}

/// The saved account of that name.
pub fn find(name: &str) -> Result<Account, UsageError> {
    let settings = load(&dirs()?)?;
    settings.account(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = settings.accounts.iter().map(|a| a.name.as_str()).collect();
        UsageError::Invalid(if known.is_empty() {
            format!("there is no account named {name:?}: add one with `postscope account add`")
        } else {
            format!(
                "there is no account named {name:?}; saved accounts: {}",
                known.join(", ")
            )
        })
    })
}

/// The account's password or token, from the keychain.
pub fn secret(name: &str) -> Result<String, UsageError> {
    crate::app::read_secret(&Keychain, name).map_err(|e| {
        UsageError::Invalid(match e {
            SecretProblem::NotInKeychain(_) => format!(
                "{e}: save it again with `postscope account add {name} … --auth-user USER` \
                 (password on standard input)"
            ),
            SecretProblem::Keychain(e) => e.to_string(),
            other => other.to_string(),
        })
    })
}

/// Runs an `account` subcommand.
pub fn run(command: AccountCommand) -> ExitCode {
    let result = match command {
        AccountCommand::List => list(),
        AccountCommand::Add(args) => add(*args),
        AccountCommand::Login(args) => find(&args.name).and_then(|account| {
            match super::signin::login(args, account.clone())? {
                Some(user) => set_user(&account, &user),
                None => Ok(()),
            }
        }),
        AccountCommand::Logout { name } => find(&name).and_then(|a| super::signin::logout(&a)),
        AccountCommand::Remove { name } => remove(&name),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Nothing is sent by an account command: no "nothing was sent".
        Err(e) => failure(&e, ""),
    }
}

fn list() -> Result<(), UsageError> {
    let settings = load(&dirs()?)?;
    if settings.accounts.is_empty() {
        println!(
            "No saved accounts. Add one with `postscope account add NAME --server HOST[:PORT] ...`."
        );
    }
    for a in &settings.accounts {
        let tls = a.tls.map(|t| t.name()).unwrap_or("default");
        let login = match (&a.user, a.auth) {
            _ if a.signs_in() => super::signin::status(a),
            (_, Some(AuthSetting::None)) | (None, _) => "no login".to_string(),
            (Some(user), auth) => {
                let auth = auth
                    .map(|m| format!("{m:?}").to_lowercase())
                    .unwrap_or_else(|| "auto".into());
                format!("user {user} ({auth}, secret in the OS keychain)")
            }
        };
        println!("{}\t{}\ttls {tls}\t{login}", a.name, a.server);
    }
    Ok(())
}

fn add(mut args: AddArgs) -> Result<(), UsageError> {
    if args.oauth.given() && args.auth.is_none() {
        args.auth = Some(AuthSetting::Oauth2);
    }
    let oauth = if args.auth == Some(AuthSetting::Oauth2) {
        Some(args.oauth.settings()?)
    } else if args.oauth.given() {
        return Err(UsageError::Invalid(
            "the --oauth-* options go with --auth oauth2".into(),
        ));
    } else {
        None
    };
    let server = args
        .server
        .clone()
        .or_else(|| args.oauth.default_server().map(str::to_owned))
        .ok_or_else(|| UsageError::Invalid("--server HOST[:PORT] is needed".into()))?;
    // The server as it will be used: a bad one is refused before saving.
    let sec = &args.security;
    super::server(&Account {
        server: server.clone(),
        tls: sec.tls,
        ehlo: sec.ehlo.clone(),
        ca_file: sec.ca_file.clone(),
        insecure: sec.insecure,
        timeout_secs: sec.timeout,
        ..Account::default()
    })?;
    if args.name.trim().is_empty() {
        return Err(UsageError::Invalid("the account name is empty".into()));
    }
    if let Some(email) = &args.email {
        crate::message::parse_mailboxes(crate::message::Field::From, email)
            .map_err(|e| UsageError::Invalid(format!("--email: {e}")))?;
    }
    let signs_in = oauth.is_some();
    let logs_in = !signs_in && args.auth_user.is_some() && args.auth != Some(AuthSetting::None);
    if args.auth_user.is_none()
        && matches!(
            args.auth,
            Some(
                AuthSetting::Plain
                    | AuthSetting::Login
                    | AuthSetting::Xoauth2
                    | AuthSetting::Oauthbearer
            )
        )
    {
        return Err(UsageError::Invalid(
            "--auth plain|login|xoauth2|oauthbearer needs --auth-user".into(),
        ));
    }
    let dirs = dirs()?;
    let settings = load(&dirs)?;
    let (oauth, client_secret) = match oauth {
        Some((settings, secret)) => (Some(settings), secret),
        None => (None, None),
    };
    let secret = if signs_in {
        // The client secret joins the account's keychain entry.
        client_secret
    } else if logs_in {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            UsageError::Invalid(format!("cannot read the password from standard input: {e}"))
        })?;
        let secret = line.trim_end_matches(['\r', '\n']);
        if secret.is_empty() {
            return Err(UsageError::Invalid(
                "--auth-user: give the password (or token) as the first line of standard input"
                    .into(),
            ));
        }
        Some(secret.to_owned())
    } else {
        None
    };
    let existing = settings.account(&args.name);
    let account = Account {
        name: args.name.clone(),
        display_name: args.display_name,
        email: args.email,
        server,
        tls: args.security.tls,
        auth: args.auth,
        user: args.auth_user,
        ehlo: args.security.ehlo,
        ca_file: args
            .security
            .ca_file
            .map(|p| std::path::absolute(&p).unwrap_or(p)),
        insecure: args.security.insecure,
        timeout_secs: args.security.timeout,
        oauth,
        unknown: existing.map(|a| a.unknown.clone()).unwrap_or_default(),
    };
    // Adding a name that exists replaces that account.
    let change = Change {
        account,
        original: existing.map(|a| a.name.clone()),
        secret,
    };
    let saved = accounts::save(&dirs, &Keychain, change, IfNoKeychain::SaveNothing)
        .map_err(|e| UsageError::Invalid(e.to_string()))?;
    if let Some(problem) = saved.keychain_problem {
        eprintln!("warning: an old keychain entry could not be removed: {problem}");
    }
    println!(
        "Saved the account {:?} in {}{}.",
        args.name,
        Settings::path(&dirs).display(),
        if signs_in {
            format!(
                "; sign in with `postscope account login {}` (--device for a code instead \
                 of a browser here)",
                args.name
            )
        } else if logs_in {
            "; its secret is in the OS keychain".to_owned()
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Saves the user name a sign-in learned, when the account had none.
pub fn set_user(account: &Account, user: &str) -> Result<(), UsageError> {
    accounts::set_user_if_empty(&dirs()?, &account.name, user)
        .map(|_| ())
        .map_err(|e| UsageError::Invalid(e.to_string()))
}

fn remove(name: &str) -> Result<(), UsageError> {
    let dirs = dirs()?;
    load(&dirs)?;
    accounts::delete(&dirs, &Keychain, name, IfNoKeychain::SaveNothing)
        .map_err(|e| UsageError::Invalid(e.to_string()))?;
    println!("Removed the account {name:?} and its keychain entry.");
    Ok(())
}
