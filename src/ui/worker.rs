//! Window-only work that must not run on the UI thread: file dialogs, file
//! reads and writes, keychain calls and starting the sandbox (sends and
//! probes are [`crate::app::spawn`]'s). Each job runs on a named thread and
//! reports over a channel, waking the UI with `request_repaint`.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;

use std::sync::Arc;

use crate::message::{self, Draft};
use crate::smtp;
use crate::store::DataDirs;
use crate::store::accounts::{self, Change, IfNoKeychain};
use crate::store::history::Mail;
use crate::store::mail::{Attachment, SentRecord};
use crate::store::records::Folder;
use crate::store::secrets::SecretStore;
use crate::store::settings::Settings;

/// Wakes the UI from another thread.
pub type Notify = std::sync::Arc<dyn Fn() + Send + Sync>;

/// Results of small background jobs.
pub enum Background {
    /// No file dialog can be shown (why): the window asks for a path.
    NoFileDialog(super::dialogs::DialogFor, String),
    /// A Sent record read from disk, for what it was opened for.
    SentLoaded(SentUse, Result<SentRecord, String>),
    /// Files were looked at for attaching: entries, and errors naming the file.
    Inspected(Vec<Result<Attachment, String>>),
    /// The user picked files in the open dialog.
    Picked(Vec<PathBuf>),
    /// A save finished.
    Saved(Result<PathBuf, String>),
    /// A save to a typed path stopped because the file exists: ask first.
    SaveWouldReplace(PathBuf, String),
    /// A sign-in's progress and outcome, an account's sign-in state.
    SignIn(super::accounts::oauth::SignInMsg),
    /// The sandbox started (or could not).
    Sandbox(Result<crate::sandbox::Sandbox, String>),
    /// Settings, drafts and history, read at start.
    StoreLoaded(Box<Loaded>),
    /// A CA file was picked, for the account form or the console.
    CaPicked(CaFor, PathBuf),
    /// An account was saved (or why not).
    AccountSaved(Result<Box<accounts::Saved>, String>),
    /// An account was deleted: its name, and what became of it.
    AccountDeleted(Result<(String, Box<accounts::Deleted>), String>),
    /// Writing a draft or a record failed.
    StoreFailed(String),
    /// The Compose message, built (or why not).
    Built(Built, Result<RawMessage, String>),
    /// A transcript file was read (or why not).
    TranscriptLoaded(
        Result<
            (
                PathBuf,
                crate::smtp::transcript::TranscriptHeader,
                Vec<crate::smtp::TranscriptEvent>,
            ),
            String,
        >,
    ),
    /// The settings file, read again (the window came back into focus).
    SettingsReloaded(Settings),
}

/// What a built message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Built {
    /// The console's DATA box.
    Console,
    /// The composer's Raw view.
    Raw,
}

/// A message as it would be sent: its envelope and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Where it comes from: "the Compose message", or the file's name.
    pub origin: String,
    /// MAIL FROM and each RCPT TO (Bcc included), as the commands carry
    /// them without the server-dependent parameters.
    pub envelope: Vec<String>,
    /// The message, CRLF line ends, before dot-stuffing.
    pub text: String,
    /// What `postscope lint` finds in it (nothing, for what Postscope builds).
    pub findings: Vec<message::lint::Finding>,
}

/// Why a Sent record is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentUse {
    /// Its transcript goes to the panel.
    ShowTranscript,
    /// A copy opens as a new draft.
    SendAgain,
}

pub use super::dialogs::CaFor;

/// What was on disk at start.
pub struct Loaded {
    /// Accounts and preferences.
    pub settings: Settings,
    /// Drafts, the outbox and sent history.
    pub mail: Mail,
    /// Why the keychain cannot be used, if saved accounts need it and it
    /// cannot.
    pub keychain_problem: Option<String>,
}

/// The keychain entry asked for when no account has one: never stored.
const PROBE_ENTRY: &str = "postscope: is a keychain running?";

/// Reads settings, drafts and history, and asks the keychain only when an
/// account needs it (it may prompt to unlock).
pub fn load_store(dirs: &DataDirs, secrets: &dyn SecretStore) -> Loaded {
    let (settings, problem) = Settings::load(dirs);
    let mut mail = Mail::load(dirs);
    mail.problems.splice(0..0, problem.map(|p| p.to_string()));
    // Asked even with no account yet, so the form can say before saving
    // that there is no keychain (an absent entry is a cheap "no").
    let probe = settings
        .accounts
        .iter()
        .find(|a| a.logs_in())
        .map_or(PROBE_ENTRY, |a| a.name.as_str());
    let keychain_problem = secrets.get(probe).err().map(|e| e.to_string());
    Loaded {
        settings,
        mail,
        keychain_problem,
    }
}

