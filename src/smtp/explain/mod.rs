//! Plain-language explanations of SMTP, one short sentence per transcript
//! line, for people learning the protocol: the tooltips of the GUI's
//! transcript panel and sequence diagram.
//!
//! [`reply_code`] and [`enhanced_code`] always answer, falling back to what
//! the code's class (and subject) mean; [`command`] answers for the commands
//! Postscope sends and the common ones people type; [`event`] picks the right
//! one for a [`TranscriptEvent`]. Every sentence names the RFC that defines
//! the thing it explains, so a curious reader knows where to look next.

mod commands;
mod enhanced;
mod extensions;
mod replies;

pub use commands::command;
pub use enhanced::enhanced_code;
pub use replies::reply_code;

use super::reply::{EnhancedCode, ReplyCode};
use super::sasl;
use super::transcript::{Direction, TranscriptEvent};

/// The explanation for a transcript line. Server lines: the reply code, plus
/// its enhanced code, plus for 334 the decoded challenge when it is base64
/// text (LOGIN's `VXNlcm5hbWU6` is "Username:"). A 250 line that names an
/// ESMTP extension (`250-PIPELINING`, `250 SIZE 1000`) explains the
/// extension with [`Capability::describe`]; an EHLO reply's first line (the
/// server's name) says so. Client lines: [`command`]. Notes and errors: `None`.
pub fn event(e: &TranscriptEvent) -> Option<String> {
    match e.direction {
        Direction::Sent => command(&e.text),
        Direction::Note | Direction::Error => None,
        Direction::Received => received(e),
    }
}

/// A server line: its code, whether it continues, and its text.
fn received(e: &TranscriptEvent) -> Option<String> {
    let text = e.text.as_str();
    let head = text
        .get(..3)
        .filter(|h| h.bytes().all(|b| b.is_ascii_digit()));
    let code = e
        .code
        .or_else(|| head.and_then(|h| h.parse().ok()).map(ReplyCode))?;
    let (continues, rest) = match head.map(|_| text.as_bytes().get(3)) {
        Some(Some(b'-')) => (true, &text[4..]),
        Some(Some(b' ')) => (false, &text[4..]),
        Some(_) => (false, ""),
        None => (false, text),
    };
    if code == ReplyCode::OK
        && let Some(ext) = extensions::ehlo_line(rest, continues)
    {
        return Some(ext);
    }
    let mut out = reply_code(code);
    if let Some((enhanced, _)) = EnhancedCode::parse_prefix(rest) {
        out.push_str(&format!("; {enhanced}: {}", enhanced_code(enhanced)));
    } else if code == ReplyCode::AUTH_CHALLENGE
        && let Some(challenge) = sasl::decode_challenge(rest)
        && challenge.len() <= 200
        && !challenge.chars().any(char::is_control)
    {
        out.push_str(&format!("; the challenge decodes to \"{challenge}\""));
    }
    Some(out)
}

#[cfg(test)]
mod tests;
