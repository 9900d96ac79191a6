//! The desktop app (eframe/egui): compose on the left, the live transcript
//! on the right, status at the bottom, and the sandbox inbox as a second tab.
//!
//! The App owns the state; panels draw it and return intents, which the App
//! carries out after drawing. Everything that can block — sending, file
//! dialogs, reading files, starting the sandbox — runs on worker threads
//! ([`worker`]) that wake the UI with `request_repaint`; an idle window
//! repaints nothing.

pub mod accounts;
pub mod compose;
pub mod console;
pub mod diagram;
pub mod history;
pub mod inbox;
pub mod probe;
pub mod style;
pub mod transcript;
mod words;
pub mod worker;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use egui::{Color32, RichText};

use crate::app::{
    self, JobMsg, Login, Outgoing, ProbeSpec, SecretSource, SendFailure, SendSpec, Server, Work,
};
use crate::sandbox::Sandbox;
use crate::smtp::{self, ClientId, Event, Stage, Target, Timeouts, TlsMode, TlsOptions};
use crate::store::DataDirs;
use crate::store::accounts::SecretPlace;
use crate::store::mail::{AccountChoice, Attempt, Composed, DraftRecord, Mail, SentRecord};
use crate::store::secrets::{Keychain, SecretStore};
use crate::store::settings::{AuthSetting, Settings};
use accounts::{AccountsIntent, AccountsView, SecretFacts, TestState};
use compose::ComposeIntent;
use history::HistoryIntent;
use inbox::InboxView;
use transcript::{TranscriptIntent, TranscriptView};
use worker::{Background, Tasks};

