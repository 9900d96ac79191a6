//! Folders of small JSON records, one file each: drafts (and the outbox,
//! which is drafts with a failed attempt) and sent history. One file per
//! record means the app and the CLI, or two windows, never overwrite each
//! other's work; every write is atomic and an unreadable file is kept aside.

use std::io;
use std::path::{Path, PathBuf};

use super::{DataDirs, ReadError, read_json, write_json};

/// A folder of records named `<id>.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    dir: PathBuf,
}

/// What [`Folder::list`] found: the records that could be read (newest file
/// first), and the files that could not (kept aside, see [`read_json`]).
#[derive(Debug)]
pub struct Listing<T> {
    /// Readable records with their ids.
    pub records: Vec<(String, T)>,
    /// Files that could not be read.
    pub problems: Vec<ReadError>,
}

impl Folder {
    /// A folder at `dir` (created on the first save).
    pub fn new(dir: PathBuf) -> Folder {
        Folder { dir }
    }

    /// Drafts and the outbox: `<data>/drafts/`.
    pub fn drafts(dirs: &DataDirs) -> Folder {
        Folder::new(dirs.data.join("drafts"))
    }

    /// Sent messages: `<data>/sent/`.
    pub fn sent(dirs: &DataDirs) -> Folder {
        Folder::new(dirs.data.join("sent"))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a record. Ids are made by [`new_id`]; anything else that
    /// could leave the folder is refused.
    pub fn path(&self, id: &str) -> io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{id:?} is not a record id"),
            ));
        }
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Writes a record atomically.
    pub fn save<T: serde::Serialize>(&self, id: &str, record: &T) -> io::Result<()> {
        write_json(&self.path(id)?, record)
    }

    /// Reads one record; a missing one is `Ok(None)`.
    pub fn load<T: serde::de::DeserializeOwned>(&self, id: &str) -> Result<Option<T>, ReadError> {
        let path = self.path(id).map_err(|source| ReadError::Io {
            path: self.dir.join(id),
            source,
        })?;
        read_json(&path)
    }

    /// Deletes a record; one that is already gone is not an error.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(id)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The ids of the records in the folder, from its listing alone. A
    /// missing folder is empty; a folder that cannot be listed is an error
    /// (not an empty folder: callers prune by this list).
    pub fn ids(&self) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            if let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json"))
                && valid_id(id)
            {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    /// Reads every record, newest file first. A missing folder is empty;
    /// temporary files and files kept aside are skipped.
    pub fn list<T: serde::de::DeserializeOwned>(&self) -> Listing<T> {
        let mut listing = Listing {
            records: Vec::new(),
            problems: Vec::new(),
        };
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return listing,
            Err(source) => {
                listing.problems.push(ReadError::Io {
                    path: self.dir.clone(),
                    source,
                });
                return listing;
            }
        };
        let mut found: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = name.strip_suffix(".json")?;
                if !valid_id(id) {
                    return None;
                }
                let modified = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                Some((modified, id.to_owned()))
            })
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        for (_, id) in found {
            match self.load(&id) {
                Ok(Some(record)) => listing.records.push((id, record)),
                Ok(None) => {} // deleted meanwhile
                Err(e) => listing.problems.push(e),
            }
        }
        listing
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new record id: the UTC time (so names sort by age) and a counter and
/// process id (so two made in the same second, or by two processes, differ).
pub fn new_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = std::time::SystemTime::now();
    let stamp = crate::clock::compact_utc(crate::clock::unix_secs(now));
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{stamp}-{:x}-{:x}{:x}",
        std::process::id(),
        nanos >> 12,
        COUNTER.fetch_add(1, Ordering::Relaxed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_safe_and_sort_by_time() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert!(valid_id(&a), "{a}");
        assert!(a.starts_with("20") && a.as_bytes()[8] == b'T', "{a}");
        for bad in ["", "../x", "a/b", ".hidden", "x.json", &"a".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
            assert!(Folder::new("/tmp".into()).path(bad).is_err());
        }
    }

    #[test]
    fn save_list_load_remove() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path().join("drafts"));
        assert!(folder.list::<Vec<u8>>().records.is_empty(), "no folder yet");
        folder.save("one", &vec![1u8]).unwrap();
        folder.save("two", &vec![2u8]).unwrap();
        // Files that are not records are left alone.
        std::fs::write(folder.dir().join(".two.json.1.tmp"), "x").unwrap();
        std::fs::write(folder.dir().join("notes.txt"), "x").unwrap();
        let listing = folder.list::<Vec<u8>>();
        assert!(listing.problems.is_empty());
        let mut ids: Vec<_> = listing.records.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["one", "two"]);
        assert_eq!(folder.load::<Vec<u8>>("two").unwrap(), Some(vec![2]));
        folder.remove("two").unwrap();
        folder.remove("two").unwrap();
        assert_eq!(folder.load::<Vec<u8>>("two").unwrap(), None);
    }

    #[test]
    fn a_corrupt_record_is_kept_aside_and_the_rest_listed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path().to_owned());
        folder.save("good", &vec![1u8]).unwrap();
        std::fs::write(folder.dir().join("bad.json"), "[1,").unwrap();
        let listing = folder.list::<Vec<u8>>();
        assert_eq!(listing.records, vec![("good".to_string(), vec![1u8])]);
        assert_eq!(listing.problems.len(), 1);
        assert!(listing.problems[0].to_string().contains("was kept as"));
        // Kept under another name, so the next listing is clean.
        assert!(folder.list::<Vec<u8>>().problems.is_empty());
        assert!(std::fs::read_dir(folder.dir()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("bad.json.corrupt-")
        }));
    }
}
