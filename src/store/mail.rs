//! The mail Postscope keeps: drafts (and the outbox, which is drafts whose
//! last send failed) and sent history, as they are on disk
//! (`<data>/drafts/<id>.json`, `<data>/sent/<id>.json`). Data only: how a
//! window shows them is `ui/`'s business.
//!
//! A failed send is its draft's failed attempt, not a copy: sending it
//! again sends that one message once and moves it to Sent.

use std::path::{Path, PathBuf};

use crate::message::{self, Draft, Field};
use crate::smtp::{Dsn, TranscriptEvent};

/// Which server a message goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum AccountChoice {
    /// The SMTP server inside the app.
    #[default]
    Sandbox,
    /// A saved account, by name.
    Saved(String),
    /// A server typed in for one session.
    Custom,
}

/// A file attached to a message, as it was when it was attached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// The file.
    pub path: PathBuf,
    /// Its name, as the recipient will see it.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The guessed content type.
    pub content_type: String,
}

impl Attachment {
    /// Looks at a file to attach: its size and type, or why it cannot be
    /// attached (naming the file).
    pub fn inspect(path: &Path) -> Result<Attachment, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !meta.is_file() {
            return Err(format!("{} is not a file", path.display()));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Attachment {
            path: path.to_owned(),
            name,
            size: meta.len(),
            content_type: message::guess_content_type(path),
        })
    }
}

/// A message as its author wrote it: the fields of the compose form, kept
/// in drafts and sent history. Fields from a newer Postscope are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Composed {
    /// From (one mailbox).
    pub from: String,
    /// To (a comma-separated list).
    pub to: String,
    /// Cc.
    pub cc: String,
    /// Bcc.
    pub bcc: String,
    /// Reply-To.
    pub reply_to: String,
    /// The envelope sender (MAIL FROM) when it is not From's address; `<>`
    /// for the null sender.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub envelope_from: String,
    /// Subject.
    pub subject: String,
    /// The body text.
    pub body: String,
    /// The body is Markdown, sent with its HTML rendering.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub markdown: bool,
    /// Delivery notices asked for (RFC 3461).
    #[serde(default, skip_serializing_if = "Dsn::is_empty")]
    pub dsn: Dsn,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Fields written by a newer Postscope, kept as they were.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

/// A key older versions wrote into a message: whether the form showed its
/// Cc row. It is the window's state, not the message's; it is dropped on
/// reading.
const OLD_FORM_STATE: &str = "show_more";

