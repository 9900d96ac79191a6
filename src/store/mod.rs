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
mod folders;
pub use folders::{APP_ID, DataDirs};
pub mod grants;
pub mod history;
pub mod mail;
pub(crate) mod records;
pub mod secrets;
pub mod sent_index;
pub mod settings;

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
/// parse is moved aside to `<name>.corrupt-<unix time>` (`-2`, `-3`… when
/// that name is taken: nothing is lost or silently overwritten) and
/// reported.
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
            // The file itself, not a symbolic link to it: the link stays.
            let kept = write_target(path).and_then(|p| keep_aside(&p));
            let kept = kept.map_err(|source| ReadError::Io {
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

/// Moves an unreadable file to a `.corrupt-<unix time>` name no other file
/// has (a hard link that cannot clobber, then the old name removed).
fn keep_aside(path: &Path) -> io::Result<PathBuf> {
    let stamp = crate::clock::unix_secs(std::time::SystemTime::now());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for n in 1..1000 {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let kept = path.with_file_name(format!("{name}.corrupt-{stamp}{suffix}"));
        match std::fs::hard_link(path, &kept) {
            Ok(()) => {
                std::fs::remove_file(path)?;
                return Ok(kept);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // No hard links here (some file systems): rename, checking first.
            Err(_) if !kept.exists() => {
                std::fs::rename(path, &kept)?;
                return Ok(kept);
            }
            Err(_) => continue,
        }
    }
    Err(io::Error::other("too many corrupt copies kept already"))
}

/// Writes a value as pretty JSON, atomically, creating the folder (0700)
/// if needed.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    bytes.push(b'\n');
    write_atomically(path, &bytes)
}

/// Creates `dir` and any missing parents, each private (0700 on Unix, as
/// the XDG base directory spec asks). Folders that exist are left alone.
pub fn create_private_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Where a write to `path` lands: `path`, or what a symbolic link there
/// points to, followed to the end (a dotfiles setup links settings.json
/// into a repository; the link must stay a link).
fn write_target(path: &Path) -> io::Result<PathBuf> {
    let mut target = path.to_owned();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(io::Error::other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// The mode a rewritten file gets: private (0600), or stricter if the
/// file was (a user's `chmod 400` stays).
#[cfg(unix)]
fn private_mode(existing: Option<&std::fs::Metadata>) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    existing.map_or(0o600, |m| m.permissions().mode() & 0o600)
}

/// Writes `bytes` to `path` through a temporary file in the same folder,
/// synced, then renamed over `path`: a crash or a full disk never leaves a
/// half-written file, and a failed write leaves no temporary file behind.
/// The file is private (0600 on Unix, or the stricter mode it had), its
/// folder created private if missing; a symbolic link at `path` is written
/// through, and stays.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let path = &write_target(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dirs(dir)?;
    }
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
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        let mode = private_mode(std::fs::metadata(path).ok().as_ref());
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&tmp)?;
        // The umask may have taken bits away; never added any. Set it
        // exactly, so a stricter mode is kept as it was.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The new name too: a crash must not lose a file whose save said
        // it worked.
        #[cfg(unix)]
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
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
        // A folder that cannot be made (a file is in the way): an error,
        // and nothing left behind.
        assert!(write_atomically(&dir.path().join("a.txt/b.txt"), b"x").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_and_a_stricter_mode_is_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("postscope/drafts/a.json");
        write_json(&path, &1).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("postscope/drafts")), 0o700);
        assert_eq!(mode(&dir.path().join("postscope")), 0o700);
        // A world-readable file (an older version's) is made private again…
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_json(&path, &2).unwrap();
        assert_eq!(mode(&path), 0o600);
        // …and a stricter one the user chose is kept.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        write_json(&path, &3).unwrap();
        assert_eq!(mode(&path), 0o400);
        assert_eq!(read_json::<u32>(&path).unwrap(), Some(3));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        std::fs::create_dir(&dotfiles).unwrap();
        std::fs::write(dotfiles.join("settings.json"), b"1\n").unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir(&config).unwrap();
        let link = config.join("settings.json");
        // A relative link, as `ln -s ../dotfiles/settings.json` makes.
        std::os::unix::fs::symlink("../dotfiles/settings.json", &link).unwrap();
        write_json(&link, &2).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read(dotfiles.join("settings.json")).unwrap(),
            b"2\n"
        );
        assert_eq!(read_json::<u32>(&link).unwrap(), Some(2));
        // No temporary left in either folder.
        assert_eq!(std::fs::read_dir(&dotfiles).unwrap().count(), 1);
        assert_eq!(std::fs::read_dir(&config).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_corrupt_symlinked_file_is_kept_aside_and_the_link_stays() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.json");
        std::fs::write(&target, b"{ broken").unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        let Err(ReadError::Corrupt { kept, .. }) = read_json::<u32>(&link) else {
            panic!("not reported as corrupt")
        };
        let name = kept.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("real.json.corrupt-"), "{kept:?}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        write_json(&link, &7).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"7\n");
    }

    #[test]
    fn corrupt_copies_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let mut kept = Vec::new();
        for text in ["{ one", "{ two", "{ three"] {
            std::fs::write(&path, text).unwrap();
            match read_json::<u32>(&path) {
                Err(ReadError::Corrupt { kept: k, .. }) => kept.push(k),
                other => panic!("{other:?}"),
            }
        }
        let texts: Vec<String> = kept
            .iter()
            .map(|k| std::fs::read_to_string(k).unwrap())
            .collect();
        // Three in the same second, most likely: all three kept.
        assert_eq!(texts, ["{ one", "{ two", "{ three"]);
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
