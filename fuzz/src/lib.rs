//! Fuzz harnesses for whefs (DESIGN §6 "Hostile input"), shared by the
//! cargo-fuzz targets in `fuzz_targets/` and by `tests/fuzz_corpus.rs`,
//! which replays the committed corpus as an ordinary test.
//!
//! - [`open_check`]: arbitrary bytes as a container. Opening, `check()`,
//!   listing and reading must give data or errors, never a panic, a hang
//!   or a huge allocation; when `check()` passes, every read must succeed.
//!   Then a few commits on a copy (storage capped, so a forged page count
//!   cannot make the container grow without bound): errors are fine, but a
//!   container that checked clean must stay clean.
//! - [`api_ops`]: arbitrary bytes as a sequence of API operations, run
//!   against a memory container and against a model that predicts whether
//!   each succeeds; contents, kept readers' snapshots (G2), glob results
//!   and the final tree must match the model, and `check()` must pass.
//!   Named snapshots are steps too: create, delete, a view checked against
//!   the model's copy of the namespace at creation (and views kept and
//!   checked after every step, even once their snapshot is deleted),
//!   restore of everything or one path, diff, and compaction (refused while
//!   a reader or view of this open is kept); `check()` runs after each.
//!
//! Only the public API is used, so this file also compiles as a module of
//! the whefs test suite.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use whefs::storage::{LockMode, MemoryStorage, Storage};
use whefs::{ChangeKind, Durability, Error, FileType, Fs, FsOptions, OpenOptions};

// ---------------------------------------------------------------------------
// open_check

/// Largest container the write phase may grow to.
const STORAGE_CAP: u64 = 16 << 20;
/// Bytes read from each end of a file.
const READ_WINDOW: usize = 64 << 10;
/// Entries listed before giving up on a (hostile) namespace.
const ENTRY_BUDGET: usize = 20_000;

/// A memory container that refuses to grow past [`STORAGE_CAP`].
struct Capped(MemoryStorage);

impl Capped {
    fn room(&self, end: Option<u64>) -> whefs::Result<()> {
        match end {
            Some(end) if end <= STORAGE_CAP => Ok(()),
            _ => Err(Error::Full(format!(
                "the fuzz container is capped at {STORAGE_CAP} bytes"
            ))),
        }
    }
}

