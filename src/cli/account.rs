//! `postscope account list|add|remove`: saved accounts for scripts. The
//! settings file holds the server and login name; the password or token goes
//! to the OS keychain, read from standard input so it never appears in an
//! argument list or a shell history.

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
    Add(AddArgs),
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
    /// The server, HOST or HOST:PORT.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: String,
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
        })
    })
}

/// Runs an `account` subcommand.
pub fn run(command: AccountCommand) -> ExitCode {
    let result = match command {
        AccountCommand::List => list(),
        AccountCommand::Add(args) => add(args),
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

fn add(args: AddArgs) -> Result<(), UsageError> {
    // The server as it will be used: a bad one is refused before saving.
    let sec = &args.security;
    super::server(&Account {
        server: args.server.clone(),
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
    let logs_in = args.auth_user.is_some() && args.auth != Some(AuthSetting::None);
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
    let secret = if logs_in {
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
        server: args.server,
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
        if logs_in {
            "; its secret is in the OS keychain"
        } else {
            ""
        }
    );
    Ok(())
}

fn remove(name: &str) -> Result<(), UsageError> {
    let dirs = dirs()?;
    load(&dirs)?;
    accounts::delete(&dirs, &Keychain, name, IfNoKeychain::SaveNothing)
        .map_err(|e| UsageError::Invalid(e.to_string()))?;
    println!("Removed the account {name:?} and its keychain entry.");
    Ok(())
}
