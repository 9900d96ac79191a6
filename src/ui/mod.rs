//! The desktop app (eframe/egui): compose on the left, the live transcript
//! on the right, status at the bottom, and the sandbox inbox as a second tab.
//!
//! The App owns the state; panels draw it and return intents, which the App
//! carries out after drawing. Everything that can block — sending, file
//! dialogs, reading files, starting the sandbox — runs on worker threads
//! ([`worker`]) that wake the UI with `request_repaint`; an idle window
//! repaints nothing.

pub(crate) mod accounts;
pub(crate) mod commands;
pub(crate) mod compose;
pub(crate) mod console;
pub(crate) mod diagram;
pub(crate) mod dialogs;
pub(crate) mod findings;
pub(crate) mod glyphs;
pub(crate) mod history;
pub(crate) mod inbox;
pub(crate) mod learn;
pub(crate) mod probe;
pub(crate) mod style;
pub mod transcript;
mod words;
pub(crate) mod worker;

mod background;
mod drafts;
mod frame;
mod intent;
pub use intent::Intent;
mod send;
mod signin;

use send::JobKind;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use crate::app::{self};
use crate::sandbox::Sandbox;
use crate::smtp::{self, Stage, TlsMode};
use crate::store::DataDirs;
use crate::store::mail::{AccountChoice, Composed, DraftRecord, SentRecord, SentSummary};
use crate::store::secrets::{Keychain, SecretStore};
use crate::store::settings::Settings;
use accounts::AccountsView;
use inbox::InboxView;
use transcript::TranscriptView;
use worker::{Background, Tasks};

/// Opens the main window and runs until it is closed.
pub fn run(open: Option<std::path::PathBuf>) -> ExitCode {
    let dirs = DataDirs::platform();
    if let Some(dirs) = &dirs {
        for moved in dirs.adopt_legacy() {
            eprintln!("postscope: moved {moved}");
        }
    }
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Postscope")
        .with_app_id(crate::store::APP_ID)
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    // The icon is part of the binary: a window from `cargo install` has it too.
    if let Ok(icon) =
        eframe::icon_data::from_png_bytes(include_bytes!("../../packaging/icons/postscope-256.png"))
    {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        // eframe's state (window size, egui memory) inside Postscope's own
        // data folder, not in a second folder of eframe's naming.
        persistence_path: dirs.as_ref().map(DataDirs::window_state),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Postscope",
        options,
        Box::new(|cc| {
            let mut app = App::new(
                cc.egui_ctx.clone(),
                AppOptions {
                    start_sandbox: true,
                    dirs,
                },
            );
            if let Some(path) = open {
                app.open_message(path);
            }
            if std::env::var_os(dialogs::NO_FILE_DIALOG_ENV).is_some_and(|v| !v.is_empty()) {
                app.use_typed_paths();
            }
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: cannot open the Postscope window: {e}\n\
                 (no display? `postscope send` and `postscope probe` work without one)"
            );
            ExitCode::from(1)
        }
    }
}

/// How the App starts (tests choose the sandbox and the folders).
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Start the local sandbox server at once.
    pub start_sandbox: bool,
    /// Where settings, drafts and history are kept; `None` keeps nothing
    /// on disk (and reads no saved accounts).
    pub dirs: Option<DataDirs>,
}

impl Default for AppOptions {
    /// The sandbox on, the platform's folders.
    fn default() -> Self {
        AppOptions {
            start_sandbox: true,
            dirs: DataDirs::platform(),
        }
    }
}

/// How long typing must pause before the draft is saved (the goal: a crash
/// loses at most two seconds of typing).
pub const DRAFT_SAVE_DELAY: std::time::Duration = std::time::Duration::from_secs(1);

/// The views in the tab row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Write and send.
    Compose,
    /// Saved drafts.
    Drafts,
    /// Drafts whose last send failed.
    Outbox,
    /// Delivered messages.
    Sent,
    /// What the sandbox received.
    Inbox,
    /// Test a server by hand: probe and raw console.
    Console,
    /// Saved accounts.
    Accounts,
    /// SMTP taught on a live exchange.
    Learn,
}

/// A server typed in for this session (saved accounts come with the
/// keychain); the password lives only in memory, and `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomServer {
    /// Host name or address.
    pub host: String,
    /// Port, as typed.
    pub port: String,
    /// Security.
    pub security: TlsMode,
    /// User name; empty means no login.
    pub user: String,
    /// Password, for this session only.
    pub password: String,
    /// Accept invalid certificates (testing only).
    pub insecure: bool,
}

