//! Pseudofile handles: [`File`], with its own position (no shared cursor),
//! a snapshot for reading and a private set of uncommitted pages for writing.

use std::io;

use crate::error::{Error, Result};
use crate::fs::Metadata;

/// An open mode, parsed from an `fopen`/PHP-style string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// May read.
    pub read: bool,
    /// May write.
    pub write: bool,
    /// Every write goes to the end of the file.
    pub append: bool,
    /// Create the file if it is missing.
    pub create: bool,
    /// Fail with `Exists` if the file exists.
    pub exclusive: bool,
    /// Truncate the file to zero at open.
    pub truncate: bool,
}

impl Mode {
    /// Parses `r r+ w w+ a a+ c c+ x x+`; letters after the first in any
    /// order, `b` (and `t`) ignored: `"rb+" == "r+b" == "r+"`.
    pub fn parse(mode: &str) -> Result<Mode> {
        let bad = || Error::Arg(format!("bad mode string {mode:?} (expected r, r+, w, w+, a, a+, c, c+, x or x+)"));
        let mut chars = mode.chars();
        let first = chars.next().ok_or_else(bad)?;
        let (mut plus, mut seen_b) = (false, false);
        for c in chars {
            match c {
                '+' if !plus => plus = true,
                'b' | 't' if !seen_b => seen_b = true,
                _ => return Err(bad()),
            }
        }
        let m = |read, write, append, create, exclusive, truncate| Mode { read, write, append, create, exclusive, truncate };
        Ok(match first {
            'r' => m(true, plus, false, false, false, false),
            'w' => m(plus, true, false, true, false, true),
            'a' => m(plus, true, true, true, false, false),
            'c' => m(plus, true, false, true, false, false),
            'x' => m(plus, true, false, true, true, false),
            _ => return Err(bad()),
        })
    }
}

/// An open pseudofile. Reads see the snapshot taken at open (plus this
/// handle's own writes); writes become visible to everyone at
/// [`File::flush`], [`File::sync_all`] or [`File::close`]. Dropping the
/// handle commits too, ignoring errors: call `close` to see them.
pub struct File {
    _private: (),
}

impl File {
    /// Reads at `offset` without moving the position; returns bytes read (0 at the end).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let _ = (buf, offset);
        todo!()
    }
    /// Writes at `offset` without moving the position.
    pub fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<usize> {
        let _ = (buf, offset);
        todo!()
    }
    /// The file's size as this handle sees it.
    pub fn len(&self) -> u64 {
        todo!()
    }
    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Truncates or extends (with zeros, as a hole) to `size`.
    pub fn set_len(&mut self, size: u64) -> Result<()> {
        let _ = size;
        todo!()
    }
    /// `stat` of this handle's view of the file.
    pub fn metadata(&self) -> Result<Metadata> {
        todo!()
    }
    /// Commits this handle's changes at the container's durability.
    pub fn commit(&mut self) -> Result<()> {
        todo!()
    }
    /// Commits durably, whatever the durability setting.
    pub fn sync_all(&mut self) -> Result<()> {
        todo!()
    }
    /// Commits and closes; returns the commit's result. The handle is freed
    /// either way.
    pub fn close(self) -> Result<()> {
        todo!()
    }
}

impl io::Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }
}

impl io::Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = buf;
        todo!()
    }
    /// Commits (see [`File::commit`]).
    fn flush(&mut self) -> io::Result<()> {
        self.commit().map_err(io::Error::from)
    }
}

impl io::Seek for File {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let _ = pos;
        todo!()
    }
}
