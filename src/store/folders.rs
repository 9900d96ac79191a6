//! Where Postscope keeps its files, one folder per platform, and the one-time
//! moves from the places older versions used.
//!
//! | platform | settings                         | drafts, history, window state       |
//! |----------|----------------------------------|-------------------------------------|
//! | Linux    | `$XDG_CONFIG_HOME/postscope`     | `$XDG_DATA_HOME/postscope`          |
//! | macOS    | `~/Library/Application Support/org.postscope.Postscope` (both) | |
//! | Windows  | `%APPDATA%\postscope\Postscope\config` | `%APPDATA%\postscope\Postscope\data` |
//!
//! The window's own state (size, position, egui's memory) is eframe's
//! `app.ron`; it lives in the data folder as `window.ron` rather than in a
//! folder of eframe's naming beside it.

use std::path::{Path, PathBuf};

/// The app id: desktop entry, AppStream id, Wayland app id, macOS folder.
pub const APP_ID: &str = "org.postscope.Postscope";

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
        // "postscope" in lower case: on macOS the folder is then the app id
        // itself (`org.postscope.Postscope`); Linux lower-cases it anyway.
        let dirs = directories::ProjectDirs::from("org", "postscope", "Postscope")?;
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

    /// The window's saved state (eframe's storage file).
    pub fn window_state(&self) -> PathBuf {
        self.data.join("window.ron")
    }

    /// Moves what older versions kept elsewhere into these folders, once:
    /// the macOS folder spelled `org.Postscope.Postscope`, and eframe's
    /// `app.ron` from the folder eframe names after the app id. Nothing is
    /// overwritten: a file already in the new place wins and the old one
    /// stays where it was. Returns what was moved, for the log.
    pub fn adopt_legacy(&self) -> Vec<String> {
        let mut moved = Vec::new();
        if cfg!(target_os = "macos")
            && let Some(old) = directories::ProjectDirs::from("org", "Postscope", "Postscope")
            && let Some(m) = adopt_folder(old.data_dir(), &self.data)
        {
            moved.push(m);
        }
        if let Some(base) = directories::BaseDirs::new() {
            for old in eframe_state_files(base.data_dir()) {
                if let Some(m) = move_file_once(&old, &self.window_state()) {
                    moved.push(m);
                }
            }
        }
        moved
    }
}

/// Where eframe 0.37 kept `app.ron` for our app id, by platform.
fn eframe_state_files(base: &Path) -> Vec<PathBuf> {
    if cfg!(target_os = "windows") {
        vec![base.join(APP_ID).join("data").join("app.ron")]
    } else if cfg!(target_os = "macos") {
        vec![base.join(APP_ID).join("app.ron")]
    } else {
        vec![base.join(APP_ID.to_lowercase()).join("app.ron")]
    }
}

/// Moves `old` to `new` unless `new` exists; removes `old`'s folder when it
/// is left empty. `Some(description)` when something moved.
fn move_file_once(old: &Path, new: &Path) -> Option<String> {
    if !old.is_file() || new.exists() {
        return None;
    }
    super::create_private_dirs(new.parent()?).ok()?;
    if std::fs::rename(old, new).is_err() {
        // Another file system: copy, then remove.
        std::fs::copy(old, new).ok()?;
        std::fs::remove_file(old).ok()?;
    }
    if let Some(folder) = old.parent() {
        let _ = std::fs::remove_dir(folder); // only when empty
    }
    Some(format!("{} → {}", old.display(), new.display()))
}

/// Moves the folder `old` to `new` (names that may differ only in case):
/// on a case-sensitive volume when `new` does not exist yet, on a
/// case-insensitive one when the folder on disk still has the old spelling.
fn adopt_folder(old: &Path, new: &Path) -> Option<String> {
    // Through a temporary name: a rename that changes only case is a no-op
    // on some volumes. A move cut short between the two renames is
    // finished first.
    let tmp = old.with_file_name(".postscope-rename");
    if tmp.is_dir() && !new.exists() {
        std::fs::rename(&tmp, new).ok()?;
        return Some(format!("{} → {}", tmp.display(), new.display()));
    }
    let on_disk = spelled_on_disk(old)?;
    if on_disk == new.file_name()? {
        return None; // already the new spelling (one folder, two names)
    }
    if new.exists() && !same_entry(old, new) {
        // On macOS eframe's own folder is the new one: a start of the new
        // version may have made it for its window state alone. That is
        // not "both exist": the window state joins the old folder.
        if !holds_only_window_state(new) {
            return None; // both exist: the new one wins
        }
        for entry in std::fs::read_dir(new).ok()?.flatten() {
            std::fs::rename(entry.path(), old.join(entry.file_name())).ok()?;
        }
        std::fs::remove_dir(new).ok()?;
    }
    std::fs::rename(old, &tmp).ok()?;
    if std::fs::rename(&tmp, new).is_err() {
        let _ = std::fs::rename(&tmp, old);
        return None;
    }
    Some(format!("{} → {}", old.display(), new.display()))
}

