//! Passwords and tokens in the OS keychain (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows), never in a file.
//! Keychain calls may wait on D-Bus or an unlock prompt: callers in the UI
//! run them on a worker thread.

/// Where secrets live. The app and the CLI use [`Keychain`]; unit tests of
/// code that needs secrets may use an in-memory implementation.
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) the secret of an account.
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError>;
    /// The secret of an account, if one is stored.
    fn get(&self, account: &str) -> Result<Option<String>, SecretError>;
    /// Forgets the secret of an account (no error if there was none).
    fn delete(&self, account: &str) -> Result<(), SecretError>;
}

/// Why the keychain could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No keychain is running, or it is locked.
    #[error(
        "the OS keychain is not available ({0}); on Linux start a Secret Service such as \
         gnome-keyring or KeePassXC and unlock it. Postscope never stores passwords in a file"
    )]
    Unavailable(String),
    /// The keychain answered with an error.
    #[error("the OS keychain refused: {0}")]
    Refused(String),
}

/// The OS keychain, under the service name "postscope".
#[derive(Debug, Clone, Copy, Default)]
pub struct Keychain;

/// The service name entries are filed under.
pub const SERVICE: &str = "postscope";

fn entry(account: &str) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, account).map_err(map_error)
}

fn map_error(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::NoDefaultStore
        | keyring::Error::NoStorageAccess(_)
        | keyring::Error::PlatformFailure(_) => SecretError::Unavailable(e.to_string()),
        other => SecretError::Refused(other.to_string()),
    }
}

impl SecretStore for Keychain {
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        entry(account)?.set_password(secret).map_err(map_error)
    }

    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        match entry(account)?.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e)),
        }
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        match entry(account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e)),
        }
    }
}

/// A keychain in memory for unit tests; `down` makes it behave like a
/// missing one.
#[cfg(test)]
#[derive(Default)]
pub struct Memory {
    entries: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Every call fails as when no Secret Service runs.
    pub down: bool,
}

#[cfg(test)]
impl SecretStore for Memory {
    fn set(&self, account: &str, secret: &str) -> Result<(), SecretError> {
        self.check()?;
        let mut entries = self.entries.lock().unwrap();
        entries.insert(account.into(), secret.into());
        Ok(())
    }
    fn get(&self, account: &str) -> Result<Option<String>, SecretError> {
        self.check()?;
        Ok(self.entries.lock().unwrap().get(account).cloned())
    }
    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.check()?;
        self.entries.lock().unwrap().remove(account);
        Ok(())
    }
}

#[cfg(test)]
impl Memory {
    /// A keychain that is not there.
    pub fn down() -> Memory {
        Memory {
            down: true,
            ..Memory::default()
        }
    }

    fn check(&self) -> Result<(), SecretError> {
        if self.down {
            return Err(SecretError::Unavailable("no Secret Service".into()));
        }
        Ok(())
    }
}