impl Storage for Capped {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> whefs::Result<usize> {
        self.0.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> whefs::Result<()> {
        self.room(offset.checked_add(buf.len() as u64))?;
        self.0.write_at(buf, offset)
    }
    fn sync(&self) -> whefs::Result<()> {
        self.0.sync()
    }
    fn len(&self) -> whefs::Result<u64> {
        self.0.len()
    }
    fn set_len(&self, len: u64) -> whefs::Result<()> {
        self.room(Some(len))?;
        self.0.set_len(len)
    }
    fn read_only(&self) -> bool {
        self.0.read_only()
    }
    fn try_lock(&self, start: u64, len: u64, mode: LockMode) -> whefs::Result<bool> {
        self.0.try_lock(start, len, mode)
    }
    fn unlock(&self, start: u64, len: u64) -> whefs::Result<()> {
        self.0.unlock(start, len)
    }
    fn probe_lock(
        &self,
        start: u64,
        len: u64,
        mode: LockMode,
    ) -> whefs::Result<Option<(u64, u64)>> {
        self.0.probe_lock(start, len, mode)
    }
    fn shared_locks(&self) -> bool {
        self.0.shared_locks()
    }
}

/// Lists and reads everything reachable (bounded); returns the first error.
fn read_everything(fs: &Fs) -> whefs::Result<()> {
    let _ = fs.info()?;
    let mut seen = HashSet::new();
    let mut stack = vec!["/".to_string()];
    let mut budget = ENTRY_BUDGET;
    while let Some(dir) = stack.pop() {
        for entry in fs.read_dir(&dir)? {
            let entry = entry?;
            budget = budget.saturating_sub(1);
            if budget == 0 || !seen.insert(entry.ino) {
                return Ok(()); // a hostile namespace; enough of it
            }
            let path = if dir == "/" {
                entry.name.clone()
            } else {
                format!("{dir}/{}", entry.name)
            };
            if entry.kind == FileType::Symlink {
                fs.read_link(&path)?;
                continue;
            }
            let meta = fs.metadata(&path)?;
            match entry.kind {
                FileType::Dir => stack.push(path),
                FileType::Symlink => {}
                FileType::File => {
                    let f = fs.open_file(&path, "r")?;
                    let len = f.len();
                    if len != meta.size || len != entry.size {
                        return Err(Error::corrupt(format!(
                            "{path:?}: sizes disagree ({len}, {}, {})",
                            meta.size, entry.size
                        )));
                    }
                    let mut buf = vec![0u8; READ_WINDOW];
                    f.read_at(&mut buf, 0)?;
                    f.read_at(&mut buf, len.saturating_sub(READ_WINDOW as u64))?;
                }
            }
        }
    }
    fs.glob("**").map(drop)
}

/// A few commits of every kind on an open container.
fn write_some(fs: &Fs) -> whefs::Result<()> {
    fs.write("fuzz-small", b"small")?;
    fs.write("fuzz-big", &[7u8; 20_000])?;
    fs.create_dir_all("fuzz-dir/sub")?;
    fs.rename("fuzz-small", "fuzz-dir/sub/moved")?;
    fs.copy("fuzz-big", "fuzz-dir/copy")?;
    if let Some(first) = fs.read_dir("/")?.next() {
        let name = first?.name;
        if name != "fuzz-dir" {
            let _ = fs.remove_file(&name);
            let _ = fs.remove_dir_all(&name);
        }
    }
    fs.remove_dir_all("fuzz-dir")?;
    let mut f = fs.open_file("fuzz-big", "r+")?;
    f.write_at(b"patched", 4095)?;
    f.set_len(9_000)?;
    f.close()
}

/// The `open_check` target: see the module documentation.
pub fn open_check(data: &[u8]) {
    let storage = Arc::new(MemoryStorage::from_vec(data.to_vec()));
    let Ok(fs) = FsOptions::new().open_storage(storage) else {
        return;
    };
    let clean = fs.check().is_ok();
    let read = read_everything(&fs);
    if clean {
        if let Err(e) = read {
            panic!("check() passed but reading failed: {e}");
        }
    }
    drop(fs);

    let storage = Arc::new(Capped(MemoryStorage::from_vec(data.to_vec())));
    let Ok(fs) = FsOptions::new()
        .write(true)
        .durability(Durability::Off)
        .open_storage(storage)
    else {
        return;
    };
    let wrote = write_some(&fs);
    if clean && wrote.is_ok() {
        if let Err(e) = fs.check() {
            panic!("a clean container is no longer clean after commits: {e}");
        }
        if let Err(e) = read_everything(&fs) {
            panic!("reading failed after clean commits: {e}");
        }
    }
    let _ = fs.check();
}

// ---------------------------------------------------------------------------
// api_ops: the model

/// Paths the operations pick from: nested, so that every kind of
/// precondition (missing parent, parent is a file, into itself) comes up.
const PATHS: [&str; 10] = [
    "a", "b", "d", "d/a", "d/b", "d/e", "d/e/a", "e", "e/a", "d/e/f",
];
/// File sizes: empty, inline, around the inline limit (960 for 4 KiB
/// pages), around a page, several pages.
const SIZES: [usize; 10] = [0, 1, 100, 960, 961, 4095, 4097, 9000, 30_000, 70_000];
const PATTERNS: [&str; 10] = [
    "*", "**", "d/*", "*/a", "**/a", "?", "d/**", "[ab]", "**/e/*", "[!d]*",
];
/// Snapshot names; the last is invalid (it has a `/`).
const SNAPSHOTS: [&str; 4] = ["s0", "s1", "s2", "s/x"];

fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8 ^ seed)
        .collect()
}

fn parent(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

/// What the container should hold: files with their bytes, directories.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Model {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
    label: String,
}

/// Where a path leads: `Err` if a component before the last is a file
/// (whefs says `NotDir`), `Ok(None)` if it is missing.
type Found = Result<Option<FileType>, ()>;

/// The paths of a tree and their kinds.
fn kinds(m: &Model) -> BTreeMap<&str, FileType> {
    m.files
        .keys()
        .map(|p| (p.as_str(), FileType::File))
        .chain(m.dirs.iter().map(|p| (p.as_str(), FileType::Dir)))
        .collect()
}

fn at_or_below(p: &str, q: &str) -> bool {
    p.is_empty() || q == p || q.starts_with(&format!("{p}/"))
}

impl Model {
    fn is_dir(&self, p: &str) -> bool {
        p.is_empty() || self.dirs.contains(p)
    }
    fn exists(&self, p: &str) -> bool {
        self.files.contains_key(p) || self.dirs.contains(p)
    }
    fn below(&self, p: &str) -> Vec<String> {
        let prefix = format!("{p}/");
        self.files
            .keys()
            .chain(self.dirs.iter())
            .filter(|q| q.starts_with(&prefix))
            .cloned()
            .collect()
    }