/// A channel for [`Background`] results, and the way to wake the UI.
#[derive(Clone)]
pub struct Tasks {
    tx: Sender<Background>,
    notify: Notify,
    /// Drafts and history are written by one thread, in the order asked:
    /// two saves of one draft can never land out of order.
    store: Sender<StoreJob>,
}

type StoreJob = Box<dyn FnOnce() -> Option<Background> + Send>;

impl Tasks {
    /// A new channel; the receiver goes to the App.
    pub fn new(notify: Notify) -> (Tasks, Receiver<Background>) {
        let (tx, rx) = channel();
        let (store, jobs) = channel::<StoreJob>();
        let writer_tx = tx.clone();
        let writer_notify = notify.clone();
        // Ends when the Tasks (and so the sender) are dropped.
        let _ = thread::Builder::new()
            .name("postscope-store".into())
            .spawn(move || {
                for job in jobs {
                    if let Some(msg) = job() {
                        let _ = writer_tx.send(msg);
                        writer_notify();
                    }
                }
            });
        (Tasks { tx, notify, store }, rx)
    }

    /// Waits (at most `limit`) until every write asked so far is on disk:
    /// the window is closing.
    pub fn flush_store(&self, limit: std::time::Duration) {
        let (done, wait) = channel();
        self.write(move || {
            let _ = done.send(());
            None
        });
        let _ = wait.recv_timeout(limit);
    }

    /// Runs a write on the store thread, after the ones asked before it.
    fn write(&self, job: impl FnOnce() -> Option<Background> + Send + 'static) {
        if let Err(e) = self.store.send(Box::new(job)) {
            // The writer is gone (it cannot be, short of a panic): write here.
            if let Some(msg) = (e.0)() {
                let _ = self.tx.send(msg);
            }
        }
    }

    /// The wake-up function, for jobs that report elsewhere.
    pub fn notify(&self) -> Notify {
        self.notify.clone()
    }

