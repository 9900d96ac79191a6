//! The desktop app (eframe/egui): compose on the left, the live transcript
//! on the right, status at the bottom, and the sandbox inbox as a second tab.
//!
//! The App owns the state; panels draw it and return intents, which the App
//! carries out after drawing. Everything that can block — sending, file
//! dialogs, reading files, starting the sandbox — runs on worker threads
//! ([`worker`]) that wake the UI with `request_repaint`; an idle window
//! repaints nothing.

pub mod compose;
pub mod inbox;
pub mod transcript;
pub mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use egui::{Color32, RichText};

use crate::sandbox::Sandbox;
use crate::smtp::{self, Event, Stage, Target, Timeouts, TlsMode, TlsOptions};
use crate::store::DataDirs;
use compose::{ComposeIntent, ComposeState};
use inbox::InboxView;
use transcript::{TranscriptIntent, TranscriptView};
use worker::{Background, SendJob, SendMsg, SendSpec, Tasks};

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
    /// Where the draft is kept; `None` keeps nothing on disk.
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
    /// What the sandbox received.
    Inbox,
}

/// Which server to send through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChoice {
    /// The SMTP server inside the app.
    Sandbox,
    /// A server typed in for this session.
    Custom,
}

/// Transport security as the account form offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte.
    Implicit,
    /// Clear text.
    None,
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
    pub security: Security,
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
            security: Security::StartTls,
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
    pub compose: ComposeState,
    /// The transcript of the current or last send.
    pub transcript: TranscriptView,
    /// The status bar.
    pub status: Status,
    inbox: InboxView,
    tasks: Tasks,
    background: Receiver<Background>,
    sandbox: SandboxState,
    job: Option<SendJob>,
    show_transcript: bool,
    dirs: Option<DataDirs>,
    /// The draft as last saved; `None` until the saved one has been read
    /// (so the example never overwrites a real draft).
    saved_draft: Option<ComposeState>,
    /// When the form first differed from the saved draft.
    dirty_since: Option<std::time::Instant>,
}