    fn find(&self, p: &str) -> Found {
        let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        for i in 1..parts.len() {
            let prefix = parts[..i].join("/");
            if self.files.contains_key(&prefix) {
                return Err(());
            }
            if !self.dirs.contains(&prefix) {
                return Ok(None);
            }
        }
        Ok(if self.is_dir(p) {
            Some(FileType::Dir)
        } else if self.files.contains_key(p) {
            Some(FileType::File)
        } else {
            None
        })
    }

    /// `Fs::restore(snapshot, target)` (`""` = everything): removes what
    /// is at `target` now and copies the snapshot's entries back, in one
    /// commit; fails, changing nothing, if a component of the path is a
    /// file in either state or the path's parent is missing now while the
    /// snapshot has the path.
    fn restore(&mut self, snap: &Model, target: &str) -> bool {
        let (Ok(then), Ok(now)) = (snap.find(target), self.find(target)) else {
            return false;
        };
        if then.is_some() && !target.is_empty() && !self.is_dir(parent(target)) {
            return false;
        }
        if now.is_some() {
            self.files.retain(|q, _| !at_or_below(target, q));
            self.dirs.retain(|q| !at_or_below(target, q));
        }
        if then.is_some() {
            for (q, data) in &snap.files {
                if at_or_below(target, q) {
                    self.files.insert(q.clone(), data.clone());
                }
            }
            for q in &snap.dirs {
                if at_or_below(target, q) {
                    self.dirs.insert(q.clone());
                }
            }
        }
        true
    }

    /// Whether whefs' `old.diff(new)` agrees: exactly the added and
    /// removed paths, every file whose content changed, and besides those
    /// only files kept with the same content (rewritten: other times).
    fn diff_agrees(old: &Model, new: &Model, changes: &[whefs::Change]) -> bool {
        let (a, b) = (kinds(old), kinds(new));
        let mut got: HashMap<ChangeKind, BTreeSet<&str>> = HashMap::new();
        for c in changes {
            let p = c.path.trim_start_matches('/');
            if !got.entry(c.kind).or_default().insert(p) {
                return false; // listed twice
            }
        }
        let empty = BTreeSet::new();
        let of = |k| got.get(&k).unwrap_or(&empty);
        let removed: BTreeSet<&str> = a
            .iter()
            .filter(|(p, k)| b.get(*p) != Some(k))
            .map(|(p, _)| *p)
            .collect();
        let added: BTreeSet<&str> = b
            .iter()
            .filter(|(p, k)| a.get(*p) != Some(k))
            .map(|(p, _)| *p)
            .collect();
        let changed_ok = of(ChangeKind::Changed)
            .iter()
            .all(|p| old.files.contains_key(*p) && new.files.contains_key(*p));
        let must = old
            .files
            .iter()
            .filter(|(p, d)| new.files.get(*p).is_some_and(|e| e != *d))
            .all(|(p, _)| of(ChangeKind::Changed).contains(p.as_str()));
        *of(ChangeKind::Added) == added && *of(ChangeKind::Removed) == removed && changed_ok && must
    }

