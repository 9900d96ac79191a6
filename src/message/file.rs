//! A ready message in a file (`postscope send --eml`), read from disk as
//! it is sent rather than held in memory.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::smtp::BodySource;

/// A ready message in a file, read from disk as it is sent.
#[derive(Debug, Clone)]
pub struct FileBody {
    path: PathBuf,
    size: u64,
    eight_bit: bool,
}

impl FileBody {
    /// Checks the file: its size, and whether it has 8-bit bytes (one pass
    /// in fixed-size chunks).
    pub fn open(path: &Path) -> io::Result<FileBody> {
        let mut file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        let mut buf = vec![0u8; 64 * 1024];
        let mut eight_bit = false;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if !buf[..n].is_ascii() {
                eight_bit = true;
                break;
            }
        }
        Ok(FileBody {
            path: path.to_owned(),
            size,
            eight_bit,
        })
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
        Ok(Box::new(std::fs::File::open(&self.path)?))
    }
}