impl App {
    /// Creates the App. With `start_sandbox`, the sandbox starts on a
    /// worker thread and the app is usable at once.
    pub fn new(ctx: egui::Context, options: AppOptions) -> App {
        let notify_ctx = ctx.clone();
        let (tasks, background) = Tasks::new(Arc::new(move || notify_ctx.request_repaint()));
        let mut app = App {
            ctx,
            tab: Tab::Compose,
            account: AccountChoice::Sandbox,
            custom: CustomServer::default(),
            compose: ComposeState::example(),
            transcript: TranscriptView::default(),
            status: Status::Idle(String::new()),
            inbox: InboxView::default(),
            tasks,
            background,
            sandbox: SandboxState::Off,
            job: None,
            show_transcript: true,
            dirs: options.dirs.clone(),
            saved_draft: None,
            dirty_since: None,
        };
        if let Some(dirs) = &options.dirs {
            app.tasks.load_draft(dirs.current_draft());
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
        match self.account {
            AccountChoice::Sandbox => match &self.sandbox {
                SandboxState::Running(_) => None,
                SandboxState::Starting => Some("The local sandbox is still starting".into()),
                SandboxState::Off => Some("The local sandbox is not running".into()),
                SandboxState::Failed(e) => Some(format!("The local sandbox could not start: {e}")),
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

    fn send_spec(&self) -> Option<SendSpec> {
        match self.account {
            AccountChoice::Sandbox => {
                let sandbox = self.sandbox()?;
                let addr = sandbox.local_addr();
                Some(SendSpec {
                    target: Target {
                        host: addr.ip().to_string(),
                        port: addr.port(),
                    },
                    tls: TlsMode::StartTls,
                    tls_options: TlsOptions {
                        extra_roots: vec![sandbox.ca_der()],
                        ..TlsOptions::default()
                    },
                    // A fixed, public login: the sandbox accepts any.
                    login: Some(("sandbox".into(), "sandbox".into())),
                    timeouts: Timeouts::uniform(std::time::Duration::from_secs(30)),
                })
            }
            AccountChoice::Custom => {
                let c = &self.custom;
                Some(SendSpec {
                    target: Target {
                        host: c
                            .host
                            .trim()
                            .trim_start_matches('[')
                            .trim_end_matches(']')
                            .to_owned(),
                        port: c.port.trim().parse().ok()?,
                    },
                    tls: match c.security {
                        Security::StartTls => TlsMode::StartTls,
                        Security::Implicit => TlsMode::Implicit,
                        Security::None => TlsMode::None,
                    },
                    tls_options: TlsOptions {
                        dangerous_accept_invalid_certs: c.insecure,
                        ..TlsOptions::default()
                    },
                    login: (!c.user.is_empty()).then(|| (c.user.clone(), c.password.clone())),
                    timeouts: Timeouts::default(),
                })
            }
        }
    }

    /// Starts sending the composed message (what Send and Ctrl+Enter do).
    pub fn send(&mut self) {
        if let Some(reason) = self.send_blocker() {
            self.status = Status::Failed(reason);
            return;
        }
        if let Some((_, problem)) = self.compose.problems().first() {
            self.status = Status::Failed(format!("Cannot send: {problem}"));
            return;
        }
        let Some(spec) = self.send_spec() else {
            return;
        };
        self.transcript.clear(spec.target.to_string());
        self.status = Status::Sending {
            stage: None,
            progress: None,
        };
        self.job = Some(worker::spawn_send(
            self.compose.draft(),
            spec,
            self.tasks.notify(),
        ));
    }

    /// Cancels the running send.
    pub fn cancel(&mut self) {
        if let Some(job) = &self.job {
            job.cancel.cancel();
        }
    }

    /// Takes in what the worker threads reported. Never blocks.
    fn drain(&mut self) {
        while let Ok(msg) = self.background.try_recv() {
            match msg {
                Background::Inspected(results) => {
                    let mut errors = Vec::new();
                    let entries: Vec<_> = results
                        .into_iter()
                        .filter_map(|r| r.map_err(|e| errors.push(e)).ok())
                        .collect();
                    self.compose.attach(entries);
                    if !errors.is_empty() {
                        self.status =
                            Status::Failed(format!("Cannot attach {}", errors.join("; ")));
                    }
                }
                Background::Picked(paths) => self.tasks.inspect(paths),
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
                Background::DraftLoaded(Ok(Some(draft))) => {
                    // Only if nothing was typed in the moment it took to read.
                    if self.compose == ComposeState::example() {
                        self.compose = draft.clone();
                        self.status =
                            Status::Idle("Restored the draft from your last session".into());
                    }
                    self.saved_draft = Some(draft);
                }
                Background::DraftLoaded(Ok(None)) => {
                    self.saved_draft = Some(ComposeState::example())
                }
                Background::DraftLoaded(Err(e)) => {
                    self.status = Status::Failed(e);
                    self.saved_draft = Some(ComposeState::default());
                }
                Background::DraftNotSaved(e) => self.status = Status::Failed(e),
            }
        }
        // A flood of transcript lines is taken in slices so a frame stays short.
        let started = std::time::Instant::now();
        let mut finished = None;
        if let Some(job) = &self.job {
            loop {
                let msg = match job.rx.try_recv() {
                    Ok(msg) => msg,
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        // The worker died without a word (a bug): do not spin forever.
                        finished = Some((
                            Box::default(),
                            Err(worker::SendFailure::Build(
                                "the sending thread stopped unexpectedly".into(),
                            )),
                        ));
                        break;
                    }
                };
                match msg {
                    SendMsg::Built { .. } => {}
                    SendMsg::Event(Event::Transcript(e)) => self.transcript.push(e),
                    SendMsg::Event(Event::Stage(stage)) => {
                        if let Status::Sending { stage: s, .. } = &mut self.status {
                            *s = Some(stage);
                        }
                    }
                    SendMsg::Event(Event::Progress { sent, total }) => {
                        if let Status::Sending { progress, .. } = &mut self.status {
                            *progress = Some((sent, total));
                        }
                    }
                    SendMsg::Event(_) => {}
                    SendMsg::Done(report, result) => {
                        finished = Some((report, result));
                        break;
                    }
                }
                if started.elapsed() > std::time::Duration::from_millis(8) {
                    self.ctx.request_repaint();
                    break;
                }
            }
        }
        if let Some((report, result)) = finished {
            self.job = None;
            self.status = match result {
                Ok(()) => {
                    let reply = report
                        .final_reply
                        .as_ref()
                        .map(|r| format!(": {} {}", r.code, r.lines.join(" ")))
                        .unwrap_or_default();
                    Status::Sent(format!(
                        "Delivered to {} recipient(s){reply}",
                        report.delivered.len()
                    ))
                }
                Err(e) => Status::Failed(e.to_string()),
            };
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.tab, Tab::Compose, "Compose");
            let count = self
                .sandbox()
                .map(|s| s.inbox().messages().len())
                .unwrap_or(0);
            ui.selectable_value(
                &mut self.tab,
                Tab::Inbox,
                format!("Sandbox inbox ({count})"),
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.toggle_value(&mut self.show_transcript, "Transcript")
                    .on_hover_text("Show or hide the transcript panel");
                let name = match self.account {
                    AccountChoice::Sandbox => "Local sandbox",
                    AccountChoice::Custom => "Other server",
                };
                egui::ComboBox::from_label("Account")
                    .selected_text(name)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(
                            &mut self.account,
                            AccountChoice::Sandbox,
                            "Local sandbox",
                        )
                        .on_hover_text(
                            "The SMTP server inside Postscope: nothing leaves this computer",
                        );
                        ui.selectable_value(
                            &mut self.account,
                            AccountChoice::Custom,
                            "Other server",
                        )
                        .on_hover_text(
                            "A server you enter; the password is kept for this session only",
                        );
                    });
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
                        .selected_text(match c.security {
                            Security::StartTls => "STARTTLS (required)",
                            Security::Implicit => "TLS (implicit, port 465)",
                            Security::None => "None (clear text)",
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut c.security, Security::StartTls, "STARTTLS (required)");
                            ui.selectable_value(&mut c.security, Security::Implicit, "TLS (implicit, port 465)");
                            ui.selectable_value(&mut c.security, Security::None, "None (clear text)");
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
                if c.security == Security::None {
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
                let color = if ui.visuals().dark_mode {
                    Color32::from_rgb(0x7d, 0xd8, 0x8a)
                } else {
                    Color32::from_rgb(0x1b, 0x7f, 0x2a)
                };
                ui.label(RichText::new(format!("✔ {text}")).color(color));
            }
            Status::Failed(text) => {
                let color = if ui.visuals().dark_mode {
                    Color32::from_rgb(0xff, 0x7b, 0x7b)
                } else {
                    Color32::from_rgb(0xc0, 0x1c, 0x28)
                };
                ui.label(RichText::new(format!("✖ {text}")).color(color));
            }
        });
    }

    /// Saves the draft a moment after the last change, on a worker thread.
    fn autosave(&mut self, ctx: &egui::Context) {
        let (Some(dirs), Some(saved)) = (&self.dirs, &self.saved_draft) else {
            return;
        };
        if *saved == self.compose {
            self.dirty_since = None;
            return;
        }
        let now = std::time::Instant::now();
        let since = *self.dirty_since.get_or_insert(now);
        let waited = now - since;
        if waited >= DRAFT_SAVE_DELAY {
            self.tasks
                .save_draft(dirs.current_draft(), self.compose.clone());
            self.saved_draft = Some(self.compose.clone());
            self.dirty_since = None;
        } else {
            ctx.request_repaint_after(DRAFT_SAVE_DELAY - waited);
        }
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
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
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
        let mut save = false;
        if self.show_transcript {
            egui::Panel::right("transcript")
                .resizable(true)
                .default_size(520.0)
                .size_range(280.0..=1200.0)
                .show(ui, |ui| {
                    save = self.transcript.ui(ui) == Some(TranscriptIntent::Save);
                });
        }
        let mut compose_intent = None;
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Compose => {
                if self.account == AccountChoice::Sandbox {
                    ui.label(
                        RichText::new(format!(
                            "Local sandbox: an SMTP server inside Postscope, {}. Messages go nowhere else; read them under Sandbox inbox.",
                            self.sandbox_status()
                        ))
                        .weak(),
                    );
                } else {
                    self.custom_server_ui(ui);
                }
                ui.add_space(4.0);
                let blocker = self.send_blocker();
                compose_intent = self.compose.ui(ui, blocker.as_deref());
            }
            Tab::Inbox => {
                let status = self.sandbox_status();
                let (messages, dropped) = match self.sandbox() {
                    Some(s) => (s.inbox().messages(), s.inbox().dropped()),
                    None => (Vec::new(), 0),
                };
                self.inbox.ui(ui, &messages, dropped, &status);
            }
        });
        if hovering_files {
            egui::Area::new(egui::Id::unique("drop_hint"))
                .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
                .show(ui.ctx(), |ui| {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.heading("Drop files to attach them");
                    });
                });
        }
        match compose_intent {
            Some(ComposeIntent::Send) => self.send(),
            Some(ComposeIntent::PickFiles) => self.tasks.pick_files(),
            None => {}
        }
        self.autosave(&ui.ctx().clone());
        if save {
            let text = self.transcript.to_text();
            let jsonl = self.transcript.to_jsonl();
            self.tasks.save_as("transcript.txt", move |path| {
                if path.extension().is_some_and(|e| e == "jsonl") {
                    jsonl.into_bytes()
                } else {
                    text.into_bytes()
                }
            });
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.cancel();
        // Closing the window: the last keystrokes are written now (the one
        // disk write on this thread, at exit).
        if self.draft_unsaved()
            && let Some(dirs) = &self.dirs
        {
            let _ = crate::store::write_json(&dirs.current_draft(), &self.compose);
        }
    }
}