    /// Applies a namespace operation if its preconditions hold; returns
    /// whether it did.
    fn apply(&mut self, op: &Op) -> bool {
        match op {
            Op::Write(p, data) => {
                if !self.is_dir(parent(p)) || self.dirs.contains(*p) {
                    return false;
                }
                self.files.insert(p.to_string(), data.clone());
            }
            Op::CreateDir(p) => {
                if !self.is_dir(parent(p)) || self.exists(p) {
                    return false;
                }
                self.dirs.insert(p.to_string());
            }
            Op::CreateDirAll(p) => {
                let parts: Vec<&str> = p.split('/').collect();
                let prefixes: Vec<String> =
                    (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
                if prefixes.iter().any(|q| self.files.contains_key(q)) {
                    return false;
                }
                self.dirs.extend(prefixes);
            }
            Op::RemoveFile(p) => return self.files.remove(*p).is_some(),
            Op::RemoveDir(p) => {
                if !self.dirs.contains(*p) || !self.below(p).is_empty() {
                    return false;
                }
                self.dirs.remove(*p);
            }
            Op::RemoveDirAll(p) => {
                if !self.dirs.contains(*p) {
                    return false;
                }
                for q in self.below(p) {
                    self.files.remove(&q);
                    self.dirs.remove(&q);
                }
                self.dirs.remove(*p);
            }
            Op::Rename(from, to) => return self.rename(from, to),
            Op::Copy(from, to) => {
                let Some(data) = self.files.get(*from).cloned() else {
                    return false;
                };
                if !self.is_dir(parent(to)) || self.dirs.contains(*to) {
                    return false;
                }
                self.files.insert(to.to_string(), data);
            }
            Op::SetLabel(label) => {
                if label.len() > 64 {
                    return false;
                }
                self.label = label.clone();
            }
        }
        true
    }

    fn rename(&mut self, from: &str, to: &str) -> bool {
        let src_dir = self.dirs.contains(from);
        if !self.exists(from) || !self.is_dir(parent(to)) {
            return false;
        }
        if to.starts_with(&format!("{from}/")) {
            return false;
        }
        if from == to {
            return true;
        }
        if self.exists(to) {
            let dst_dir = self.dirs.contains(to);
            if src_dir != dst_dir || (dst_dir && !self.below(to).is_empty()) {
                return false;
            }
            self.files.remove(to);
            self.dirs.remove(to);
        }
        if let Some(data) = self.files.remove(from) {
            self.files.insert(to.to_string(), data);
            return true;
        }
        let moved = self.below(from);
        self.dirs.remove(from);
        self.dirs.insert(to.to_string());
        for q in moved {
            let new = format!("{to}{}", &q[from.len()..]);
            if let Some(data) = self.files.remove(&q) {
                self.files.insert(new, data);
            } else {
                self.dirs.remove(&q);
                self.dirs.insert(new);
            }
        }
        true
    }

    /// The model's answer to a glob pattern (`*`, `?`, `[..]` per
    /// component; `**` zero or more directories, or everything below when
    /// it ends the pattern).
    fn glob(&self, pattern: &str) -> Vec<String> {
        let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        let mut out: Vec<String> = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .filter(|p| {
                let parts: Vec<&str> = p.split('/').collect();
                glob_path(&segs, &parts)
            })
            .cloned()
            .collect();
        out.sort();
        out
    }
}

fn glob_path(segs: &[&str], parts: &[&str]) -> bool {
    match segs.split_first() {
        None => parts.is_empty(),
        Some((&"**", [])) => !parts.is_empty(),
        Some((&"**", rest)) => (0..=parts.len()).any(|skip| glob_path(rest, &parts[skip..])),
        Some((seg, rest)) => match parts.split_first() {
            Some((part, more)) => {
                let seg: Vec<char> = seg.chars().collect();
                let part: Vec<char> = part.chars().collect();
                glob_name(&seg, &part) && glob_path(rest, more)
            }
            None => false,
        },
    }
}

/// Shell matching of one name, by plain recursion (the inputs are tiny).
fn glob_name(seg: &[char], name: &[char]) -> bool {
    match seg.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|i| glob_name(&seg[1..], &name[i..])),
        Some('?') => !name.is_empty() && glob_name(&seg[1..], &name[1..]),
        Some('[') => {
            let close = seg.iter().skip(2).position(|&c| c == ']').map(|i| i + 2);
            match (close, name.first()) {
                (Some(close), Some(&c)) => {
                    let (negated, set) = match seg[1] {
                        '!' | '^' => (true, &seg[2..close]),
                        _ => (false, &seg[1..close]),
                    };
                    set.contains(&c) != negated && glob_name(&seg[close + 1..], &name[1..])
                }
                _ => false,
            }
        }
        Some(c) => name.first() == Some(c) && glob_name(&seg[1..], &name[1..]),
    }
}

// ---------------------------------------------------------------------------
// api_ops: operations and their decoding

