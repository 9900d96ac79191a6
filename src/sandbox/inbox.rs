//! The captured messages: a bounded list shared between the server's
//! threads and whoever watches it (the GUI, the CLI, tests).

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use mail_parser::{Address, MessageParser, MimeHeaders as _};

use super::dsn::DsnRequest;
use crate::message::lint::Finding;

/// How many characters of the text body [`Summary::text_preview`] keeps.
pub const PREVIEW_CHARS: usize = 500;

/// How much of an HTML part [`Summary::html`] keeps.
pub const HTML_KEPT: usize = 256 * 1024;

/// One message the sandbox accepted.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Its number, from 1, unique for the life of the sandbox (the
    /// `queued as` in the reply).
    pub id: u64,
    /// When the final reply was sent.
    pub received: SystemTime,
    /// The client's address.
    pub peer: SocketAddr,
    /// True if it came over TLS (after STARTTLS).
    pub tls: bool,
    /// The user name the client logged in with, if it did.
    pub auth_user: Option<String>,
    /// The MAIL FROM address, without angle brackets (empty for `<>`).
    pub mail_from: String,
    /// The RCPT TO addresses, in order, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The delivery notices asked for (RFC 3461), MAIL's and each
    /// recipient's.
    pub dsn: DsnRequest,
    /// The message exactly as received (after dot-unstuffing, without the
    /// final `.` line).
    pub raw: Vec<u8>,
    /// The headers and parts, parsed from `raw`.
    pub summary: Summary,
    /// What `postscope lint` finds in `raw`, in line order.
    pub findings: Vec<Finding>,
}

/// What a message says about itself, parsed with mail-parser. A message
/// that cannot be parsed has every field empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The From header: `Name <addr>`, comma-separated.
    pub from: String,
    /// The To header, likewise.
    pub to: String,
    /// The Cc header, likewise.
    pub cc: String,
    /// The Subject header, decoded.
    pub subject: String,
    /// The Date header (RFC 3339), if present and valid.
    pub date: Option<String>,
    /// The first [`PREVIEW_CHARS`] characters of the text body.
    pub text_preview: String,
    /// The HTML part's source, up to [`HTML_KEPT`] bytes, when the message
    /// has one (as written, not made from the text).
    pub html: Option<String>,
    /// The attachments, in order.
    pub attachments: Vec<AttachmentSummary>,
}

/// One attachment of a captured message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentSummary {
    /// Its file name (empty if it has none).
    pub name: String,
    /// Its content type, `type/subtype`.
    pub content_type: String,
    /// Its decoded size in bytes.
    pub size: u64,
}

impl Summary {
    /// Parses a raw message; never fails (an unparseable message, or one
    /// that makes the parser panic, gives an empty summary).
    pub fn parse(raw: &[u8]) -> Summary {
        std::panic::catch_unwind(|| summarise(raw)).unwrap_or_default()
    }
}

fn summarise(raw: &[u8]) -> Summary {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Summary::default();
    };
    let text_preview = msg
        .body_text(0)
        .map(|t| t.chars().take(PREVIEW_CHARS).collect())
        .unwrap_or_default();
    // mail-parser makes an HTML body from a text one: only a real text/html
    // part counts.
    let html = msg
        .html_body
        .first()
        .and_then(|&id| msg.part(id))
        .filter(|part| {
            part.content_type()
                .is_some_and(|ct| ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("html")))
        })
        .and_then(|part| part.text_contents())
        .map(|html| {
            let mut end = html.len().min(HTML_KEPT);
            while !html.is_char_boundary(end) {
                end -= 1;
            }
            html[..end].to_owned()
        });
    let attachments = msg
        .attachments()
        .map(|part| AttachmentSummary {
            name: part.attachment_name().unwrap_or_default().to_owned(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_default(),
            size: part.contents().len() as u64,
        })
        .collect();
    Summary {
        from: addresses(msg.from()),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        subject: msg.subject().unwrap_or_default().to_owned(),
        date: msg.date().map(|d| d.to_rfc3339()),
        text_preview,
        html,
        attachments,
    }
}

