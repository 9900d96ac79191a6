//! The Sent list without reading every record: `sent-index.json` holds one
//! summary per sent message (what the list shows), so start-up reads one
//! small file however long the history is, and a record's transcript is
//! read only when it is opened.
//!
//! The records stay the truth: at load the index is checked against the
//! folder's listing (names only, no file read), records missing from it
//! are read and added, entries whose record is gone are dropped, and a
//! changed index is written back. A missing or unreadable index is rebuilt
//! from the records (an unreadable one is kept aside first, as every file).

use std::collections::{HashMap, HashSet};
use std::io;

use super::DataDirs;
use super::mail::{SentRecord, SentSummary};
use super::records::Folder;

const VERSION: u32 = 1;

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct IndexFile {
    version: u32,
    /// Id and summary, in no particular order.
    records: Vec<(String, SentSummary)>,
}

/// Beside the folder, not in it: the folder holds records only.
fn path(dirs: &DataDirs) -> std::path::PathBuf {
    dirs.data.join("sent-index.json")
}

/// The Sent list, newest first, and what could not be read (in sentences).
pub fn load(dirs: &DataDirs) -> (Vec<(String, SentSummary)>, Vec<String>) {
    let folder = Folder::sent(dirs);
    let mut problems = Vec::new();
    let index: IndexFile = match super::read_json::<IndexFile>(&path(dirs)) {
        Ok(Some(index)) if index.version == VERSION => index,
        Ok(_) => IndexFile::default(),
        Err(e) => {
            problems.push(format!("{e} (the Sent index is rebuilt from the records)"));
            IndexFile::default()
        }
    };
    let on_disk: HashSet<String> = match folder.ids() {
        Ok(ids) => ids.into_iter().collect(),
        Err(e) => {
            // Not an empty folder: the index is shown as it is, neither
            // pruned nor written, until the folder can be read again.
            problems.push(format!(
                "cannot list the Sent folder {}: {e} (the list shown is the index, unchecked)",
                folder.dir().display()
            ));
            let mut list = index.records;
            sort(&mut list);
            return (list, problems);
        }
    };
    let mut changed = false;
    let mut by_id: HashMap<String, SentSummary> = HashMap::with_capacity(on_disk.len());
    for (id, summary) in index.records {
        if on_disk.contains(&id) {
            by_id.insert(id, summary);
        } else {
            changed = true; // deleted by hand, or kept aside
        }
    }
    for id in &on_disk {
        if by_id.contains_key(id) {
            continue;
        }
        match folder.load::<SentRecord>(id) {
            Ok(Some(record)) => {
                by_id.insert(id.clone(), record.summary());
                changed = true;
            }
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
    }
    let mut list: Vec<(String, SentSummary)> = by_id.into_iter().collect();
    sort(&mut list);
    if changed && let Err(e) = write(dirs, &list) {
        problems.push(format!(
            "cannot write the Sent index {}: {e}",
            path(dirs).display()
        ));
    }
    (list, problems)
}

/// Newest first; the id breaks ties.
fn sort(list: &mut [(String, SentSummary)]) {
    list.sort_by(|a, b| b.1.sent_at.cmp(&a.1.sent_at).then_with(|| b.0.cmp(&a.0)));
}

/// Adds (or replaces) one message's summary: what recording a send does
/// after the record itself is written.
pub fn add(dirs: &DataDirs, id: &str, summary: SentSummary) -> io::Result<()> {
    let mut index = match super::read_json::<IndexFile>(&path(dirs)) {
        Ok(Some(index)) if index.version == VERSION => index,
        // Unreadable or missing: the next load rebuilds it from the records.
        _ => return write(dirs, &load(dirs).0),
    };
    index.records.retain(|(i, _)| i != id);
    index.records.push((id.to_owned(), summary));
    super::write_json(&path(dirs), &index)
}

fn write(dirs: &DataDirs, list: &[(String, SentSummary)]) -> io::Result<()> {
    let index = IndexFile {
        version: VERSION,
        records: list.to_vec(),
    };
    super::write_json(&path(dirs), &index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::history::Mail;
    use crate::store::mail::Composed;

    fn record(at: i64, subject: &str) -> SentRecord {
        SentRecord {
            sent_at: at,
            server: "mx:25".into(),
            message: Composed {
                subject: subject.into(),
                ..Composed::default()
            },
            transcript: vec![crate::smtp::TranscriptEvent {
                at: std::time::Duration::ZERO,
                direction: crate::smtp::Direction::Sent,
                secure: false,
                text: "EHLO x".into(),
                code: None,
            }],
            ..SentRecord::default()
        }
    }

    fn subjects(list: &[(String, SentSummary)]) -> Vec<&str> {
        list.iter().map(|(_, s)| s.subject.as_str()).collect()
    }

    #[test]
    fn the_index_is_built_kept_in_step_and_rebuilt() {
        let root = tempfile::tempdir().unwrap();
        let dirs = DataDirs::at(root.path());
        let folder = Folder::sent(&dirs);
        // Records from before the index existed.
        folder.save("a1", &record(100, "first")).unwrap();
        folder.save("a2", &record(200, "second")).unwrap();
        let (list, problems) = load(&dirs);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(subjects(&list), ["second", "first"], "newest first");
        assert!(path(&dirs).is_file(), "written on first load");

        // A send adds its record and its summary.
        folder.save("a3", &record(300, "third")).unwrap();
        add(&dirs, "a3", record(300, "third").summary()).unwrap();
        // With the index complete, load reads no record: a record made
        // unreadable is not even opened.
        std::fs::write(folder.path("a1").unwrap(), "not json").unwrap();
        let (list, problems) = load(&dirs);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(subjects(&list), ["third", "second", "first"]);

        // A record deleted by hand leaves the list.
        folder.remove("a2").unwrap();
        assert_eq!(subjects(&load(&dirs).0), ["third", "first"]);

        // A corrupt index is kept aside and rebuilt from the records.
        std::fs::write(path(&dirs), "{ broken").unwrap();
        std::fs::write(
            folder.path("a1").unwrap(),
            serde_json::to_vec(&record(100, "first")).unwrap(),
        )
        .unwrap();
        let (list, problems) = load(&dirs);
        assert_eq!(subjects(&list), ["third", "first"]);
        assert!(
            problems[0].contains("rebuilt from the records"),
            "{problems:?}"
        );

        // A folder that cannot be listed is not an empty folder: the index
        // is shown as it was and is not rewritten.
        let dir = folder.dir().to_owned();
        let aside = dir.with_extension("aside");
        std::fs::rename(&dir, &aside).unwrap();
        std::fs::write(&dir, "a file where the folder was").unwrap();
        let before = std::fs::read(path(&dirs)).unwrap();
        let (list, problems) = load(&dirs);
        assert_eq!(subjects(&list), ["third", "first"]);
        assert!(problems[0].contains("cannot list"), "{problems:?}");
        assert_eq!(std::fs::read(path(&dirs)).unwrap(), before, "not rewritten");
        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(&aside, &dir).unwrap();

        // Mail::load lists summaries: no transcript in memory.
        let mail = Mail::load(&dirs);
        assert_eq!(mail.sent.len(), 2);
    }
}