impl std::fmt::Debug for CustomServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl Default for CustomServer {
    fn default() -> Self {
        CustomServer {
            host: String::new(),
            port: "587".into(),
            security: TlsMode::StartTls,
            user: String::new(),
            password: String::new(),
            insecure: false,
        }
    }
}

enum SandboxState {
    Off,
    Starting,
    Running(Box<Sandbox>),
    Failed(String),
}

/// What the status bar shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Nothing going on.
    Idle(String),
    /// A send is running.
    Sending {
        /// The engine's stage.
        stage: Option<Stage>,
        /// Bytes of message data sent, and the total.
        progress: Option<(u64, Option<u64>)>,
    },
    /// The last send worked.
    Sent(String),
    /// The last send (or another action) failed.
    Failed(String),
    /// It worked, with a catch the person must know (no keychain: the
    /// password is kept for this session only).
    Warning(String),
}

/// The Postscope window.
pub struct App {
    ctx: egui::Context,
    /// The current tab.
    tab: Tab,
    /// The account in use.
    account: AccountChoice,
    /// The session-only server, when [`AccountChoice::Custom`] is picked.
    custom: CustomServer,
    /// The message being written.
    compose: Composed,
    /// The Cc, Bcc and Reply-To rows were opened for this message.
    compose_more: bool,
    /// The Raw view: the composed message as it would be sent (or why not).
    raw_view: Option<Result<worker::RawMessage, String>>,
    /// The transcript of the current or last session.
    transcript: TranscriptView,
    /// The status bar.
    status: Status,
    /// Saved accounts (from the settings file).
    settings: Settings,
    /// The Accounts tab.
    accounts: AccountsView,
    /// The Console tab.
    console: console::ConsoleView,
    console_conn: Option<crate::smtp::console::ConsoleHandle>,
    /// Drafts on disk (the outbox: those with a failed attempt), newest first.
    drafts: Vec<(String, DraftRecord)>,
    /// Sent history, newest first.
    sent: Vec<(String, SentSummary)>,
    /// This session's sent records, whole (the list above holds summaries;
    /// older records are read from disk when opened).
    session_sent: Vec<(String, SentRecord)>,
    /// The id of the draft open in the composer.
    draft_id: String,
    /// "Stop after" in the composer: end the session early, on purpose.
    quit_after: Option<smtp::Stage>,
    inbox: InboxView,
    tasks: Tasks,
    background: Receiver<Background>,
    sandbox: SandboxState,
    job: Option<(app::Running, JobKind)>,
    /// Characters no font can draw, told once per script.
    glyphs: glyphs::GlyphWatch,
    /// The Learn tab.
    learn: learn::LearnView,
    /// The typed-path stand-in for a file dialog, while it is open.
    path_prompt: Option<dialogs::PathPrompt>,
    /// Typed paths instead of file dialogs.
    typed_paths: bool,
    /// The first frame gave From the cursor.
    focused_once: bool,
    /// The command palette, while it is open.
    palette: Option<commands::Palette>,
    show_transcript: bool,
    dirs: Option<DataDirs>,
    secrets: Arc<dyn SecretStore>,
    /// Passwords typed while the keychain was unavailable: memory only.
    session_secrets: HashMap<String, String>,
    /// OAuth2 sign-ins: the browser, the running one, session grants.
    signins: signin::SignIns,
    keychain_problem: Option<String>,
    /// The draft as last saved; `None` until the saved ones have been read
    /// (so the example never overwrites a real draft).
    saved_draft: Option<Composed>,
    /// When the form first differed from the saved draft.
    dirty_since: Option<std::time::Instant>,
    confirm_delete_draft: Option<String>,
    /// A retry of a message whose delivery is unknown, waiting for "yes".
    confirm_resend: bool,
    sent_selected: Option<String>,
}

impl App {
    /// The current tab.
    pub fn tab(&self) -> Tab {
        self.tab
    }

    /// The account in use.
    pub fn account(&self) -> &AccountChoice {
        &self.account
    }

    /// The message being written.
    pub fn compose(&self) -> &Composed {
        &self.compose
    }

    /// What the status bar says.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Saved accounts, as last read.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Drafts (the outbox: those with a failed attempt), newest first.
    pub fn drafts(&self) -> &[(String, DraftRecord)] {
        &self.drafts
    }

    /// Sent history, newest first.
    pub fn sent(&self) -> &[(String, SentSummary)] {
        &self.sent
    }

    /// The id of the draft open in the composer.
    pub fn draft_id(&self) -> &str {
        &self.draft_id
    }

    /// The transcript panel.
    pub fn transcript(&self) -> &TranscriptView {
        &self.transcript
    }

    /// The transcript panel, to fill with lines (benches).
    pub fn transcript_mut(&mut self) -> &mut TranscriptView {
        &mut self.transcript
    }

