//! Drafts and sent history as the window reads them at start-up: drafts
//! whole (they are the work in progress), Sent as summaries from its index.

use super::DataDirs;
use super::mail::{Composed, DraftRecord, SentSummary};
use super::records::{Folder, new_id};

/// Drafts and sent history as read from disk.
#[derive(Debug, Default)]
pub struct Mail {
    /// Drafts and the outbox, newest first.
    pub drafts: Vec<(String, DraftRecord)>,
    /// Sent history, newest first, as summaries (records are read when
    /// opened).
    pub sent: Vec<(String, SentSummary)>,
    /// Files that could not be read (each kept aside), in sentences.
    pub problems: Vec<String>,
}

impl Mail {
    /// Reads drafts and history. A draft left by an older version
    /// (`drafts/current.json`, the bare form) becomes a draft record first.
    pub fn load(dirs: &DataDirs) -> Mail {
        let mut problems = Vec::new();
        let drafts = Folder::drafts(dirs);
        let legacy = drafts.dir().join("current.json");
        match super::read_json::<Composed>(&legacy) {
            Ok(Some(mut message)) => {
                message.forget_form_state();
                let record = DraftRecord {
                    saved_at: crate::clock::unix_secs(
                        std::fs::metadata(&legacy)
                            .and_then(|m| m.modified())
                            .unwrap_or_else(|_| std::time::SystemTime::now()),
                    ),
                    message,
                    ..DraftRecord::default()
                };
                match drafts.save(&new_id(), &record) {
                    Ok(()) => {
                        let _ = std::fs::remove_file(&legacy);
                    }
                    Err(e) => problems.push(format!("cannot move {}: {e}", legacy.display())),
                }
            }
            Ok(None) => {}
            Err(e) => problems.push(e.to_string()),
        }
        let mut listing = drafts.list::<DraftRecord>();
        problems.extend(listing.problems.iter().map(|p| p.to_string()));
        listing
            .records
            .sort_by_key(|(_, r)| std::cmp::Reverse(r.saved_at));
        for (_, r) in &mut listing.records {
            r.message.forget_form_state();
        }
        let (sent, sent_problems) = super::sent_index::load(dirs);
        problems.extend(sent_problems);
        Mail {
            drafts: listing.records,
            sent,
            problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_moves_an_old_draft_and_drops_form_state() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = DataDirs::at(dir.path());
        let drafts = Folder::drafts(&dirs);
        std::fs::create_dir_all(drafts.dir()).unwrap();
        std::fs::write(
            drafts.dir().join("current.json"),
            r#"{"to":"a@example.org","subject":"old","show_more":true,"tag":"kept"}"#,
        )
        .unwrap();
        std::fs::write(drafts.dir().join("broken.json"), "{ not json").unwrap();
        let mail = Mail::load(&dirs);
        assert_eq!(mail.drafts.len(), 1, "{:?}", mail.problems);
        let message = &mail.drafts[0].1.message;
        assert_eq!(message.subject, "old");
        assert!(!message.unknown.contains_key("show_more"));
        assert_eq!(message.unknown["tag"], "kept");
        assert!(!drafts.dir().join("current.json").exists());
        assert_eq!(mail.problems.len(), 1, "{:?}", mail.problems);
        assert!(
            mail.problems[0].contains("broken.json"),
            "{:?}",
            mail.problems
        );
    }
}
