//! What the panels and bars ask for, carried out in one place: each
//! returns an [`Intent`] while it is drawn, and [`App::apply`] does the
//! work once the frame is drawn.

use super::accounts::AccountsIntent;
use super::compose::ComposeIntent;
use super::dialogs::DialogFor;
use super::history::HistoryIntent;
use super::send::JobKind;
use super::transcript::TranscriptIntent;
use super::{App, Status, Tab, console, worker};
use crate::app;
use crate::app::ProbeSpec;
use crate::app::Server;
use crate::app::Work;
use crate::smtp::ClientId;
use crate::smtp::Timeouts;
use crate::smtp::TlsMode;
use crate::store::mail::AccountChoice;

/// Something a person asked the window to do.
#[must_use]
#[derive(Debug, Clone)]
pub enum Intent {
    /// Start an empty message (the open one stays in Drafts).
    NewMessage,
    /// Send the composed message.
    Send,
    /// The answer to "Send this message again?".
    Resend(bool),
    /// Cancel the running session.
    Cancel,
    /// Pick an account in the account menu.
    ChooseAccount(AccountChoice),
    /// Attach files with the native dialog.
    PickFiles,
    /// Show the composed message as it would be sent.
    ShowRaw,
    /// Close the Raw view.
    CloseRaw,
    /// Attach these files (dropped on the window).
    Attach(Vec<std::path::PathBuf>),
    /// Save the transcript panel's session to a file.
    SaveTranscript,
    /// Load a saved transcript into the panel.
    OpenTranscript,
    /// The Accounts tab.
    Accounts(AccountsIntent),
    /// The Drafts, Outbox and Sent lists.
    History(HistoryIntent),
    /// The Console tab.
    Console(console::ConsoleIntent),
    /// The Learn tab asks for something.
    Learn(super::learn::LearnIntent),
    /// Open the Learn tab, at a page if given (links from the transcript
    /// and from error messages).
    OpenLearn(Option<super::learn::Page>),
}

impl From<ComposeIntent> for Intent {
    fn from(i: ComposeIntent) -> Intent {
        match i {
            ComposeIntent::Send => Intent::Send,
            ComposeIntent::PickFiles => Intent::PickFiles,
        }
    }
}

impl From<TranscriptIntent> for Intent {
    fn from(i: TranscriptIntent) -> Intent {
        match i {
            TranscriptIntent::Save => Intent::SaveTranscript,
            TranscriptIntent::Open => Intent::OpenTranscript,
            TranscriptIntent::Learn => Intent::OpenLearn(None),
        }
    }
}

impl App {
    /// Carries out an intent.
    pub fn apply(&mut self, intent: Intent) {
        match intent {
            Intent::NewMessage => self.new_message(),
            Intent::Send => self.send(),
            Intent::Resend(true) => self.send(),
            Intent::Resend(false) => self.confirm_resend = false,
            Intent::Cancel => self.cancel(),
            Intent::ChooseAccount(choice) => self.choose_account(choice),
            Intent::PickFiles if self.typed_path_instead(DialogFor::Attach) => {}
            Intent::PickFiles => self.tasks.pick_files(),
            Intent::ShowRaw => {
                let draft = self.compose.draft();
                self.tasks.build_message(draft, worker::Built::Raw);
            }
            Intent::CloseRaw => self.raw_view = None,
            Intent::Attach(paths) => {
                self.tab = Tab::Compose;
                self.attach_files(paths);
            }
            Intent::SaveTranscript if self.typed_path_instead(DialogFor::SaveTranscript) => {}
            Intent::SaveTranscript => {
                // Rendered on the worker, once the format is known.
                let snapshot = self.transcript.snapshot();
                self.tasks
                    .save_as("transcript.txt", move |path| snapshot.render(path));
            }
            Intent::OpenTranscript if self.typed_path_instead(DialogFor::OpenTranscript) => {}
            Intent::OpenTranscript => self.tasks.open_transcript(),
            Intent::Accounts(i) => self.accounts_intent(i),
            Intent::History(i) => self.history_intent(i),
            Intent::Console(i) => self.console_intent(i),
            Intent::Learn(super::learn::LearnIntent::SendExample) => self.send_example(),
            Intent::OpenLearn(page) => {
                self.tab = Tab::Learn;
                if let Some(page) = page {
                    self.learn.open(page);
                }
            }
        }
    }