/// Whether a folder holds nothing but eframe's window state.
fn holds_only_window_state(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().all(|e| {
            e.path().is_file() && matches!(e.file_name().to_str(), Some("app.ron" | "window.ron"))
        })
    })
}

/// The name the folder holding `path` gives it (its real spelling), if it
/// exists.
fn spelled_on_disk(path: &Path) -> Option<std::ffi::OsString> {
    let want = path.file_name()?.to_string_lossy().to_lowercase();
    std::fs::read_dir(path.parent()?)
        .ok()?
        .flatten()
        .map(|e| e.file_name())
        .find(|n| n.to_string_lossy().to_lowercase() == want)
        .filter(|_| path.exists())
}

/// Whether two paths name the same folder (a case-insensitive volume).
fn same_entry(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eframe_state_moves_once_and_never_over_a_newer_file() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("org.postscope.postscope/app.ron");
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::write(&old, "(old)").unwrap();
        let new = root.path().join("postscope/window.ron");
        assert!(move_file_once(&old, &new).is_some());
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "(old)");
        assert!(
            !old.exists() && !old.parent().unwrap().exists(),
            "empty old folder removed"
        );

        // Both present: the new one wins, the old one is left alone.
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::write(&old, "(older)").unwrap();
        assert!(move_file_once(&old, &new).is_none());
        assert_eq!(std::fs::read_to_string(&new).unwrap(), "(old)");
        assert!(old.exists());
    }

    #[test]
    fn a_folder_spelled_the_old_way_is_renamed_once() {
        // Linux volumes are case-sensitive: the move is a real move here.
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("org.Postscope.Postscope");
        let new = root.path().join("org.postscope.Postscope");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("settings.json"), "{}").unwrap();
        assert!(adopt_folder(&old, &new).is_some());
        assert!(new.join("settings.json").is_file() && !old.exists());
        assert!(adopt_folder(&old, &new).is_none(), "nothing left to move");
        // Both spellings present: nothing moves.
        std::fs::create_dir(&old).unwrap();
        assert!(adopt_folder(&old, &new).is_none());
        assert!(old.exists());
    }

    #[test]
    fn a_new_folder_with_only_window_state_does_not_block_the_move() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("org.Postscope.Postscope");
        let new = root.path().join("org.postscope.Postscope");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("settings.json"), "{}").unwrap();
        std::fs::create_dir(&new).unwrap();
        std::fs::write(new.join("app.ron"), "(window)").unwrap();
        assert!(adopt_folder(&old, &new).is_some());
        assert!(new.join("settings.json").is_file() && new.join("app.ron").is_file());
        assert!(!old.exists());
    }

    #[test]
    fn a_move_cut_short_between_renames_is_finished() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("org.Postscope.Postscope");
        let new = root.path().join("org.postscope.Postscope");
        let tmp = root.path().join(".postscope-rename");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::write(tmp.join("settings.json"), "{}").unwrap();
        assert!(adopt_folder(&old, &new).is_some());
        assert!(new.join("settings.json").is_file() && !tmp.exists());
    }

    #[test]
    fn window_state_lives_in_the_data_folder() {
        let dirs = DataDirs::at(Path::new("/x"));
        assert_eq!(dirs.window_state(), Path::new("/x/data/window.ron"));
        if cfg!(target_os = "linux") {
            let base = Path::new("/home/u/.local/share");
            assert_eq!(
                eframe_state_files(base),
                vec![base.join("org.postscope.postscope/app.ron")]
            );
        }
    }
}
