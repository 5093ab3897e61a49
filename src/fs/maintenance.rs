//! Whole-container maintenance: [`Fs::backup_to`] (a consistent, compact
//! copy while others write) and [`Fs::compact`] (shrinking in place). The
//! page work is the engine's (`engine/backup.rs`, `engine/compact.rs`).

use std::path::Path;

use crate::engine;
use crate::error::{Error, Result};
use crate::fs::Fs;
use crate::storage::NewFile;

/// What [`Fs::backup_to`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// The generation copied (of the container, or of the snapshot a view reads).
    pub generation: u64,
    /// Pages in the copy, page 0 included.
    pub pages: u64,
    /// Bytes in the copy.
    pub bytes: u64,
    /// Files and symbolic links copied.
    pub files: u64,
    /// Directories copied, the root included.
    pub dirs: u64,
}

pub use engine::CompactReport;

impl Fs {
    /// Copies the state this open reads — the latest commit, or the
    /// snapshot of a view from [`Fs::open_snapshot`] — into a new container
    /// at `dest`, while other threads and processes go on writing (they are
    /// never blocked). The copy holds only live pages, renumbered; no
    /// snapshots, no free space. `dest` must not exist; it appears only
    /// complete and synced.
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<BackupReport> {
        self.backup_to_with(dest, &mut |_, _| {})
    }

    /// [`Fs::backup_to`], calling `progress(data pages copied, data pages in all)`.
    pub fn backup_to_with(
        &self,
        dest: impl AsRef<Path>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupReport> {
        let dest = dest.as_ref();
        if dest.symlink_metadata().is_ok() {
            return Err(Error::Exists(format!("{} already exists", dest.display())));
        }
        let snap = self.engine().snapshot()?;
        let mut file = NewFile::stage(dest)?;
        let copied = engine::copy_compact(
            self.engine(),
            &snap,
            &mut |bytes, offset| file.write_at(bytes, offset),
            progress,
        )?;
        drop(snap);
        if file.link_into_place()?.is_none() {
            return Err(Error::Exists(format!("{} already exists", dest.display())));
        }
        Ok(BackupReport {
            generation: copied.generation,
            pages: copied.pages,
            bytes: copied.pages * self.engine().page_size() as u64,
            files: copied.files,
            dirs: copied.dirs,
        })
    }

    /// Shrinks the container in place: moves live pages from its end into
    /// free space, commits, and truncates the file (DESIGN §5). Crash-safe
    /// at every step. It needs the container to itself: other opens must
    /// close within the busy timeout, and this open must have no files or
    /// listings open; otherwise [`Error::Busy`] says which. Pages that
    /// snapshots hold are not moved.
    pub fn compact(&self) -> Result<CompactReport> {
        self.engine().compact()
    }
}
