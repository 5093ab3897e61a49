//! Directory listings: [`ReadDir`] iterates one directory as of the
//! generation it was opened at, whatever commits happen meanwhile.

use crate::error::Result;
use crate::fs::FileType;

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (one path component).
    pub name: String,
    /// File or directory.
    pub kind: FileType,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes (0 for directories).
    pub size: u64,
}

/// An iterator over a directory's entries, in name order.
pub struct ReadDir {
    _private: (),
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}
