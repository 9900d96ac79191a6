//! Taking in what the worker threads report: one background result at a
//! time, and the console's lines.

use super::worker::Background;
use super::{App, SandboxState, Status, accounts, compose, worker};
use crate::smtp::Target;
use crate::store::accounts::SecretPlace;
use crate::store::history::Mail;
use crate::store::mail::AccountChoice;

impl App {
    /// A CA file chosen for a form, by the dialog or typed.
    pub(super) fn ca_picked(&mut self, for_form: worker::CaFor, path: std::path::PathBuf) {
        let path = path.display().to_string();
        match for_form {
            worker::CaFor::Account => self.accounts.form.ca_file = path,
            worker::CaFor::Console => self.console.ca_file = path,
        }
    }

    /// Takes one background result.
    pub(super) fn take(&mut self, msg: Background) {
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
            Background::NoFileDialog(purpose, why) => {
                self.path_prompt = Some(super::dialogs::PathPrompt::new(purpose, why));
            }
            Background::CaPicked(for_form, path) => self.ca_picked(for_form, path),
            Background::Saved(Ok(path)) => {
                self.status = Status::Idle(format!("Transcript saved to {}", path.display()));
            }
            Background::Saved(Err(e)) => self.status = Status::Failed(e),
            Background::SaveWouldReplace(path, why) => self.ask_to_replace(path, why),
            Background::SignIn(msg) => self.on_sign_in(msg),
            Background::Sandbox(Ok(sandbox)) => {
                let ctx = self.ctx.clone();
                sandbox
                    .inbox()
                    .set_notify(Box::new(move || ctx.request_repaint()));
                self.sandbox = SandboxState::Running(Box::new(sandbox));
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
                // What this save learned of the keychain: a save that did
                // not use it says nothing new.
                match secret {
                    SecretPlace::ThisSession(s) => {
                        self.session_secrets.insert(name.clone(), s);
                    }
                    SecretPlace::Keychain => {
                        self.session_secrets.remove(&name);
                        self.keychain_problem = None;
                    }
                    SecretPlace::Unchanged => {}
                }
                if let Some(old) = self.accounts.form.original.clone()
                    && old != name
                {
                    if let Some(s) = self.session_secrets.remove(&old) {
                        self.session_secrets.entry(name.clone()).or_insert(s);
                    }
                    self.move_session_grant(&old, &name);
                    if self.account == AccountChoice::Saved(old) {
                        self.account = AccountChoice::Saved(name.clone());
                    }
                }
                if let Some(e) = keychain_problem {
                    self.keychain_problem = Some(e.to_string());
                }
                self.accounts.select(self.settings.account(&name));
                self.refresh_grant_view();
                self.status = if self.keychain_problem.is_some() {
                    Status::Warning(message)
                } else {
                    Status::Sent(message)
                };
            }
            Background::AccountSaved(Err(e)) => {
                self.status = Status::Failed(format!("The account was not saved: {e}"));
            }
            Background::AccountDeleted(Ok((name, deleted))) => {
                let message = accounts::deleted_message(&name, &deleted);
                self.settings = deleted.settings;
                self.session_secrets.remove(&name);
                self.forget_session_grant(&name);
                if self.account == AccountChoice::Saved(name) {
                    self.account = AccountChoice::Sandbox;
                }
                self.accounts.select(None);
                self.status = Status::Idle(message);
            }
            Background::AccountDeleted(Err(e)) => {
                // It may be gone already (deleted elsewhere): show what is.
                if let Some(dirs) = &self.dirs {
                    self.tasks.reload_settings(dirs.clone());
                }
                self.status = Status::Failed(format!("The account was not deleted: {e}"));
            }
            Background::StoreFailed(e) => self.status = Status::Failed(e),
            Background::Built(worker::Built::Raw, result) => self.raw_view = Some(result),
            Background::SentLoaded(purpose, Ok(record)) => match purpose {
                worker::SentUse::ShowTranscript => {
                    self.show_events(&record.server, &record.transcript);
                }
                worker::SentUse::SendAgain => self.send_again(record),
            },
            Background::SentLoaded(_, Err(e)) => {
                self.status = Status::Failed(format!("Cannot open the sent message: {e}"));
            }
            Background::Built(worker::Built::Console, Ok(message)) => {
                self.console.message = message.text;
                self.status = Status::Idle("The Compose message is ready to send with DATA".into());
            }
            Background::Built(worker::Built::Console, Err(e)) => self.status = Status::Failed(e),
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
                    // A user name filled in meanwhile (by a sign-in) joins
                    // the form showing that account, if its field is empty.
                    let form = &mut self.accounts.form;
                    if let Some(a) = form
                        .original
                        .as_ref()
                        .and_then(|n| self.settings.account(n))
                        && form.user.is_empty()
                    {
                        form.user = a.user.clone().unwrap_or_default();
                    }
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
    pub(super) fn drain_console(&mut self) {
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

    pub(super) fn console_target(&self) -> Option<Target> {
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
}
