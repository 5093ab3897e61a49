//! Named snapshots in the API: [`Fs::create_snapshot`], [`Fs::snapshots`],
//! [`Fs::delete_snapshot`], read-only views ([`Fs::open_snapshot`],
//! [`FsOptions::snapshot`](crate::FsOptions::snapshot)), [`Fs::restore`]
//! and [`Fs::diff`]. How a snapshot holds its pages is the engine's
//! (`engine/snapshots.rs`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use crate::engine;
use crate::error::{Error, Result};
use crate::fs::{path, FileType, Fs, FsInner, Metadata, SetAttributes, Transaction};

/// A named snapshot: one committed state kept whole while it exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Its name (the rules of a file name).
    pub name: String,
    /// The generation whose state it keeps.
    pub generation: u64,
    /// When it was taken, ns since the Unix epoch.
    pub created_ns: i64,
    /// Files and symbolic links in it.
    pub files: u64,
    /// Directories in it, the root included.
    pub dirs: u64,
    /// Pages only it references: what deleting it gives back.
    pub exclusive_pages: u64,
}

impl SnapshotInfo {
    fn of(e: engine::SnapshotEntry) -> SnapshotInfo {
        SnapshotInfo {
            name: e.name,
            generation: e.record.generation,
            created_ns: e.record.created_ns,
            files: e.record.files,
            dirs: e.record.dirs,
            exclusive_pages: e.exclusive_pages,
        }
    }
}

/// How a path differs between two states ([`Fs::diff`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Only in the newer state.
    Added,
    /// Only in the older state.
    Removed,
    /// In both, with other content, kind or metadata.
    Changed,
}

/// One difference found by [`Fs::diff`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What happened to the path.
    pub kind: ChangeKind,
    /// The absolute path.
    pub path: String,
}

impl Fs {
    /// Takes a snapshot named `name` of the latest committed state, in one
    /// commit. Its pages are not reused while it exists; it survives
    /// crashes like every commit. `Exists` if the name is taken.
    pub fn create_snapshot(&self, name: &str) -> Result<SnapshotInfo> {
        let now = engine::now_ns();
        let (rec, _) = self
            .engine()
            .commit(false, |tx| tx.create_snapshot(name, now))?;
        Ok(SnapshotInfo {
            name: name.to_string(),
            generation: rec.generation,
            created_ns: rec.created_ns,
            files: rec.files,
            dirs: rec.dirs,
            exclusive_pages: 0,
        })
    }