    /// The Learn walk's send: the example message to the Local sandbox, the
    /// open message kept in Drafts.
    fn send_example(&mut self) {
        if self.account != AccountChoice::Sandbox {
            self.choose_account(AccountChoice::Sandbox);
        }
        self.new_message();
        self.compose = super::compose::example();
        self.show_transcript = true;
        self.tab = Tab::Learn; // a new message goes to Compose; the walk stays
        self.send();
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
                    let _ = conn.send(command);
                }
                if disconnect && self.console_conn.is_none() {
                    self.console.state = Default::default();
                }
            }
            console::ConsoleIntent::PickCaFile => {
                if !self.typed_path_instead(DialogFor::CaFile(worker::CaFor::Console)) {
                    self.tasks.pick_ca_file(worker::CaFor::Console);
                }
            }
            console::ConsoleIntent::UseComposed => {
                let draft = self.compose.draft();
                self.tasks.build_message(draft, worker::Built::Console);
            }
        }
    }

    fn accounts_intent(&mut self, intent: AccountsIntent) {
        match intent {
            AccountsIntent::Select(name) => {
                let account = name.and_then(|n| self.settings.account(&n).cloned());
                self.accounts.select(account.as_ref());
                self.refresh_grant_view();
            }
            AccountsIntent::SignIn { device } => self.start_sign_in(device),
            AccountsIntent::CancelSignIn => self.cancel_sign_in(),
            AccountsIntent::PasteRedirect(text) => self.paste_redirect(text),
            AccountsIntent::SignOut => self.sign_out(),
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
                let mut account = form.account();
                let secret = if form.auth == crate::store::settings::AuthSetting::Oauth2 {
                    // A typed client secret joins the account's keychain
                    // entry (the sign-in in it stays).
                    (!form.secret.is_empty()).then(|| {
                        if let Some(o) = account.oauth.as_mut() {
                            o.has_client_secret = true;
                        }
                        form.secret.clone()
                    })
                } else {
                    (!form.secret.is_empty() && form.logs_in()).then(|| form.secret.clone())
                };
                let change = crate::store::accounts::Change {
                    account,
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
            AccountsIntent::PickCaFile => {
                if !self.typed_path_instead(DialogFor::CaFile(worker::CaFor::Account)) {
                    self.tasks.pick_ca_file(worker::CaFor::Account);
                }
            }
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
            HistoryIntent::ShowTranscript(id) if self.needs_reading(&id) => {
                if let Some(dirs) = self.dirs.clone() {
                    self.tasks
                        .load_sent(dirs, id, worker::SentUse::ShowTranscript);
                }
            }
            HistoryIntent::SendAgain(id) if self.needs_reading(&id) => {
                if let Some(dirs) = self.dirs.clone() {
                    self.tasks.load_sent(dirs, id, worker::SentUse::SendAgain);
                }
            }
            HistoryIntent::ShowTranscript(id) => {
                let found = self
                    .session_sent
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
                if let Some((_, record)) = self.session_sent.iter().find(|(s, _)| *s == id).cloned()
                {
                    self.send_again(record);
                }
            }
        }
    }

    /// Whether a Sent entry must be read from disk (it was not sent in this
    /// session).
    fn needs_reading(&self, id: &str) -> bool {
        self.sent.iter().any(|(s, _)| s == id) && !self.session_sent.iter().any(|(s, _)| s == id)
    }

    /// A copy of a sent message as a new draft.
    pub(super) fn send_again(&mut self, record: crate::store::mail::SentRecord) {
        self.new_message();
        self.compose = record.message;
        self.tab = Tab::Compose;
    }
}
