//! The open draft: choosing its account, opening, starting and saving
//! drafts (writes go to the store thread; a crash loses at most a second
//! of typing).

use super::{App, DRAFT_SAVE_DELAY, Tab, compose};
use crate::store::mail::AccountChoice;
use crate::store::mail::Composed;
use crate::store::mail::DraftRecord;

impl App {
    /// Picks an account in the account menu; a saved account with an
    /// address fills From unless the user typed one of their own.
    pub(super) fn choose_account(&mut self, choice: AccountChoice) {
        if choice == self.account {
            return;
        }
        let from_of = |c: &AccountChoice| match c {
            AccountChoice::Saved(name) => {
                self.settings.account(name).and_then(|a| a.from_mailbox())
            }
            AccountChoice::Sandbox => Some(compose::example().from),
            AccountChoice::Custom => None,
        };
        let current = self.compose.from.trim().to_owned();
        let ours =
            current.is_empty() || from_of(&self.account).as_deref() == Some(current.as_str());
        if ours && let Some(from) = from_of(&choice) {
            self.compose.from = from;
        }
        self.account = choice;
    }

    /// Opens a saved draft in the composer (the open one is saved first).
    pub(super) fn open_draft(&mut self, id: &str) {
        // Saved first: it may be the very draft being opened.
        self.save_draft_now();
        let Some(record) = self
            .drafts
            .iter()
            .find(|(d, _)| d == id)
            .map(|(_, r)| r.clone())
        else {
            return;
        };
        self.draft_id = id.to_owned();
        self.compose = record.message.clone();
        self.saved_draft = Some(record.message.clone());
        self.compose_more = false;
        self.dirty_since = None;
        self.confirm_resend = false;
        if match &record.account {
            AccountChoice::Saved(name) => self.settings.account(name).is_some(),
            _ => true,
        } {
            self.account = record.account.clone();
        }
        if let Some(a) = &record.attempt {
            self.show_events(&a.server, &a.transcript);
        }
        self.tab = Tab::Compose;
    }

    /// Starts a new, empty message (the open one stays in Drafts).
    pub(super) fn new_message(&mut self) {
        self.save_draft_now();
        self.start_blank();
        self.tab = Tab::Compose;
    }

    /// A new, empty message from the same sender, with its own id; the
    /// one that was open is already saved (or sent).
    pub(super) fn start_blank(&mut self) {
        let from = self.compose.from.clone();
        self.draft_id = crate::store::records::new_id();
        self.compose = Composed {
            from,
            ..Composed::default()
        };
        self.saved_draft = self.dirs.as_ref().map(|_| self.compose.clone());
        self.compose_more = false;
        self.dirty_since = None;
        self.confirm_resend = false;
    }

    pub(super) fn unknown_of(&self, id: &str) -> serde_json::Map<String, serde_json::Value> {
        self.drafts
            .iter()
            .find(|(d, _)| d == id)
            .map(|(_, r)| r.unknown.clone())
            .unwrap_or_default()
    }

    /// Puts a draft at the top of the list and writes it (worker thread).
    pub(super) fn put_draft(&mut self, id: String, record: DraftRecord) {
        self.drafts.retain(|(d, _)| *d != id);
        if let Some(dirs) = &self.dirs {
            self.tasks.save_record(
                crate::store::records::Folder::drafts(dirs),
                id.clone(),
                record.clone(),
            );
        }
        if id == self.draft_id {
            self.saved_draft = Some(record.message.clone());
            self.dirty_since = None;
        }
        self.drafts.insert(0, (id, record));
    }

    /// Writes the open draft now if it changed (a blank one is not kept).
    pub(super) fn save_draft_now(&mut self) {
        if !self.draft_unsaved() || self.saved_draft.is_none() {
            return;
        }
        let id = self.draft_id.clone();
        if self.compose.is_blank() {
            self.drafts.retain(|(d, _)| *d != id);
            if let Some(dirs) = &self.dirs {
                self.tasks
                    .remove_record(crate::store::records::Folder::drafts(dirs), id);
            }
            self.saved_draft = Some(self.compose.clone());
            self.dirty_since = None;
            return;
        }
        let record = DraftRecord {
            saved_at: crate::clock::unix_secs(std::time::SystemTime::now()),
            account: self.account.clone(),
            message: self.compose.clone(),
            attempt: self.open_record().and_then(|r| r.attempt.clone()),
            unknown: self.unknown_of(&id),
        };
        self.put_draft(id, record);
    }

    /// Saves the draft a moment after the last change, on a worker thread.
    pub(super) fn autosave(&mut self, ctx: &egui::Context) {
        if !self.draft_unsaved() || self.saved_draft.is_none() {
            self.dirty_since = None;
            return;
        }
        let now = std::time::Instant::now();
        let since = *self.dirty_since.get_or_insert(now);
        let waited = now - since;
        if waited >= DRAFT_SAVE_DELAY {
            self.save_draft_now();
        } else {
            ctx.request_repaint_after(DRAFT_SAVE_DELAY - waited);
        }
    }

    /// True once settings, drafts and history have been read.
    pub(super) fn settings_loaded(&self) -> bool {
        self.saved_draft.is_some()
    }

    /// True when the form has changes not yet on disk.
    pub fn draft_unsaved(&self) -> bool {
        self.dirs.is_some() && self.saved_draft.as_ref() != Some(&self.compose)
    }
}
