//! Saving and deleting accounts: the settings file and the keychain entry
//! together, one way for the command line and the window alike.
//!
//! The settings file is re-read before each change, so changes made
//! meanwhile by another Postscope are kept. A renamed account takes its
//! keychain entry along. What happens when the keychain cannot be used is
//! the caller's choice ([`IfNoKeychain`]): the command line saves nothing, the
//! window keeps the secret in memory for the session.

use super::DataDirs;
use super::secrets::{SecretError, SecretStore};
use super::settings::{Account, Settings};

/// What to do when the keychain cannot take or give a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfNoKeychain {
    /// Change nothing at all, and say why (the command line).
    SaveNothing,
    /// Save the settings anyway; a new secret is handed back to be kept in
    /// memory for this session (the window).
    KeepForSession,
}

/// A change to one account. `Debug` hides the secret.
#[derive(Clone)]
pub struct Change {
    /// The account as it is to be.
    pub account: Account,
    /// The name it had, when an existing account is edited (a different
    /// name renames it); `None` adds a new one.
    pub original: Option<String>,
    /// A new password or token, if one was typed; for an account that
    /// signs in with OAuth2, its client secret (merged into the keychain
    /// entry, which keeps the sign-in).
    pub secret: Option<String>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("account", &self.account)
            .field("original", &self.original)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where the secret of a saved account is now. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretPlace {
    /// The account logs in with no secret change: the keychain entry, if
    /// any, is as it was (or the account does not log in).
    Unchanged,
    /// The new (or moved) secret is in the keychain.
    Keychain,
    /// The keychain could not take it: only the caller has it, for this
    /// session ([`IfNoKeychain::KeepForSession`]).
    ThisSession(String),
}

impl std::fmt::Debug for SecretPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecretPlace::Unchanged => "Unchanged",
            SecretPlace::Keychain => "Keychain",
            SecretPlace::ThisSession(_) => "ThisSession(<redacted>)",
        })
    }
}

/// What saving an account did.
#[derive(Debug)]
pub struct Saved {
    /// The settings as now on disk.
    pub settings: Settings,
    /// The account's name.
    pub name: String,
    /// Where its secret is.
    pub secret: SecretPlace,
    /// Why the keychain could not be used, if it could not: the change was
    /// made anyway ([`IfNoKeychain::KeepForSession`]), or only removing a
    /// secret nothing uses any more failed.
    pub keychain_problem: Option<SecretError>,
    /// The settings file could not be read and was kept aside (a fresh one
    /// was started), in a sentence.
    pub settings_problem: Option<String>,
}

/// What deleting an account did.
#[derive(Debug)]
pub struct Deleted {
    /// The settings as now on disk.
    pub settings: Settings,
    /// Why the keychain entry could not be removed, if it could not
    /// ([`IfNoKeychain::KeepForSession`]).
    pub keychain_problem: Option<SecretError>,
}

/// Why an account change was not made. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Adding, or renaming to, a name that is taken.
    #[error("there is already an account named {0:?}")]
    Exists(String),
    /// No account has that name.
    #[error("{}", not_found(.name, .known))]
    NotFound {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: Vec<String>,
    },
    /// The keychain could not be used ([`IfNoKeychain::SaveNothing`]).
    #[error("nothing was {what}: {source}")]
    Keychain {
        /// "saved" or "deleted".
        what: &'static str,
        /// Why.
        source: SecretError,
    },
    /// The settings file could not be written.
    #[error("cannot save {path}: {source}")]
    Write {
        /// The settings file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
}

fn not_found(name: &str, known: &[String]) -> String {
    if known.is_empty() {
        format!("there is no account named {name:?}")
    } else {
        format!(
            "there is no account named {name:?}; saved accounts: {}",
            known.join(", ")
        )
    }
}