impl Composed {
    /// True when nothing but From is filled in: not worth keeping as a draft.
    pub fn is_blank(&self) -> bool {
        [
            &self.to,
            &self.cc,
            &self.bcc,
            &self.reply_to,
            &self.subject,
            &self.body,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
            && self.attachments.is_empty()
    }

    /// True when Cc, Bcc, Reply-To, the envelope sender or the delivery
    /// notices have something in them.
    pub fn has_more_fields(&self) -> bool {
        [&self.cc, &self.bcc, &self.reply_to, &self.envelope_from]
            .iter()
            .any(|s| !s.trim().is_empty())
            || !self.dsn.is_empty()
    }

    /// The draft the message is built from.
    pub fn draft(&self) -> Draft {
        Draft {
            from: self.from.clone(),
            to: vec![self.to.clone()],
            cc: vec![self.cc.clone()],
            bcc: vec![self.bcc.clone()],
            reply_to: vec![self.reply_to.clone()],
            subject: self.subject.clone(),
            body: self.body.clone(),
            headers: Vec::new(),
            attachments: self.attachments.iter().map(|a| a.path.clone()).collect(),
            envelope_from: self.envelope_from.clone(),
            markdown: self.markdown,
            html: None,
            dsn: self.dsn.clone(),
        }
    }

    /// Adds attachments, skipping files already attached.
    pub fn attach(&mut self, entries: impl IntoIterator<Item = Attachment>) {
        for entry in entries {
            if !self.attachments.iter().any(|a| a.path == entry.path) {
                self.attachments.push(entry);
            }
        }
    }

    /// The problems that stop the message from being sent, in form order.
    pub fn problems(&self) -> Vec<(Field, String)> {
        let mut out = Vec::new();
        match message::parse_mailboxes(Field::From, &self.from) {
            Ok(v) if v.len() == 1 => {}
            Ok(v) if v.is_empty() => {
                out.push((Field::From, "From is empty: give your address".into()))
            }
            Ok(_) => out.push((Field::From, "From must be one address".into())),
            Err(e) => out.push((Field::From, e.to_string())),
        }
        let mut recipients = 0;
        for (field, text) in [
            (Field::To, &self.to),
            (Field::Cc, &self.cc),
            (Field::Bcc, &self.bcc),
            (Field::ReplyTo, &self.reply_to),
        ] {
            match message::parse_mailboxes(field, text) {
                Ok(v) if field != Field::ReplyTo => recipients += v.len(),
                Ok(_) => {}
                Err(e) => out.push((field, e.to_string())),
            }
        }
        let envelope_from = self.envelope_from.trim();
        if !envelope_from.is_empty() && envelope_from != "<>" {
            match message::parse_mailboxes(Field::EnvelopeFrom, envelope_from) {
                Ok(v) if v.len() == 1 => {}
                Ok(_) => out.push((
                    Field::EnvelopeFrom,
                    "the envelope sender must be one address, or <> for none".into(),
                )),
                Err(e) => out.push((Field::EnvelopeFrom, e.to_string())),
            }
        }
        if recipients == 0
            && !out
                .iter()
                .any(|(f, _)| *f != Field::From && *f != Field::EnvelopeFrom)
        {
            out.push((
                Field::To,
                "no recipients: give at least one of To, Cc or Bcc".into(),
            ));
        }
        out
    }

    pub(crate) fn forget_form_state(&mut self) {
        self.unknown.remove(OLD_FORM_STATE);
    }
}

/// A draft on disk.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct DraftRecord {
    /// When it was last saved (Unix seconds).
    pub saved_at: i64,
    /// The account it is to be sent with.
    pub account: AccountChoice,
    /// The message.
    pub message: Composed,
    /// The last failed send, when it is in the outbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<Attempt>,
    /// Fields from a newer Postscope, kept as they were.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

/// A send that failed.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Attempt {
    /// When (Unix seconds).
    pub at: i64,
    /// The server, `host:port`.
    pub server: String,
    /// The stage it failed in.
    pub stage: String,
    /// What went wrong, with the server's reply.
    pub error: String,
    /// True when the server may have delivered it anyway (the connection
    /// ended after the final dot): a retry asks first.
    pub delivery_unknown: bool,
    /// Recipients that got it before the failure (a later transaction of
    /// the same send failed): a retry would reach them twice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivered: Vec<String>,
    /// The exchange, secrets redacted.
    pub transcript: Vec<TranscriptEvent>,
}

/// A message that was delivered.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SentRecord {
    /// When (Unix seconds).
    pub sent_at: i64,
    /// The account's name as shown.
    pub account: String,
    /// The server, `host:port`.
    pub server: String,
    /// The envelope recipients that got it.
    pub delivered: Vec<String>,
    /// The server's reply to the final dot.
    pub final_reply: Option<String>,
    /// Bytes of message data.
    pub message_bytes: u64,
    /// The message as composed.
    pub message: Composed,
    /// The exchange, secrets redacted.
    pub transcript: Vec<TranscriptEvent>,
    /// Fields from a newer Postscope, kept as they were.
    #[serde(flatten)]
    pub unknown: serde_json::Map<String, serde_json::Value>,
}

/// What the Sent list shows of a sent message: everything but the
/// transcript and the body, which are read from its record when opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SentSummary {
    /// When (Unix seconds).
    pub sent_at: i64,
    /// The account's name as shown.
    pub account: String,
    /// The server, `host:port`.
    pub server: String,
    /// The envelope recipients that got it.
    pub delivered: Vec<String>,
    /// The server's reply to the final dot.
    pub final_reply: Option<String>,
    /// Bytes of message data.
    pub message_bytes: u64,
    /// The header fields as composed.
    pub from: String,
    /// To.
    pub to: String,
    /// Cc.
    #[serde(default)]
    pub cc: String,
    /// Bcc.
    #[serde(default)]
    pub bcc: String,
    /// Subject.
    pub subject: String,
    /// The attachments: name, type, size.
    #[serde(default)]
    pub attachments: Vec<(String, String, u64)>,
}

