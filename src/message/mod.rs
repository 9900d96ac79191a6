//! Turning a [`Draft`] into an RFC 5322 message and its SMTP envelope.
//!
//! This module's one job is [`build`]: validate everything the user typed
//! (addresses, extra headers, attachment files) and produce the exact bytes to
//! send after `DATA`, plus the envelope for `MAIL FROM`/`RCPT TO`. All checks
//! happen here, before any connection is made; a [`BuildError`] names the
//! field, header or file at fault.
//!
//! The message is built with lettre's builder:
//!
//! * Lines end in CRLF. The body's line endings (LF, CRLF or lone CR) are
//!   normalised; the body is `text/plain; charset=utf-8`, encoded by lettre as
//!   7bit, quoted-printable or base64, whichever fits.
//! * With attachments the message is `multipart/mixed`: the text part first,
//!   then each file, always base64 so that its bytes come back exactly.
//! * Attachments are not read into memory: lettre renders the message with
//!   a placeholder for each file's body, and [`StreamedMessage`] reads the
//!   files in chunks and base64-encodes them as the message is sent, so a
//!   25 MiB attachment costs a few hundred KiB, not three copies of it.
//! * Bcc recipients go only into the envelope; lettre is never given a Bcc.
//! * lettre adds `Date` itself but not `Message-ID`; we add one, on the From
//!   address's domain, plus `User-Agent: Postscope/<version>`.

mod address;
mod attachments;
mod error;
mod file;
mod fold;
mod headers;
pub mod html;
pub mod lint;
pub mod opened;
mod stream;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailboxes, MultiPart, SinglePart};

use crate::smtp::Dsn;
/// The SMTP envelope, the engine's own: reverse-path and forward-paths
/// as bare addr-specs (To, then Cc, then Bcc, de-duplicated
/// case-insensitively), with the size and 8-bit flag once a message is built.
pub use crate::smtp::Envelope;
pub use address::{Field, parse_mailboxes};
pub use attachments::guess_content_type;
pub use error::BuildError;
pub use file::{DEFAULT_MAX_INPUT, EmlError, FileBody};
/// A parsed mailbox: optional display name plus address (lettre's type).
pub use lettre::message::Mailbox;
pub use stream::StreamedMessage;

/// What the user composed, as typed: nothing here has been validated yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// The sender, one mailbox: `Ada <ada@example.org>` or `ada@example.org`.
    pub from: String,
    /// To recipients; each entry may itself be a comma-separated list.
    pub to: Vec<String>,
    /// Cc recipients; each entry may itself be a comma-separated list.
    pub cc: Vec<String>,
    /// Bcc recipients: envelope only, never written into the message.
    pub bcc: Vec<String>,
    /// Reply-To mailboxes; each entry may itself be a comma-separated list.
    pub reply_to: Vec<String>,
    /// The envelope sender (MAIL FROM, where bounces go) when it is not
    /// From's address: one address, or `<>` for the null sender. Empty:
    /// From's address.
    pub envelope_from: String,
    /// The subject; may be non-ASCII (lettre RFC 2047-encodes it). Line breaks
    /// are unfolded into spaces; empty means no Subject header.
    pub subject: String,
    /// The plain-text body (with `html`, the text part; empty: made from
    /// the HTML).
    pub body: String,
    /// The body is Markdown: sent as multipart/alternative, the text as
    /// written and its HTML rendering.
    pub markdown: bool,
    /// A ready HTML body, sent as multipart/alternative beside the text.
    pub html: Option<String>,
    /// Extra raw headers, `Name: value` each (from `--header`).
    pub headers: Vec<String>,
    /// Files to attach, in order.
    pub attachments: Vec<PathBuf>,
    /// Delivery notices to ask for (RFC 3461); empty: none.
    pub dsn: Dsn,
}

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct BuiltMessage {
    /// Where to send it.
    pub envelope: Envelope,
    /// The complete message (headers and body), CRLF line endings, without
    /// SMTP dot-stuffing or the final `.`.
    pub bytes: Vec<u8>,
    /// The attached files, in order.
    pub attachments: Vec<AttachmentInfo>,
}

/// One attached file, as looked at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// The path as given in the draft.
    pub path: PathBuf,
    /// The file name written into the message (the path's last component, as is).
    pub file_name: String,
    /// The MIME type, see [`guess_content_type`].
    pub content_type: String,
    /// The size of the file in bytes (before encoding).
    pub size: u64,
}

/// Validates `draft` and builds the message bytes and envelope.
///
/// Checks run in this order and stop at the first error: From (exactly one
/// mailbox), To, Cc, Bcc, Reply-To, at least one recipient, extra headers,
/// then each attachment file is read.
pub fn build(draft: &Draft) -> Result<BuiltMessage, BuildError> {
    let streamed = build_streaming(draft)?;
    let bytes = streamed
        .to_bytes()
        .map_err(|e| BuildError::Build(e.to_string()))?;
    Ok(BuiltMessage {
        envelope: streamed.envelope.clone(),
        bytes,
        attachments: streamed.attachments.clone(),
    })
}

