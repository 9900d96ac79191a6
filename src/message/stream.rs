//! Sending a message without holding its attachments in memory.
//!
//! lettre renders the headers, the text part and the MIME structure, with a
//! unique placeholder where each attachment's base64 body goes. The
//! [`StreamedMessage`] is that rendering cut at the placeholders; reading it
//! yields the rendered pieces and, in between, each file read in chunks and
//! base64-encoded into 76-character lines. Memory stays at one chunk per
//! read whatever the size of the files.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{AttachmentInfo, BuildError, Envelope};

/// Bytes of a file per base64 line: 57 bytes make 76 characters (RFC 2045).
const LINE_BYTES: usize = 57;
/// How much of a file is read at once: many whole lines.
const CHUNK: usize = LINE_BYTES * 1024;

/// The placeholder for attachment `index`: random per process, so no text a
/// user types can be mistaken for it (and [`StreamedMessage::new`] checks).
pub(super) fn placeholder(index: usize) -> String {
    static NONCE: OnceLock<String> = OnceLock::new();
    let nonce = NONCE.get_or_init(|| {
        use ring::rand::SecureRandom;
        let mut random = [0u8; 16];
        if ring::rand::SystemRandom::new().fill(&mut random).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            random[..16].copy_from_slice(&nanos.to_le_bytes());
        }
        random.iter().map(|b| format!("{b:02x}")).collect()
    });
    format!("postscope-attachment-{nonce}-{index}")
}

/// The size of a file's body once base64-encoded into lines joined by CRLF.
fn encoded_size(len: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    let chars = len.div_ceil(3) * 4;
    let lines = len.div_ceil(LINE_BYTES as u64);
    chars + 2 * (lines - 1)
}

#[derive(Debug, Clone)]
enum Segment {
    Rendered(Vec<u8>),
    File(PathBuf),
}

/// A message ready to send whose attachments are read as it is sent.
#[derive(Debug, Clone)]
pub struct StreamedMessage {
    /// Where to send it, with the size and 8-bit flag filled in.
    pub envelope: Envelope,
    /// The attached files, in order.
    pub attachments: Vec<AttachmentInfo>,
    segments: Vec<Segment>,
    size: u64,
    eight_bit: bool,
}

impl StreamedMessage {
    /// Cuts lettre's rendering at each placeholder.
    pub(super) fn new(
        envelope: Envelope,
        rendered: Vec<u8>,
        attachments: Vec<AttachmentInfo>,
        placeholders: &[String],
    ) -> Result<StreamedMessage, BuildError> {
        let eight_bit = !rendered.is_ascii();
        let mut segments = Vec::new();
        let mut rest = rendered.as_slice();
        let mut size = 0u64;
        for (info, placeholder) in attachments.iter().zip(placeholders) {
            let needle = placeholder.as_bytes();
            let found: Vec<usize> = rest
                .windows(needle.len())
                .enumerate()
                .filter(|(_, w)| *w == needle)
                .map(|(i, _)| i)
                .collect();
            let [at] = found[..] else {
                return Err(BuildError::Build(format!(
                    "cannot place the attachment {} in the message",
                    info.file_name
                )));
            };
            segments.push(Segment::Rendered(rest[..at].to_vec()));
            segments.push(Segment::File(info.path.clone()));
            size += at as u64 + encoded_size(info.size);
            rest = &rest[at + needle.len()..];
        }
        size += rest.len() as u64;
        segments.push(Segment::Rendered(rest.to_vec()));
        Ok(StreamedMessage {
            envelope: Envelope {
                size: Some(size),
                eight_bit,
                ..envelope
            },
            attachments,
            segments,
            size,
            eight_bit,
        })
    }

    /// The whole message in memory (tests, the console's DATA box).
    pub fn to_bytes(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.size as usize);
        crate::smtp::BodySource::open(self)?.read_to_end(&mut out)?;
        Ok(out)
    }
}

impl crate::smtp::BodySource for StreamedMessage {
    fn size(&self) -> Option<u64> {
        Some(self.size)
    }

    fn eight_bit(&self) -> bool {
        self.eight_bit
    }

    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(Reader {
            segments: self.segments.iter(),
            current: None,
        }))
    }
}

struct Reader<'a> {
    segments: std::slice::Iter<'a, Segment>,
    current: Option<Box<dyn Read + 'a>>,
}

impl Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(current) = &mut self.current {
                let n = current.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            self.current = match self.segments.next() {
                None => return Ok(0),
                Some(Segment::Rendered(bytes)) => Some(Box::new(bytes.as_slice())),
                Some(Segment::File(path)) => {
                    let file = std::fs::File::open(path).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!("cannot read the attachment {}: {e}", path.display()),
                        )
                    })?;
                    Some(Box::new(Base64Lines::new(file)))
                }
            };
        }
    }
}

/// Base64 in lines of 76 characters joined by CRLF, read from `inner` in
/// chunks.
struct Base64Lines<R> {
    inner: R,
    input: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    first: bool,
    done: bool,
}

impl<R: Read> Base64Lines<R> {
    fn new(inner: R) -> Base64Lines<R> {
        Base64Lines {
            inner,
            input: vec![0; CHUNK],
            out: Vec::new(),
            pos: 0,
            first: true,
            done: false,
        }
    }

    /// Reads a whole chunk (so every line but the last is full) and encodes it.
    fn fill(&mut self) -> io::Result<()> {
        let mut filled = 0;
        while filled < CHUNK {
            match self.inner.read(&mut self.input[filled..]) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.pos = 0;
        for line in self.input[..filled].chunks(LINE_BYTES) {
            if !self.first {
                self.out.extend_from_slice(b"\r\n");
            }
            self.first = false;
            let start = self.out.len();
            self.out.resize(start + line.len().div_ceil(3) * 4, 0);
            B64.encode_slice(line, &mut self.out[start..])
                .map_err(io::Error::other)?;
        }
        Ok(())
    }
}

impl<R: Read> Read for Base64Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        // A reader that hands out odd-sized pieces, as pipes and disks may.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(1000);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        Base64Lines::new(Trickle(data))
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn lines_are_76_characters_and_decode_back() {
        for len in [
            0,
            1,
            2,
            3,
            56,
            57,
            58,
            114,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 7,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let out = encode(&data);
            assert_eq!(out.len() as u64, encoded_size(len as u64), "len {len}");
            let text = String::from_utf8(out).unwrap();
            assert!(text.split("\r\n").all(|l| l.len() <= 76), "len {len}");
            assert!(!text.ends_with("\r\n"));
            let joined: String = text.split("\r\n").collect();
            assert_eq!(B64.decode(joined).unwrap(), data, "len {len}");
        }
    }
}
