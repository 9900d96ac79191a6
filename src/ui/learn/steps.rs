//! Which lines of a real exchange belong to which step of an SMTP send: the
//! guided walk highlights them. Replies are matched to commands in order,
//! as SMTP answers them (pipelined commands too).

use std::collections::VecDeque;

use crate::smtp::{Direction, TranscriptEvent};

/// A step of a send, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// TCP connect and the server's 220 greeting.
    Connect,
    /// EHLO and the extensions the server offers.
    Ehlo,
    /// STARTTLS, the handshake, and EHLO again inside TLS.
    StartTls,
    /// AUTH: logging in.
    Auth,
    /// MAIL FROM and RCPT TO: the envelope.
    Envelope,
    /// DATA and the final dot, or BDAT: the message itself.
    Message,
    /// The server's 250 after the message, with its queue id.
    Accepted,
    /// QUIT and 221.
    Quit,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 8] = [
        Step::Connect,
        Step::Ehlo,
        Step::StartTls,
        Step::Auth,
        Step::Envelope,
        Step::Message,
        Step::Accepted,
        Step::Quit,
    ];

    /// Its title in the walk.
    pub fn title(self) -> &'static str {
        match self {
            Step::Connect => "1. Connect, and the 220 greeting",
            Step::Ehlo => "2. EHLO, and what the server offers",
            Step::StartTls => "3. STARTTLS: the rest is encrypted",
            Step::Auth => "4. AUTH: logging in",
            Step::Envelope => "5. The envelope: MAIL FROM and RCPT TO",
            Step::Message => "6. The message: DATA and the dot, or BDAT",
            Step::Accepted => "7. 250: accepted, with a queue id",
            Step::Quit => "8. QUIT and 221",
        }
    }
}

/// Each event's step (`None`: a line no step is about, e.g. RSET or a
/// warning).
pub fn classify(events: &[TranscriptEvent]) -> Vec<Option<Step>> {
    let mut out = Vec::with_capacity(events.len());
    // Who each expected reply belongs to, oldest first.
    let mut waiting: VecDeque<Step> = VecDeque::new();
    let mut last_command = Step::Connect;
    let mut tls_asked = false;
    let mut in_data = false;
    let mut any_command = false;
    // Whether the last reply was a 334 (the server waits for an answer).
    let mut challenged = false;
    for e in events {
        let text = e.text.as_str();
        if e.direction == Direction::Note && text.starts_with("connecting") {
            // A new session (a retry, the next message): start again.
            waiting.clear();
            last_command = Step::Connect;
            tls_asked = false;
            in_data = false;
            any_command = false;
            challenged = false;
        }
        let verb = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let step = match e.direction {
            Direction::Sent if in_data => {
                if text == "." {
                    in_data = false;
                    waiting.push_back(Step::Accepted);
                }
                Some(Step::Message)
            }
            Direction::Sent => {
                any_command = true;
                let step = match verb.as_str() {
                    "EHLO" | "HELO" | "LHLO" if tls_asked => Step::StartTls,
                    "EHLO" | "HELO" | "LHLO" => Step::Ehlo,
                    "STARTTLS" => {
                        tls_asked = true;
                        Step::StartTls
                    }
                    "AUTH" => Step::Auth,
                    "MAIL" | "RCPT" => Step::Envelope,
                    "DATA" | "BDAT" => Step::Message,
                    "QUIT" => Step::Quit,
                    "RSET" | "NOOP" | "VRFY" | "EXPN" | "HELP" | "ETRN" => {
                        waiting.push_back(Step::Connect); // its reply is no step's
                        last_command = Step::Connect;
                        out.push(None);
                        continue;
                    }
                    // A continuation of AUTH (the client's answer to a 334).
                    _ if last_command == Step::Auth && challenged => Step::Auth,
                    _ => {
                        waiting.push_back(Step::Connect); // keeps the order; its reply is no step's
                        out.push(None);
                        continue;
                    }
                };
                let answered_by = if verb == "BDAT" && text.to_ascii_uppercase().ends_with(" LAST")
                {
                    Step::Accepted
                } else {
                    step
                };
                waiting.push_back(answered_by);
                last_command = step;
                Some(step)
            }
            Direction::Received if waiting.is_empty() => (!any_command).then_some(Step::Connect),
            Direction::Received => {
                let step = waiting.front().copied().unwrap_or(Step::Connect);
                // The last line of a reply ("250 " rather than "250-").
                let last_line = text.as_bytes().get(3) != Some(&b'-');
                if last_line {
                    challenged = text.starts_with("334");
                    waiting.pop_front();
                    if step == Step::Message && text.starts_with("354") {
                        in_data = true;
                    }
                }
                // Connect stands for a command no step is about (RSET).
                (step != Step::Connect).then_some(step)
            }
            Direction::Note | Direction::Error => {
                if text.contains("TLS")
                    && (text.contains("handshake") || text.contains("established"))
                {
                    Some(Step::StartTls)
                } else if !any_command
                    && (text.starts_with("connect") || text.starts_with("resolving"))
                {
                    Some(Step::Connect)
                } else if in_data || text.contains("bytes of message") {
                    Some(Step::Message)
                } else {
                    None
                }
            }
        };
        out.push(step);
    }
    out
}

