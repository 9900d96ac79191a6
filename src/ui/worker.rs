//! Work that must not run on the UI thread: sending (message building reads
//! the attachments; the engine does network I/O), file dialogs, file reads
//! and writes, and starting the sandbox. Each job runs on a named thread and
//! reports over a channel, waking the UI with `request_repaint`.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;

use crate::message::{self, Draft};
use crate::smtp::{
    self, AuthPlan, CancelToken, ClientId, Connection, Credentials, Envelope, Event, Job, Report,
    Secret, SessionConfig, SessionError, Target, Timeouts, TlsMode, TlsOptions,
};

/// Wakes the UI from another thread.
pub type Notify = std::sync::Arc<dyn Fn() + Send + Sync>;

/// Where and how to send: everything but the message.
#[derive(Clone)]
pub struct SendSpec {
    /// The server.
    pub target: Target,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// Certificate checking.
    pub tls_options: TlsOptions,
    /// User name and password, if the account logs in.
    pub login: Option<(String, String)>,
    /// Time limits.
    pub timeouts: Timeouts,
}

/// Why a send failed.
#[derive(Debug, Clone)]
pub enum SendFailure {
    /// The draft could not become a message (bad address, unreadable file).
    Build(String),
    /// The session failed.
    Session(SessionError),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Build(e) => write!(f, "the message could not be built: {e}"),
            SendFailure::Session(e) => write!(f, "failed during {}: {e}", e.stage()),
        }
    }
}

/// What a send job reports.
pub enum SendMsg {
    /// The message was built; the session starts.
    Built {
        /// Its size in bytes.
        size: u64,
    },
    /// An engine event (transcript line, stage, progress).
    Event(Event),
    /// The end.
    Done(Box<Report>, Result<(), SendFailure>),
}

/// A running send.
pub struct SendJob {
    /// Its reports.
    pub rx: Receiver<SendMsg>,
    /// Cancels it.
    pub cancel: CancelToken,
}

/// Builds the message and sends it on a worker thread.
pub fn spawn_send(draft: Draft, spec: SendSpec, notify: Notify) -> SendJob {
    let (tx, rx) = channel();
    let cancel = CancelToken::default();
    let job_cancel = cancel.clone();
    let spawned = thread::Builder::new().name("postscope-send".into()).spawn({
        let tx = tx.clone();
        let notify = notify.clone();
        move || {
            let send = |m: SendMsg| {
                let _ = tx.send(m);
                notify();
            };
            let built = match message::build(&draft) {
                Ok(b) => b,
                Err(e) => {
                    return send(SendMsg::Done(
                        Box::default(),
                        Err(SendFailure::Build(e.to_string())),
                    ));
                }
            };
            send(SendMsg::Built {
                size: built.bytes.len() as u64,
            });
            let auth = match spec.login {
                Some((user, password)) => AuthPlan::Auto(Credentials {
                    user,
                    secret: Secret::Password(password),
                }),
                None => AuthPlan::None,
            };
            let config = SessionConfig {
                client_id: ClientId::local(),
                tls: spec.tls,
                auth,
                job: Job::Send(Envelope {
                    from: built.envelope.from.clone(),
                    recipients: built.envelope.recipients.clone(),
                    size: Some(built.bytes.len() as u64),
                    eight_bit: !built.bytes.is_ascii(),
                }),
                allow_partial: false,
                timeouts: spec.timeouts,
            };
            let (report, result) = smtp::run(
                Connection {
                    target: &spec.target,
                    tls: &spec.tls_options,
                    cancel: &job_cancel,
                },
                config,
                Some(&built.bytes),
                &mut |event| send(SendMsg::Event(event.clone())),
            );
            send(SendMsg::Done(
                Box::new(report),
                result.map_err(SendFailure::Session),
            ));
        }
    });
    if let Err(e) = spawned {
        let _ = tx.send(SendMsg::Done(
            Box::default(),
            Err(SendFailure::Build(format!("cannot start a thread: {e}"))),
        ));
        notify();
    }
    SendJob { rx, cancel }
}

/// An attachment in the compose form, after its file was looked at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachmentEntry {
    /// The file.
    pub path: PathBuf,
    /// Its name, as the recipient will see it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The guessed content type.
    pub content_type: String,
}

/// Results of small background jobs.
pub enum Background {
    /// Files were looked at for attaching: entries, and errors naming the file.
    Inspected(Vec<Result<AttachmentEntry, String>>),
    /// The user picked files in the open dialog.
    Picked(Vec<PathBuf>),
    /// A save finished.
    Saved(Result<PathBuf, String>),
    /// The sandbox started (or could not).
    Sandbox(Result<crate::sandbox::Sandbox, String>),
    /// The draft saved by the last session, if any; or why it could not be
    /// read (the file was then kept aside).
    DraftLoaded(Result<Option<crate::ui::compose::ComposeState>, String>),
    /// Saving the draft failed.
    DraftNotSaved(String),
}

/// A channel for [`Background`] results, and the way to wake the UI.
#[derive(Clone)]
pub struct Tasks {
    tx: Sender<Background>,
    notify: Notify,
}

impl Tasks {
    /// A new channel; the receiver goes to the App.
    pub fn new(notify: Notify) -> (Tasks, Receiver<Background>) {
        let (tx, rx) = channel();
        (Tasks { tx, notify }, rx)
    }

    /// The wake-up function, for jobs that report elsewhere.
    pub fn notify(&self) -> Notify {
        self.notify.clone()
    }

    fn spawn(&self, name: &str, job: impl FnOnce() -> Option<Background> + Send + 'static) {
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
                paths.into_iter().map(|p| inspect_file(&p)).collect(),
            ))
        });
    }

    /// Opens the native "attach files" dialog without blocking the UI.
    pub fn pick_files(&self) {
        self.spawn("postscope-dialog", move || {
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
            let path = rfd::FileDialog::new()
                .set_title("Save transcript")
                .set_file_name(&suggested)
                .add_filter("Text", &["txt"])
                .add_filter("JSON Lines", &["jsonl"])
                .save_file()?;
            let bytes = contents(&path);
            Some(Background::Saved(
                crate::store::write_atomically(&path, &bytes)
                    .map(|()| path.clone())
                    .map_err(|e| format!("cannot save {}: {e}", path.display())),
            ))
        });
    }

    /// Reads the draft left by the last session.
    pub fn load_draft(&self, path: std::path::PathBuf) {
        self.spawn("postscope-draft-load", move || {
            Some(Background::DraftLoaded(
                crate::store::read_json(&path).map_err(|e| e.to_string()),
            ))
        });
    }

    /// Saves the open draft (atomically).
    pub fn save_draft(&self, path: std::path::PathBuf, draft: crate::ui::compose::ComposeState) {
        self.spawn("postscope-draft-save", move || {
            crate::store::write_json(&path, &draft).err().map(|e| {
                Background::DraftNotSaved(format!(
                    "cannot save the draft to {}: {e}",
                    path.display()
                ))
            })
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

/// Size and type of a file to attach, or why it cannot be attached.
pub fn inspect_file(path: &std::path::Path) -> Result<AttachmentEntry, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok(AttachmentEntry {
        path: path.to_owned(),
        name,
        size: meta.len(),
        content_type: message::guess_content_type(path),
    })
}
