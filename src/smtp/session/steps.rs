//! What every phase shares: sending a command and queueing its reply,
//! the transcript and stages, stopping on purpose, and the ways to end.

use std::time::{Duration, Instant};

use super::{Envelope, Event, Expect, Job, Session, StageTiming, State};
use crate::smtp::command::Command;
use crate::smtp::error::{SessionError, Stage};
use crate::smtp::reply::ReplyCode;
use crate::smtp::tls::TlsInfo;
use crate::smtp::transcript::{self, Direction, TranscriptEvent};

impl Session {
    pub(super) fn envelope(&self) -> Option<&Envelope> {
        match &self.config.job {
            Job::Send(e) => Some(e),
            Job::Probe => None,
        }
    }

    fn at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.start)
    }

    pub(super) fn record(
        &mut self,
        now: Instant,
        direction: Direction,
        text: String,
        code: Option<ReplyCode>,
    ) {
        let secure = self.secure && matches!(direction, Direction::Sent | Direction::Received);
        self.events.push_back(Event::Transcript(TranscriptEvent {
            at: self.at(now),
            direction,
            secure,
            text: transcript::escape_controls(&text).into_owned(),
            code,
        }));
    }

    pub(super) fn enter(&mut self, stage: Stage) {
        self.stage = stage;
        // The furthest stage of the job; a QUIT that only closes a failed
        // session does not count as getting further.
        let closing_after_failure = stage == Stage::Quit && self.failure.is_some();
        if !closing_after_failure && self.report.stage.is_none_or(|s| s < stage) {
            self.report.stage = Some(stage);
        }
        self.events.push_back(Event::Stage(stage));
    }

    pub(super) fn complete(&mut self, now: Instant, stage: Stage) {
        let at_ms = self.at(now);
        self.report.timings.push(StageTiming { stage, at_ms });
    }

    pub(super) fn tls_up(&mut self, now: Instant, info: TlsInfo) {
        self.secure = true;
        self.note(now, format!("TLS established: {}", info.summary()));
        for warning in info.warnings() {
            self.record(now, Direction::Error, warning, None);
        }
        self.report.tls = Some(info);
    }

    pub(super) fn timeout_for(&self, expect: Expect) -> Duration {
        let t = &self.config.timeouts;
        match expect {
            Expect::Greeting => t.greeting,
            Expect::Mail => t.mail,
            Expect::Rcpt(_) => t.rcpt,
            Expect::Data => t.data_init,
            Expect::DataEnd | Expect::Bdat(true) => t.data_end,
            Expect::Bdat(false) => t.data_block,
            _ => t.command,
        }
    }

    pub(super) fn expect_reply(&mut self, now: Instant, expect: Expect) {
        if self.expect.is_empty() {
            let limit = self.timeout_for(expect);
            self.deadline = Some((now + limit, limit));
        }
        self.expect.push_back(expect);
    }

    /// Sends a command (its redacted form to the transcript) and waits for
    /// its reply.
    pub(super) fn send(&mut self, now: Instant, command: Command, expect: Expect) {
        command.encode(&mut self.transmit);
        self.record(now, Direction::Sent, command.redacted(), None);
        self.expect_reply(now, expect);
    }

    /// Ends the session with an error. When the connection is still usable
    /// (the server refused something and is waiting for the next command),
    /// says QUIT first, as RFC 5321 §4.1.1.10 asks.
    pub(super) fn fail_politely(&mut self, now: Instant, error: SessionError) {
        self.failure = Some(error);
        self.quit(now);
    }

    pub(super) fn fail(&mut self, now: Instant, error: SessionError) {
        if self.is_finished() {
            return;
        }
        let error = match self.failure.take() {
            // Closing after a failure went wrong too: the first failure is
            // the one that matters; the second is only noted.
            Some(first) => {
                self.note(now, format!("while closing: {error}"));
                first
            }
            // The job was done and only QUIT failed: that is not a failure
            // to deliver (or to probe).
            None if self.stage == Stage::Quit
                && !matches!(error, SessionError::Cancelled { .. }) =>
            {
                self.note(now, format!("after QUIT: {error}"));
                return self.finish(now);
            }
            None => error,
        };
        self.end_with_error(now, error);
    }

    pub(super) fn end_with_error(&mut self, now: Instant, error: SessionError) {
        self.record(now, Direction::Error, error.to_string(), None);
        self.end(Err(error));
    }

    pub(super) fn finish(&mut self, now: Instant) {
        if let Some(error) = self.failure.take() {
            return self.end_with_error(now, error);
        }
        if self.is_finished() {
            return;
        }
        self.complete(now, Stage::Quit);
        self.end(Ok(()));
    }

    fn end(&mut self, result: Result<(), SessionError>) {
        self.state = State::Done;
        self.expect.clear();
        self.deadline = None;
        let report = Box::new(std::mem::take(&mut self.report));
        self.events.push_back(Event::Finished(report, result));
    }

    /// Stopping on purpose after `point`: notes the stop and says QUIT.
    /// True when the session stops here.
    pub(super) fn reached(&mut self, now: Instant, point: Stage, why: &str) -> bool {
        self.reached_as(now, point, point, why)
    }

    /// Stopping on purpose where `asked` means `at` (the last EHLO is the
    /// first one, or the one after TLS).
    pub(super) fn reached_as(&mut self, now: Instant, asked: Stage, at: Stage, why: &str) -> bool {
        if self.config.quit_after != Some(asked) || self.report.stopped_after.is_some() {
            return false;
        }
        self.report.stopped_after = Some(at);
        self.note(now, format!("stopping after {} as asked{why}", at.name()));
        self.quit(now);
        true
    }

    /// Stops where QUIT cannot be said (before the greeting, inside DATA):
    /// the session ends successfully and the driver closes the connection.
    pub(super) fn hang_up(&mut self, now: Instant, point: Stage, why: &str) {
        self.report.stopped_after = Some(point);
        self.note(
            now,
            format!(
                "stopping after {} as asked: closing the connection {why}",
                point.name()
            ),
        );
        self.finish(now);
    }

    /// Says QUIT, unless it went out already (pipelined after the message).
    pub(super) fn quit(&mut self, now: Instant) {
        self.enter(Stage::Quit);
        let sent = match &self.state {
            State::Transaction(tx) => tx.quit_sent,
            State::Closing => true,
            _ => false,
        };
        self.state = State::Closing;
        if !sent {
            self.send(now, Command::Quit, Expect::Quit);
        }
    }
}