fn addresses(list: Option<&Address<'_>>) -> String {
    let Some(list) = list else {
        return String::new();
    };
    list.iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(name), Some(addr)) => format!("{name} <{addr}>"),
            (None, Some(addr)) => addr.to_owned(),
            (Some(name), None) => name.to_owned(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A handle on the captured messages. Cloning is cheap; every clone sees
/// the same list.
#[derive(Clone)]
pub struct Inbox {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    changed: Condvar,
    notify: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    next_id: AtomicU64,
    max_messages: usize,
    max_bytes: u64,
}

#[derive(Default)]
struct State {
    messages: VecDeque<Arc<Captured>>,
    bytes: u64,
    dropped: u64,
    generation: u64,
    incidents: VecDeque<Arc<Incident>>,
    /// Incidents recorded so far (the next one's number).
    incident_count: u64,
}

/// The most incidents kept; older ones are dropped.
const KEPT_INCIDENTS: usize = 1000;

/// A refusal or error: what the sandbox refused or dropped, whom, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Its number, from 0, in the order they happened.
    pub seq: u64,
    /// When.
    pub at: SystemTime,
    /// The client.
    pub peer: SocketAddr,
    /// What happened and why, e.g. `MAIL: 552 5.3.4 Message size exceeds…`
    /// or `refused: 421 4.7.0 Too many connections…`.
    pub text: String,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Inbox")
            .field("messages", &state.messages.len())
            .field("bytes", &state.bytes)
            .field("dropped", &state.dropped)
            .field("generation", &state.generation)
            .finish()
    }
}

impl Inbox {
    /// An empty inbox that keeps at most `max_messages` messages (at least
    /// one) and `max_bytes` bytes of raw messages (the newest message is
    /// always kept, whatever its size).
    pub fn new(max_messages: usize, max_bytes: u64) -> Inbox {
        Inbox {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
                notify: Mutex::new(None),
                next_id: AtomicU64::new(1),
                max_messages: max_messages.max(1),
                max_bytes,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the list half-changed: keep going.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The messages, oldest first, newest last.
    pub fn messages(&self) -> Vec<Arc<Captured>> {
        self.lock().messages.iter().cloned().collect()
    }

    /// How many messages are kept now.
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// True if no message is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A number that changes whenever the list does (a message arrives or
    /// is dropped, or [`Inbox::clear`]): cheap change detection.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Sets the function called after each new message or incident, from the server's
    /// thread that received it (the GUI passes its repaint request). It
    /// must return quickly. Replaces any earlier one.
    pub fn set_notify(&self, f: Box<dyn Fn() + Send + Sync>) {
        *self.inner.notify.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::from(f));
    }

    /// How many messages the caps have pushed out so far.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Forgets every message (not counted as dropped).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.messages.clear();
        state.bytes = 0;
        state.generation += 1;
        drop(state);
        self.inner.changed.notify_all();
    }