/// Validates `draft` and prepares the message to be sent as a stream: the
/// headers and text are rendered now, the attachments are read and encoded
/// as they are sent. Same checks and order as [`build`].
pub fn build_streaming(draft: &Draft) -> Result<StreamedMessage, BuildError> {
    let Addresses {
        from,
        reverse_path,
        to,
        cc,
        reply_to,
        recipients: rcpt,
    } = parse_addresses(draft)?;
    let extra_headers = headers::parse_extra_headers(&draft.headers)?;
    let infos: Vec<AttachmentInfo> = draft
        .attachments
        .iter()
        .map(|p| attachments::inspect(p))
        .collect::<Result<_, _>>()?;

    let envelope = Envelope {
        from: reverse_path,
        recipients: rcpt.iter().map(ToString::to_string).collect(),
        size: None,
        eight_bit: false,
        dsn: draft.dsn.clone(),
    };
    // Given explicitly: lettre would otherwise derive it from To/Cc/Bcc headers,
    // and it never sees the Bcc list.
    let lettre_envelope = lettre::address::Envelope::new(Some(from.email.clone()), rcpt)
        .map_err(|e| BuildError::Build(e.to_string()))?;

    let mut builder = lettre::Message::builder()
        .raw_header(fold::address_header("From", &Mailboxes::from(from.clone())));
    if !reply_to.is_empty() {
        builder = builder.raw_header(fold::address_header("Reply-To", &reply_to.into()));
    }
    // Set each list once: lettre's `.to()`/`.cc()` re-parse the existing header
    // to append, and would silently drop earlier entries if that re-parse failed.
    if !to.is_empty() {
        builder = builder.raw_header(fold::address_header("To", &to.into()));
    }
    if !cc.is_empty() {
        builder = builder.raw_header(fold::address_header("Cc", &cc.into()));
    }
    let subject = one_line(&draft.subject);
    if !subject.is_empty() {
        builder = builder.raw_header(fold::unstructured_header("Subject", &subject));
    }
    builder = builder.date_now();
    builder = match message_id(&from) {
        Some(id) => builder.message_id(Some(id)),
        None => builder.message_id(None), // lettre's: <random@hostname>
    };
    builder = builder.user_agent(format!("Postscope/{}", env!("CARGO_PKG_VERSION")));
    for value in extra_headers {
        builder = builder.raw_header(value);
    }
    builder = builder.envelope(lettre_envelope);

    let content = Content::of(draft);
    let placeholders: Vec<String> = (0..infos.len()).map(stream::placeholder).collect();
    let message = if infos.is_empty() {
        match content {
            Content::Text(text) => builder.singlepart(text),
            Content::Alternative(parts) => builder.multipart(parts),
        }
    } else {
        let mut parts = match content {
            Content::Text(text) => MultiPart::mixed().singlepart(text),
            Content::Alternative(alternative) => MultiPart::mixed().multipart(alternative),
        };
        for (info, placeholder) in infos.iter().zip(&placeholders) {
            // Always base64: lettre would send ASCII files as 7bit without
            // converting bare LFs, corrupting both the message and the file.
            // The body is a placeholder; the file is encoded as it is sent.
            let body = Body::dangerous_pre_encoded(
                placeholder.clone().into_bytes(),
                ContentTransferEncoding::Base64,
            );
            let content_type = ContentType::parse(&info.content_type)
                .map_err(|e| BuildError::Build(format!("{}: {e}", info.content_type)))?;
            let part = match fold::EncodedDisposition::for_name(&info.file_name) {
                Some(disposition) => SinglePart::builder()
                    .header(disposition)
                    .header(content_type)
                    .body(body),
                None => Attachment::new(info.file_name.clone()).body(body, content_type),
            };
            parts = parts.singlepart(part);
        }
        builder.multipart(parts)
    }
    .map_err(|e| BuildError::Build(e.to_string()))?;
    let mut rendered = message.formatted();
    // lettre writes its own Date when it cannot read the one given (a
    // malformed Date is a test case too): the given one goes back in.
    if let Some(date) = headers::given(&draft.headers, "Date") {
        rendered = headers::replace_rendered(rendered, "Date", &date);
    }
    StreamedMessage::new(envelope, rendered, infos, &placeholders)
}

/// What the reader sees: a text part, or text and HTML as alternatives.
enum Content {
    Text(SinglePart),
    Alternative(MultiPart),
}

impl Content {
    fn of(draft: &Draft) -> Content {
        let text = normalize_newlines(&draft.body);
        let html = match (&draft.html, draft.markdown) {
            (Some(html), _) => normalize_newlines(html),
            (None, true) => html::from_markdown(&text),
            (None, false) => return Content::Text(SinglePart::plain(text)),
        };
        let text = if draft.html.is_some() && text.trim().is_empty() {
            normalize_newlines(&html::to_text(&html))
        } else {
            text
        };
        Content::Alternative(MultiPart::alternative_plain_html(text, html))
    }
}

