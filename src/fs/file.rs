//! Pseudofile handles: [`File`], with its own position (no shared cursor),
//! a snapshot for reading and a private set of uncommitted pages for writing.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::Arc;

use crate::engine::Durability;
use crate::engine::{self, tree, Snapshot, Tx};
use crate::error::{Error, Result};
use crate::format::records::{self, ExtentRecord, InodeKind, InodeRecord, Key, Kind};
use crate::fs::memo::Resolved;
use crate::fs::written::WrittenPages;
use crate::fs::{self, Fs, Metadata, SnapView};
use crate::lock::FileGuard;

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
        let bad = || {
            Error::Arg(format!(
                "bad mode string {mode:?} (expected r, r+, w, w+, a, a+, c, c+, x or x+)"
            ))
        };
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
        let m = |read, write, append, create, exclusive, truncate| Mode {
            read,
            write,
            append,
            create,
            exclusive,
            truncate,
        };
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

/// What [`File::open_target`] opens.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target<'a> {
    /// A path; symbolic links on it are followed.
    Path(&'a str),
    /// An inode, by number (the inode-addressed API).
    Inode(u64),
}

impl Target<'_> {
    /// How errors name the target.
    fn describe(&self) -> String {
        match self {
            Target::Path(p) => p.to_string(),
            Target::Inode(ino) => format!("inode {ino}"),
        }
    }

    /// The file the target names in `r`: a directory or a link is refused.
    fn resolve(&self, r: &dyn fs::Records) -> Result<(u64, InodeRecord)> {
        let (ino, rec) = match *self {
            Target::Path(p) => fs::resolve(r, p)?,
            Target::Inode(ino) => (
                ino,
                fs::inode_opt(r, ino)?.ok_or_else(|| Error::NotFound(self.describe()))?,
            ),
        };
        self.file_only(ino, rec)
    }

    /// [`Target::resolve`] in a committed state, a path through the
    /// lookup memo (which brings the file's first extent along).
    fn resolve_in(&self, fs: &Fs, snap: &Snapshot) -> Result<Resolved> {
        match *self {
            Target::Path(p) => {
                let found = fs.resolve_in(snap, p)?;
                let (ino, rec) = self.file_only(found.ino, found.rec)?;
                Ok(Resolved { ino, rec, ..found })
            }
            Target::Inode(_) => {
                let view = SnapView {
                    engine: fs.engine(),
                    snap,
                };
                let (ino, rec) = self.resolve(&view)?;
                Ok(Resolved {
                    ino,
                    rec,
                    first_extent: None,
                })
            }
        }
    }

    /// `rec` if it is a regular file's; the error for what it is otherwise.
    fn file_only(&self, ino: u64, rec: InodeRecord) -> Result<(u64, InodeRecord)> {
        match rec.kind {
            InodeKind::File => Ok((ino, rec)),
            InodeKind::Dir => Err(Error::IsDir(self.describe())),
            InodeKind::Symlink => Err(Error::Arg(format!(
                "{} is a symbolic link",
                self.describe()
            ))),
        }
    }
}

/// Pages a writer keeps in memory before writing them to reserved pages.
const BUFFERED_PAGES: usize = 64;
/// Buffered pages at most that a commit writes itself, with its tree pages
/// (more are written before the commit lock is taken: DESIGN §4 "Ordering").
const DEFERRED_PAGES: usize = 16;
/// Pages written by a handle from which it syncs them before committing.
const PRESYNC_PAGES: u64 = 64;
/// Largest reservation batch, in pages.
const MAX_BATCH: u64 = 1024;

/// What a handle reads from: a pinned commit and the file's inode in it.
struct Base {
    snap: Snapshot,
    rec: InodeRecord,
    /// The last extent looked up, to make sequential reads cheap.
    last_extent: std::cell::RefCell<Option<(u64, Arc<ExtentRecord>)>>,
}