/// The events of one step, by index.
pub fn lines_of(steps: &[Option<Step>], step: Step) -> Vec<usize> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == Some(step))
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::ReplyCode;
    use std::time::Duration;

    fn ev(direction: Direction, text: &str) -> TranscriptEvent {
        TranscriptEvent {
            at: Duration::ZERO,
            direction,
            secure: false,
            text: text.into(),
            code: text.get(..3).and_then(|c| c.parse().ok()).map(ReplyCode),
        }
    }

    use Direction::{Note, Received as R, Sent as S};

    #[test]
    fn a_pipelined_chunking_send_is_split_into_its_steps() {
        let events = [
            ev(Note, "connecting to 127.0.0.1:2525"),
            ev(Note, "connected to 127.0.0.1:2525 from 127.0.0.1:4000"),
            ev(R, "220 postscope.sandbox ESMTP ready"),
            ev(S, "EHLO [127.0.0.1]"),
            ev(R, "250-postscope.sandbox Hello"),
            ev(R, "250 STARTTLS"),
            ev(S, "STARTTLS"),
            ev(R, "220 2.0.0 Ready to start TLS"),
            ev(Note, "starting TLS handshake"),
            ev(Note, "TLS established: TLSv1.3"),
            ev(S, "EHLO [127.0.0.1]"),
            ev(R, "250-postscope.sandbox Hello"),
            ev(R, "250 AUTH PLAIN LOGIN"),
            ev(S, "AUTH PLAIN <redacted>"),
            ev(R, "235 2.7.0 ok"),
            ev(S, "MAIL FROM:<a@example.org> SIZE=289"),
            ev(S, "RCPT TO:<b@example.org>"),
            ev(R, "250 2.1.0 ok"),
            ev(R, "250 2.1.5 ok"),
            ev(S, "BDAT 289 LAST"),
            ev(S, "QUIT"),
            ev(R, "250 2.0.0 Ok: queued as 1"),
            ev(R, "221 2.0.0 bye"),
        ];
        let steps = classify(&events);
        assert_eq!(lines_of(&steps, Step::Connect), [0, 1, 2]);
        assert_eq!(lines_of(&steps, Step::Ehlo), [3, 4, 5]);
        assert_eq!(lines_of(&steps, Step::StartTls), [6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(lines_of(&steps, Step::Auth), [13, 14]);
        assert_eq!(lines_of(&steps, Step::Envelope), [15, 16, 17, 18]);
        assert_eq!(lines_of(&steps, Step::Message), [19]);
        assert_eq!(lines_of(&steps, Step::Accepted), [21]);
        assert_eq!(lines_of(&steps, Step::Quit), [20, 22]);
    }

    #[test]
    fn data_and_the_dot_and_a_login_exchange() {
        let events = [
            ev(R, "220 hi"),
            ev(S, "EHLO x"),
            ev(R, "250 ok"),
            ev(S, "AUTH LOGIN"),
            ev(R, "334 VXNlcm5hbWU6"),
            ev(S, "<redacted>"),
            ev(R, "334 UGFzc3dvcmQ6"),
            ev(S, "<redacted>"),
            ev(R, "235 ok"),
            ev(S, "RSET"),
            ev(R, "250 reset"),
            ev(S, "MAIL FROM:<a@b>"),
            ev(R, "250 ok"),
            ev(S, "DATA"),
            ev(R, "354 go ahead"),
            ev(Note, "… 289 bytes of message data …"),
            ev(S, "."),
            ev(R, "250 queued as X"),
        ];
        let steps = classify(&events);
        assert_eq!(lines_of(&steps, Step::Auth), [3, 4, 5, 6, 7, 8]);
        assert_eq!(steps[9], None, "RSET is no step's");
        assert_eq!(steps[10], None);
        assert_eq!(lines_of(&steps, Step::Message), [13, 14, 15, 16]);
        assert_eq!(lines_of(&steps, Step::Accepted), [17]);
        assert!(lines_of(&steps, Step::StartTls).is_empty());
    }

    #[test]
    fn only_an_answer_to_a_334_belongs_to_auth_and_a_new_session_starts_over() {
        let events = [
            ev(R, "220 hi"),
            ev(S, "EHLO x"),
            ev(R, "250 ok"),
            ev(S, "AUTH PLAIN <redacted>"),
            ev(R, "235 ok"),
            ev(S, "XCLIENT NAME=x"),
            ev(R, "502 what"),
            ev(Note, "connecting to 127.0.0.1:2525"),
            ev(R, "220 again"),
            ev(S, "EHLO x"),
            ev(R, "250 ok"),
        ];
        let steps = classify(&events);
        assert_eq!(lines_of(&steps, Step::Auth), [3, 4]);
        assert_eq!(steps[5], None, "an unknown command after 235 is no step's");
        assert_eq!(steps[6], None);
        assert_eq!(steps[7], Some(Step::Connect));
        assert_eq!(steps[8], Some(Step::Connect), "the second greeting");
        assert_eq!(lines_of(&steps, Step::Ehlo), [1, 2, 9, 10]);
    }
}