    /// Opens a message file in the Raw view (read on a worker thread): what
    /// `postscope FILE.eml` and the desktop's "Open with" do.
    pub fn open_message(&mut self, path: std::path::PathBuf) {
        self.tasks.open_message(path);
    }

    /// The Console tab.
    pub fn console(&self) -> &console::ConsoleView {
        &self.console
    }

    /// The Console tab's form, to fill in (tests).
    pub fn console_mut(&mut self) -> &mut console::ConsoleView {
        &mut self.console
    }

    /// The session-only server's form, to fill in (tests).
    pub fn custom_mut(&mut self) -> &mut CustomServer {
        &mut self.custom
    }

    /// "Stop after" in the composer.
    pub fn quit_after(&self) -> Option<smtp::Stage> {
        self.quit_after
    }
}

impl App {
    /// Creates the App. With `start_sandbox`, the sandbox starts on a
    /// worker thread and the app is usable at once; settings, drafts and
    /// history are read on worker threads too.
    pub fn new(ctx: egui::Context, options: AppOptions) -> App {
        let notify_ctx = ctx.clone();
        let (tasks, background) = Tasks::new(Arc::new(move || notify_ctx.request_repaint()));
        let glyphs = glyphs::GlyphWatch::install(&ctx);
        let mut app = App {
            ctx,
            tab: Tab::Compose,
            account: AccountChoice::Sandbox,
            custom: CustomServer::default(),
            compose: compose::example(),
            compose_more: false,
            raw_view: None,
            transcript: TranscriptView::default(),
            status: Status::Idle(String::new()),
            settings: Settings::default(),
            accounts: AccountsView::default(),
            console: console::ConsoleView::default(),
            console_conn: None,
            drafts: Vec::new(),
            sent: Vec::new(),
            draft_id: crate::store::records::new_id(),
            quit_after: None,
            inbox: InboxView::default(),
            tasks,
            background,
            sandbox: SandboxState::Off,
            job: None,
            glyphs,
            learn: learn::LearnView::default(),
            session_sent: Vec::new(),
            path_prompt: None,
            typed_paths: false,
            focused_once: false,
            palette: None,
            show_transcript: true,
            dirs: options.dirs.clone(),
            secrets: Arc::new(Keychain),
            session_secrets: HashMap::new(),
            signins: signin::SignIns::default(),
            keychain_problem: None,
            saved_draft: None,
            dirty_since: None,
            confirm_delete_draft: None,
            confirm_resend: false,
            sent_selected: None,
        };
        if let Some(dirs) = &options.dirs {
            app.tasks.load_store(dirs.clone(), app.secrets.clone());
        }
        if options.start_sandbox {
            app.sandbox = SandboxState::Starting;
            app.tasks.start_sandbox();
        }
        app
    }

    /// Attaches files through the same path as the file dialog and
    /// drag-and-drop: they are looked at on a worker thread.
    pub fn attach_files(&mut self, paths: Vec<std::path::PathBuf>) {
        self.tasks.inspect(paths);
    }

    /// Loads a saved `.jsonl` transcript into the panel (read on a worker
    /// thread), as Open… does.
    pub fn open_transcript_file(&mut self, path: std::path::PathBuf) {
        self.tasks.load_transcript(path);
    }

    /// True while a send is running.
    pub fn is_sending(&self) -> bool {
        self.job.is_some()
    }

    /// The sandbox server, once it runs.
    pub fn sandbox(&self) -> Option<&Sandbox> {
        match &self.sandbox {
            SandboxState::Running(s) => Some(s),
            _ => None,
        }
    }

    fn sandbox_status(&self) -> String {
        match &self.sandbox {
            SandboxState::Off => "not started".into(),
            SandboxState::Starting => "starting…".into(),
            SandboxState::Running(s) => format!(
                "listening on {} (STARTTLS with its own CA, any login accepted)",
                s.local_addr()
            ),
            SandboxState::Failed(e) => format!("could not start: {e}"),
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.cancel();
        // Closing the window: the last keystrokes go after any write still
        // queued, and the window waits (briefly) for them to be on disk.
        if self.saved_draft.is_some() {
            self.save_draft_now();
        }
        // A send still running: its outcome is unknown, and the draft on
        // disk says so (after the save above).
        if let (Some((_, JobKind::Send(sending))), Some(dirs)) = (&self.job, &self.dirs) {
            self.tasks.save_record(
                crate::store::records::Folder::drafts(dirs),
                sending.draft_id.clone(),
                sending.in_flight(self.unknown_of(&sending.draft_id)),
            );
        }
        self.tasks.flush_store(std::time::Duration::from_secs(3));
    }
}