impl SentRecord {
    /// What the Sent list shows of it.
    pub fn summary(&self) -> SentSummary {
        let m = &self.message;
        SentSummary {
            sent_at: self.sent_at,
            account: self.account.clone(),
            server: self.server.clone(),
            delivered: self.delivered.clone(),
            final_reply: self.final_reply.clone(),
            message_bytes: self.message_bytes,
            from: m.from.clone(),
            to: m.to.clone(),
            cc: m.cc.clone(),
            bcc: m.bcc.clone(),
            subject: m.subject.clone(),
            attachments: m
                .attachments
                .iter()
                .map(|a| (a.name.clone(), a.content_type.clone(), a.size))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::Folder;

    fn example() -> Composed {
        Composed {
            from: "You <you@postscope.sandbox>".into(),
            to: "Ada <ada@example.org>".into(),
            subject: "Hello".into(),
            body: "Hi\n".into(),
            ..Composed::default()
        }
    }

    #[test]
    fn records_round_trip_and_keep_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path().to_owned());
        let record = DraftRecord {
            saved_at: 1_764_000_000,
            account: AccountChoice::Saved("work".into()),
            message: example(),
            attempt: Some(Attempt {
                at: 1_764_000_100,
                server: "smtp.example.org:587".into(),
                stage: "RCPT TO".into(),
                error: "451 try later".into(),
                delivery_unknown: false,
                delivered: Vec::new(),
                transcript: Vec::new(),
            }),
            unknown: serde_json::Map::new(),
        };
        folder.save("a", &record).unwrap();
        assert_eq!(folder.load::<DraftRecord>("a").unwrap(), Some(record));

        std::fs::write(
            folder.path("b").unwrap(),
            r#"{"saved_at":5,"flag":"from the future","message":{"subject":"x","color":"red"}}"#,
        )
        .unwrap();
        let b: DraftRecord = folder.load("b").unwrap().unwrap();
        assert_eq!(b.account, AccountChoice::Sandbox);
        folder.save("b", &b).unwrap();
        let text = std::fs::read_to_string(folder.path("b").unwrap()).unwrap();
        assert!(
            text.contains("from the future") && text.contains("\"color\""),
            "{text}"
        );
    }

    #[test]
    fn a_message_keeps_fields_from_a_newer_version() {
        let json = r#"{"subject": "hi", "to": "a@example.org", "priority": "high"}"#;
        let draft: Composed = serde_json::from_str(json).unwrap();
        assert_eq!(draft.subject, "hi");
        let back = serde_json::to_value(&draft).unwrap();
        assert_eq!(back["priority"], "high");
        assert_eq!(back["to"], "a@example.org");
    }

    #[test]
    fn problems_name_the_field() {
        assert!(example().problems().is_empty());
        let mut s = example();
        s.to = "bob@".into();
        let p = s.problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, Field::To);
        assert!(p[0].1.contains("bob@"), "{}", p[0].1);

        let mut s = example();
        s.to.clear();
        assert_eq!(s.problems()[0].0, Field::To);
        s.bcc = "hidden@example.org".into();
        assert!(s.problems().is_empty());

        let mut s = example();
        s.from = "a@example.org, b@example.org".into();
        assert_eq!(s.problems()[0].0, Field::From);

        // The envelope sender: one address or <>.
        let mut s = example();
        s.envelope_from = "<>".into();
        assert!(s.problems().is_empty());
        assert_eq!(s.draft().envelope_from, "<>");
        s.envelope_from = "not an address".into();
        assert_eq!(s.problems()[0].0, Field::EnvelopeFrom);
        assert!(s.has_more_fields(), "the row opens to show it");
    }

    #[test]
    fn attaching_twice_keeps_one() {
        let mut s = Composed::default();
        let e = Attachment {
            path: "/tmp/a.txt".into(),
            name: "a.txt".into(),
            size: 1,
            content_type: "text/plain".into(),
        };
        s.attach([e.clone(), e]);
        assert_eq!(s.attachments.len(), 1);
    }
}