thread_local! {
    /// Room for the partial first and last page of a read, one per thread
    /// and kept: a handle opened to read one small file (`whefs_read_file`)
    /// allocates and zeroes no page for its last, partial one.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Base {
    fn new(snap: Snapshot, rec: InodeRecord) -> Base {
        Base::with_extent(snap, rec, None)
    }

    /// A base that already knows one extent of the file.
    fn with_extent(
        snap: Snapshot,
        rec: InodeRecord,
        extent: Option<(u64, Arc<ExtentRecord>)>,
    ) -> Base {
        Base {
            snap,
            rec,
            last_extent: std::cell::RefCell::new(extent),
        }
    }

    /// Finds the committed page behind file page `index`: `(container page, checksum)`.
    fn locate(&self, fs: &Fs, ino: u64, index: u64) -> Result<Option<(u64, u64)>> {
        if let Some((start, ext)) = &*self.last_extent.borrow() {
            if (*start..start.saturating_add(ext.count())).contains(&index) {
                let i = (index - start) as usize;
                return Ok(Some((ext.first.saturating_add(i as u64), ext.checksums[i])));
            }
        }
        let maxext = records::max_extent_pages(fs.engine().page_size()) as u64;
        let lo = records::extent_key(ino, index.saturating_sub(maxext - 1));
        let hi = records::extent_key(ino, index + 1);
        let mut hit = None;
        tree::visit(
            fs.engine(),
            &self.snap.root(),
            &lo,
            Some(&hi),
            true,
            &mut |k, v| {
                hit = Some((Key::decode(k)?.sub_u64()?, ExtentRecord::decode(v)?));
                Ok(false)
            },
        )?;
        match hit {
            Some((start, ext)) if index < start.saturating_add(ext.count()) => {
                let i = (index - start) as usize;
                let found = (ext.first.saturating_add(i as u64), ext.checksums[i]);
                *self.last_extent.borrow_mut() = Some((start, Arc::new(ext)));
                Ok(Some(found))
            }
            _ => Ok(None),
        }
    }

    /// Reads the committed bytes `at..end` of the file as far as one extent
    /// holds them, with one vectored read: whole pages go straight into
    /// `out`, a partial first or last page through scratch room (every page
    /// is verified whole). Returns the bytes read, or `None` when `at` lies
    /// in a hole or in inline data (the page-by-page path serves those).
    /// `usable` caps the pages taken (those this handle has not changed).
    fn read_span(
        &self,
        fs: &Fs,
        ino: u64,
        at: u64,
        end: u64,
        out: &mut [u8],
        usable: impl FnOnce(u64, u64) -> u64,
    ) -> Result<Option<usize>> {
        let ps = fs.engine().page_size() as u64;
        if self.rec.inline.is_some() || at >= end {
            return Ok(None);
        }
        let index = at / ps;
        if self.locate(fs, ino, index)?.is_none() {
            return Ok(None);
        }
        let cached = self.last_extent.borrow();
        let (start, ext) = cached.as_ref().expect("locate caches the extent it found");
        let i = index - start;
        let n = (ext.count() - i).min((end - 1) / ps - index + 1);
        let n = usable(index, n);
        if n == 0 {
            return Ok(None);
        }
        let within = (at % ps) as usize;
        // A hostile extent may sit near the end of the u64 range.
        let span_end = end.min(index.saturating_add(n).saturating_mul(ps));
        let served = (span_end - at) as usize;
        let ps = ps as usize;
        let head = usize::from(within > 0);
        let tail = usize::from(span_end % ps as u64 != 0 && n as usize > head);
        let middle = n as usize - head - tail;
        // Room for the partial pages only: a one-shot read of a small file
        // touches (and faults in) no page of scratch it does not use.
        let rooms = (head + tail) * ps;
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.len() < rooms {
                scratch.resize(rooms, 0);
            }
            let (head_room, tail_room) = scratch[..rooms].split_at_mut(head * ps);
            let (head_out, rest) = out[..served].split_at_mut(if head == 1 {
                (ps - within).min(served)
            } else {
                0
            });
            let (middle_out, tail_out) = rest.split_at_mut(middle * ps);
            {
                // At most three parts: on the stack.
                let mut parts: [&mut [u8]; 3] = [&mut [], &mut [], &mut []];
                let mut k = 0;
                for part in [
                    (head == 1).then_some(&mut head_room[..]),
                    (middle > 0).then_some(&mut middle_out[..]),
                    (tail == 1).then_some(&mut tail_room[..]),
                ]
                .into_iter()
                .flatten()
                {
                    parts[k] = part;
                    k += 1;
                }
                let first = ext.first.saturating_add(i);
                let sums = &ext.checksums[i as usize..(i + n) as usize];
                fs.engine().read_data_parts(first, sums, &mut parts[..k])?;
            }
            head_out.copy_from_slice(&head_room[within..within + head_out.len()]);
            let t = tail_out.len();
            tail_out.copy_from_slice(&tail_room[..t]);
            Ok(Some(served))
        })
    }

    /// Reads committed file pages from `index` on into `out` (whole pages)
    /// with one read, as far as one extent goes; returns the pages read.
    fn read_run(&self, fs: &Fs, ino: u64, index: u64, out: &mut [u8]) -> Result<usize> {
        let ps = fs.engine().page_size() as usize;
        if self.rec.inline.is_some() || self.locate(fs, ino, index)?.is_none() {
            self.read_page(fs, ino, index, &mut out[..ps])?;
            return Ok(1);
        }
        let cached = self.last_extent.borrow();
        let (start, ext) = cached.as_ref().expect("locate caches the extent it found");
        let i = (index - start) as usize;
        let n = (ext.checksums.len() - i).min(out.len() / ps);
        fs.engine().read_data_run(
            ext.first.saturating_add(i as u64),
            &ext.checksums[i..i + n],
            &mut out[..n * ps],
        )?;
        Ok(n)
    }

    /// Reads committed file page `index` into `out` (zeros for holes).
    fn read_page(&self, fs: &Fs, ino: u64, index: u64, out: &mut [u8]) -> Result<()> {
        if let Some(data) = &self.rec.inline {
            out.fill(0);
            let ps = out.len() as u64;
            let start = (index * ps).min(data.len() as u64) as usize;
            let end = ((index + 1) * ps).min(data.len() as u64) as usize;
            out[..end - start].copy_from_slice(&data[start..end]);
            return Ok(());
        }
        match self.locate(fs, ino, index)? {
            Some((page, sum)) => fs.engine().read_data_page(page, sum, out),
            None => {
                out.fill(0);
                Ok(())
            }
        }
    }
}

/// The state of a handle open for writing: uncommitted pages and the
/// reservations they live in.
struct Writer {
    /// The file's writer lock; `None` for a detached file ([`Fs::write`]):
    /// its inode is created by its commit, and any writer may replace it
    /// once that commit is published.
    guard: Option<FileGuard>,
    /// Reserved pages not yet handed out.
    batch: VecDeque<(u64, u64)>,
    batch_size: u64,
    /// Pages handed out since the last stage.
    consumed: Vec<(u64, u64)>,
    /// File pages held in memory.
    buffered: BTreeMap<u64, Vec<u8>>,
    /// File pages written to reserved pages.
    written: WrittenPages,
    /// File pages the commit writes: (index, reserved page, bytes).
    deferred: Vec<(u64, u64, Vec<u8>)>,
    size: u64,
    /// Committed pages from this index on are gone (truncation).
    drop_from: Option<u64>,
    changed: bool,
    /// Pages written since the last sync.
    wrote_since_sync: u64,
    /// A file created by [`Fs::write`]: linked at this path by the first commit.
    link_at: Option<String>,
    /// A write to disk failed: the next commit fails and discards the changes.
    broken: bool,
    /// A commit was published but the snapshot could not be refreshed yet.
    stale: bool,
}

