//! Whole-tree operations: [`Fs::remove_dir_all`], [`Fs::copy`] and the
//! container label. Each is one commit: others see all of it or none.

use std::collections::HashSet;

use crate::engine::{self, Tx};
use crate::error::{Error, Result};
use crate::format::records::{self, DirentRecord, InodeKind, Kind, ROOT_INO};
use crate::format::superblock::MAX_LABEL;
use crate::fs::file::File;
use crate::fs::path;
use crate::fs::{self, Fs};

/// Bytes copied per step by [`Fs::copy`], in pages.
const COPY_PAGES: usize = 64;

impl Tx<'_> {
    /// Removes the directory at `path` and everything below it. Files open
    /// for writing become orphans, freed when their writer closes.
    pub(crate) fn remove_dir_all(&mut self, path: &str) -> Result<()> {
        let (parent, name) = fs::resolve_parent(self, path)?;
        let top =
            fs::lookup(self, parent, name)?.ok_or_else(|| Error::NotFound(path.to_string()))?;
        if top.kind != InodeKind::Dir {
            return Err(Error::NotDir(path.to_string()));
        }
        // Depth first with an explicit stack: a directory is deleted after
        // its entries. A directory met twice is a damaged namespace (a
        // cycle), which must not become an endless loop.
        let mut seen = HashSet::new();
        let mut stack = vec![(top.ino, false)];
        while let Some((dir, emptied)) = stack.pop() {
            if emptied {
                self.delete_inode(dir, InodeKind::Dir)?;
                continue;
            }
            if !seen.insert(dir) {
                return Err(Error::corrupt(format!(
                    "directory inode {dir} is named twice below {path:?}"
                )));
            }
            stack.push((dir, true));
            let lo = records::kind_start(dir, Kind::Dirent);
            let hi = records::kind_end(dir, Kind::Dirent);
            for (key, value) in self.collect(&lo, &hi)? {
                let d = DirentRecord::decode(&value)?;
                self.remove(&key)?;
                match d.kind {
                    InodeKind::Dir => stack.push((d.ino, false)),
                    // A file with names outside the tree stays, one link fewer.
                    kind => self.drop_link(d.ino, kind)?,
                }
            }
        }
        self.remove(&records::dirent_key(parent, name.as_bytes()))?;
        self.touch_dir_links(parent, -1)
    }

    /// Sets the container label. A commit is published only when its tree
    /// changed, so the change is also recorded as a status change of the
    /// root directory (its ctime).
    pub(crate) fn set_label(&mut self, label: &str) -> Result<()> {
        check_label(label)?;
        self.sb.label = label.to_string();
        let mut root = fs::inode(self, ROOT_INO)?;
        root.ctime_ns = engine::now_ns();
        self.insert(&records::inode_key(ROOT_INO), &root.encode())?;
        Ok(())
    }

    /// Creates `path` and its missing parents as directories.
    pub(crate) fn create_dir_all(&mut self, path: &str) -> Result<()> {
        let parts = path::components(path)?;
        for i in 1..=parts.len() {
            self.mkdir(&parts[..i].join("/"), true)?;
        }
        Ok(())
    }
}

pub(crate) fn check_label(label: &str) -> Result<()> {
    if label.len() > MAX_LABEL {
        return Err(Error::Arg(format!(
            "label of {} bytes is longer than {MAX_LABEL}",
            label.len()
        )));
    }
    Ok(())
}

impl Fs {
    /// Removes a directory and everything in it, in one commit: others see
    /// the whole tree or none of it. Readers of files in it keep their
    /// snapshots; writers keep writing to orphans that nobody sees, freed
    /// when they close (as with [`Fs::remove_file`]). The root cannot be
    /// removed ([`Error::Arg`]); a file is [`Error::NotDir`].
    pub fn remove_dir_all(&self, path: &str) -> Result<()> {
        self.engine()
            .commit(false, |tx| tx.remove_dir_all(path))
            .map(drop)
    }

    /// Copies the file `from` to `to`, replacing a file there, and returns
    /// the bytes copied. `from` is read as one snapshot; the copy streams
    /// (nothing has to fit in memory) and appears at `to` in one commit, so
    /// readers of `to` see the old file or the whole copy. Holes (pages of
    /// zeros) stay holes and use no pages.
    pub fn copy(&self, from: &str, to: &str) -> Result<u64> {
        let (to_parent, _) = path::parent_and_name(to)?;
        let src = self.open_file(from, "r")?;
        // Fail before streaming if `to` cannot be linked (checked again,
        // under the commit lock, when the copy is linked).
        if !self.metadata(&to_parent.join("/"))?.is_dir() {
            return Err(Error::NotDir(format!("parent of {to:?}")));
        }
        if self.metadata(to).is_ok_and(|m| m.is_dir()) {
            return Err(Error::IsDir(to.to_string()));
        }
        let len = src.len();
        let mut dst = File::create_detached(self, to)?;
        match stream(&src, &mut dst, len, self.engine().page_size() as usize) {
            Ok(()) => dst.close().map(|()| len),
            Err(e) => {
                let _ = dst.abort();
                Err(e)
            }
        }
    }

    /// The container's label, as of the latest commit.
    pub fn label(&self) -> Result<String> {
        Ok(self.engine().latest()?.label.clone())
    }

    /// Sets the container's label (at most 64 bytes), in one commit.
    pub fn set_label(&self, label: &str) -> Result<()> {
        check_label(label)?;
        self.engine()
            .commit(false, |tx| tx.set_label(label))
            .map(drop)
    }
}

/// Copies `len` bytes of `src` into the new file `dst`, skipping pages of
/// zeros (they read back as zeros from the hole they leave).
fn stream(src: &File, dst: &mut File, len: u64, page_size: usize) -> Result<()> {
    let mut buf = vec![0u8; page_size * COPY_PAGES];
    let mut at = 0u64;
    while at < len {
        let want = buf.len().min((len - at).try_into().unwrap_or(usize::MAX));
        let n = src.read_at(&mut buf[..want], at)?;
        if n == 0 {
            break;
        }
        for (i, page) in buf[..n].chunks(page_size).enumerate() {
            if page.iter().any(|&b| b != 0) {
                dst.write_at(page, at + (i * page_size) as u64)?;
            }
        }
        at += n as u64;
    }
    dst.set_len(len)
}
