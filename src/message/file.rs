//! A ready message (`postscope send --eml FILE|-`). A regular file is read
//! from disk as it is sent; anything else — standard input, a pipe, a FIFO,
//! `<(…)` — can be read only once, so it is read now, before connecting:
//! kept in memory up to [`IN_MEMORY`], beyond that in a private temporary
//! file (mode 0600, gone when the message is), and never past a limit.
//! So a message from a pipe is sent whole, with its true SIZE, and an empty
//! or unreadable one is refused before anything is sent.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::smtp::BodySource;

/// How much of a message read from a pipe is kept in memory.
pub const IN_MEMORY: usize = 8 << 20;

/// The largest message read by default (DESIGN: `--max-input`, 100 MB).
pub const DEFAULT_MAX_INPUT: u64 = 100_000_000;

/// Why a ready message cannot be sent. Nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum EmlError {
    /// It could not be opened or read.
    #[error("cannot read the message file {name}: {source}")]
    Read {
        /// The file, or "standard input".
        name: String,
        /// What the OS said.
        source: io::Error,
    },
    /// It has no bytes.
    #[error("the message file {name} is empty: there is nothing to send")]
    Empty {
        /// The file, or "standard input".
        name: String,
    },
    /// It is bigger than the limit.
    #[error("the message file {name} is over the limit of {limit} bytes")]
    TooLarge {
        /// The file, or "standard input".
        name: String,
        /// The limit.
        limit: u64,
    },
}

/// Where the bytes are.
enum Data {
    /// A regular file, read as it is sent.
    Regular(PathBuf),
    /// Read once, held in memory.
    Memory(Vec<u8>),
    /// Read once, held in an unnamed temporary file.
    Spooled(File),
}

/// A ready message, readable as many times as the session needs.
pub struct FileBody {
    size: u64,
    eight_bit: bool,
    data: Data,
}

impl fmt::Debug for FileBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.data {
            Data::Regular(path) => format!("file {}", path.display()),
            Data::Memory(_) => "in memory".into(),
            Data::Spooled(_) => "spooled to a temporary file".into(),
        };
        f.debug_struct("FileBody")
            .field("size", &self.size)
            .field("eight_bit", &self.eight_bit)
            .field("data", &kind)
            .finish()
    }
}

impl FileBody {
    /// The message in `path`, or on standard input for `-`, of at most
    /// `max` bytes.
    pub fn open(path: &Path, max: u64) -> Result<FileBody, EmlError> {
        if path.as_os_str() == "-" {
            return FileBody::read_from("standard input", io::stdin().lock(), max, IN_MEMORY);
        }
        let name = path.display().to_string();
        let read_error = |source| EmlError::Read {
            name: name.clone(),
            source,
        };
        let mut file = File::open(path).map_err(read_error)?;
        let meta = file.metadata().map_err(read_error)?;
        if !meta.is_file() {
            // A pipe or FIFO: its bytes come once.
            return FileBody::read_from(&name, file, max, IN_MEMORY);
        }
        let size = meta.len();
        if size == 0 {
            return Err(EmlError::Empty { name });
        }
        if size > max {
            return Err(EmlError::TooLarge { name, limit: max });
        }
        let eight_bit = has_eight_bit(&mut file).map_err(read_error)?;
        Ok(FileBody {
            size,
            eight_bit,
            data: Data::Regular(path.to_owned()),
        })
    }

    /// Reads a message that comes once, keeping up to `in_memory` bytes in
    /// memory and the rest in a temporary file, at most `max` in all.
    pub fn read_from(
        name: &str,
        mut reader: impl Read,
        max: u64,
        in_memory: usize,
    ) -> Result<FileBody, EmlError> {
        let read_error = |source| EmlError::Read {
            name: name.to_owned(),
            source,
        };
        let too_large = || EmlError::TooLarge {
            name: name.to_owned(),
            limit: max,
        };
        let mut memory = Vec::new();
        let mut spool: Option<File> = None;
        let mut size = 0u64;
        let mut eight_bit = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(e)),
            };
            let chunk = &buf[..n];
            size += n as u64;
            if size > max {
                return Err(too_large());
            }
            eight_bit |= !chunk.is_ascii();
            match &mut spool {
                Some(file) => file.write_all(chunk).map_err(read_error)?,
                None if memory.len() + n <= in_memory => memory.extend_from_slice(chunk),
                None => {
                    let mut file = tempfile::tempfile().map_err(read_error)?;
                    file.write_all(&memory).map_err(read_error)?;
                    file.write_all(chunk).map_err(read_error)?;
                    memory = Vec::new();
                    spool = Some(file);
                }
            }
        }
        if size == 0 {
            return Err(EmlError::Empty {
                name: name.to_owned(),
            });
        }
        let data = match spool {
            Some(mut file) => {
                file.flush().map_err(read_error)?;
                Data::Spooled(file)
            }
            None => Data::Memory(memory),
        };
        Ok(FileBody {
            size,
            eight_bit,
            data,
        })
    }
}

/// True when the file has a byte above 127 (one pass in fixed-size chunks).
fn has_eight_bit(file: &mut File) -> io::Result<bool> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        if !buf[..n].is_ascii() {
            return Ok(true);
        }
    }
}