/// Opens the main window and runs until it is closed.
pub fn run() -> ExitCode {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Postscope")
            .with_app_id("org.postscope.Postscope")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let result = eframe::run_native(
        "Postscope",
        options,
        Box::new(|cc| {
            Ok(Box::new(App::new(
                cc.egui_ctx.clone(),
                AppOptions::default(),
            )))
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
    Running(Sandbox),
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
}

/// A send in flight: which draft, and what to record when it ends.
struct Sending {
    draft_id: String,
    account: AccountChoice,
    account_label: String,
    server: String,
    message: Composed,
    /// This session's transcript (the panel may be showing something else
    /// by the time it ends).
    events: Vec<smtp::TranscriptEvent>,
}

impl Sending {
    /// What is on disk while the message is out: if Postscope stops before
    /// the outcome is known, the next start finds it in the Outbox, with a
    /// retry that asks first.
    fn in_flight(&self, unknown: serde_json::Map<String, serde_json::Value>) -> DraftRecord {
        let now = crate::clock::unix_secs(std::time::SystemTime::now());
        DraftRecord {
            saved_at: now,
            account: self.account.clone(),
            message: self.message.clone(),
            attempt: Some(Attempt {
                at: now,
                server: self.server.clone(),
                stage: "sending".into(),
                error: "Postscope stopped while this message was being sent; it may have been \
                        delivered"
                    .into(),
                delivery_unknown: true,
                ..Attempt::default()
            }),
            unknown,
        }
    }
}

/// What the running session is for.
enum JobKind {
    Send(Box<Sending>),
    Test,
    /// The Console tab's Probe.
    Probe,
}

/// The Postscope window.
pub struct App {
    ctx: egui::Context,
    /// The current tab.
    pub tab: Tab,
    /// The account in use.
    pub account: AccountChoice,
    /// The session-only server, when [`AccountChoice::Custom`] is picked.
    pub custom: CustomServer,
    /// The message being written.
    pub compose: Composed,
    /// The Cc, Bcc and Reply-To rows were opened for this message.
    compose_more: bool,
    /// The transcript of the current or last session.
    pub transcript: TranscriptView,
    /// The status bar.
    pub status: Status,
    /// Saved accounts (from the settings file).
    pub settings: Settings,
    /// The Accounts tab.
    pub accounts: AccountsView,
    /// The Console tab.
    pub console: console::ConsoleView,
    console_conn: Option<crate::smtp::console::ConsoleHandle>,
    /// Drafts on disk (the outbox: those with a failed attempt), newest first.
    pub drafts: Vec<(String, DraftRecord)>,
    /// Sent history, newest first.
    pub sent: Vec<(String, SentRecord)>,
    /// The id of the draft open in the composer.
    pub draft_id: String,
    /// "Stop after" in the composer: end the session early, on purpose.
    pub quit_after: Option<smtp::QuitAfter>,
    inbox: InboxView,
    tasks: Tasks,
    background: Receiver<Background>,
    sandbox: SandboxState,
    job: Option<(app::Running, JobKind)>,
    show_transcript: bool,
    dirs: Option<DataDirs>,
    secrets: Arc<dyn SecretStore>,
    /// Passwords typed while the keychain was unavailable: memory only.
    session_secrets: HashMap<String, String>,
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
    /// Creates the App. With `start_sandbox`, the sandbox starts on a
    /// worker thread and the app is usable at once; settings, drafts and
    /// history are read on worker threads too.
    pub fn new(ctx: egui::Context, options: AppOptions) -> App {
        let notify_ctx = ctx.clone();
        let (tasks, background) = Tasks::new(Arc::new(move || notify_ctx.request_repaint()));
        let mut app = App {
            ctx,
            tab: Tab::Compose,
            account: AccountChoice::Sandbox,
            custom: CustomServer::default(),
            compose: compose::example(),
            compose_more: false,
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
            show_transcript: true,
            dirs: options.dirs.clone(),
            secrets: Arc::new(Keychain),
            session_secrets: HashMap::new(),
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

    /// Why sending is not possible right now, if it is not.
    fn send_blocker(&self) -> Option<String> {
        if self.job.is_some() {
            return Some("A message is being sent: wait or press Cancel".into());
        }
        match &self.account {
            AccountChoice::Sandbox => match &self.sandbox {
                SandboxState::Running(_) => None,
                SandboxState::Starting => Some("The local sandbox is still starting".into()),
                SandboxState::Off => Some("The local sandbox is not running".into()),
                SandboxState::Failed(e) => Some(format!("The local sandbox could not start: {e}")),
            },
            AccountChoice::Saved(name) => match self.settings.account(name) {
                Some(a) => Target::parse(&a.server).err().map(|why| {
                    format!("The account {name:?} has a bad server ({why}): fix it under Accounts")
                }),
                None => Some(format!(
                    "There is no saved account named {name:?} any more: pick another account"
                )),
            },
            AccountChoice::Custom => {
                if self.custom.host.trim().is_empty() {
                    Some("Enter the server's host name under Server".into())
                } else if self
                    .custom
                    .port
                    .trim()
                    .parse::<u16>()
                    .map_or(true, |p| p == 0)
                {
                    Some("The port must be a number from 1 to 65535".into())
                } else if !self.custom.user.is_empty() && self.custom.password.is_empty() {
                    Some("Enter the password for the user name".into())
                } else {
                    None
                }
            }
        }
    }

    /// The name of the account in use, as the picker shows it.
    fn account_label(&self) -> String {
        match &self.account {
            AccountChoice::Sandbox => "Local sandbox".into(),
            AccountChoice::Saved(name) => name.clone(),
            AccountChoice::Custom => "Other server".into(),
        }
    }

    /// Where a saved account's secret comes from: typed this session, else
    /// the keychain.
    fn secret_source(&self, account: &crate::store::settings::Account) -> SecretSource {
        let token = account.auth == Some(AuthSetting::Xoauth2);
        match self.session_secrets.get(&account.name) {
            Some(s) => SecretSource::typed(s.clone(), token),
            None => SecretSource::Keychain {
                store: self.secrets.clone(),
                account: account.name.clone(),
                token,
            },
        }
    }

    /// Where the composed message goes, and how to log in there.
    fn destination(&self) -> Option<(Server, Option<Login>)> {
        match &self.account {
            AccountChoice::Sandbox => {
                let sandbox = self.sandbox()?;
                // A fixed, public login: the sandbox accepts any.
                let login = Login {
                    user: "sandbox".into(),
                    secret: SecretSource::Given(smtp::Secret::Password("sandbox".into())),
                    mechanism: AuthSetting::Auto,
                };
                Some((
                    Server::sandbox(sandbox.local_addr(), sandbox.ca_der()),
                    Some(login),
                ))
            }
            AccountChoice::Saved(name) => {
                let account = self.settings.account(name)?;
                let server = Server::of_account(account).ok()?;
                Some((
                    server,
                    Login::of_account(account, self.secret_source(account)),
                ))
            }
            AccountChoice::Custom => {
                let c = &self.custom;
                let server = Server {
                    target: Target {
                        host: c
                            .host
                            .trim()
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_owned(),
                        port: c.port.trim().parse().ok()?,
                    },
                    tls: c.security,
                    tls_options: TlsOptions {
                        dangerous_accept_invalid_certs: c.insecure,
                        ..TlsOptions::default()
                    },
                    client_id: ClientId::local(),
                    timeouts: Timeouts::default(),
                };
                let login = (!c.user.is_empty()).then(|| Login {
                    user: c.user.clone(),
                    secret: SecretSource::Given(smtp::Secret::Password(c.password.clone())),
                    mechanism: AuthSetting::Auto,
                });
                Some((server, login))
            }
        }
    }

    /// The open draft's record in the list, if it is saved.
    fn open_record(&self) -> Option<&DraftRecord> {
        self.drafts
            .iter()
            .find(|(id, _)| *id == self.draft_id)
            .map(|(_, r)| r)
    }

    /// Starts sending the composed message (what Send and Ctrl+Enter do).
    /// A message whose last send ended with "delivery unknown" asks first.
    pub fn send(&mut self) {
        if let Some(reason) = self.send_blocker() {
            self.status = Status::Failed(reason);
            return;
        }
        if let Some((_, problem)) = self.compose.problems().first() {
            self.status = Status::Failed(format!("Cannot send: {problem}"));
            return;
        }
        if !self.confirm_resend
            && self
                .open_record()
                .and_then(|r| r.attempt.as_ref())
                .is_some_and(|a| a.delivery_unknown || !a.delivered.is_empty())
        {
            self.confirm_resend = true;
            return;
        }
        self.confirm_resend = false;
        let Some((server, login)) = self.destination() else {
            return;
        };
        // On disk before the first byte goes out: a crash mid-send keeps it.
        self.save_draft_now();
        self.transcript.clear(server.target.to_string());
        self.status = Status::Sending {
            stage: None,
            progress: None,
        };
        let sending = Sending {
            draft_id: self.draft_id.clone(),
            account: self.account.clone(),
            account_label: self.account_label(),
            server: server.target.to_string(),
            message: self.compose.clone(),
            events: Vec::new(),
        };
        if let Some(dirs) = &self.dirs {
            // On disk only: the window shows it as being sent, not failed.
            self.tasks.save_record(
                crate::store::records::Folder::drafts(dirs),
                sending.draft_id.clone(),
                sending.in_flight(self.unknown_of(&sending.draft_id)),
            );
        }
        let spec = SendSpec {
            server,
            login,
            message: Outgoing::Draft(Box::new(self.compose.draft())),
            allow_partial: false,
            quit_after: self.quit_after,
        };
        let job = app::spawn(Work::Send(spec), self.tasks.notify());
        self.job = Some((job, JobKind::Send(Box::new(sending))));
    }

    /// Runs "Test connection" with the Accounts form's settings.
    pub fn test_account(&mut self) {
        if self.job.is_some() {
            return;
        }
        let form = &self.accounts.form;
        if !form.problems(&self.settings.accounts).is_empty() {
            return;
        }
        let account = form.account();
        let token = account.auth == Some(AuthSetting::Xoauth2);
        let secret = match &form.original {
            _ if !form.secret.is_empty() => SecretSource::typed(form.secret.clone(), token),
            Some(original) => self.secret_source(&crate::store::settings::Account {
                name: original.clone(),
                ..account.clone()
            }),
            None => SecretSource::typed(String::new(), token),
        };
        let Ok(server) = Server::of_account(&account) else {
            return;
        };
        let spec = ProbeSpec {
            login: Login::of_account(&account, secret),
            server,
            quit_after: None,
        };
        self.transcript.clear(spec.server.target.to_string());
        self.accounts.test = TestState::Running;
        self.status = Status::Sending {
            stage: None,
            progress: None,
        };
        let job = app::spawn(Work::Probe(spec), self.tasks.notify());
        self.job = Some((job, JobKind::Test));
    }

    /// Cancels the running session.
    pub fn cancel(&mut self) {
        if let Some((job, _)) = &self.job {
            job.cancel.cancel();
        }
    }

    /// Picks an account in the account menu; a saved account with an
    /// address fills From unless the user typed one of their own.
    pub fn choose_account(&mut self, choice: AccountChoice) {
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
    pub fn open_draft(&mut self, id: &str) {
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
    pub fn new_message(&mut self) {
        self.save_draft_now();
        self.start_blank();
        self.tab = Tab::Compose;
    }

    /// A new, empty message from the same sender, with its own id; the
    /// one that was open is already saved (or sent).
    fn start_blank(&mut self) {
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

    fn show_events(&mut self, server: &str, events: &[smtp::TranscriptEvent]) {
        self.transcript.clear(server.to_owned());
        for e in events {
            self.transcript.push(e.clone());
        }
        self.show_transcript = true;
    }

    /// Takes in what the worker threads reported. Never blocks.
    fn drain(&mut self) {
        while let Ok(msg) = self.background.try_recv() {
            self.take(msg);
        }
        // A flood of transcript lines is taken in slices so a frame stays short.
        let started = std::time::Instant::now();
        let mut finished = None;
        if let Some((job, kind)) = &mut self.job {
            loop {
                let msg = match job.rx.try_recv() {
                    Ok(msg) => msg,
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        // The worker died without a word (a bug): do not spin forever.
                        finished = Some(Box::new((
                            smtp::Report::default(),
                            Err(SendFailure::Job(
                                "the sending thread stopped unexpectedly".into(),
                            )),
                        )));
                        break;
                    }
                };
                match msg {
                    JobMsg::Event(Event::Transcript(e)) => {
                        if let JobKind::Send(sending) = kind {
                            sending.events.push(e.clone());
                        }
                        self.transcript.push(e);
                    }
                    JobMsg::Event(Event::Stage(stage)) => {
                        if let Status::Sending { stage: s, .. } = &mut self.status {
                            *s = Some(stage);
                        }
                    }
                    JobMsg::Event(Event::Progress { sent, total }) => {
                        if let Status::Sending { progress, .. } = &mut self.status {
                            *progress = Some((sent, total));
                        }
                    }
                    JobMsg::Event(_) => {}
                    JobMsg::Done(outcome) => {
                        finished = Some(outcome);
                        break;
                    }
                }
                if started.elapsed() > std::time::Duration::from_millis(8) {
                    self.ctx.request_repaint();
                    break;
                }
            }
        }
        self.drain_console();
        if let Some(outcome) = finished
            && let Some((_, kind)) = self.job.take()
        {
            let (report, result) = *outcome;
            match kind {
                JobKind::Probe => {
                    self.status = match &result {
                        Ok(()) => Status::Sent("Probe finished; nothing was sent".into()),
                        Err(e) => Status::Failed(format!("Probe {}", words::failure(e))),
                    };
                    self.console.probing = false;
                    self.console.probe =
                        Some((Box::new(report), result.map_err(|e| words::failure(&e))));
                }
                JobKind::Test => {
                    self.status = match &result {
                        Ok(()) => Status::Sent("The connection works; nothing was sent".into()),
                        Err(e) => Status::Failed(format!("Test connection {}", words::failure(e))),
                    };
                    self.accounts.test =
                        TestState::Done(Box::new(report), result.map_err(|e| words::failure(&e)));
                }
                JobKind::Send(sending) => self.finish_send(*sending, &report, result),
            }
        }
    }

    /// Records the end of a send: a delivered message moves from Drafts to
    /// Sent; a failed one stays a draft, with the failure, in the Outbox.
    fn finish_send(
        &mut self,
        mut sending: Sending,
        report: &smtp::Report,
        result: Result<(), SendFailure>,
    ) {
        let now = crate::clock::unix_secs(std::time::SystemTime::now());
        let transcript = std::mem::take(&mut sending.events);
        match result {
            Ok(()) if report.stopped_after.is_some() => {
                // A check, not a delivery: the message stays where it is.
                let point = report.stopped_after.unwrap_or(smtp::QuitAfter::Data);
                let accepted = if point >= smtp::QuitAfter::Rcpt {
                    format!(
                        "; the server accepted {} recipient(s): {}",
                        report.accepted.len(),
                        report.accepted.join(", ")
                    )
                } else {
                    String::new()
                };
                self.status = Status::Sent(format!(
                    "Stopped after {} as asked{accepted}. Nothing was delivered",
                    point.describe()
                ));
                // The in-flight marker on disk gives way to the draft as it is.
                if let Some((id, record)) = self
                    .drafts
                    .iter()
                    .find(|(id, _)| *id == sending.draft_id)
                    .cloned()
                    && let Some(dirs) = &self.dirs
                {
                    self.tasks
                        .save_record(crate::store::records::Folder::drafts(dirs), id, record);
                }
            }
            Ok(()) => {
                let reply = report
                    .final_reply
                    .as_ref()
                    .map(|r| format!("{} {}", r.code, r.lines.join(" ")));
                let record = SentRecord {
                    sent_at: now,
                    account: sending.account_label,
                    server: sending.server,
                    delivered: report.delivered.clone(),
                    final_reply: reply.clone(),
                    message_bytes: report.message_bytes,
                    message: sending.message,
                    transcript,
                    unknown: Default::default(),
                };
                self.drafts.retain(|(id, _)| *id != sending.draft_id);
                self.sent
                    .insert(0, (sending.draft_id.clone(), record.clone()));
                if let Some(dirs) = &self.dirs {
                    self.tasks
                        .record_sent(dirs.clone(), sending.draft_id.clone(), record);
                }
                let kept = if self.dirs.is_some() {
                    "; it is in Sent"
                } else {
                    ""
                };
                self.status = Status::Sent(format!(
                    "Delivered to {} recipient(s){}{kept}",
                    report.delivered.len(),
                    reply.map(|r| format!(": {r}")).unwrap_or_default()
                ));
                // The composer moves on to a new message, unless the user
                // already opened another one meanwhile.
                if self.draft_id == sending.draft_id {
                    self.start_blank();
                }
            }
            Err(e) => {
                let attempt = Attempt {
                    at: now,
                    server: sending.server,
                    stage: e.failed_at().to_string(),
                    error: e.to_string(),
                    delivery_unknown: e.delivery_unknown(),
                    delivered: report.delivered.clone(),
                    transcript,
                };
                let message = if self.draft_id == sending.draft_id {
                    self.compose.clone()
                } else {
                    sending.message
                };
                let record = DraftRecord {
                    saved_at: now,
                    account: sending.account,
                    message,
                    attempt: Some(attempt),
                    unknown: self.unknown_of(&sending.draft_id),
                };
                self.put_draft(sending.draft_id, record);
                let kept = if self.dirs.is_some() {
                    "; the message is kept in the Outbox"
                } else {
                    ""
                };
                self.status = Status::Failed(format!("{}{kept}", words::failure(&e)));
            }
        }
    }

    fn unknown_of(&self, id: &str) -> serde_json::Map<String, serde_json::Value> {
        self.drafts
            .iter()
            .find(|(d, _)| d == id)
            .map(|(_, r)| r.unknown.clone())
            .unwrap_or_default()
    }

    /// Puts a draft at the top of the list and writes it (worker thread).
    fn put_draft(&mut self, id: String, record: DraftRecord) {
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
    fn save_draft_now(&mut self) {
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

    /// Takes one background result.
    fn take(&mut self, msg: Background) {
        match msg {
            Background::Inspected(results) => {
                let mut errors = Vec::new();
                let entries: Vec<_> = results
                    .into_iter()
                    .filter_map(|r| r.map_err(|e| errors.push(e)).ok())
                    .collect();
                self.compose.attach(entries);
                if !errors.is_empty() {
                    self.status = Status::Failed(format!("Cannot attach {}", errors.join("; ")));
                }
            }
            Background::Picked(paths) => self.tasks.inspect(paths),
            Background::CaPicked(worker::CaFor::Account, path) => {
                self.accounts.form.ca_file = path.display().to_string();
            }
            Background::CaPicked(worker::CaFor::Console, path) => {
                self.console.ca_file = path.display().to_string();
            }
            Background::Saved(Ok(path)) => {
                self.status = Status::Idle(format!("Transcript saved to {}", path.display()));
            }
            Background::Saved(Err(e)) => self.status = Status::Failed(e),
            Background::Sandbox(Ok(sandbox)) => {
                let ctx = self.ctx.clone();
                sandbox
                    .inbox()
                    .set_notify(Box::new(move || ctx.request_repaint()));
                self.sandbox = SandboxState::Running(sandbox);
            }
            Background::Sandbox(Err(e)) => self.sandbox = SandboxState::Failed(e),
            Background::StoreLoaded(loaded) => {
                let worker::Loaded {
                    settings,
                    mail:
                        Mail {
                            drafts,
                            sent,
                            problems,
                        },
                    keychain_problem,
                } = *loaded;
                self.settings = settings;
                self.sent = sent;
                self.keychain_problem = keychain_problem;
                // Drafts saved meanwhile by this window stay on top.
                for (id, record) in drafts {
                    if !self.drafts.iter().any(|(d, _)| *d == id) {
                        self.drafts.push((id, record));
                    }
                }
                let untouched = self.compose == compose::example();
                let newest = self.drafts.first().cloned();
                match newest {
                    Some((id, record)) if untouched => {
                        self.draft_id = id;
                        self.compose = record.message.clone();
                        self.saved_draft = Some(record.message);
                        if match &record.account {
                            AccountChoice::Saved(name) => self.settings.account(name).is_some(),
                            _ => true,
                        } {
                            self.account = record.account;
                        }
                        self.status = Status::Idle(match &record.attempt {
                            Some(_) => "Restored the draft from your last session; its last send failed (see Outbox)".into(),
                            None => "Restored the draft from your last session".into(),
                        });
                    }
                    _ => self.saved_draft = Some(compose::example()),
                }
                if !problems.is_empty() {
                    self.status = Status::Failed(problems.join("; "));
                }
            }
            Background::AccountSaved(Ok(saved)) => {
                let message = accounts::saved_message(&saved);
                let crate::store::accounts::Saved {
                    settings,
                    name,
                    secret,
                    keychain_problem,
                    ..
                } = *saved;
                self.settings = settings;
                match secret {
                    SecretPlace::ThisSession(s) => {
                        self.session_secrets.insert(name.clone(), s);
                    }
                    SecretPlace::Keychain => {
                        self.session_secrets.remove(&name);
                    }
                    SecretPlace::Unchanged => {}
                }
                if let Some(old) = self.accounts.form.original.clone()
                    && old != name
                {
                    if let Some(s) = self.session_secrets.remove(&old) {
                        self.session_secrets.entry(name.clone()).or_insert(s);
                    }
                    if self.account == AccountChoice::Saved(old) {
                        self.account = AccountChoice::Saved(name.clone());
                    }
                }
                self.keychain_problem = keychain_problem.map(|e| e.to_string());
                self.accounts.select(self.settings.account(&name));
                self.status = Status::Sent(message);
            }
            Background::AccountSaved(Err(e)) => {
                self.status = Status::Failed(format!("The account was not saved: {e}"));
            }
            Background::AccountDeleted(Ok((name, deleted))) => {
                let message = accounts::deleted_message(&name, &deleted);
                self.settings = deleted.settings;
                self.session_secrets.remove(&name);
                if self.account == AccountChoice::Saved(name) {
                    self.account = AccountChoice::Sandbox;
                }
                self.accounts.select(None);
                self.status = Status::Idle(message);
            }
            Background::AccountDeleted(Err(e)) => {
                self.status = Status::Failed(format!("The account was not deleted: {e}"));
            }
            Background::StoreFailed(e) => self.status = Status::Failed(e),
            Background::BuiltForConsole(Ok(message)) => {
                self.console.message = message;
                self.status = Status::Idle("The Compose message is ready to send with DATA".into());
            }
            Background::BuiltForConsole(Err(e)) => self.status = Status::Failed(e),
            Background::TranscriptLoaded(Ok((path, header, events))) => {
                let count = events.len();
                self.transcript
                    .load(&header, events, path.display().to_string());
                self.show_transcript = true;
                self.status = Status::Idle(format!(
                    "Loaded {count} lines of a session with {} from {}",
                    header.server,
                    path.display()
                ));
            }
            Background::TranscriptLoaded(Err(e)) => self.status = Status::Failed(e),
            Background::SettingsReloaded(settings) => {
                if settings != self.settings {
                    self.settings = settings;
                    if let AccountChoice::Saved(name) = &self.account
                        && self.settings.account(name).is_none()
                    {
                        self.status = Status::Failed(format!(
                            "The account {name:?} was removed outside this window: pick another"
                        ));
                    }
                }
            }
        }
    }

    /// Takes what the console connection reported. Never blocks.
    fn drain_console(&mut self) {
        use crate::smtp::console::ConsoleEvent;
        let Some(conn) = &self.console_conn else {
            return;
        };
        let mut closed = None;
        while let Ok(event) = conn.events.try_recv() {
            match event {
                ConsoleEvent::Transcript(e) => self.transcript.push(e),
                ConsoleEvent::State(state) => self.console.state = state,
                ConsoleEvent::Tls(info) => self.console.tls = Some(*info),
                ConsoleEvent::StartTls => {}
                ConsoleEvent::Closed(why) => closed = Some(why),
            }
        }
        if let Some(why) = closed {
            self.console_conn = None;
            self.console.state = Default::default();
            self.status = match why {
                Some(why) => Status::Failed(format!("Console: connection closed: {why}")),
                None => Status::Idle("Console: disconnected".into()),
            };
        }
    }

    fn console_target(&self) -> Option<Target> {
        let host = self
            .console
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Some(Target {
            host: host.to_owned(),
            port: self.console.port_number()?,
        })
    }

    fn console_intent(&mut self, intent: console::ConsoleIntent) {
        use crate::smtp::console::ConsoleCommand;
        match intent {
            console::ConsoleIntent::Probe => {
                let Some(target) = self.console_target() else {
                    return;
                };
                if self.job.is_some() {
                    return;
                }
                let spec = ProbeSpec {
                    server: Server {
                        // A plain console connection upgrades when it can.
                        tls: match self.console.mode {
                            TlsMode::Implicit => TlsMode::Implicit,
                            _ => TlsMode::Opportunistic,
                        },
                        target,
                        tls_options: self.console.tls_options(),
                        client_id: ClientId::local(),
                        timeouts: Timeouts::uniform(std::time::Duration::from_secs(30)),
                    },
                    login: None,
                    quit_after: None,
                };
                self.transcript.clear(spec.server.target.to_string());
                self.show_transcript = true;
                self.console.probing = true;
                self.console.probe = None;
                self.status = Status::Sending {
                    stage: None,
                    progress: None,
                };
                let job = app::spawn(Work::Probe(spec), self.tasks.notify());
                self.job = Some((job, JobKind::Probe));
            }
            console::ConsoleIntent::Connect => {
                let Some(target) = self.console_target() else {
                    return;
                };
                self.transcript.clear(target.to_string());
                self.show_transcript = true;
                self.console.tls = None;
                self.console.probe = None;
                // Shown as connected at once; the thread reports the truth.
                self.console.state = crate::smtp::console::ConsoleState {
                    connected: true,
                    ..Default::default()
                };
                self.console_conn = Some(crate::smtp::console::spawn(
                    target,
                    self.console.mode,
                    self.console.tls_options(),
                    std::time::Duration::from_secs(30),
                    self.tasks.notify(),
                ));
            }
            console::ConsoleIntent::Command(command) => {
                let disconnect = matches!(command, ConsoleCommand::Disconnect);
                if let Some(conn) = &self.console_conn {
                    let _ = conn.commands.send(command);
                }
                if disconnect && self.console_conn.is_none() {
                    self.console.state = Default::default();
                }
            }
            console::ConsoleIntent::PickCaFile => self.tasks.pick_ca_file(worker::CaFor::Console),
            console::ConsoleIntent::UseComposed => {
                self.tasks.build_for_console(self.compose.draft());
            }
        }
    }

    fn accounts_intent(&mut self, intent: AccountsIntent) {
        match intent {
            AccountsIntent::Select(name) => {
                let account = name.and_then(|n| self.settings.account(&n).cloned());
                self.accounts.select(account.as_ref());
            }
            AccountsIntent::Save => {
                let Some(dirs) = self.dirs.clone() else {
                    self.status = Status::Failed(
                        "There is no folder to save settings in (is HOME set?)".into(),
                    );
                    return;
                };
                let form = &self.accounts.form;
                if !form.problems(&self.settings.accounts).is_empty() {
                    return;
                }
                let secret =
                    (!form.secret.is_empty() && form.logs_in()).then(|| form.secret.clone());
                let change = crate::store::accounts::Change {
                    account: form.account(),
                    original: form.original.clone(),
                    secret,
                };
                self.tasks.save_account(dirs, self.secrets.clone(), change);
            }
            AccountsIntent::Delete(name) => {
                if let Some(dirs) = self.dirs.clone() {
                    self.tasks.delete_account(dirs, self.secrets.clone(), name);
                }
            }
            AccountsIntent::Test => self.test_account(),
            AccountsIntent::PickCaFile => self.tasks.pick_ca_file(worker::CaFor::Account),
        }
    }

    fn history_intent(&mut self, intent: HistoryIntent) {
        match intent {
            HistoryIntent::Open(id) => self.open_draft(&id),
            HistoryIntent::Retry(id) => {
                self.open_draft(&id);
                self.send();
            }
            HistoryIntent::Delete(id) => {
                self.drafts.retain(|(d, _)| *d != id);
                if let Some(dirs) = &self.dirs {
                    self.tasks
                        .remove_record(crate::store::records::Folder::drafts(dirs), id.clone());
                }
                if id == self.draft_id {
                    self.new_message();
                }
                self.status = Status::Idle("Deleted the draft".into());
            }
            HistoryIntent::ShowTranscript(id) => {
                let found = self
                    .sent
                    .iter()
                    .find(|(s, _)| *s == id)
                    .map(|(_, r)| (r.server.clone(), r.transcript.clone()))
                    .or_else(|| {
                        self.drafts
                            .iter()
                            .find(|(d, _)| *d == id)
                            .and_then(|(_, r)| r.attempt.as_ref())
                            .map(|a| (a.server.clone(), a.transcript.clone()))
                    });
                if let Some((server, events)) = found {
                    self.show_events(&server, &events);
                }
            }
            HistoryIntent::SendAgain(id) => {
                if let Some((_, record)) = self.sent.iter().find(|(s, _)| *s == id).cloned() {
                    self.new_message();
                    self.compose = record.message;
                    self.tab = Tab::Compose;
                }
            }
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, Tab::Compose, "Compose");
            let drafts = self
                .drafts
                .iter()
                .filter(|(_, d)| d.attempt.is_none())
                .count();
            let outbox = self.drafts.len() - drafts;
            ui.selectable_value(&mut self.tab, Tab::Drafts, format!("Drafts ({drafts})"));
            let outbox_text = if outbox > 0 {
                RichText::new(format!("Outbox ({outbox})")).strong()
            } else {
                RichText::new("Outbox (0)")
            };
            ui.selectable_value(&mut self.tab, Tab::Outbox, outbox_text);
            ui.selectable_value(
                &mut self.tab,
                Tab::Sent,
                format!("Sent ({})", self.sent.len()),
            );
            let count = self
                .sandbox()
                .map(|s| s.inbox().messages().len())
                .unwrap_or(0);
            ui.selectable_value(
                &mut self.tab,
                Tab::Inbox,
                format!("Sandbox inbox ({count})"),
            );
            ui.selectable_value(&mut self.tab, Tab::Console, "Console")
                .on_hover_text("Probe a server, or talk to it by hand");
            ui.selectable_value(&mut self.tab, Tab::Accounts, "Accounts");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.toggle_value(&mut self.show_transcript, "Transcript")
                    .on_hover_text("Show or hide the transcript panel");
                let mut choice = self.account.clone();
                egui::ComboBox::from_label("Account")
                    .selected_text(self.account_label())
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut choice, AccountChoice::Sandbox, "Local sandbox")
                            .on_hover_text(
                                "The SMTP server inside Postscope: nothing leaves this computer",
                            );
                        for a in &self.settings.accounts {
                            ui.selectable_value(
                                &mut choice,
                                AccountChoice::Saved(a.name.clone()),
                                &a.name,
                            )
                            .on_hover_text(format!(
                                "{}{}",
                                a.server,
                                a.from_mailbox()
                                    .map(|f| format!(", from {f}"))
                                    .unwrap_or_default()
                            ));
                        }
                        ui.selectable_value(&mut choice, AccountChoice::Custom, "Other server")
                            .on_hover_text(
                                "A server you enter; the password is kept for this session only",
                            );
                    });
                self.choose_account(choice);
            });
        });
    }

    fn custom_server_ui(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Server")
            .default_open(true)
            .show(ui, |ui| {
                let c = &mut self.custom;
                egui::Grid::new("custom_server").num_columns(4).spacing([8.0, 4.0]).show(ui, |ui| {
                    let l = ui.label("Host");
                    ui.add(egui::TextEdit::singleline(&mut c.host).hint_text("smtp.example.org").desired_width(200.0))
                        .labelled_by(l.id);
                    let l = ui.label("Port");
                    ui.add(egui::TextEdit::singleline(&mut c.port).desired_width(60.0)).labelled_by(l.id);
                    ui.end_row();
                    ui.label("");
                    egui::ComboBox::from_label("Security")
                        .selected_text(accounts::tls_text(c.security))
                        .show_ui(ui, |ui| {
                            for t in TlsMode::ALL {
                                ui.selectable_value(&mut c.security, t, accounts::tls_text(t));
                            }
                        });
                    ui.checkbox(&mut c.insecure, "Accept invalid certificates (testing only)");
                    ui.end_row();
                    let l = ui.label("User");
                    ui.add(egui::TextEdit::singleline(&mut c.user).hint_text("none: no login").desired_width(200.0))
                        .labelled_by(l.id);
                    let l = ui.label("Password");
                    ui.add(egui::TextEdit::singleline(&mut c.password).password(true).desired_width(160.0))
                        .labelled_by(l.id);
                    ui.end_row();
                });
                if c.security == TlsMode::None {
                    ui.label(
                        RichText::new("⚠ Without TLS everything, the password included, crosses the network in clear text.")
                            .color(Color32::from_rgb(0xc0, 0x70, 0x00)),
                    );
                }
            });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| match self.status.clone() {
            Status::Idle(text) => {
                ui.label(text);
            }
            Status::Sending { stage, progress } => {
                ui.spinner();
                let stage_text = stage
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "preparing".into());
                ui.label(format!("Sending: {stage_text}"));
                if let (Some(Stage::Message), Some((sent, total))) = (stage, progress) {
                    let total = total.unwrap_or(sent.max(1));
                    let fraction = sent as f32 / total.max(1) as f32;
                    ui.add(
                        egui::ProgressBar::new(fraction)
                            .desired_width(240.0)
                            .text(format!(
                                "{} / {}",
                                smtp::format_bytes(sent),
                                smtp::format_bytes(total)
                            )),
                    );
                }
                if ui
                    .button("Cancel")
                    .on_hover_text(
                        "Stop sending. Before the message is complete nothing is delivered",
                    )
                    .clicked()
                {
                    self.cancel();
                }
            }
            Status::Sent(text) => {
                ui.label(RichText::new(format!("✔ {text}")).color(style::good(ui)));
            }
            Status::Failed(text) => {
                ui.label(RichText::new(format!("✖ {text}")).color(style::bad(ui)));
            }
        });
    }

    /// Saves the draft a moment after the last change, on a worker thread.
    fn autosave(&mut self, ctx: &egui::Context) {
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
    fn settings_loaded(&self) -> bool {
        self.saved_draft.is_some()
    }

    /// True when the form has changes not yet on disk.
    pub fn draft_unsaved(&self) -> bool {
        self.dirs.is_some() && self.saved_draft.as_ref() != Some(&self.compose)
    }

    fn handle_dropped_files(&mut self, ui: &egui::Ui) {
        let dropped: Vec<_> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.tab = Tab::Compose;
            self.attach_files(dropped);
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
        // Back in focus: accounts may have changed on disk meanwhile.
        let regained = ctx.input(|i| {
            i.raw
                .events
                .iter()
                .any(|e| matches!(e, egui::Event::WindowFocused(true)))
        });
        if regained
            && self.settings_loaded()
            && let Some(dirs) = &self.dirs
        {
            self.tasks.reload_settings(dirs.clone());
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.handle_dropped_files(ui);
        let hovering_files = ui.ctx().input(|i| !i.raw.hovered_files.is_empty());

        egui::Panel::top("tabs").show(ui, |ui| {
            ui.add_space(4.0);
            self.top_bar(ui);
            ui.add_space(2.0);
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.add_space(3.0);
            self.status_bar(ui);
            ui.add_space(3.0);
        });
        let mut transcript_intent = None;
        if self.show_transcript {
            egui::Panel::right("transcript")
                .resizable(true)
                .default_size(520.0)
                .size_range(280.0..=1200.0)
                .show(ui, |ui| {
                    transcript_intent = self.transcript.ui(ui);
                });
        }
        let mut compose_intent = None;
        let mut accounts_intent = None;
        let mut history_intent = None;
        let mut console_intent = None;
        let mut new_message = false;
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Compose => {
                ui.horizontal(|ui| {
                    if ui
                        .button("New message")
                        .on_hover_text("Start an empty message; this one stays under Drafts")
                        .clicked()
                    {
                        new_message = true;
                    }
                    egui::ComboBox::from_label("Stop after")
                        .selected_text(match self.quit_after {
                            None => "the whole send",
                            Some(q) => q.describe(),
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.quit_after, None, "the whole send");
                            for q in smtp::QuitAfter::ALL {
                                ui.selectable_value(&mut self.quit_after, Some(q), q.describe());
                            }
                        })
                        .response
                        .on_hover_text(
                            "Stop the exchange after a step, without delivering: e.g. RCPT TO \
                             checks that the recipients are accepted and sends nothing",
                        );
                    match &self.account {
                        AccountChoice::Sandbox => {
                            ui.add(
                                egui::Label::new(
                                    RichText::new(format!(
                                        "Local sandbox: an SMTP server inside Postscope, {}. Messages go nowhere else; read them under Sandbox inbox.",
                                        self.sandbox_status()
                                    ))
                                    .weak(),
                                )
                                .wrap(),
                            );
                        }
                        AccountChoice::Saved(name) => {
                            let text = match self.settings.account(name) {
                                Some(a) => format!(
                                    "Sending with {name}: {}{}",
                                    a.server,
                                    a.user.as_ref().map(|u| format!(", logging in as {u}")).unwrap_or_default()
                                ),
                                None => format!("The account {name:?} no longer exists"),
                            };
                            ui.add(egui::Label::new(RichText::new(text).weak()).wrap());
                        }
                        AccountChoice::Custom => {}
                    }
                });
                if let Some(a) = self.open_record().and_then(|r| r.attempt.clone()) {
                    ui.label(
                        RichText::new(format!(
                            "The last send of this message failed ({}): {}",
                            history::when(a.at),
                            a.error
                        ))
                        .color(Color32::from_rgb(0xc0, 0x70, 0x00)),
                    );
                }
                if self.account == AccountChoice::Custom {
                    self.custom_server_ui(ui);
                }
                ui.add_space(4.0);
                let blocker = self.send_blocker();
                compose_intent = compose::Form {
                    message: &mut self.compose,
                    more: &mut self.compose_more,
                }
                .ui(ui, blocker.as_deref());
            }
            Tab::Drafts | Tab::Outbox => {
                history_intent = history::drafts_ui(
                    ui,
                    &self.drafts,
                    self.tab == Tab::Outbox,
                    &self.draft_id,
                    &mut self.confirm_delete_draft,
                );
            }
            Tab::Sent => {
                history_intent = history::sent_ui(ui, &self.sent, &mut self.sent_selected);
            }
            Tab::Inbox => {
                let status = self.sandbox_status();
                let (messages, dropped) = match self.sandbox() {
                    Some(s) => (s.inbox().messages(), s.inbox().dropped()),
                    None => (Vec::new(), 0),
                };
                self.inbox.ui(ui, &messages, dropped, &status);
            }
            Tab::Console => {
                let busy = self.job.is_some();
                egui::ScrollArea::vertical()
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        console_intent = self.console.ui(ui, busy);
                    });
            }
            Tab::Accounts => {
                let facts = SecretFacts {
                    keychain_problem: self.keychain_problem.clone(),
                    session_only: self
                        .accounts
                        .form
                        .original
                        .as_ref()
                        .is_some_and(|n| self.session_secrets.contains_key(n)),
                };
                if self.dirs.is_none() {
                    ui.label("Accounts cannot be saved: there is no folder for settings (is HOME set?).");
                }
                accounts_intent =
                    self.accounts
                        .ui(ui, &self.settings.accounts, &facts, self.job.is_some());
            }
        });
        if self.confirm_resend {
            let modal = egui::Modal::new(egui::Id::unique("confirm_resend")).show(ui.ctx(), |ui| {
                ui.set_max_width(420.0);
                ui.heading("Send this message again?");
                let delivered = self
                    .open_record()
                    .and_then(|r| r.attempt.as_ref())
                    .map(|a| a.delivered.clone())
                    .unwrap_or_default();
                ui.add(
                    egui::Label::new(if delivered.is_empty() {
                        "The last attempt lost the connection after the whole message was sent, \
                         so the server may have delivered it already. Sending again may deliver \
                         it twice."
                            .to_string()
                    } else {
                        format!(
                            "The last attempt already delivered it to {}. Sending again delivers \
                             it to them twice; remove them from the recipients first if that is \
                             not what you want.",
                            delivered.join(", ")
                        )
                    })
                    .wrap(),
                );
                ui.add_space(8.0);
                let mut answer = None;
                ui.horizontal(|ui| {
                    if ui.button("Send again").clicked() {
                        answer = Some(true);
                    }
                    if ui.button("Don't send").clicked() {
                        answer = Some(false);
                    }
                });
                answer
            });
            match modal.inner {
                Some(true) => self.send(),
                Some(false) => self.confirm_resend = false,
                None if modal.should_close() => self.confirm_resend = false,
                None => {}
            }
        }
        if hovering_files {
            egui::Area::new(egui::Id::unique("drop_hint"))
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ui.ctx(), |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.heading("Drop files to attach them");
                    });
                });
        }
        if new_message {
            self.new_message();
        }
        match compose_intent {
            Some(ComposeIntent::Send) => self.send(),
            Some(ComposeIntent::PickFiles) => self.tasks.pick_files(),
            None => {}
        }
        if let Some(intent) = accounts_intent {
            self.accounts_intent(intent);
        }
        if let Some(intent) = history_intent {
            self.history_intent(intent);
        }
        if let Some(intent) = console_intent {
            self.console_intent(intent);
        }
        self.autosave(&ui.ctx().clone());
        match transcript_intent {
            Some(TranscriptIntent::Save) => {
                // Rendered on the worker, once the format is known.
                let snapshot = self.transcript.snapshot();
                self.tasks
                    .save_as("transcript.txt", move |path| snapshot.render(path));
            }
            Some(TranscriptIntent::Open) => self.tasks.open_transcript(),
            None => {}
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
