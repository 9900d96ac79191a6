//! Running a send or a probe: blocking on the caller's thread (the command
//! line) or on a job thread that reports over a channel (the window).

use std::sync::mpsc::{Receiver, channel};
use std::thread;

use super::secrets::SecretProblem;
use super::spec::{Login, Outgoing, ProbeSpec, SendSpec, Server};
use crate::message::{self, BuildError};
use crate::smtp::{
    self, AuthPlan, BodySource, CancelToken, Connection, Event, Job, Remedy, Report, SessionConfig,
    SessionError, Stage,
};

/// Why a send or probe failed.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// The draft could not become a message (bad address, unreadable file).
    #[error("the message could not be built: {0}")]
    Message(#[from] BuildError),
    /// The password or token could not be had.
    #[error("cannot log in: {0}")]
    Secret(#[from] SecretProblem),
    /// The session failed.
    #[error("failed during {stage}: {0}", stage = .0.stage())]
    Session(#[from] SessionError),
    /// The job could not run (no thread could be started, or it died).
    #[error("{0}")]
    Job(String),
}

/// Where a send failed: before the session, or in one of its stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailedAt {
    /// Building the message.
    Message,
    /// Getting the password.
    Password,
    /// Starting the job.
    Start,
    /// A stage of the session.
    Session(Stage),
}

impl std::fmt::Display for FailedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailedAt::Message => f.write_str("message"),
            FailedAt::Password => f.write_str("password"),
            FailedAt::Start => f.write_str("start"),
            FailedAt::Session(stage) => stage.fmt(f),
        }
    }
}

impl SendFailure {
    /// Where it failed.
    pub fn failed_at(&self) -> FailedAt {
        match self {
            SendFailure::Message(_) => FailedAt::Message,
            SendFailure::Secret(_) => FailedAt::Password,
            SendFailure::Job(_) => FailedAt::Start,
            SendFailure::Session(e) => FailedAt::Session(e.stage()),
        }
    }

    /// True when the server may have delivered the message anyway (the
    /// connection ended after the final dot): a retry could send it twice.
    pub fn delivery_unknown(&self) -> bool {
        matches!(
            self,
            SendFailure::Session(SessionError::DeliveryUnknown { .. })
        )
    }

    /// What to change so it works next time, if the engine knows.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            SendFailure::Session(e) => e.remedy(),
            _ => None,
        }
    }
}

/// The end of a send or probe: what happened, and whether it worked.
pub type Outcome = (Report, Result<(), SendFailure>);

fn auth(login: Option<Login>) -> Result<AuthPlan, SendFailure> {
    Ok(login
        .map(Login::plan)
        .transpose()?
        .unwrap_or(AuthPlan::None))
}

fn connect<'a>(server: &'a Server, cancel: &'a CancelToken) -> Connection<'a> {
    Connection {
        target: &server.target,
        tls: &server.tls_options,
        cancel,
    }
}

/// Sends a message, on this thread: builds it if it is a draft, gets the
/// secret, then runs the session. Every event goes to `on_event`.
pub fn send(spec: SendSpec, cancel: &CancelToken, on_event: &mut dyn FnMut(&Event)) -> Outcome {
    let (envelope, body): (_, Box<dyn BodySource + Send>) = match spec.message {
        Outgoing::Draft(draft) => match message::build_streaming(&draft) {
            Ok(built) => (built.envelope.clone(), Box::new(built)),
            Err(e) => return (Report::default(), Err(e.into())),
        },
        Outgoing::Ready { envelope, body } => (envelope, body),
    };
    let auth = match auth(spec.login) {
        Ok(plan) => plan,
        Err(e) => return (Report::default(), Err(e)),
    };
    let server = spec.server;
    let config = SessionConfig {
        client_id: server.client_id.clone(),
        tls: server.tls,
        auth,
        job: Job::Send(envelope),
        allow_partial: spec.allow_partial,
        timeouts: server.timeouts,
        quit_after: spec.quit_after,
    };
    let body: &dyn BodySource = body.as_ref();
    let (report, result) = smtp::run(connect(&server, cancel), config, Some(body), on_event);
    (report, result.map_err(SendFailure::Session))
}

/// Probes a server, on this thread: logs in if there is a login, sends
/// nothing.
pub fn probe(spec: ProbeSpec, cancel: &CancelToken, on_event: &mut dyn FnMut(&Event)) -> Outcome {
    let auth = match auth(spec.login) {
        Ok(plan) => plan,
        Err(e) => return (Report::default(), Err(e)),
    };
    let server = spec.server;
    let config = SessionConfig {
        client_id: server.client_id.clone(),
        tls: server.tls,
        auth,
        job: Job::Probe,
        allow_partial: false,
        timeouts: server.timeouts,
        quit_after: spec.quit_after,
    };
    let (report, result) = smtp::run(connect(&server, cancel), config, None, on_event);
    (report, result.map_err(SendFailure::Session))
}

/// A send or a probe, to run on a job thread.
pub enum Work {
    /// Deliver a message.
    Send(SendSpec),
    /// Look at a server.
    Probe(ProbeSpec),
}

/// What a running job reports.
pub enum JobMsg {
    /// An engine event (transcript line, stage, progress).
    Event(Event),
    /// The end.
    Done(Box<Outcome>),
}

/// A job running on its own thread.
pub struct Running {
    /// Its reports, ending with [`JobMsg::Done`].
    pub rx: Receiver<JobMsg>,
    /// Cancels it.
    pub cancel: CancelToken,
}

/// Runs `work` on a new thread; `notify` is called after each report (the
/// window repaints).
pub fn spawn(work: Work, notify: std::sync::Arc<dyn Fn() + Send + Sync>) -> Running {
    let (tx, rx) = channel();
    let cancel = CancelToken::default();
    let job_cancel = cancel.clone();
    let job_tx = tx.clone();
    let job_notify = notify.clone();
    let spawned = thread::Builder::new()
        .name("postscope-session".into())
        .spawn(move || {
            let report = |m: JobMsg| {
                let _ = job_tx.send(m);
                job_notify();
            };
            let mut on_event = |e: &Event| report(JobMsg::Event(e.clone()));
            let outcome = match work {
                Work::Send(spec) => send(spec, &job_cancel, &mut on_event),
                Work::Probe(spec) => probe(spec, &job_cancel, &mut on_event),
            };
            report(JobMsg::Done(Box::new(outcome)));
        });
    if let Err(e) = spawned {
        let failure = SendFailure::Job(format!("cannot start a thread: {e}"));
        let _ = tx.send(JobMsg::Done(Box::new((Report::default(), Err(failure)))));
        notify();
    }
    Running { rx, cancel }
}