    /// Sends a message to the window from any thread, waking it.
    pub(super) fn sender(&self) -> impl Fn(Background) + Send + 'static {
        let tx = self.tx.clone();
        let notify = self.notify.clone();
        move |msg| {
            let _ = tx.send(msg);
            notify();
        }
    }

    pub(super) fn spawn(
        &self,
        name: &str,
        job: impl FnOnce() -> Option<Background> + Send + 'static,
    ) {
        let tx = self.tx.clone();
        let notify = self.notify.clone();
        let result = thread::Builder::new().name(name.into()).spawn(move || {
            if let Some(msg) = job() {
                let _ = tx.send(msg);
                notify();
            }
        });
        if let Err(e) = result {
            let _ = self.tx.send(Background::Saved(Err(format!(
                "cannot start a thread: {e}"
            ))));
        }
    }

    /// Looks at files to attach (size, type) off the UI thread. The file
    /// dialog and drag-and-drop both come here.
    pub fn inspect(&self, paths: Vec<PathBuf>) {
        self.spawn("postscope-inspect", move || {
            Some(Background::Inspected(
                paths.into_iter().map(|p| Attachment::inspect(&p)).collect(),
            ))
        });
    }

    /// Opens the native "attach files" dialog without blocking the UI.
    pub fn pick_files(&self) {
        self.spawn("postscope-dialog", move || {
            if let Some(no) = no_dialog(super::dialogs::DialogFor::Attach) {
                return Some(no);
            }
            rfd::FileDialog::new()
                .set_title("Attach files")
                .pick_files()
                .map(Background::Picked)
        });
    }

    /// Asks where to save, then writes `contents(path)` there.
    pub fn save_as(
        &self,
        suggested: &str,
        contents: impl FnOnce(&std::path::Path) -> Vec<u8> + Send + 'static,
    ) {
        let suggested = suggested.to_owned();
        self.spawn("postscope-save", move || {
            if let Some(no) = no_dialog(super::dialogs::DialogFor::SaveTranscript) {
                return Some(no);
            }
            let path = rfd::FileDialog::new()
                .set_title("Save transcript")
                .set_file_name(&suggested)
                .add_filter("Text", &["txt"])
                .add_filter("JSON Lines", &["jsonl"])
                .add_filter("Web page with the diagram", &["html"])
                .save_file()?;
            Some(write_file(&path, contents))
        });
    }

    /// Writes `contents(path)` to a path already chosen (the path prompt).
    pub fn save_to(
        &self,
        path: PathBuf,
        contents: impl FnOnce(&std::path::Path) -> Vec<u8> + Send + 'static,
    ) {
        self.spawn("postscope-save", move || Some(write_file(&path, contents)));
    }

    /// [`Tasks::save_to`], unless the file exists (a typed path: nobody
    /// has been asked about replacing it yet). `why_typed` comes back
    /// with the question: why the path was typed.
    pub fn save_new(
        &self,
        path: PathBuf,
        why_typed: String,
        contents: impl FnOnce(&std::path::Path) -> Vec<u8> + Send + 'static,
    ) {
        self.spawn("postscope-save", move || {
            Some(if path.exists() {
                Background::SaveWouldReplace(path, why_typed)
            } else {
                write_file(&path, contents)
            })
        });
    }

    /// Reads settings, drafts and history.
    pub fn load_store(&self, dirs: DataDirs, secrets: Arc<dyn SecretStore>) {
        self.spawn("postscope-load", move || {
            Some(Background::StoreLoaded(Box::new(load_store(
                &dirs, &*secrets,
            ))))
        });
    }

    /// Reads the settings file again, to see accounts added meanwhile by
    /// `postscope account` or another window. An unreadable file is left
    /// for the next start to report and keep aside.
    pub fn reload_settings(&self, dirs: DataDirs) {
        self.spawn(
            "postscope-settings",
            move || match crate::store::read_json::<Settings>(&Settings::path(&dirs)) {
                Ok(Some(settings)) => Some(Background::SettingsReloaded(settings)),
                _ => None,
            },
        );
    }

    /// Writes a record (a draft) atomically.
    pub fn save_record<T: serde::Serialize + Send + 'static>(
        &self,
        folder: Folder,
        id: String,
        record: T,
    ) {
        self.write(move || {
            folder.save(&id, &record).err().map(|e| {
                Background::StoreFailed(format!(
                    "cannot save the draft in {}: {e}",
                    folder.dir().display()
                ))
            })
        });
    }

    /// Deletes a record.
    pub fn remove_record(&self, folder: Folder, id: String) {
        self.write(move || {
            folder.remove(&id).err().map(|e| {
                Background::StoreFailed(format!(
                    "cannot delete {id} in {}: {e}",
                    folder.dir().display()
                ))
            })
        });
    }

    /// Files a delivered message under Sent, then removes its draft (in
    /// that order: a crash between the two leaves a copy, never nothing).
    pub fn record_sent(&self, dirs: DataDirs, id: String, record: SentRecord) {
        self.write(move || {
            let result = Folder::sent(&dirs).save(&id, &record).and_then(|()| {
                // Best effort: a record missing from the index is added
                // from the folder at the next start. The draft goes either
                // way, or it would be sent twice.
                let _ = crate::store::sent_index::add(&dirs, &id, record.summary());
                Folder::drafts(&dirs).remove(&id)
            });
            result.err().map(|e| {
                Background::StoreFailed(format!(
                    "the message was delivered, but recording it under Sent failed: {e}"
                ))
            })
        });
    }

    /// Reads one Sent record (its transcript and body are not kept in
    /// memory with the list).
    pub fn load_sent(&self, dirs: DataDirs, id: String, purpose: SentUse) {
        self.spawn("postscope-load-sent", move || {
            let result = match Folder::sent(&dirs).load::<SentRecord>(&id) {
                Ok(Some(mut record)) => {
                    record.message.forget_form_state();
                    Ok(record)
                }
                Ok(None) => Err("this sent message's record is gone from disk".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            Some(Background::SentLoaded(purpose, result))
        });
    }

    /// Saves an account: secret to the keychain, the rest to settings;
    /// without a keychain the secret comes back for this session.
    pub fn save_account(&self, dirs: DataDirs, secrets: Arc<dyn SecretStore>, change: Change) {
        self.spawn("postscope-account-save", move || {
            Some(Background::AccountSaved(
                accounts::save(&dirs, &*secrets, change, IfNoKeychain::KeepForSession)
                    .map(Box::new)
                    .map_err(|e| e.to_string()),
            ))
        });
    }

    /// Deletes an account and its keychain entry.
    pub fn delete_account(&self, dirs: DataDirs, secrets: Arc<dyn SecretStore>, name: String) {
        self.spawn("postscope-account-delete", move || {
            Some(Background::AccountDeleted(
                accounts::delete(&dirs, &*secrets, &name, IfNoKeychain::KeepForSession)
                    .map(|deleted| (name, Box::new(deleted)))
                    .map_err(|e| e.to_string()),
            ))
        });
    }

    /// Asks for a saved `.jsonl` transcript and reads it.
    pub fn open_transcript(&self) {
        self.spawn("postscope-open-transcript", move || {
            if let Some(no) = no_dialog(super::dialogs::DialogFor::OpenTranscript) {
                return Some(no);
            }
            let path = rfd::FileDialog::new()
                .set_title("Open a transcript")
                .add_filter("JSON Lines transcript", &["jsonl"])
                .pick_file()?;
            Some(Background::TranscriptLoaded(read_transcript(&path)))
        });
    }

    /// Reads a saved `.jsonl` transcript (what Open… does once a file is
    /// chosen).
    pub fn load_transcript(&self, path: PathBuf) {
        self.spawn("postscope-open-transcript", move || {
            Some(Background::TranscriptLoaded(read_transcript(&path)))
        });
    }

    /// Builds the Compose message as it would be sent (reading its
    /// attachments), for the console's DATA box or the Raw view.
    pub fn build_message(&self, draft: Draft, purpose: Built) {
        self.spawn("postscope-build", move || {
            const LIMIT: u64 = 1024 * 1024;
            let result = match message::build_streaming(&draft) {
                Ok(built) => match smtp::BodySource::size(&built).unwrap_or(0) {
                    size if size > LIMIT => Err(format!(
                        "the Compose message is {}: too big to show here (1 MiB at most)",
                        smtp::format_bytes(size)
                    )),
                    _ => built
                        .to_bytes()
                        .map(|b| RawMessage {
                            origin: "the Compose message".into(),
                            envelope: built.envelope.commands(),
                            findings: message::lint::lint(&b),
                            text: String::from_utf8_lossy(&b).into_owned(),
                        })
                        .map_err(|e| e.to_string()),
                },
                Err(e) => Err(format!("the Compose message cannot be built: {e}")),
            };
            Some(Background::Built(purpose, result))
        });
    }

    /// Reads a message file for the Raw view (`postscope FILE.eml`, "Open
    /// with Postscope").
    pub fn open_message(&self, path: PathBuf) {
        self.spawn("postscope-open-message", move || {
            let origin = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let result = message::opened::open(&path).map(|m| RawMessage {
                origin,
                envelope: m.envelope,
                text: m.text,
                findings: m.findings,
            });
            Some(Background::Built(Built::Raw, result))
        });
    }

    /// Opens the native dialog to choose a CA file.
    pub fn pick_ca_file(&self, for_form: CaFor) {
        self.spawn("postscope-dialog", move || {
            if let Some(no) = no_dialog(super::dialogs::DialogFor::CaFile(for_form)) {
                return Some(no);
            }
            rfd::FileDialog::new()
                .set_title("Choose a CA certificate (PEM)")
                .add_filter("PEM certificates", &["pem", "crt", "cer"])
                .pick_file()
                .map(|path| Background::CaPicked(for_form, path))
        });
    }

    /// Starts the local sandbox server.
    pub fn start_sandbox(&self) {
        self.spawn("postscope-sandbox-start", move || {
            Some(Background::Sandbox(
                crate::sandbox::Sandbox::start(crate::sandbox::SandboxConfig::default())
                    .map_err(|e| e.to_string()),
            ))
        });
    }
}

/// Reads a saved transcript file.
#[allow(clippy::type_complexity)]
pub fn read_transcript(
    path: &std::path::Path,
) -> Result<
    (
        PathBuf,
        crate::smtp::transcript::TranscriptHeader,
        Vec<crate::smtp::TranscriptEvent>,
    ),
    String,
> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (header, events) = crate::smtp::transcript::parse_jsonl(&text)
        .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    Ok((path.to_owned(), header, events))
}

/// Writes a file the person chose, atomically; the result for the status bar.
/// `Some(NoFileDialog)` when no native file dialog can be shown for
/// `purpose` (the window then asks for a typed path).
fn no_dialog(purpose: super::dialogs::DialogFor) -> Option<Background> {
    super::dialogs::available()
        .err()
        .map(|why| Background::NoFileDialog(purpose, why))
}

fn write_file(
    path: &std::path::Path,
    contents: impl FnOnce(&std::path::Path) -> Vec<u8>,
) -> Background {
    let bytes = contents(path);
    Background::Saved(
        crate::store::write_atomically(path, &bytes)
            .map(|()| path.to_owned())
            .map_err(|e| format!("cannot save {}: {e}", path.display())),
    )
}