impl BodySource for FileBody {
    fn size(&self) -> Option<u64> {
        Some(self.size)
    }
    fn eight_bit(&self) -> bool {
        self.eight_bit
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(match &self.data {
            Data::Regular(path) => Box::new(Exactly {
                file: File::open(path)?,
                path,
                size: self.size,
                left: self.size,
            }),
            Data::Memory(bytes) => Box::new(bytes.as_slice()),
            Data::Spooled(file) => {
                let mut file: &File = file;
                file.seek(SeekFrom::Start(0))?;
                Box::new(file)
            }
        })
    }
}

/// A regular file read as it is sent, which must still hold exactly the
/// bytes counted before connecting (SIZE was declared from them). One that
/// grew or shrank is an error before its last byte goes out, so the
/// session drops the connection before the final dot or `BDAT LAST`.
struct Exactly<'a> {
    file: File,
    path: &'a Path,
    size: u64,
    left: u64,
}

impl Exactly<'_> {
    fn changed(&self, how: &str) -> io::Error {
        io::Error::other(format!(
            "the message file {} {how} while it was being sent (it had {} bytes, declared in \
             SIZE): the connection was dropped before the end of the message, so nothing was \
             delivered; send it again when it no longer changes",
            self.path.display(),
            self.size
        ))
    }
}

impl Read for Exactly<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        if n == 0 && self.left > 0 {
            return Err(self.changed("shrank"));
        }
        if n as u64 > self.left {
            return Err(self.changed("grew"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &FileBody) -> Vec<u8> {
        let mut out = Vec::new();
        body.open().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_message_that_comes_once_is_kept_whole() {
        let message = "Subject: pipe\r\n\r\nGrüße\r\n".repeat(10);
        // In memory.
        let body = FileBody::read_from("a pipe", message.as_bytes(), 1 << 20, 1 << 20).unwrap();
        assert!(matches!(body.data, Data::Memory(_)));
        assert_eq!(body.size(), Some(message.len() as u64));
        assert!(body.eight_bit());
        assert_eq!(all(&body), message.as_bytes());
        // Spooled: more than the memory allows, read back twice (a second
        // transaction reads the message again).
        let body = FileBody::read_from("a pipe", message.as_bytes(), 1 << 20, 16).unwrap();
        assert!(matches!(body.data, Data::Spooled(_)), "{body:?}");
        assert_eq!(all(&body), message.as_bytes());
        assert_eq!(all(&body), message.as_bytes());
        assert_eq!(body.size(), Some(message.len() as u64));
    }

    #[test]
    fn a_regular_file_that_changes_while_sent_is_an_error_before_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.eml");
        std::fs::write(&path, b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let body = FileBody::open(&path, 1000).unwrap();
        assert_eq!(all(&body), b"Subject: x\r\n\r\nbody\r\n");
        for (contents, how) in [
            (&b"Subject: x\r\n\r\nbody\r\nmore\r\n"[..], "grew"),
            (b"Subject: x\r\n", "shrank"),
        ] {
            std::fs::write(&path, contents).unwrap();
            let mut out = Vec::new();
            let e = body.open().unwrap().read_to_end(&mut out).unwrap_err();
            assert!(e.to_string().contains(how), "{e}");
            assert!(e.to_string().contains("nothing was delivered"), "{e}");
        }
    }

    #[test]
    fn empty_too_large_and_unreadable_are_refused() {
        let e = FileBody::read_from("standard input", &b""[..], 100, 10).unwrap_err();
        assert!(matches!(e, EmlError::Empty { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "the message file standard input is empty: there is nothing to send"
        );
        let e = FileBody::read_from("a pipe", &[b'x'; 101][..], 100, 10).unwrap_err();
        assert!(matches!(e, EmlError::TooLarge { limit: 100, .. }), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.eml");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            FileBody::open(&empty, 100),
            Err(EmlError::Empty { .. })
        ));
        let big = dir.path().join("big.eml");
        std::fs::write(&big, [b'a'; 200]).unwrap();
        assert!(matches!(
            FileBody::open(&big, 100),
            Err(EmlError::TooLarge { .. })
        ));
        let missing = dir.path().join("missing.eml");
        let e = FileBody::open(&missing, 100).unwrap_err();
        assert!(e.to_string().contains("missing.eml"), "{e}");
        // A regular file is read as it is sent.
        let ok = dir.path().join("ok.eml");
        std::fs::write(&ok, b"Subject: x\r\n\r\nplain\r\n").unwrap();
        let body = FileBody::open(&ok, 100).unwrap();
        assert!(matches!(body.data, Data::Regular(_)));
        assert!(!body.eight_bit());
        assert_eq!(all(&body), b"Subject: x\r\n\r\nplain\r\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_read_once_not_mistaken_for_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("message.fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        const MESSAGE: &[u8] = b"Subject: fifo\r\n\r\nthrough a FIFO\r\n";
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(&fifo, MESSAGE).unwrap())
        };
        let body = FileBody::open(&fifo, 1000).unwrap();
        writer.join().unwrap();
        assert_eq!(body.size(), Some(MESSAGE.len() as u64));
        assert_eq!(all(&body), MESSAGE);
    }
}
