//! A connection's clocks: silence between commands, the deadline of a
//! whole command (or AUTH exchange) however slowly its bytes come, and the
//! floor under message data. The connection thread asks how long it may
//! wait, and whether a wait that ended broke a bound.

use std::time::{Duration, Instant};

use super::session::Waiting;
use super::{DataFloor, SandboxConfig};

/// The clocks of one connection.
pub(crate) struct Timers {
    idle: Duration,
    command: Duration,
    floor: DataFloor,
    waiting: Waiting,
    /// When the present wait began: silence since the last command, or the
    /// command under way since its first byte (or the one before it ended).
    since: Instant,
    /// Message data: the present period's start and bytes.
    window: Instant,
    window_bytes: u64,
}

impl Timers {
    /// At the start of a session (and again after STARTTLS).
    pub fn new(config: &SandboxConfig, now: Instant) -> Timers {
        Timers {
            idle: config.idle_timeout,
            command: config.command_timeout,
            floor: config.data_floor,
            waiting: Waiting::Idle,
            since: now,
            window: now,
            window_bytes: 0,
        }
    }

    /// How long the next read may wait before a bound must be looked at.
    pub fn next_check(&self, now: Instant) -> Duration {
        let at = match self.waiting {
            Waiting::Idle => self.since + self.idle,
            Waiting::Command => self.since + self.command,
            Waiting::Data => self.window + self.floor.per,
        };
        at.saturating_duration_since(now)
    }

    /// After input was handled: what the session waits for now, whether
    /// it completed a command, and how many bytes came.
    pub fn update(&mut self, now: Instant, waiting: Waiting, completed: bool, bytes: usize) {
        match waiting {
            Waiting::Data => {
                if self.waiting != Waiting::Data {
                    self.window = now;
                    self.window_bytes = 0;
                } else {
                    self.window_bytes += bytes as u64;
                }
            }
            _ if waiting != self.waiting || completed => self.since = now,
            _ => {}
        }
        self.waiting = waiting;
    }

    /// Whether a bound is broken now; if so, why, in the words of the
    /// `421` that closes the connection. A data period that met the floor
    /// starts the next one.
    pub fn expired(&mut self, now: Instant) -> Option<String> {
        if !self.next_check(now).is_zero() {
            return None;
        }
        let secs = |d: Duration| d.as_secs_f32();
        match self.waiting {
            Waiting::Idle => Some(format!(
                "Error: timeout exceeded ({} s without a command)",
                secs(self.idle)
            )),
            Waiting::Command => Some(format!(
                "Error: the command was not complete within {} s",
                secs(self.command)
            )),
            Waiting::Data if self.window_bytes < self.floor.bytes => Some(format!(
                "Error: message data too slow: {} bytes in {} s, at least {} needed",
                self.window_bytes,
                secs(self.floor.per),
                self.floor.bytes
            )),
            Waiting::Data => {
                self.window = now;
                self.window_bytes = 0;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SandboxConfig {
        SandboxConfig {
            idle_timeout: Duration::from_secs(300),
            command_timeout: Duration::from_secs(60),
            data_floor: DataFloor {
                bytes: 1000,
                per: Duration::from_secs(10),
            },
            ..SandboxConfig::default()
        }
    }

    #[test]
    fn a_trickled_command_ends_at_its_deadline_whatever_comes() {
        let t0 = Instant::now();
        let mut t = Timers::new(&config(), t0);
        assert_eq!(t.next_check(t0), Duration::from_secs(300));
        // One byte of a command, then one more every 30 s: no reset.
        t.update(t0, Waiting::Command, false, 1);
        t.update(t0 + Duration::from_secs(30), Waiting::Command, false, 1);
        assert_eq!(
            t.next_check(t0 + Duration::from_secs(30)),
            Duration::from_secs(30)
        );
        assert_eq!(t.expired(t0 + Duration::from_secs(59)), None);
        let why = t.expired(t0 + Duration::from_secs(60)).unwrap();
        assert!(why.contains("not complete within 60 s"), "{why}");
    }

    #[test]
    fn completed_commands_restart_the_clock() {
        let t0 = Instant::now();
        let mut t = Timers::new(&config(), t0);
        t.update(t0, Waiting::Command, false, 3);
        // A pipelined batch ends mid-command: the clock starts again.
        t.update(t0 + Duration::from_secs(50), Waiting::Command, true, 4000);
        assert_eq!(t.expired(t0 + Duration::from_secs(100)), None);
        t.update(t0 + Duration::from_secs(100), Waiting::Idle, true, 2);
        assert_eq!(
            t.next_check(t0 + Duration::from_secs(100)),
            Duration::from_secs(300)
        );
        let why = t.expired(t0 + Duration::from_secs(400)).unwrap();
        assert!(why.contains("300 s without a command"), "{why}");
    }

    #[test]
    fn message_data_must_keep_above_the_floor() {
        let t0 = Instant::now();
        let mut t = Timers::new(&config(), t0);
        t.update(t0, Waiting::Data, true, 6);
        t.update(t0 + Duration::from_secs(5), Waiting::Data, false, 1500);
        // The period met the floor: the next one starts.
        assert_eq!(t.expired(t0 + Duration::from_secs(10)), None);
        t.update(t0 + Duration::from_secs(12), Waiting::Data, false, 999);
        let why = t.expired(t0 + Duration::from_secs(20)).unwrap();
        assert!(why.contains("999 bytes in 10 s"), "{why}");
    }
}
