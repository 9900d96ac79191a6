//! Reading attachment files and guessing their content types.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::{AttachmentInfo, BuildError};

/// Guesses a MIME type from the file extension (via `mime_guess`), falling
/// back to `application/octet-stream` when the extension is unknown or absent.
pub fn guess_content_type(path: &Path) -> String {
    mime_guess::from_path(path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned()
}

/// Looks at one attachment without reading it: it is read later, in
/// chunks, as the message is sent ([`super::StreamedMessage`]).
///
/// Errors name the path: missing, not a regular file (directories, but also
/// FIFOs and devices, which could block or never end), or unreadable.
pub(super) fn inspect(path: &Path) -> Result<AttachmentInfo, BuildError> {
    let io_err = |source: std::io::Error| match source.kind() {
        ErrorKind::NotFound => BuildError::AttachmentMissing {
            path: path.to_owned(),
        },
        ErrorKind::IsADirectory => BuildError::AttachmentNotAFile {
            path: path.to_owned(),
        },
        _ => BuildError::AttachmentUnreadable {
            path: path.to_owned(),
            source,
        },
    };
    let meta = fs::metadata(path).map_err(io_err)?;
    if !meta.is_file() {
        return Err(BuildError::AttachmentNotAFile {
            path: path.to_owned(),
        });
    }
    // Opened once now, so an unreadable file is an error before connecting.
    fs::File::open(path).map_err(io_err)?;

    // A regular file always has a final component; the fallback is defensive.
    // Non-UTF-8 names cannot be carried exactly; they are shown lossily.
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "attachment".to_owned());
    let info = AttachmentInfo {
        path: path.to_owned(),
        file_name,
        content_type: guess_content_type(path),
        size: meta.len(),
    };
    Ok(info)
}