/// Saves an account: its secret to the keychain, the rest to the settings
/// file.
pub fn save(
    dirs: &DataDirs,
    secrets: &dyn SecretStore,
    change: Change,
    policy: IfNoKeychain,
) -> Result<Saved, AccountError> {
    let (mut settings, settings_problem) = Settings::load(dirs);
    let Change {
        account,
        original,
        secret,
    } = change;
    let name = account.name.clone();
    if original.as_deref() != Some(name.as_str()) && settings.account(&name).is_some() {
        return Err(AccountError::Exists(name));
    }
    // The name it had, even when the settings file no longer lists it (it
    // was unreadable and started afresh): its secret still moves.
    let renamed_from = original.clone().filter(|o| *o != name);
    // An account leaving OAuth2 leaves its sign-in behind: the entry is a
    // grant, never to be read as a password.
    let was_signing_in = original
        .as_deref()
        .and_then(|o| settings.account(o))
        .is_some_and(Account::signs_in);
    let leaves_oauth = was_signing_in && !account.signs_in() && secret.is_none();
    let mut problem = None;
    let secret = match secret {
        Some(client_secret) if account.signs_in() => {
            let from = original.as_deref().unwrap_or(&name);
            let mut grant = match super::grants::load(secrets, from) {
                Ok(g) => g,
                Err(e) => {
                    required(policy, &e, "saved")?;
                    problem.get_or_insert(e);
                    super::grants::Grant::default()
                }
            };
            grant.client_secret = Some(client_secret);
            Some(grant.to_secret())
        }
        other => other,
    };
    // 1. The new secret (typed, or moved from the old name) under the new
    //    name. Without a keychain the CLI stops here, having changed nothing.
    let mut place = SecretPlace::Unchanged;
    if account.logs_in() {
        let new = match (secret, &renamed_from) {
            (Some(s), _) => Some(s),
            (None, Some(old)) => match secrets.get(old) {
                Ok(found) => found,
                Err(e) => {
                    required(policy, &e, "saved")?;
                    problem.get_or_insert(e);
                    None
                }
            },
            (None, None) => None,
        };
        if let Some(s) = new {
            place = match secrets.set(&name, &s) {
                Ok(()) => SecretPlace::Keychain,
                Err(e) => {
                    required(policy, &e, "saved")?;
                    problem.get_or_insert(e);
                    SecretPlace::ThisSession(s)
                }
            };
        }
    }
    // 2. The settings.
    match original
        .as_deref()
        .and_then(|o| settings.accounts.iter().position(|a| a.name == o))
    {
        Some(i) => settings.accounts[i] = account.clone(),
        None => settings.accounts.push(account.clone()),
    }
    write(dirs, &settings)?;
    // 3. Secrets nothing uses any more: the old name's after a rename, and
    //    this name's if it no longer logs in. The account is saved by now,
    //    so a keychain that fails here is reported, not fatal.
    let mut stale = Vec::new();
    stale.extend(renamed_from.as_deref());
    if (!account.logs_in() || leaves_oauth) && original.is_some() {
        stale.push(&name);
    }
    for old in stale {
        if let Err(e) = secrets.delete(old) {
            problem.get_or_insert(e);
        }
    }
    Ok(Saved {
        settings,
        name,
        secret: place,
        keychain_problem: problem,
        settings_problem: settings_problem.map(|p| p.to_string()),
    })
}

/// Sets the user name of account `name` to the one a sign-in learned, if
/// it has none: the settings file is read again and only that field
/// changes. `Ok(None)` when nothing changed (the account has a user, or
/// is gone); `Ok(Some(settings))` as written.
pub fn set_user_if_empty(
    dirs: &DataDirs,
    name: &str,
    user: &str,
) -> Result<Option<Settings>, AccountError> {
    let (mut settings, problem) = Settings::load(dirs);
    if problem.is_some() {
        return Ok(None); // unreadable: the next start reports and keeps it aside
    }
    let Some(account) = settings.accounts.iter_mut().find(|a| a.name == name) else {
        return Ok(None);
    };
    if account.user.as_deref().is_some_and(|u| !u.is_empty()) {
        return Ok(None);
    }
    account.user = Some(user.to_owned());
    write(dirs, &settings)?;
    Ok(Some(settings))
}

/// Under [`IfNoKeychain::SaveNothing`] a keychain failure stops the change.
fn required(policy: IfNoKeychain, e: &SecretError, what: &'static str) -> Result<(), AccountError> {
    match policy {
        IfNoKeychain::SaveNothing => Err(AccountError::Keychain {
            what,
            source: e.clone(),
        }),
        IfNoKeychain::KeepForSession => Ok(()),
    }
}

/// Deletes an account and its keychain entry.
pub fn delete(
    dirs: &DataDirs,
    secrets: &dyn SecretStore,
    name: &str,
    policy: IfNoKeychain,
) -> Result<Deleted, AccountError> {
    let (mut settings, _) = Settings::load(dirs);
    if settings.account(name).is_none() {
        // Removed meanwhile (by another Postscope): its entry goes too.
        let _ = secrets.delete(name);
        return Err(AccountError::NotFound {
            name: name.to_owned(),
            known: settings.accounts.iter().map(|a| a.name.clone()).collect(),
        });
    }
    let keychain_problem = match (secrets.delete(name), policy) {
        (Ok(()), _) => None,
        (Err(source), IfNoKeychain::SaveNothing) => {
            return Err(AccountError::Keychain {
                what: "deleted",
                source,
            });
        }
        (Err(e), IfNoKeychain::KeepForSession) => Some(e),
    };
    settings.accounts.retain(|a| a.name != name);
    write(dirs, &settings)?;
    Ok(Deleted {
        settings,
        keychain_problem,
    })
}

fn write(dirs: &DataDirs, settings: &Settings) -> Result<(), AccountError> {
    settings.save(dirs).map_err(|source| AccountError::Write {
        path: Settings::path(dirs).display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests;
