//! The DATA encoding (RFC 5321 §4.5.2): line endings normalised to CRLF and
//! a dot doubled at the start of each line, done as a stream so a message of
//! any size passes through a fixed amount of memory.

/// Streaming encoder for message data sent after `354`. Feed chunks of any
/// size with [`DotStuffer::encode`]; finish with [`DotStuffer::finish`],
/// which ends the last line and appends the terminating `.` line.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    pending_cr: bool,
    /// False for BDAT (RFC 3030): line endings only, no dots, no final dot.
    stuff: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer {
            at_line_start: true,
            pending_cr: false,
            stuff: true,
        }
    }
}

impl DotStuffer {
    /// The encoder for BDAT chunks: CRLF line endings, dots left alone, and
    /// [`DotStuffer::finish`] ends the last line without a dot line.
    pub fn lines_only() -> DotStuffer {
        DotStuffer {
            stuff: false,
            ..DotStuffer::default()
        }
    }

    /// Encodes one chunk into `out`. A bare LF or a bare CR becomes CRLF, so
    /// servers that reject bare line feeds (as many now do, against SMTP
    /// smuggling) accept the message.
    pub fn encode(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        out.reserve(chunk.len() + chunk.len() / 64 + 4);
        for &b in chunk {
            if self.pending_cr {
                self.pending_cr = false;
                out.extend_from_slice(b"\r\n");
                self.at_line_start = true;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    self.at_line_start = true;
                }
                _ => {
                    if self.stuff && self.at_line_start && b == b'.' {
                        out.push(b'.');
                    }
                    out.push(b);
                    self.at_line_start = false;
                }
            }
        }
    }

    /// Ends the data: completes an unterminated last line and appends
    /// `.\r\n`. The encoder is ready for a new message afterwards.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr || !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        if self.stuff {
            out.extend_from_slice(b".\r\n");
        }
        *self = DotStuffer {
            stuff: self.stuff,
            ..DotStuffer::default()
        };
    }
}

/// Writes the message as the server will read it (line ends made CRLF,
/// before dot-stuffing) to `out`, a chunk at a time.
pub fn copy_as_sent(
    body: &dyn super::BodySource,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut reader = body.open()?;
    let mut lines = DotStuffer::lines_only();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut encoded = Vec::with_capacity(chunk.len() + 1024);
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        lines.encode(&chunk[..n], &mut encoded);
        out.write_all(&encoded)?;
        encoded.clear();
    }
    lines.finish(&mut encoded);
    out.write_all(&encoded)
}

/// The message as the server will read it, in memory, or `None` when it is
/// over `max` bytes.
pub fn as_sent(body: &dyn super::BodySource, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    /// A buffer that refuses to grow past its bound.
    struct Capped {
        bytes: Vec<u8>,
        max: usize,
        over: bool,
    }
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.bytes.len() + buf.len() > self.max {
                self.over = true;
                return Err(std::io::Error::other("over the bound"));
            }
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut capped = Capped {
        bytes: Vec::new(),
        max,
        over: false,
    };
    match copy_as_sent(body, &mut capped) {
        Ok(()) => Ok(Some(capped.bytes)),
        Err(_) if capped.over => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_only_keeps_dots_and_adds_no_dot_line() {
        let mut d = DotStuffer::lines_only();
        let mut out = Vec::new();
        d.encode(b".hidden\nline\r\n.", &mut out);
        d.finish(&mut out);
        assert_eq!(out, b".hidden\r\nline\r\n.\r\n");
        let mut out = Vec::new();
        d.encode(b"a\r\n", &mut out);
        d.finish(&mut out);
        assert_eq!(out, b"a\r\n", "still lines only after finish");
    }

    fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
        let mut d = DotStuffer::default();
        let mut out = Vec::new();
        for c in chunks {
            d.encode(c, &mut out);
        }
        d.finish(&mut out);
        out
    }

    #[test]
    fn doubles_leading_dots() {
        assert_eq!(
            stuff(&[b".hidden\r\nok\r\n..two\r\n"]),
            b"..hidden\r\nok\r\n...two\r\n.\r\n"
        );
        assert_eq!(stuff(&[b"a.b\r\n"]), b"a.b\r\n.\r\n");
        // A lone dot line in the body must not end the message.
        assert_eq!(stuff(&[b"x\r\n.\r\ny\r\n"]), b"x\r\n..\r\ny\r\n.\r\n");
    }

    #[test]
    fn normalises_line_endings() {
        assert_eq!(stuff(&[b"a\nb\rc\r\nd"]), b"a\r\nb\r\nc\r\nd\r\n.\r\n");
        assert_eq!(stuff(&[b"\n.\n"]), b"\r\n..\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r"]), b"a\r\n.\r\n");
        assert_eq!(stuff(&[b""]), b".\r\n");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let input: &[u8] = b"line one\r\n.dot\r\n\r\n.\r\nend.\n.x\rlast";
        let whole = stuff(&[input]);
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(stuff(&[a, b]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(stuff(&bytes), whole);
    }

    #[test]
    fn output_never_contains_a_premature_terminator() {
        // Unstuffing (what a server does) gives back the normalised input.
        let input = b"a\r\n.\r\n..\r\n.a\r\n";
        let out = stuff(&[input]);
        let body = &out[..out.len() - 3];
        assert!(!body.windows(5).any(|w| w == b"\r\n.\r\n"));
        let unstuffed: Vec<u8> = body
            .split(|&b| b == b'\n')
            .map(|l| l.strip_prefix(b".").unwrap_or(l).to_vec())
            .collect::<Vec<_>>()
            .join(&b'\n');
        assert_eq!(unstuffed, input);
    }
}