/// The envelope of a draft alone, for a message that is already written
/// (`--eml`): From and every To, Cc and Bcc address, validated as `build` does.
/// The size and 8-bit flag are the message's: see [`crate::smtp::BodySource`].
pub fn envelope(draft: &Draft) -> Result<Envelope, BuildError> {
    let addresses = parse_addresses(draft)?;
    Ok(Envelope {
        from: addresses.reverse_path.clone(),
        recipients: addresses
            .recipients
            .iter()
            .map(ToString::to_string)
            .collect(),
        size: None,
        eight_bit: false,
        dsn: draft.dsn.clone(),
    })
}

/// The address fields of a draft, parsed, and the envelope recipients (Bcc
/// lives only there: it never reaches a header).
struct Addresses {
    from: Mailbox,
    /// MAIL FROM: From's address, the envelope sender given, or empty.
    reverse_path: String,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    reply_to: Vec<Mailbox>,
    /// To + Cc + Bcc, de-duplicated case-insensitively, first occurrence kept.
    recipients: Vec<lettre::Address>,
}

fn parse_addresses(draft: &Draft) -> Result<Addresses, BuildError> {
    if let Some(id) = &draft.dsn.envid {
        crate::smtp::dsn::check_envid(id).map_err(BuildError::InvalidEnvid)?;
    }
    let from = single_from(&draft.from)?;
    let to = parse_all(Field::To, &draft.to)?;
    let cc = parse_all(Field::Cc, &draft.cc)?;
    let bcc = parse_all(Field::Bcc, &draft.bcc)?;
    let reply_to = parse_all(Field::ReplyTo, &draft.reply_to)?;
    if to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(BuildError::MissingRecipient);
    }
    let mut recipients: Vec<lettre::Address> = Vec::new();
    for mbox in to.iter().chain(&cc).chain(&bcc) {
        let addr: &str = mbox.email.as_ref();
        if !recipients
            .iter()
            .any(|a| AsRef::<str>::as_ref(a).to_lowercase() == addr.to_lowercase())
        {
            recipients.push(mbox.email.clone());
        }
    }
    let reverse_path = reverse_path(&draft.envelope_from, &from)?;
    Ok(Addresses {
        from,
        reverse_path,
        to,
        cc,
        reply_to,
        recipients,
    })
}

/// Parses the From field, which must hold exactly one mailbox.
fn single_from(input: &str) -> Result<Mailbox, BuildError> {
    let mut mailboxes = parse_mailboxes(Field::From, input)?;
    match mailboxes.len() {
        0 => Err(BuildError::MissingFrom),
        1 => Ok(mailboxes.remove(0)),
        count => Err(BuildError::TooManyFrom {
            input: input.trim().to_owned(),
            count,
        }),
    }
}

/// The reverse-path: From's address unless an envelope sender is given;
/// `<>` is the null sender (bounces, RFC 5321 §4.5.5).
fn reverse_path(given: &str, from: &Mailbox) -> Result<String, BuildError> {
    let given = given.trim();
    if given.is_empty() {
        return Ok(from.email.to_string());
    }
    if given == "<>" {
        return Ok(String::new());
    }
    let mut mailboxes = parse_mailboxes(Field::EnvelopeFrom, given)?;
    match mailboxes.len() {
        1 => Ok(mailboxes.remove(0).email.to_string()),
        count => Err(BuildError::TooManyEnvelopeFrom {
            input: given.to_owned(),
            count,
        }),
    }
}

/// Parses every entry of a multi-entry address field.
fn parse_all(field: Field, inputs: &[String]) -> Result<Vec<Mailbox>, BuildError> {
    let mut all = Vec::new();
    for input in inputs {
        all.extend(parse_mailboxes(field, input)?);
    }
    Ok(all)
}

/// Turns CRLF and lone CR into LF; lettre then writes every LF as CRLF.
fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Unfolds a subject that contains line breaks into one line.
fn one_line(s: &str) -> String {
    if !s.contains(['\r', '\n']) {
        return s.to_owned();
    }
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Message-ID on the sender's domain: `<time.random@domain>`.
///
/// Returns `None` (so lettre's `<random@hostname>` is used instead) when the
/// domain cannot appear in a Message-ID as is (non-ASCII) or no randomness is
/// available.
fn message_id(from: &Mailbox) -> Option<String> {
    use ring::rand::SecureRandom;

    let domain = from.email.domain();
    let dot_atom = !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let literal = domain.starts_with('[')
        && domain.ends_with(']')
        && domain.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if !(dot_atom || literal) {
        return None;
    }
    let mut random = [0u8; 12];
    ring::rand::SystemRandom::new().fill(&mut random).ok()?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("<{millis}.{hex}@{domain}>"))
}