/// An open pseudofile. Reads see the snapshot taken at open (plus this
/// handle's own writes); writes become visible to everyone at
/// [`File::commit`] (`flush`), [`File::sync_all`] or [`File::close`].
/// Dropping the handle commits too, ignoring errors: call `close` to see them.
pub struct File {
    fs: Fs,
    path: String,
    ino: u64,
    pos: u64,
    mode: Mode,
    base: Base,
    writer: Option<Writer>,
}

impl File {
    pub(crate) fn open(fs: &Fs, path: &str, mode: Mode) -> Result<File> {
        File::open_target(fs, Target::Path(path), mode)
    }

    /// Opens what `target` names: a path (symbolic links followed; created
    /// if `mode` says so) or an inode.
    pub(crate) fn open_target(fs: &Fs, target: Target, mode: Mode) -> Result<File> {
        let engine = fs.engine();
        let described = target.describe();
        let path = described.as_str();
        if mode.write && engine.read_only() {
            return Err(Error::Access(format!(
                "cannot open {path:?} for writing: {}",
                engine.read_only_reason()
            )));
        }
        if !mode.write {
            let snap = engine.snapshot()?;
            let found = target.resolve_in(fs, &snap)?;
            let ino = found.ino;
            let base = Base::with_extent(snap, found.rec, found.first_extent);
            return Ok(File {
                fs: fs.clone(),
                path: described,
                ino,
                pos: 0,
                mode,
                base,
                writer: None,
            });
        }
        // Take the file's writer lock, then make sure the path still names
        // the inode we locked (it may have been renamed over meanwhile).
        for _ in 0..100 {
            let snap = engine.snapshot()?;
            let found = target.resolve(&SnapView {
                engine,
                snap: &snap,
            });
            let (ino, guard) = match (found, target) {
                (Ok(_), _) if mode.exclusive => return Err(Error::Exists(path.to_string())),
                (Ok((ino, _)), _) => (
                    ino,
                    engine.locks().lock_file(ino, engine.busy_timeout(), path)?,
                ),
                (Err(Error::NotFound(_)), Target::Path(p)) if mode.create => {
                    let locks = engine.locks();
                    let created = engine.commit(false, |tx| {
                        let (dir, name) = fs::create_target(tx, p, mode.exclusive)?;
                        if fs::lookup(tx, dir, &name)?.is_some() {
                            return Ok(None); // created meanwhile: start over
                        }
                        let ino = tx.create_inode(dir, &name, InodeKind::File)?;
                        // Nobody else knows the inode yet, so this cannot wait.
                        Ok(Some((
                            ino,
                            locks.lock_file(ino, std::time::Duration::ZERO, path)?,
                        )))
                    })?;
                    match created.0 {
                        Some(x) => x,
                        None => continue,
                    }
                }
                (Err(e), _) => return Err(e),
            };
            drop(snap);
            let snap = engine.snapshot()?;
            match target.resolve(&SnapView {
                engine,
                snap: &snap,
            }) {
                Ok((now, rec)) if now == ino => {
                    let size = rec.size;
                    let base = Base::new(snap, rec);
                    let writer = Writer::new(Some(guard), size);
                    let mut f = File {
                        fs: fs.clone(),
                        path: path.to_string(),
                        ino,
                        pos: 0,
                        mode,
                        base,
                        writer: Some(writer),
                    };
                    if mode.truncate {
                        f.set_len(0)?;
                    }
                    return Ok(f);
                }
                Ok(_) | Err(Error::NotFound(_)) if matches!(target, Target::Path(_)) => continue,
                Ok(_) => return Err(Error::NotFound(path.to_string())),
                Err(e) => return Err(e),
            }
        }
        Err(Error::Busy(format!(
            "{path:?} kept changing while it was being opened"
        )))
    }

    /// A new file that will be linked at `path` by its first commit,
    /// replacing what is there (the one-commit [`Fs::write`]).
    pub(crate) fn create_detached(fs: &Fs, path: &str) -> Result<File> {
        let engine = fs.engine();
        if engine.read_only() {
            return Err(Error::Access(format!(
                "cannot write {path:?}: {}",
                engine.read_only_reason()
            )));
        }
        let snap = engine.snapshot()?;
        let now = engine::now_ns();
        let (uid, gid) = engine.creator();
        let rec = InodeRecord::new(InodeKind::File, 0o644, uid, gid, now);
        let mut writer = Writer::new(None, 0);
        writer.link_at = Some(path.to_string());
        writer.changed = true;
        let mode = Mode::parse("w")?;
        let base = Base::new(snap, rec);
        Ok(File {
            fs: fs.clone(),
            path: path.to_string(),
            ino: 0,
            pos: 0,
            mode,
            base,
            writer: Some(writer),
        })
    }

    fn page_size(&self) -> u64 {
        self.fs.engine().page_size() as u64
    }

    /// Reads file page `index` as this handle sees it.
    fn load_page(&self, index: u64, out: &mut [u8]) -> Result<()> {
        if let Some(w) = &self.writer {
            if let Some(p) = w.buffered.get(&index) {
                out.copy_from_slice(p);
                return Ok(());
            }
            if let Some((page, sum)) = w.written.get(index) {
                return self.fs.engine().read_data_page(page, sum, out);
            }
            if w.drop_from.is_some_and(|d| index >= d) {
                out.fill(0);
                return Ok(());
            }
        }
        self.base.read_page(&self.fs, self.ino, index, out)
    }