/// A namespace operation: one commit alone, or part of a transaction.
#[derive(Clone, Debug)]
enum Op {
    Write(&'static str, Vec<u8>),
    CreateDir(&'static str),
    CreateDirAll(&'static str),
    RemoveFile(&'static str),
    RemoveDir(&'static str),
    RemoveDirAll(&'static str),
    Rename(&'static str, &'static str),
    Copy(&'static str, &'static str),
    SetLabel(String),
}

/// One step of a sequence.
#[derive(Debug)]
enum Step {
    One(Op),
    Transaction(Vec<Op>),
    Read(&'static str),
    /// Open with options from a bit set, write `data` at `offset`, close.
    Handle {
        path: &'static str,
        flags: u8,
        offset: u64,
        data: Vec<u8>,
    },
    /// Open a reader and keep it: it must keep its snapshot.
    KeepReader(&'static str),
    Glob(&'static str),
    /// Reopen the container from its bytes.
    Reopen,
    CreateSnapshot(&'static str),
    DeleteSnapshot(&'static str),
    /// Open a view of the snapshot: it must hold the model's copy and
    /// refuse writes.
    CheckSnapshot(&'static str),
    /// Open a view and keep it: it is checked after every step.
    KeepView(&'static str),
    /// `Fs::restore(name, path)`; `""` is the whole container.
    Restore(&'static str, &'static str),
    Diff(&'static str),
    Compact,
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn path(&mut self) -> Option<&'static str> {
        Some(PATHS[self.byte()? as usize % PATHS.len()])
    }
    fn snapshot(&mut self) -> Option<&'static str> {
        Some(SNAPSHOTS[self.byte()? as usize % SNAPSHOTS.len()])
    }
    /// A path or (one time in eleven) the root.
    fn path_or_root(&mut self) -> Option<&'static str> {
        let b = self.byte()? as usize % (PATHS.len() + 1);
        Some(PATHS.get(b).copied().unwrap_or(""))
    }
    fn data(&mut self) -> Option<Vec<u8>> {
        let b = self.byte()?;
        Some(content(SIZES[b as usize % SIZES.len()], b / 16))
    }
    fn op(&mut self) -> Option<Op> {
        Some(match self.byte()? % 9 {
            0 => Op::Write(self.path()?, self.data()?),
            1 => Op::CreateDir(self.path()?),
            2 => Op::CreateDirAll(self.path()?),
            3 => Op::RemoveFile(self.path()?),
            4 => Op::RemoveDir(self.path()?),
            5 => Op::RemoveDirAll(self.path()?),
            6 => Op::Rename(self.path()?, self.path()?),
            7 => Op::Copy(self.path()?, self.path()?),
            _ => {
                let n = self.byte()? as usize % 70;
                Op::SetLabel("l".repeat(n))
            }
        })
    }
    fn step(&mut self) -> Option<Step> {
        Some(match self.byte()? % 24 {
            0..=8 => Step::One(self.op()?),
            9 | 10 => {
                let n = 1 + self.byte()? as usize % 4;
                let mut ops = Vec::new();
                for _ in 0..n {
                    ops.push(self.op()?);
                }
                Step::Transaction(ops)
            }
            11 => Step::Read(self.path()?),
            12 => Step::Handle {
                path: self.path()?,
                flags: self.byte()?,
                offset: SIZES[self.byte()? as usize % SIZES.len()] as u64,
                data: self.data()?,
            },
            13 => Step::KeepReader(self.path()?),
            14 => Step::Glob(PATTERNS[self.byte()? as usize % PATTERNS.len()]),
            15 => Step::Reopen,
            16 => Step::CreateSnapshot(self.snapshot()?),
            17 => Step::DeleteSnapshot(self.snapshot()?),
            18 => Step::CheckSnapshot(self.snapshot()?),
            19 => Step::KeepView(self.snapshot()?),
            20 | 21 => Step::Restore(self.snapshot()?, self.path_or_root()?),
            22 => Step::Compact,
            _ => Step::Diff(self.snapshot()?),
        })
    }
}

/// Most steps of one sequence.
const MAX_STEPS: usize = 64;
/// Most readers kept open at once.
const MAX_READERS: usize = 3;
/// Most snapshot views kept open at once.
const MAX_VIEWS: usize = 2;

fn run_op(fs: &Fs, op: &Op) -> whefs::Result<()> {
    match op {
        Op::Write(p, data) => fs.write(p, data),
        Op::CreateDir(p) => fs.create_dir(p),
        Op::CreateDirAll(p) => fs.create_dir_all(p),
        Op::RemoveFile(p) => fs.remove_file(p),
        Op::RemoveDir(p) => fs.remove_dir(p),
        Op::RemoveDirAll(p) => fs.remove_dir_all(p),
        Op::Rename(from, to) => fs.rename(from, to),
        Op::Copy(from, to) => fs.copy(from, to).map(drop),
        Op::SetLabel(label) => fs.set_label(label),
    }
}

fn record(t: &mut whefs::Transaction, op: &Op) -> whefs::Result<()> {
    match op {
        Op::Write(p, data) => t.write(p, data),
        Op::CreateDir(p) => t.create_dir(p),
        Op::CreateDirAll(p) => t.create_dir_all(p),
        Op::RemoveFile(p) => t.remove_file(p),
        Op::RemoveDir(p) => t.remove_dir(p),
        Op::RemoveDirAll(p) => t.remove_dir_all(p),
        Op::Rename(from, to) => t.rename(from, to),
        // No copy in transactions: record a write of the same bytes.
        Op::Copy(..) => unreachable!("copies are turned into writes"),
        Op::SetLabel(label) => t.set_label(label),
    }
    .map(drop)
}

/// `OpenOptions` from the low six bits of `flags`.
fn options(flags: u8) -> OpenOptions {
    let bit = |i: u8| flags & (1 << i) != 0;
    let mut o = OpenOptions::new();
    o.read(bit(0))
        .write(bit(1))
        .append(bit(2))
        .truncate(bit(3))
        .create(bit(4))
        .create_new(bit(5));
    o
}

/// What the model expects of a handle step: `None` if the open fails,
/// else the file's content after the write and close.
fn expect_handle(m: &Model, path: &str, flags: u8, offset: u64, data: &[u8]) -> Option<Vec<u8>> {
    let bit = |i: u8| flags & (1 << i) != 0;
    let (read, write, append, truncate, create, create_new) =
        (bit(0), bit(1), bit(2), bit(3), bit(4), bit(5));
    let writes = write || append;
    if !read && !writes
        || (!create_new && truncate && (!write || append))
        || ((create || create_new) && !writes)
    {
        return None; // refused options
    }
    if m.dirs.contains(path) || !m.is_dir(parent(path)) {
        return None;
    }
    let mut bytes = match m.files.get(path) {
        Some(_) if create_new => return None,
        Some(b) => b.clone(),
        None if create || create_new => Vec::new(),
        None => return None,
    };
    if truncate && !create_new {
        bytes.clear();
    }
    if writes {
        let at = if append { bytes.len() } else { offset as usize };
        if bytes.len() < at + data.len() {
            bytes.resize(at + data.len(), 0);
        }
        bytes[at..at + data.len()].copy_from_slice(data);
    }
    Some(bytes)
}

fn run_handle(fs: &Fs, path: &str, flags: u8, offset: u64, data: &[u8]) -> whefs::Result<()> {
    let mut f = fs.open_with(path, &options(flags))?;
    if flags & 0b110 != 0 {
        f.write_at(data, offset)?;
    }
    f.close()
}

/// A snapshot view's tree (its label is the container's: not compared).
fn dump_view(view: &Fs) -> whefs::Result<Model> {
    let mut m = dump(view)?;
    m.label.clear();
    Ok(m)
}

/// The model's copy of a snapshot, as `dump_view` shows it.
fn view_model(m: &Model) -> Model {
    Model {
        label: String::new(),
        ..m.clone()
    }
}

/// Whether a snapshot view refuses writes.
fn refuses_writes(view: &Fs) -> bool {
    matches!(view.write("probe", b"x"), Err(Error::Access(_)))
        && matches!(view.create_dir("probe"), Err(Error::Access(_)))
        && matches!(view.compact(), Err(Error::Access(_)))
}

/// The whole tree, walked with `read_dir`.
fn dump(fs: &Fs) -> whefs::Result<Model> {
    let mut m = Model {
        label: fs.label()?,
        ..Model::default()
    };
    let mut stack = vec![String::new()];
    while let Some(dir) = stack.pop() {
        let listing = fs.read_dir(if dir.is_empty() { "/" } else { &dir })?;
        for entry in listing {
            let entry = entry?;
            let path = if dir.is_empty() {
                entry.name
            } else {
                format!("{dir}/{}", entry.name)
            };
            match entry.kind {
                FileType::Symlink => {
                    return Err(Error::corrupt(format!("unexpected link {path:?}")))
                }
                FileType::Dir => {
                    m.dirs.insert(path.clone());
                    stack.push(path);
                }
                FileType::File => {
                    let data = fs.read(&path)?;
                    m.files.insert(path, data);
                }
            }
        }
    }
    Ok(m)
}

/// The `api_ops` target: see the module documentation.
pub fn api_ops(data: &[u8]) {
    let mut input = Input(data);
    let storage = Arc::new(MemoryStorage::new());
    let mut fs = FsOptions::new()
        .create(true)
        .durability(Durability::Off)
        .open_storage(storage.clone())
        .expect("a new memory container opens");
    let mut storage = storage;
    let mut model = Model::default();
    // Kept readers and views, with the open (counted by reopens) they
    // came from: only those of the current open make compaction Busy.
    let mut readers: Vec<(whefs::File, Vec<u8>, usize)> = Vec::new();
    let mut views: Vec<(Fs, Model, usize)> = Vec::new();
    let mut snapshots: BTreeMap<&'static str, Model> = BTreeMap::new();
    let mut opens = 0usize;
    let mut trace = Vec::new();

    for _ in 0..MAX_STEPS {
        let Some(step) = input.step() else { break };
        trace.push(format!("{step:?}"));
        match step {
            Step::One(op) => {
                let expected = model.clone().apply(&op);
                let got = run_op(&fs, &op);
                if expected != got.is_ok() {
                    fail(
                        &trace,
                        format!("{op:?}: model says ok={expected}, whefs says {got:?}"),
                    );
                }
                model.apply(&op);
            }
            Step::Transaction(ops) => {
                // Copies are not transaction operations: write the bytes.
                let ops: Vec<Op> = ops
                    .into_iter()
                    .map(|op| match op {
                        Op::Copy(from, to) => {
                            Op::Write(to, model.files.get(from).cloned().unwrap_or_default())
                        }
                        op => op,
                    })
                    .collect();
                let mut after = model.clone();
                let expected = ops.iter().all(|op| after.apply(op));
                let got = fs.transaction(|t| ops.iter().try_for_each(|op| record(t, op)));
                if expected != got.is_ok() {
                    fail(
                        &trace,
                        format!(
                            "transaction {ops:?}: model says ok={expected}, whefs says {got:?}"
                        ),
                    );
                }
                if expected {
                    model = after;
                }
            }
            Step::Read(p) => match (fs.read(p), model.files.get(p)) {
                (Ok(got), Some(want)) if got == *want => {}
                (Err(_), None) => {}
                (got, want) => fail(
                    &trace,
                    format!(
                        "read {p:?}: whefs {:?}, model {:?}",
                        got.map(|g| g.len()),
                        want.map(|w| w.len())
                    ),
                ),
            },
            Step::Handle {
                path,
                flags,
                offset,
                data,
            } => {
                let expected = expect_handle(&model, path, flags, offset, &data);
                let got = run_handle(&fs, path, flags, offset, &data);
                if expected.is_some() != got.is_ok() {
                    fail(
                        &trace,
                        format!(
                            "handle {path:?} {:?}: model says ok={}, whefs says {got:?}",
                            options(flags),
                            expected.is_some()
                        ),
                    );
                }
                if let Some(bytes) = expected {
                    model.files.insert(path.to_string(), bytes);
                }
            }
            Step::KeepReader(p) => {
                if let (Ok(f), Some(want)) = (fs.open_file(p, "r"), model.files.get(p)) {
                    if readers.len() == MAX_READERS {
                        readers.remove(0);
                    }
                    readers.push((f, want.clone(), opens));
                }
            }
            Step::Glob(pattern) => {
                let got = fs.glob(pattern);
                let want = model.glob(pattern);
                if got.as_ref().ok() != Some(&want) {
                    fail(
                        &trace,
                        format!("glob {pattern:?}: whefs {got:?}, model {want:?}"),
                    );
                }
            }
            Step::Reopen => {
                drop(fs);
                storage = Arc::new(MemoryStorage::from_vec(storage.snapshot()));
                fs = FsOptions::new()
                    .write(true)
                    .durability(Durability::Off)
                    .open_storage(storage.clone())
                    .unwrap_or_else(|e| fail(&trace, format!("reopen failed: {e}")));
                opens += 1;
            }
            Step::CreateSnapshot(name) => {
                let expected = name != SNAPSHOTS[3] && !snapshots.contains_key(name);
                let got = fs.create_snapshot(name);
                if expected != got.is_ok() {
                    fail(
                        &trace,
                        format!("create snapshot {name:?}: model says ok={expected}, whefs says {got:?}"),
                    );
                }
                if expected {
                    snapshots.insert(name, model.clone());
                }
            }
            Step::DeleteSnapshot(name) => {
                let expected = snapshots.remove(name).is_some();
                let got = fs.delete_snapshot(name);
                if expected != got.is_ok() {
                    fail(
                        &trace,
                        format!("delete snapshot {name:?}: model says ok={expected}, whefs says {got:?}"),
                    );
                }
            }
            Step::CheckSnapshot(name) | Step::KeepView(name) => {
                let got = fs.open_snapshot(name);
                match (got, snapshots.get(name)) {
                    (Ok(view), Some(want)) => {
                        let want = view_model(want);
                        match dump_view(&view) {
                            Ok(tree) if tree == want => {}
                            other => fail(
                                &trace,
                                format!(
                                    "snapshot {name:?}: the view shows {:?}, the model {:?}",
                                    other.map(|t| summary(&t).0.len()),
                                    summary(&want)
                                ),
                            ),
                        }
                        if !refuses_writes(&view) {
                            fail(&trace, format!("snapshot {name:?}: a view took a write"));
                        }
                        if matches!(step, Step::KeepView(_)) {
                            if views.len() == MAX_VIEWS {
                                views.remove(0);
                            }
                            views.push((view, want, opens));
                        }
                    }
                    (Err(_), None) => {}
                    (got, want) => fail(
                        &trace,
                        format!(
                            "open snapshot {name:?}: whefs {:?}, model has it: {}",
                            got.err(),
                            want.is_some()
                        ),
                    ),
                }
            }
            Step::Restore(name, target) => {
                let mut after = model.clone();
                let expected = snapshots
                    .get(name)
                    .is_some_and(|snap| after.restore(snap, target));
                let got = fs.restore(name, target);
                if expected != got.is_ok() {
                    fail(
                        &trace,
                        format!("restore {name:?} {target:?}: model says ok={expected}, whefs says {got:?}"),
                    );
                }
                if expected {
                    model = after;
                }
            }
            Step::Diff(name) => {
                let got = fs.open_snapshot(name).and_then(|v| v.diff(&fs));
                match (got, snapshots.get(name)) {
                    (Ok(changes), Some(old)) => {
                        if !Model::diff_agrees(old, &model, &changes) {
                            fail(
                                &trace,
                                format!("diff from {name:?}: whefs lists {changes:?}"),
                            );
                        }
                    }
                    (Err(_), None) => {}
                    (got, want) => fail(
                        &trace,
                        format!(
                            "diff from {name:?}: whefs {:?}, model has it: {}",
                            got.err(),
                            want.is_some()
                        ),
                    ),
                }
            }
            Step::Compact => {
                let busy =
                    readers.iter().any(|r| r.2 == opens) || views.iter().any(|v| v.2 == opens);
                let got = fs.compact();
                match (&got, busy) {
                    (Ok(_), false) | (Err(Error::Busy(_)), true) => {}
                    _ => fail(
                        &trace,
                        format!("compact: model says busy={busy}, whefs says {got:?}"),
                    ),
                }
            }
        }
        if matches!(
            trace.last().map(String::as_str),
            Some(t) if t.starts_with("Restore") || t.starts_with("Compact") || t.starts_with("DeleteSnapshot")
        ) {
            if let Err(e) = fs.check() {
                fail(&trace, format!("check() failed: {e}"));
            }
        }
        for (view, want, _) in &views {
            match dump_view(view) {
                Ok(tree) if tree == *want => {}
                other => fail(
                    &trace,
                    format!(
                        "a kept view lost its snapshot: {:?}",
                        other.map(|t| summary(&t).0.len())
                    ),
                ),
            }
        }
        for (f, want, _) in &readers {
            let mut got = vec![0u8; want.len() + 1];
            match f.read_at(&mut got, 0) {
                Ok(n) if got[..n] == want[..] => {}
                other => fail(
                    &trace,
                    format!(
                        "a kept reader lost its snapshot: {:?} bytes, expected {}",
                        other,
                        want.len()
                    ),
                ),
            }
        }
    }
    drop(readers);
    drop(views);
    match dump(&fs) {
        Ok(tree) if tree == model => {}
        Ok(tree) => panic!(
            "final tree differs from the model\nwhefs: {:?}\nmodel: {:?}\nsteps:\n  {}",
            summary(&tree),
            summary(&model),
            trace.join("\n  ")
        ),
        Err(e) => panic!("walking the final tree failed: {e}"),
    }
    if let Err(e) = fs.check() {
        panic!("check() failed: {e}\nsteps:\n  {}", trace.join("\n  "));
    }
    for (name, want) in &snapshots {
        match fs.open_snapshot(name).and_then(|v| dump_view(&v)) {
            Ok(tree) if tree == view_model(want) => {}
            other => panic!(
                "snapshot {name:?} at the end: {:?}\nsteps:\n  {}",
                other.map(|t| summary(&t).0.len()),
                trace.join("\n  ")
            ),
        }
    }
}

/// Reports a disagreement with the steps that led to it.
fn fail(trace: &[String], what: String) -> ! {
    panic!("{what}\nsteps so far:\n  {}", trace.join("\n  "));
}

fn summary(m: &Model) -> (Vec<(&String, usize)>, &BTreeSet<String>, &String) {
    (
        m.files.iter().map(|(p, d)| (p, d.len())).collect(),
        &m.dirs,
        &m.label,
    )
}
