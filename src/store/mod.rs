//! Files on disk, in the platform's folders: every write atomic, every
//! unreadable file kept aside rather than overwritten, fields from newer
//! versions kept.
//!
//! Layout (Linux; `directories` picks the macOS and Windows equivalents):
//! `$XDG_CONFIG_HOME/postscope/settings.json` (accounts; default
//! `~/.config/postscope/`); under `$XDG_DATA_HOME/postscope/` (default
//! `~/.local/share/postscope/`) `drafts/<id>.json` (drafts, and the outbox:
//! drafts with a failed attempt) and `sent/<id>.json` (sent history with the
//! redacted transcript). Passwords: the OS keychain only.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub(crate) mod accounts;
pub mod mail;
pub(crate) mod records;
pub mod secrets;
pub mod settings;

/// Where Postscope keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirs {
    /// Settings and accounts.
    pub config: PathBuf,
    /// Drafts, outbox and history.
    pub data: PathBuf,
}

impl DataDirs {
    /// The platform's folders (XDG on Linux), or `None` when there is no
    /// home folder to put them in.
    pub fn platform() -> Option<DataDirs> {
        let dirs = directories::ProjectDirs::from("org", "Postscope", "Postscope")?;
        Some(DataDirs {
            config: dirs.config_dir().to_owned(),
            data: dirs.data_dir().to_owned(),
        })
    }

    /// Folders under `root` (tests, portable installs).
    pub fn at(root: &Path) -> DataDirs {
        DataDirs {
            config: root.join("config"),
            data: root.join("data"),
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// It exists but could not be read at all.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// It could not be parsed; it was renamed, not deleted.
    #[error("{} could not be read ({reason}); it was kept as {} and a fresh one started", path.display(), kept.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parser's words.
        reason: String,
        /// Where the bad file now is.
        kept: PathBuf,
    },
}

/// Reads a JSON file. A missing file is `Ok(None)`. A file that does not
/// parse is moved aside to `<name>.corrupt-<unix time>` (so nothing is lost
/// or silently overwritten) and reported.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, ReadError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReadError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) => {
            let stamp = crate::clock::unix_secs(std::time::SystemTime::now());
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let kept = path.with_file_name(format!("{name}.corrupt-{stamp}"));
            std::fs::rename(path, &kept).map_err(|source| ReadError::Io {
                path: path.to_owned(),
                source,
            })?;
            Err(ReadError::Corrupt {
                path: path.to_owned(),
                reason: e.to_string(),
                kept,
            })
        }
    }
}

/// Writes a value as pretty JSON, atomically, creating the folder if needed.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomically(path, &bytes)
}

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// synced, then renamed over `path`: a crash or a full disk never leaves a
/// half-written file, and a failed write leaves no temporary file behind.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per call: two threads (or processes) writing the same file
    // never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.txt")]);
        // A folder that does not exist: an error, and nothing left behind.
        assert!(write_atomically(&dir.path().join("missing/b.txt"), b"x").is_err());
    }

    #[test]
    fn concurrent_writes_of_one_file_never_fail_or_tear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("same.json");
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for j in 0..50 {
                        write_atomically(&path, format!("{i}-{j}").as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("-49"), "{text}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporaries left"
        );
    }

    #[test]
    fn json_round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/er/value.json");
        assert!(read_json::<Vec<u32>>(&path).unwrap().is_none());
        write_json(&path, &vec![1u32, 2, 3]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), Some(vec![1, 2, 3]));
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("current.json");
        std::fs::write(&path, b"{ not json").unwrap();
        let err = read_json::<Vec<u32>>(&path).unwrap_err();
        let ReadError::Corrupt { kept, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(err.to_string().contains("was kept as"), "{err}");
        assert_eq!(std::fs::read(kept).unwrap(), b"{ not json");
        assert!(!path.exists());
        // The next start finds no file and starts fresh.
        assert!(read_json::<Vec<u32>>(&path).unwrap().is_none());
    }
}