    /// Reads at `offset` without moving the position; returns bytes read (0 at the end).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.fs.engine().check_usable()?;
        if !self.mode.read {
            return Err(Error::Access(format!(
                "{:?} is not open for reading",
                self.path
            )));
        }
        let size = self.len();
        if offset >= size || buf.is_empty() {
            return Ok(0);
        }
        let ps = self.page_size();
        let want = buf
            .len()
            .min((size - offset).min(usize::MAX as u64) as usize);
        let mut page = Vec::new();
        let mut done = 0;
        while done < want {
            let at = offset + done as u64;
            let end = offset + want as u64;
            let usable = |index, n| self.committed_run(index, n);
            if let Some(n) =
                self.base
                    .read_span(&self.fs, self.ino, at, end, &mut buf[done..want], usable)?
            {
                done += n;
                continue;
            }
            page.resize(ps as usize, 0);
            let (index, within) = (at / ps, (at % ps) as usize);
            let n = (ps as usize - within).min(want - done);
            if within == 0 && n == ps as usize {
                // Whole pages: read a run of committed pages at once.
                let whole = (want - done) / ps as usize;
                let run = self.committed_run(index, whole as u64);
                if run > 1 {
                    let end = done + run as usize * ps as usize;
                    let got = self
                        .base
                        .read_run(&self.fs, self.ino, index, &mut buf[done..end])?;
                    done += got * ps as usize;
                    continue;
                }
                self.load_page(index, &mut buf[done..done + n])?;
            } else {
                self.load_page(index, &mut page)?;
                buf[done..done + n].copy_from_slice(&page[within..within + n]);
            }
            done += n;
        }
        Ok(done)
    }

    /// How many of the `max` file pages from `index` on come straight from
    /// the committed base (this handle has not changed or dropped them).
    fn committed_run(&self, index: u64, max: u64) -> u64 {
        let Some(w) = &self.writer else { return max };
        let end = index + max;
        let mut stop = end;
        if let Some((&i, _)) = w.buffered.range(index..end).next() {
            stop = stop.min(i);
        }
        if let Some(i) = w.written.first_in(index, end) {
            stop = stop.min(i);
        }
        if let Some(d) = w.drop_from {
            stop = stop.min(d.max(index));
        }
        stop - index
    }

    fn writer(&mut self) -> Result<&mut Writer> {
        let path = &self.path;
        self.writer
            .as_mut()
            .ok_or_else(|| Error::Access(format!("{path:?} is not open for writing")))
    }

    /// Writes at `offset` without moving the position (append mode writes
    /// at the end whatever the offset).
    pub fn write_at(&mut self, buf: &[u8], offset: u64) -> Result<usize> {
        self.fs.engine().check_usable()?;
        self.ensure_fresh()?;
        let ps = self.page_size();
        let size = self.writer()?.size;
        let offset = if self.mode.append { size } else { offset };
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e < 1 << 62)
            .ok_or_else(|| Error::Range("write past the largest file size".into()))?;
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let (index, within) = (at / ps, (at % ps) as usize);
            // A large aligned write goes from the caller's buffer to its
            // pages at once (no copy into page buffers); a small one is
            // buffered, so that its commit writes it with the tree pages.
            let whole = (buf.len() - done) / ps as usize;
            if within == 0
                && whole >= BUFFERED_PAGES
                && self
                    .writer()?
                    .buffered
                    .range(index..index + whole as u64)
                    .next()
                    .is_none()
            {
                let len = whole * ps as usize;
                self.write_direct(index, &buf[done..done + len])?;
                done += len;
                continue;
            }
            let n = (ps as usize - within).min(buf.len() - done);
            let bytes = &buf[done..done + n];
            let page = match self.writer()?.buffered.remove(&index) {
                Some(mut p) => {
                    p[within..within + n].copy_from_slice(bytes);
                    p
                }
                // A whole page: its bytes, nothing to zero or load first.
                None if n == ps as usize => bytes.to_vec(),
                None => {
                    let mut p = vec![0u8; ps as usize];
                    self.load_page(index, &mut p)?;
                    p[within..within + n].copy_from_slice(bytes);
                    p
                }
            };
            let w = self.writer()?;
            w.buffered.insert(index, page);
            if w.buffered.len() >= BUFFERED_PAGES {
                self.write_buffered()?;
            }
            done += n;
        }
        let w = self.writer()?;
        w.size = w.size.max(end);
        w.changed = true;
        Ok(buf.len())
    }

    /// Writes buffered pages to reserved pages.
    fn write_buffered(&mut self) -> Result<()> {
        let engine = self.fs.engine();
        let w = self.writer.as_mut().expect("only writers buffer pages");
        let pages = std::mem::take(&mut w.buffered);
        w.reserve_for(engine, pages.keys().copied())?;
        let pages: Vec<(u64, &[u8])> = pages.iter().map(|(&i, b)| (i, &b[..])).collect();
        w.write_pages(engine, &pages)
    }

    /// Writes whole file pages from `index` on straight from the caller's
    /// `bytes` (a multiple of the page size) to reserved pages.
    fn write_direct(&mut self, index: u64, bytes: &[u8]) -> Result<()> {
        let engine = self.fs.engine();
        let ps = engine.page_size() as usize;
        let w = self.writer.as_mut().expect("only writers write pages");
        let pages: Vec<(u64, &[u8])> = (index..).zip(bytes.chunks_exact(ps)).collect();
        w.reserve_for(engine, pages.iter().map(|&(i, _)| i))?;
        w.write_pages(engine, &pages)
    }

    /// Gives the buffered pages their reserved pages now but leaves the
    /// writing to the commit, which writes them with its tree pages in one
    /// call (a small file's commit is then one write plus the superblock).
    fn defer_buffered(&mut self) -> Result<()> {
        let engine = self.fs.engine();
        let w = self.writer.as_mut().expect("only writers buffer pages");
        let pages = std::mem::take(&mut w.buffered);
        w.reserve_for(engine, pages.keys().copied())?;
        for (index, bytes) in pages {
            let page = match w.written.remove(index) {
                Some((page, _)) => page,
                None => w.next_page(engine)?,
            };
            w.deferred.push((index, page, bytes));
        }
        Ok(())
    }

    /// Ends the writing of a detached file held by a transaction: a file too
    /// large to be inline has its buffered pages written out, and the
    /// reserved pages it did not use are given back, so that a transaction
    /// holding many files keeps neither their data in memory nor spare
    /// pages reserved. Writing more afterwards works, at a new reservation.
    pub(crate) fn finish_writing(&mut self) -> Result<()> {
        let fs = self.fs.clone();
        let limit = records::inline_limit(fs.engine().page_size()) as u64;
        if self.len() > limit {
            self.write_buffered()?;
        }
        let w = self.writer()?;
        let unused: Vec<(u64, u64)> = w.batch.drain(..).collect();
        fs.engine().return_pages(&unused);
        Ok(())
    }

    /// Buffered pages and spare reserved ranges of a writer, for tests.
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        self.writer
            .as_ref()
            .map_or((0, 0), |w| (w.buffered.len(), w.batch.len()))
    }

    /// The file's size as this handle sees it.
    pub fn len(&self) -> u64 {
        self.writer.as_ref().map_or(self.base.rec.size, |w| w.size)
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Truncates or extends (with zeros, as a hole) to `size`.
    pub fn set_len(&mut self, size: u64) -> Result<()> {
        self.fs.engine().check_usable()?;
        self.ensure_fresh()?;
        if size >= 1 << 62 {
            return Err(Error::Range(format!("size {size} is too large")));
        }
        let ps = self.page_size();
        let old = self.writer()?.size;
        if size < old {
            let keep = size.div_ceil(ps);
            let w = self.writer()?;
            w.buffered.retain(|&i, _| i < keep);
            w.written.truncate(keep);
            w.drop_from = Some(w.drop_from.map_or(keep, |d| d.min(keep)));
            if size % ps != 0 {
                // Bytes past the end of the last page must read as zeros if the file grows again.
                let index = size / ps;
                let mut page = vec![0u8; ps as usize];
                self.load_page(index, &mut page)?;
                page[(size % ps) as usize..].fill(0);
                self.writer()?.buffered.insert(index, page);
            }
        }
        let w = self.writer()?;
        w.size = size;
        w.changed = true;
        Ok(())
    }

    /// `stat` of this handle's view of the file.
    pub fn metadata(&self) -> Result<Metadata> {
        let mut m = fs::metadata_of(self.ino, &self.base.rec);
        m.size = self.len();
        Ok(m)
    }

    /// Moves a read-only handle to the latest commit, so that later reads
    /// see what others committed since it was opened (a mount's readers
    /// read the latest state, as POSIX readers do). A file removed
    /// meanwhile keeps its old snapshot, so it stays readable. Returns
    /// whether the handle moved; [`Error::Arg`] on a handle open for writing.
    pub fn refresh(&mut self) -> Result<bool> {
        if self.writer.is_some() {
            return Err(Error::Arg(format!(
                "{:?} is open for writing: it sees its own state",
                self.path
            )));
        }
        let engine = self.fs.engine();
        if engine.latest()?.generation == self.base.snap.sb.generation {
            return Ok(false);
        }
        let snap = engine.snapshot()?;
        let view = SnapView {
            engine,
            snap: &snap,
        };
        match fs::inode_opt(&view, self.ino)? {
            Some(rec) if rec.kind == InodeKind::File => {
                self.base = Base::new(snap, rec);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Commits this handle's changes at the container's durability: after
    /// it returns, every other handle and process opened later sees them.
    pub fn commit(&mut self) -> Result<()> {
        self.commit_with(false, true)
    }

    /// Commits durably, whatever the durability setting (`fsync`): with
    /// nothing to commit it still makes every earlier commit durable.
    pub fn sync_all(&mut self) -> Result<()> {
        self.commit_with(true, true)
    }

    fn ensure_fresh(&mut self) -> Result<()> {
        if !self.writer.as_ref().is_some_and(|w| w.stale) {
            return Ok(());
        }
        let engine = self.fs.engine();
        let snap = engine.snapshot()?;
        let rec = fs::inode(
            &SnapView {
                engine,
                snap: &snap,
            },
            self.ino,
        )?;
        let w = self.writer.as_mut().expect("checked");
        w.size = rec.size;
        w.stale = false;
        self.base = Base::new(snap, rec);
        Ok(())
    }

    /// Commits; with `follow`, the handle then reads the state it made (a
    /// handle being closed follows its file no further).
    fn commit_with(&mut self, force_durable: bool, follow: bool) -> Result<()> {
        let Some(w) = &self.writer else { return Ok(()) };
        if !w.changed {
            // Nothing new, but earlier commits made at a lower durability
            // (by this handle or any other) become durable now.
            if force_durable {
                self.fs.engine().sync_or_poison()?;
            }
            return Ok(());
        }
        let result = if self.writer.as_ref().is_some_and(|w| w.broken) {
            Err(Error::Io {
                context: "an earlier write through this handle failed; its changes are discarded"
                    .into(),
                source: std::io::Error::from_raw_os_error(libc::EIO),
            })
        } else {
            self.try_commit(force_durable)
        };
        self.writer.as_mut().expect("checked").broken = false;
        let engine = self.fs.engine();
        let w = self.writer.as_mut().expect("checked above");
        // Pages handed out but never staged (a failed write or stage) are
        // still free in every committed state.
        engine.return_pages(&std::mem::take(&mut w.consumed));
        w.buffered.clear();
        w.deferred.clear();
        w.written.clear();
        w.drop_from = None;
        w.changed = false;
        if !follow {
            if let Ok(ino) = &result {
                self.ino = *ino;
            }
            return result.map(|_| ());
        }
        let snap = engine.snapshot();
        let w = self.writer.as_mut().expect("checked above");
        match (&result, snap) {
            (Ok(ino), Ok(snap)) => {
                self.ino = *ino;
                w.link_at = None;
                let view = SnapView {
                    engine,
                    snap: &snap,
                };
                let rec = match fs::inode_opt(&view, self.ino) {
                    Ok(Some(rec)) => Ok(rec),
                    // A detached file holds no writer lock: the moment its
                    // commit is published, another writer's commit may
                    // replace or remove it (and delete the inode) before
                    // this look. The write was committed all the same; the
                    // handle has nothing left to follow, and is only closed
                    // (`Fs::write`, `Fs::copy`).
                    Ok(None) if w.guard.is_none() => {
                        w.stale = true;
                        return result.map(|_| ());
                    }
                    // Under the writer lock the inode stays (an orphan at worst).
                    Ok(None) => fs::inode(&view, self.ino),
                    Err(e) => Err(e),
                };
                let rec = match rec {
                    Ok(rec) => rec,
                    Err(e) => {
                        w.stale = true;
                        return Err(e);
                    }
                };
                w.size = rec.size;
                self.base = Base::new(snap, rec);
            }
            (Err(_), _) => w.size = self.base.rec.size,
            (Ok(ino), Err(e)) => {
                self.ino = *ino;
                w.link_at = None;
                w.stale = true;
                return Err(e);
            }
        }
        result.map(|_| ())
    }

    fn try_commit(&mut self, force_durable: bool) -> Result<u64> {
        let fs = self.fs.clone();
        let engine = fs.engine();
        let durability = if force_durable {
            Durability::Full
        } else {
            engine.durability()
        };
        let staged = self.stage(durability)?;
        let pages = staged.pages.clone();
        let result = engine.commit(force_durable, |tx| staged.apply(tx));
        settle_pages(engine, result.is_ok(), &pages);
        result.map(|(ino, _)| ino)
    }

    /// Writes this handle's data pages (synced at `durability`, before the
    /// commit lock is taken: DESIGN §4 "Ordering") and returns what its
    /// commit records. A multi-operation transaction stages several
    /// handles, then applies them all in one commit.
    pub(crate) fn stage(&mut self, durability: Durability) -> Result<Staged> {
        let ps = self.page_size();
        let fs = self.fs.clone();
        let engine = fs.engine();
        let limit = records::inline_limit(engine.page_size()) as u64;
        let size = self.writer.as_ref().expect("writer").size;
        let inline = if size <= limit {
            let mut data = vec![0u8; size as usize];
            let saved = std::mem::replace(&mut self.mode.read, true);
            let read = self.read_at(&mut data, 0);
            self.mode.read = saved;
            read?;
            Some(data)
        } else {
            if self.base.rec.inline.is_some()
                && self.writer.as_ref().is_some_and(|w| {
                    !w.buffered.contains_key(&0)
                        && !w.written.contains(0)
                        && w.drop_from.is_none_or(|d| d > 0)
                })
            {
                // The committed content was inline: it becomes page 0.
                let mut page = vec![0u8; ps as usize];
                self.base.read_page(&self.fs, self.ino, 0, &mut page)?;
                self.writer
                    .as_mut()
                    .expect("writer")
                    .buffered
                    .insert(0, page);
            }
            let few = self
                .writer
                .as_ref()
                .is_some_and(|w| w.buffered.len() <= DEFERRED_PAGES);
            if few {
                self.defer_buffered()?;
            } else {
                self.write_buffered()?;
            }
            None
        };
        let w = self.writer.as_mut().expect("writer");
        // Many pages: write them back before taking the commit lock (DESIGN §4
        // "Ordering"). A few ride on the commit's own sync.
        let mut synced = false;
        if w.wrote_since_sync >= PRESYNC_PAGES && durability != Durability::Off && inline.is_none()
        {
            engine.sync_or_poison()?;
            synced = true;
        }
        if durability != Durability::Off {
            w.wrote_since_sync = 0;
        }
        // Unused reserved pages go back before the commit, so its tree pages
        // follow this file's data instead of leaving a gap.
        engine.return_pages(&std::mem::take(&mut w.batch).into_iter().collect::<Vec<_>>());
        Ok(Staged {
            pages: std::mem::take(&mut w.consumed),
            deferred: std::mem::take(&mut w.deferred),
            synced,
            link_at: w.link_at.clone(),
            ino: self.ino,
            inline,
            written: std::mem::take(&mut w.written),
            drop_from: w.drop_from,
            size,
        })
    }

    /// Forgets this handle's uncommitted changes.
    pub(crate) fn discard(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            w.changed = false;
            w.link_at = None;
        }
    }

    /// Commits and closes; returns the commit's result. The handle is freed
    /// either way. A file unlinked while this handle wrote it is freed here.
    pub fn close(mut self) -> Result<()> {
        self.finish()
    }

    /// Closes without committing: every change since the last commit is
    /// discarded, as if the process had died.
    pub fn abort(mut self) -> Result<()> {
        if let Some(w) = &mut self.writer {
            w.changed = false;
            w.link_at = None;
        }
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        if let Err(e) = self.fs.engine().check_not_forked() {
            // Inherited across fork(): touch nothing (the guards see it too).
            self.writer = None;
            return Err(e);
        }
        if self.writer.is_none() {
            return Ok(());
        }
        let result = self.commit_with(false, false);
        let ino = self.ino;
        let engine = self.fs.engine();
        let w = self.writer.take().expect("checked above");
        let mut unused: Vec<(u64, u64)> = w.batch.iter().copied().collect();
        unused.extend(w.consumed.iter().copied());
        engine.return_pages(&unused);
        // Only the holder of a file's writer lock owns its orphan (unlinking
        // a file whose lock is free deletes it at once): a detached file
        // (`Fs::write`) holds none, and its inode can only be the orphan
        // of another handle, which frees it (or, dead, leaves it to reaping).
        let owns_orphan = w.guard.is_some();
        // Releases the writer lock: an orphan is now free to delete.
        drop(w);
        // Freed here if it was unlinked while this handle wrote it. A look
        // at the latest state first: usually there is no orphan, and no
        // commit is needed (one made after this look is reaped by any later
        // commit, since its writer lock is free now).
        let orphaned = owns_orphan && ino != 0 && {
            let snap = engine.snapshot()?;
            tree::get(engine, &snap.root(), &records::orphan_key(ino))?.is_some()
        };
        if orphaned {
            let freed = engine.commit(false, |tx| {
                if tx.get(&records::orphan_key(ino))?.is_none() {
                    return Ok(());
                }
                tx.remove(&records::orphan_key(ino))?;
                tx.delete_inode(ino, InodeKind::File)
            });
            result.and(freed.map(|_| ()))
        } else {
            result
        }
    }
}

/// A writer's changes with their data pages written: applying them under
/// the commit lock changes tree records only.
pub(crate) struct Staged {
    /// Reserved pages this handle took since it last staged: used once the
    /// commit applying this is published, still free if it is not
    /// ([`settle_pages`]).
    pub(crate) pages: Vec<(u64, u64)>,
    /// A detached file ([`Fs::write`]): linked at this path by the commit.
    link_at: Option<String>,
    ino: u64,
    inline: Option<Vec<u8>>,
    /// File pages written to reserved pages.
    written: WrittenPages,
    /// File pages for the commit to write: (index, reserved page, bytes).
    deferred: Vec<(u64, u64, Vec<u8>)>,
    /// The pages in `written` were synced before the commit (else the
    /// commit's manifest names them).
    pub(crate) synced: bool,
    drop_from: Option<u64>,
    size: u64,
}

impl Staged {
    /// Records the changes in `tx`; returns the file's inode (a new one
    /// for a detached file).
    pub(crate) fn apply(self, tx: &mut Tx) -> Result<u64> {
        let ino = match &self.link_at {
            Some(path) => tx.link_new_file(path)?,
            None => self.ino,
        };
        // An inode this commit just created has no extents yet: nothing
        // to drop or replace (no walk for them).
        let fresh = self.link_at.is_some();
        let mut rec = fs::inode(tx, ino)?;
        match self.inline {
            Some(data) => {
                if !fresh {
                    drop_pages_from(tx, ino, 0)?;
                }
                rec.inline = Some(data);
            }
            None => {
                rec.inline = None;
                if let Some(d) = self.drop_from.filter(|_| !fresh) {
                    drop_pages_from(tx, ino, d)?;
                }
                let ps = tx.engine().page_size() as u64;
                if !self.synced {
                    for (_, page, sum) in self.written.iter() {
                        tx.note_unsynced_data(page, sum);
                    }
                }
                let mut written = self.written;
                for (index, page, bytes) in self.deferred {
                    let sum = tx.write_data_page(page, bytes);
                    written.insert(index, page, sum);
                }
                apply_written(tx, ino, &written, ps, fresh)?;
            }
        }
        rec.size = self.size;
        rec.mtime_ns = engine::now_ns();
        rec.ctime_ns = rec.mtime_ns;
        tx.insert(&records::inode_key(ino), &rec.encode())?;
        Ok(ino)
    }
}

/// After the commit that applied staged changes: their pages are used
/// (published) or still free (the commit failed), and go accordingly.
pub(crate) fn settle_pages(engine: &crate::engine::Engine, published: bool, pages: &[(u64, u64)]) {
    if published {
        engine.pages_committed(pages);
    } else {
        engine.return_pages(pages);
    }
}

impl Writer {
    fn new(guard: Option<FileGuard>, size: u64) -> Writer {
        Writer {
            guard,
            batch: VecDeque::new(),
            batch_size: 1,
            consumed: Vec::new(),
            buffered: BTreeMap::new(),
            written: WrittenPages::new(),
            deferred: Vec::new(),
            size,
            drop_from: None,
            changed: false,
            wrote_since_sync: 0,
            link_at: None,
            broken: false,
            stale: false,
        }
    }

    /// Reserves, in one request, a page for each of the file pages
    /// `indexes` that has none yet, so that pages written together get one
    /// contiguous run where the free space has one (one extent, read back
    /// with one call).
    fn reserve_for(
        &mut self,
        engine: &crate::engine::Engine,
        indexes: impl Iterator<Item = u64>,
    ) -> Result<()> {
        let new = indexes.filter(|&i| !self.written.contains(i)).count() as u64;
        let spare: u64 = self.batch.iter().map(|&(_, l)| l).sum();
        if new > spare {
            self.reserve(engine, new - spare)?;
        }
        Ok(())
    }

    /// Writes file pages `(index, bytes)`, in index order, each to the page
    /// it already has if that is not committed yet (this handle's own, safe
    /// to overwrite), else to the next reserved one (the caller reserved
    /// them). Each run of consecutive container pages goes out in one write
    /// (a stream's pages are one reserved run: one call per batch).
    fn write_pages(
        &mut self,
        engine: &crate::engine::Engine,
        pages: &[(u64, &[u8])],
    ) -> Result<()> {
        let mut placed = Vec::with_capacity(pages.len());
        for &(index, bytes) in pages {
            let page = match self.written.get(index) {
                Some((page, _)) => page,
                None => self.next_page(engine)?,
            };
            placed.push((index, page, bytes));
        }
        let mut i = 0;
        while i < placed.len() {
            let mut j = i + 1;
            while j < placed.len() && j - i < BUFFERED_PAGES && placed[j].1 == placed[j - 1].1 + 1 {
                j += 1;
            }
            let run: Vec<&[u8]> = placed[i..j].iter().map(|&(_, _, b)| b).collect();
            let sums = match engine.write_data_run(placed[i].1, &run) {
                Ok(sums) => sums,
                Err(e) => {
                    self.broken = true;
                    self.changed = true;
                    return Err(e);
                }
            };
            for (&(index, page, _), sum) in placed[i..j].iter().zip(sums) {
                self.written.insert(index, page, sum);
                self.wrote_since_sync += 1;
            }
            i = j;
        }
        Ok(())
    }

    /// Reserves `want` more pages in one request, or the current batch
    /// size if that is more, and doubles the batch size (up to
    /// `MAX_BATCH`): a streaming writer reserves in ever bigger steps.
    fn reserve(&mut self, engine: &crate::engine::Engine, want: u64) -> Result<()> {
        let got = engine.take_pages(want.max(self.batch_size))?;
        self.batch.extend(got);
        self.batch_size = (self.batch_size * 2).min(MAX_BATCH);
        Ok(())
    }

    /// Hands out the next reserved page, reserving a larger batch when the
    /// current one is used up (streaming writers reserve in big steps).
    fn next_page(&mut self, engine: &crate::engine::Engine) -> Result<u64> {
        if self.batch.is_empty() {
            self.reserve(engine, 1)?;
        }
        let (s, l) = self.batch.pop_front().expect("reserved above");
        if l > 1 {
            self.batch.push_front((s + 1, l - 1));
        }
        match self.consumed.last_mut() {
            Some(last) if last.0 + last.1 == s => last.1 += 1,
            _ => self.consumed.push((s, 1)),
        }
        Ok(s)
    }
}

/// Removes file pages `from..` from `ino`'s extents, freeing their pages.
fn drop_pages_from(tx: &mut Tx, ino: u64, from: u64) -> Result<()> {
    let maxext = records::max_extent_pages(tx.engine().page_size()) as u64;
    let lo = records::extent_key(ino, from.saturating_sub(maxext - 1));
    let hi = records::kind_end(ino, Kind::Extent);
    for (k, v) in tx.collect(&lo, &hi)? {
        let start = Key::decode(&k)?.sub_u64()?;
        let ext = ExtentRecord::decode(&v)?;
        if start.saturating_add(ext.count()) <= from {
            continue;
        }
        tx.remove(&k)?;
        let keep = from.saturating_sub(start);
        if keep > 0 {
            let kept = ExtentRecord {
                first: ext.first,
                generation: ext.generation,
                checksums: ext.checksums[..keep as usize].to_vec(),
            };
            tx.insert(&k, &kept.encode())?;
        }
        tx.free_pages(ext.first + keep, ext.count() - keep, ext.generation);
    }
    Ok(())
}

/// Records the pages a writer wrote: each run of consecutive file pages
/// replaces what its extents held there (freeing the old pages), unless
/// the inode is `fresh` (created by this commit: it holds none).
fn apply_written(
    tx: &mut Tx,
    ino: u64,
    written: &WrittenPages,
    _ps: u64,
    fresh: bool,
) -> Result<()> {
    let maxext = records::max_extent_pages(tx.engine().page_size()) as u64;
    let mut runs: Vec<Vec<(u64, u64, u64)>> = Vec::new();
    for (index, page, sum) in written.iter() {
        match runs.last_mut() {
            Some(run) if run.last().expect("runs are never empty").0 + 1 == index => {
                run.push((index, page, sum))
            }
            _ => runs.push(vec![(index, page, sum)]),
        }
    }
    for run in runs {
        let (a, b) = (run[0].0, run[run.len() - 1].0 + 1);
        let lo = records::extent_key(ino, a.saturating_sub(maxext - 1));
        let hi = records::extent_key(ino, b);
        let old = if fresh {
            Vec::new()
        } else {
            tx.collect(&lo, &hi)?
        };
        for (k, v) in old {
            let start = Key::decode(&k)?.sub_u64()?;
            let ext = ExtentRecord::decode(&v)?;
            let end = start.saturating_add(ext.count());
            if end <= a {
                continue;
            }
            tx.remove(&k)?;
            if start < a {
                let left = ExtentRecord {
                    first: ext.first,
                    generation: ext.generation,
                    checksums: ext.checksums[..(a - start) as usize].to_vec(),
                };
                tx.insert(&k, &left.encode())?;
            }
            if end > b {
                let skip = (b - start) as usize;
                let right = ExtentRecord {
                    first: ext.first + skip as u64,
                    generation: ext.generation,
                    checksums: ext.checksums[skip..].to_vec(),
                };
                tx.insert(&records::extent_key(ino, b), &right.encode())?;
            }
            let (fa, fb) = (start.max(a), end.min(b));
            tx.free_pages(ext.first + (fa - start), fb - fa, ext.generation);
        }
        // New extents: runs of physically consecutive pages, at most maxext long.
        let mut i = 0;
        while i < run.len() {
            let mut j = i + 1;
            while j < run.len() && run[j].1 == run[j - 1].1 + 1 && (j - i) < maxext as usize {
                j += 1;
            }
            let ext = ExtentRecord {
                first: run[i].1,
                generation: tx.generation,
                checksums: run[i..j].iter().map(|r| r.2).collect(),
            };
            tx.insert(&records::extent_key(ino, run[i].0), &ext.encode())?;
            tx.use_pages(run[i].1, (j - i) as u64);
            i = j;
        }
    }
    Ok(())
}

impl Drop for File {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A panic inside a commit must not commit again while unwinding
            // (a second panic would abort the host process): discard.
            if let Some(w) = &mut self.writer {
                w.changed = false;
                w.link_at = None;
            }
        }
        let _ = self.finish();
    }
}

impl io::Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl io::Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.write_at(buf, self.pos)?;
        self.pos = if self.mode.append {
            self.len()
        } else {
            self.pos + n as u64
        };
        Ok(n)
    }
    /// Commits (see [`File::commit`]).
    fn flush(&mut self) -> io::Result<()> {
        self.commit().map_err(io::Error::from)
    }
}

impl io::Seek for File {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        let new = match pos {
            io::SeekFrom::Start(p) => Some(p),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            io::SeekFrom::End(d) => self.len().checked_add_signed(d),
        };
        let new = new.ok_or_else(|| {
            io::Error::from(Error::Range("seek before the start of the file".into()))
        })?;
        self.pos = new;
        Ok(new)
    }
}