    /// Waits until at least `n` messages are kept, or `timeout` has passed,
    /// and returns the messages kept then.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Arc<Captured>> {
        let state = self.wait_until(timeout, |s| s.messages.len() >= n);
        state.messages.iter().cloned().collect()
    }

    /// The state once `done` holds of it, or once `timeout` has passed.
    fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'_, State> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        while !done(&state) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .inner
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state
    }

    /// The refusals and errors, oldest first (the newest 1,000).
    pub fn incidents(&self) -> Vec<Arc<Incident>> {
        self.lock().incidents.iter().cloned().collect()
    }

    /// Records a refusal or error, wakes the waiters and calls the notify
    /// function.
    pub(crate) fn record(&self, peer: SocketAddr, text: String) {
        let mut state = self.lock();
        let seq = state.incident_count;
        state.incident_count += 1;
        state.incidents.push_back(Arc::new(Incident {
            seq,
            at: SystemTime::now(),
            peer,
            text,
        }));
        if state.incidents.len() > KEPT_INCIDENTS {
            state.incidents.pop_front();
        }
        state.generation += 1;
        drop(state);
        self.changed();
    }

    /// Waits until an incident whose text contains `needle` is recorded, or
    /// `timeout` has passed; returns it if it came.
    pub fn wait_for_incident(&self, needle: &str, timeout: Duration) -> Option<Arc<Incident>> {
        let find = |s: &State| {
            s.incidents
                .iter()
                .find(|i| i.text.contains(needle))
                .cloned()
        };
        find(&self.wait_until(timeout, |s| find(s).is_some()))
    }

    /// Wakes the waiters and calls the notify function.
    fn changed(&self) {
        self.inner.changed.notify_all();
        let notify = self
            .inner
            .notify
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(f) = notify {
            f();
        }
    }

    /// The id for the next message.
    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a message, drops the oldest ones beyond the caps, wakes the
    /// waiters and calls the notify function.
    pub(crate) fn push(&self, message: Captured) {
        let mut state = self.lock();
        state.bytes += message.raw.len() as u64;
        state.messages.push_back(Arc::new(message));
        while state.messages.len() > 1
            && (state.messages.len() > self.inner.max_messages
                || state.bytes > self.inner.max_bytes)
        {
            if let Some(old) = state.messages.pop_front() {
                state.bytes -= old.raw.len() as u64;
                state.dropped += 1;
            }
        }
        state.generation += 1;
        drop(state);
        self.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(inbox: &Inbox, size: usize) -> Captured {
        Captured {
            id: inbox.next_id(),
            received: SystemTime::now(),
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            tls: false,
            auth_user: None,
            mail_from: "a@example.org".into(),
            rcpt_to: vec!["b@example.org".into()],
            dsn: DsnRequest::default(),
            raw: vec![b'x'; size],
            summary: Summary::default(),
            findings: Vec::new(),
        }
    }

    #[test]
    fn caps_drop_the_oldest() {
        let inbox = Inbox::new(3, 1000);
        for _ in 0..5 {
            inbox.push(message(&inbox, 10));
        }
        let ids: Vec<u64> = inbox.messages().iter().map(|m| m.id).collect();
        assert_eq!(ids, [3, 4, 5]);
        assert_eq!(inbox.dropped(), 2);

        // The byte cap: 400 + 400 + 400 > 1000 drops the first.
        let inbox = Inbox::new(10, 1000);
        for _ in 0..3 {
            inbox.push(message(&inbox, 400));
        }
        assert_eq!(inbox.len(), 2);
        assert_eq!(inbox.dropped(), 1);
        // A message bigger than the cap is still kept, alone.
        inbox.push(message(&inbox, 5000));
        assert_eq!(inbox.len(), 1);
        assert_eq!(inbox.dropped(), 3);
    }

    #[test]
    fn generation_notify_clear_and_wait() {
        let inbox = Inbox::new(10, 1_000_000);
        let calls = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&calls);
        inbox.set_notify(Box::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        let g0 = inbox.generation();
        let pusher = {
            let inbox = inbox.clone();
            std::thread::spawn(move || {
                for _ in 0..2 {
                    std::thread::sleep(Duration::from_millis(20));
                    inbox.push(message(&inbox, 1));
                }
            })
        };
        let got = inbox.wait_for(2, Duration::from_secs(10));
        pusher.join().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(inbox.generation() > g0);
        let g1 = inbox.generation();
        inbox.clear();
        assert!(inbox.is_empty());
        assert!(inbox.generation() > g1);
        assert_eq!(inbox.dropped(), 0);
        // A wait that cannot be met returns what there is, on time.
        let start = Instant::now();
        assert!(inbox.wait_for(1, Duration::from_millis(50)).is_empty());
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn summary_of_a_message() {
        let raw = b"From: Ada <ada@example.org>\r\nTo: b@example.org, \"C\" <c@example.org>\r\n\
Subject: =?utf-8?q?h=C3=A9llo?=\r\nDate: Thu, 29 Feb 2024 13:45:07 +0000\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello there\r\n\
--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"x.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n";
        let s = Summary::parse(raw);
        assert_eq!(s.from, "Ada <ada@example.org>");
        assert_eq!(s.to, "b@example.org, C <c@example.org>");
        assert_eq!(s.subject, "héllo");
        assert_eq!(s.date.as_deref(), Some("2024-02-29T13:45:07Z"));
        assert_eq!(s.text_preview.trim_end(), "Hello there");
        assert_eq!(
            s.attachments,
            [AttachmentSummary {
                name: "x.pdf".into(),
                content_type: "application/pdf".into(),
                size: 4,
            }]
        );
        // Garbage still gives a summary.
        let _ = Summary::parse(b"\xff\xfe\x00not a message");
        assert_eq!(Summary::parse(b""), Summary::default());
    }
}