    /// The snapshots of the latest state, in name order.
    pub fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        let base = self.base();
        let snap = base.engine().snapshot()?;
        Ok(engine::list_snapshots(base.engine(), &snap)?
            .into_iter()
            .map(SnapshotInfo::of)
            .collect())
    }

    /// Deletes the snapshot `name` in one commit; the pages only it held
    /// are reused once no reader needs them (an open view of it keeps
    /// reading). Returns how many pages it gave back.
    pub fn delete_snapshot(&self, name: &str) -> Result<u64> {
        Ok(self
            .engine()
            .commit(false, |tx| tx.delete_snapshot(name))?
            .0)
    }

    /// A read-only view of the snapshot `name`: every reading call works
    /// on it as on the container at that state; writing calls fail with
    /// [`Error::Access`]. It shares this open's descriptor and locks.
    pub fn open_snapshot(&self, name: &str) -> Result<Fs> {
        let base = self.base();
        let engine = base.engine().view(name)?;
        Ok(Fs {
            inner: Arc::new(FsInner {
                engine,
                snapshot: Some((name.to_string(), base.clone())),
                memo: super::memo::LookupMemo::new(),
            }),
        })
    }

    /// The name of the snapshot this view reads; `None` for an open of the
    /// latest state.
    pub fn snapshot_name(&self) -> Option<&str> {
        self.inner.snapshot.as_ref().map(|(n, _)| n.as_str())
    }

    /// The open of the latest state this is, or that this view came from.
    pub(super) fn base(&self) -> &Fs {
        match &self.inner.snapshot {
            Some((_, parent)) => parent,
            None => self,
        }
    }

    /// Brings `path` (a file, link or whole subtree; `/` for everything)
    /// back to its content in the snapshot `snapshot`, in one commit:
    /// what is there now is removed (files open for writing become
    /// orphans, as with any removal) and the snapshot's entries are
    /// written again with their metadata and hard links. A path the
    /// snapshot does not have is removed. The restored content is a copy:
    /// it does not share pages with the snapshot.
    pub fn restore(&self, snapshot: &str, target: &str) -> Result<()> {
        let parts = path::components(target)?;
        let norm = format!("/{}", parts.join("/"));
        let view = self.open_snapshot(snapshot)?;
        let then = match view.symlink_metadata(&norm) {
            Ok(m) => Some(m),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let now = match self.symlink_metadata(&norm) {
            Ok(m) => Some(m),
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        self.transaction(|t| {
            let root = norm == "/";
            if root {
                for entry in self.read_dir("/")? {
                    let entry = entry?;
                    remove_entry(t, &join("/", &entry.name), entry.kind)?;
                }
            } else if let Some(m) = &now {
                remove_entry(t, &norm, m.kind)?;
            }
            if let Some(m) = then {
                let mut links = HashMap::new();
                copy_entry(&view, t, &norm, &m, root, &mut links)?;
            }
            Ok(())
        })
    }

    /// The paths that differ from `self`'s state (the older) to `newer`'s:
    /// added, removed, or changed (kind, size, content, mode, owner or
    /// modification time). A directory added or removed is listed with
    /// everything below it. Sorted by path.
    pub fn diff(&self, newer: &Fs) -> Result<Vec<Change>> {
        let mut out = Vec::new();
        diff_dir(self, newer, "/", &mut out)?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn remove_entry(t: &mut Transaction, p: &str, kind: FileType) -> Result<()> {
    match kind {
        FileType::Dir => t.remove_dir_all(p).map(drop),
        _ => t.remove_file(p).map(drop),
    }
}

/// Records the re-creation of `p` (described by `m` in `view`) and
/// everything below it; `links` maps an inode already restored to its path.
fn copy_entry(
    view: &Fs,
    t: &mut Transaction,
    p: &str,
    m: &Metadata,
    is_root: bool,
    links: &mut HashMap<u64, String>,
) -> Result<()> {
    match m.kind {
        FileType::Dir => {
            if !is_root {
                t.create_dir(p)?;
            }
            for entry in view.read_dir(p)? {
                let entry = entry?;
                let child = join(p, &entry.name);
                let cm = view.symlink_metadata(&child)?;
                copy_entry(view, t, &child, &cm, false, links)?;
            }
        }
        FileType::File | FileType::Symlink => {
            if let Some(first) = links.get(&m.ino) {
                return t.hard_link(first, p).map(drop);
            }
            if m.kind == FileType::File {
                let mut f = view.open_file(p, "r")?;
                t.write_from(p, &mut f)?;
            } else {
                t.symlink(&view.read_link(p)?, p)?;
            }
            if m.nlink > 1 {
                links.insert(m.ino, p.to_string());
            }
        }
    }
    // After the entries: filling a directory moves its time.
    let attrs = SetAttributes::new()
        .mode(m.mode)
        .owner(Some(m.uid), Some(m.gid))
        .atime_ns(m.atime_ns)
        .mtime_ns(m.mtime_ns);
    t.set_attributes(p, &attrs).map(drop)
}

/// Whether two entries of one path differ.
fn entry_differs(old: &Fs, new: &Fs, p: &str, a: &Metadata, b: &Metadata) -> Result<bool> {
    if a.kind != b.kind
        || a.size != b.size
        || a.mode != b.mode
        || a.uid != b.uid
        || a.gid != b.gid
        || (a.kind != FileType::Dir && a.mtime_ns != b.mtime_ns)
    {
        return Ok(true);
    }
    match a.kind {
        FileType::Dir => Ok(false),
        FileType::Symlink => Ok(old.read_link(p)? != new.read_link(p)?),
        FileType::File => same_content(old, new, p).map(|same| !same),
    }
}

/// Compares two versions of a file block by block.
fn same_content(old: &Fs, new: &Fs, p: &str) -> Result<bool> {
    let (mut a, mut b) = (old.open_file(p, "r")?, new.open_file(p, "r")?);
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut crate::File, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(Error::from_io(e)),
        }
    }
    Ok(filled)
}

fn diff_dir(old: &Fs, new: &Fs, dir: &str, out: &mut Vec<Change>) -> Result<()> {
    let names = |fs: &Fs| -> Result<Vec<String>> {
        let mut v = Vec::new();
        for e in fs.read_dir(dir)? {
            v.push(e?.name);
        }
        v.sort();
        Ok(v)
    };
    let (a, b) = (names(old)?, names(new)?);
    let mut all: Vec<&String> = a.iter().chain(b.iter()).collect();
    all.sort();
    all.dedup();
    for name in all {
        let p = join(dir, name);
        let ma = old.symlink_metadata(&p).ok();
        let mb = new.symlink_metadata(&p).ok();
        match (ma, mb) {
            (Some(x), None) => subtree(old, &p, &x, ChangeKind::Removed, out)?,
            (None, Some(y)) => subtree(new, &p, &y, ChangeKind::Added, out)?,
            (Some(x), Some(y)) => {
                if x.kind != y.kind {
                    subtree(old, &p, &x, ChangeKind::Removed, out)?;
                    subtree(new, &p, &y, ChangeKind::Added, out)?;
                    continue;
                }
                if entry_differs(old, new, &p, &x, &y)? {
                    out.push(Change {
                        kind: ChangeKind::Changed,
                        path: p.clone(),
                    });
                }
                if x.kind == FileType::Dir {
                    diff_dir(old, new, &p, out)?;
                }
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// Lists `p` and, for a directory, everything below it as `kind`.
fn subtree(fs: &Fs, p: &str, m: &Metadata, kind: ChangeKind, out: &mut Vec<Change>) -> Result<()> {
    out.push(Change {
        kind,
        path: p.to_string(),
    });
    if m.kind == FileType::Dir {
        for e in fs.read_dir(p)? {
            let e = e?;
            let child = join(p, &e.name);
            let cm = fs.symlink_metadata(&child)?;
            subtree(fs, &child, &cm, kind, out)?;
        }
    }
    Ok(())
}
