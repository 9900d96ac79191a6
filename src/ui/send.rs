//! Sending and testing: where the composed message goes, starting the job
//! on [`crate::app::spawn`], taking in its events, and recording the end (a
//! delivered message moves to Sent, a failed one waits in the Outbox).

use super::accounts::TestState;
use super::{App, SandboxState, Status, words};
use crate::app;
use crate::app::JobMsg;
use crate::app::Login;
use crate::app::Outgoing;
use crate::app::ProbeSpec;
use crate::app::SecretSource;
use crate::app::SendFailure;
use crate::app::SendSpec;
use crate::app::Server;
use crate::app::Work;
use crate::smtp;
use crate::smtp::ClientId;
use crate::smtp::Event;
use crate::smtp::Target;
use crate::smtp::Timeouts;
use crate::smtp::TlsOptions;
use crate::store::mail::AccountChoice;
use crate::store::mail::Attempt;
use crate::store::mail::Composed;
use crate::store::mail::DraftRecord;
use crate::store::mail::SentRecord;
use crate::store::settings::AuthSetting;

/// A send in flight: which draft, and what to record when it ends.
pub(super) struct Sending {
    pub(super) draft_id: String,
    pub(super) account: AccountChoice,
    pub(super) account_label: String,
    pub(super) server: String,
    pub(super) message: Composed,
    /// This session's transcript (the panel may be showing something else
    /// by the time it ends).
    pub(super) events: Vec<smtp::TranscriptEvent>,
}

impl Sending {
    /// What is on disk while the message is out: if Postscope stops before
    /// the outcome is known, the next start finds it in the Outbox, with a
    /// retry that asks first.
    pub(super) fn in_flight(
        &self,
        unknown: serde_json::Map<String, serde_json::Value>,
    ) -> DraftRecord {
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
pub(super) enum JobKind {
    Send(Box<Sending>),
    Test,
    /// The Console tab's Probe.
    Probe,
}

impl App {
    /// Why sending is not possible right now, if it is not.
    pub(super) fn send_blocker(&self) -> Option<String> {
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
    pub(super) fn account_label(&self) -> String {
        match &self.account {
            AccountChoice::Sandbox => "Local sandbox".into(),
            AccountChoice::Saved(name) => name.clone(),
            AccountChoice::Custom => "Other server".into(),
        }
    }

    /// Where a saved account's secret comes from: typed this session, else
    /// the keychain.
    pub(super) fn secret_source(&self, account: &crate::store::settings::Account) -> SecretSource {
        if let Some(source) = self.oauth_source(account) {
            return source;
        }
        let token = account.auth.is_some_and(AuthSetting::takes_token);
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
    pub(super) fn destination(&self) -> Option<(Server, Option<Login>)> {
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
    pub(super) fn open_record(&self) -> Option<&DraftRecord> {
        self.drafts
            .iter()
            .find(|(id, _)| *id == self.draft_id)
            .map(|(_, r)| r)
    }

    /// Starts sending the composed message (what Send and Ctrl+Enter do).
    /// A message whose last send ended with "delivery unknown" asks first.
    pub(super) fn send(&mut self) {
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
    pub(super) fn test_account(&mut self) {
        if self.job.is_some() {
            return;
        }
        let form = &self.accounts.form;
        if !form.problems(&self.settings.accounts).is_empty() {
            return;
        }
        let account = form.account();
        let token = account.auth.is_some_and(AuthSetting::takes_token);
        let secret = match &form.original {
            // An OAuth2 form's secret field is the client secret, never
            // an SMTP password: the saved sign-in's token is used.
            Some(original) if account.signs_in() => {
                let saved = self.settings.account(original).cloned();
                match saved.and_then(|a| self.oauth_source(&a)) {
                    Some(source) => source,
                    None => {
                        self.status =
                            Status::Failed("Save the account and sign in, then test it".into());
                        return;
                    }
                }
            }
            None if account.signs_in() => {
                self.status = Status::Failed("Save the account and sign in, then test it".into());
                return;
            }
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
    pub(super) fn cancel(&mut self) {
        if let Some((job, _)) = &self.job {
            job.cancel.cancel();
        }
    }

    pub(super) fn show_events(&mut self, server: &str, events: &[smtp::TranscriptEvent]) {
        self.transcript.clear(server.to_owned());
        for e in events {
            self.transcript.push(e.clone());
        }
        self.show_transcript = true;
    }

    /// Takes in what the worker threads reported. Never blocks.
    pub(super) fn drain(&mut self) {
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
    pub(super) fn finish_send(
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
                let point = report.stopped_after.unwrap_or(smtp::Stage::Data);
                let accepted = if point >= smtp::Stage::Rcpt {
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
                    point.stop_label()
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
                    .insert(0, (sending.draft_id.clone(), record.summary()));
                self.session_sent
                    .push((sending.draft_id.clone(), record.clone()));
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
                    "{} Delivered to {} recipient(s){}{kept}",
                    crate::clock::local_time_of_day(std::time::SystemTime::now()),
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
                self.status = Status::Failed(format!(
                    "{} {}{kept}",
                    crate::clock::local_time_of_day(std::time::SystemTime::now()),
                    words::failure(&e)
                ));
            }
        }
    }
}
