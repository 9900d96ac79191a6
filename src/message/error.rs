//! The one error type of the message module.

use std::path::PathBuf;

use super::Field;
use crate::smtp::transcript::escape_controls;

/// Why a [`Draft`](super::Draft) could not be turned into a message.
///
/// Every variant names the field, header or file at fault, so the text can
/// be shown to the user as is. All of them are found before any connection
/// is made: when [`build`](super::build) fails, nothing is sent.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An entry of an address field is not a valid mailbox.
    #[error(
        "{field}: \"{}\" is not a valid address: {reason}; \
         write it as name@example.org or Name <name@example.org>",
        escape_controls(.input)
    )]
    InvalidAddress {
        /// The header field the entry came from.
        field: Field,
        /// The offending entry (one element of the comma-separated list), trimmed.
        input: String,
        /// What is wrong with it, in plain words.
        reason: String,
    },

    /// The From field is empty.
    #[error("no sender: give a From address, as name@example.org or Name <name@example.org>")]
    MissingFrom,

    /// To, Cc and Bcc are all empty.
    #[error("no recipients: give at least one of To, Cc or Bcc")]
    MissingRecipient,

    /// The envelope sender is more than one address.
    #[error(
        "the envelope sender must be one address (or <> for the null sender), but \"{input}\" holds {count}"
    )]
    TooManyEnvelopeFrom {
        /// As given.
        input: String,
        /// How many it holds.
        count: usize,
    },
    /// The From field holds more than one mailbox.
    #[error("From must be a single mailbox, but \"{input}\" holds {count}")]
    TooManyFrom {
        /// The From field as given.
        input: String,
        /// How many mailboxes it holds.
        count: usize,
    },

    /// An attachment path does not exist.
    #[error("attachment {}: no such file", path.display())]
    AttachmentMissing {
        /// The path as given.
        path: PathBuf,
    },

    /// An attachment path exists but is a directory or another non-regular file.
    #[error(
        "attachment {}: not a regular file (a directory, or a pipe or device, which \
         could be read only once or never end); save what it holds to a file and \
         attach that",
        path.display()
    )]
    AttachmentNotAFile {
        /// The path as given.
        path: PathBuf,
    },

    /// An attachment exists but could not be read.
    #[error("attachment {}: cannot read it: {source}", path.display())]
    AttachmentUnreadable {
        /// The path as given.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// An extra raw header is malformed or clashes with a header Postscope sets.
    #[error("header \"{}\": {reason}", escape_controls(.header))]
    InvalidHeader {
        /// The header line as given.
        header: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The delivery notices' envelope ID breaks RFC 3461 §4.4.
    #[error("delivery notices: {0}")]
    InvalidEnvid(String),

    /// lettre refused to build the message; its message is kept.
    #[error("could not build the message: {0}")]
    Build(String),
}
