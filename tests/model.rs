//! Model-based test (DESIGN §6): random sequences of namespace and file
//! operations run against a real container and against an in-memory model
//! (paths → inodes → bytes, plus a set of directories) that also predicts
//! the error kind of every operation. The container is reopened between
//! steps (dropped and opened again), and after every sequence `check()`
//! must be clean and the whole tree, walked with `read_dir`, must equal the
//! model.
//!
//! Besides one-shot operations, a sequence keeps handles open across steps:
//! readers, which must go on seeing their snapshot (G2), and writers with
//! uncommitted changes, which must see their own writes, make other
//! writers of the file `Busy` (G3), publish at commit/close (G4), and keep
//! writing to an orphan when their file is removed or replaced (§5).
//!
//! Two backends: a real container file (reopened with a random durability)
//! and a memory container (reopened from a byte snapshot via
//! `MemoryStorage::from_vec`).
//!
//! Case counts: 256 cases of up to 40 operations per backend by default;
//! `WHEFS_LONG=1` runs 2000 cases of up to 120; `PROPTEST_CASES` overrides
//! the case count either way. A failure prints the shrunk operation list.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use whefs::storage::MemoryStorage;
use whefs::{Durability, Error, FileType, Fs, FsOptions};

// ---------------------------------------------------------------------------
// Operations

/// File content, generated lazily from a length and a seed so that failing
/// cases print (and shrink) compactly.
#[derive(Clone, Copy)]
struct Data {
    len: usize,
    seed: u8,
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Data({}b, seed {})", self.len, self.seed)
    }
}

impl Data {
    fn bytes(&self) -> Vec<u8> {
        let s = self.seed as u32;
        (0..self.len as u32)
            .map(|i| {
                (i.wrapping_mul(2_654_435_761)
                    .wrapping_add(s.wrapping_mul(40_503))
                    >> 24) as u8
                    ^ s as u8
            })
            .collect()
    }
}

/// How a kept writer is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriterMode {
    /// `r+`: the file must exist.
    Update,
    /// `c+`: created if missing, not truncated.
    Create,
    /// `w+`: created if missing, truncated (privately, until the commit).
    Truncate,
    /// `a+`: created if missing, every write goes to the end.
    Append,
}

impl WriterMode {
    fn mode(self) -> &'static str {
        match self {
            WriterMode::Update => "r+",
            WriterMode::Create => "c+",
            WriterMode::Truncate => "w+",
            WriterMode::Append => "a+",
        }
    }
}

#[derive(Clone, Debug)]
enum Op<P = String> {
    /// `Fs::write`: create or replace a whole file in one commit.
    Write(P, Data),
    /// Open `r+`, `write_at`, commit, close.
    WriteAt(P, u64, Data),
    /// Open `a` (creates), write, close.
    Append(P, Data),
    /// Open `r+`, `set_len`, close.
    SetLen(P, u64),
    Mkdir(P),
    MkdirAll(P),
    RemoveFile(P),
    RemoveDir(P),
    Rename(P, P),
    /// `Fs::hard_link`: a second name for a file's inode.
    HardLink(P, P),
    Read(P),
    Stat(P),
    List(P),
    /// Open a reader and keep it: it must go on seeing the file as it was
    /// when opened (G2), whatever later steps do.
    Hold(P),
    /// Read one of the kept readers (the n-th, modulo their number) in full.
    CheckHeld(usize),
    /// Open a writer and keep it (the oldest is closed when too many are).
    OpenWriter(P, WriterMode),
    /// Through the n-th kept writer: `write_at`, not committed.
    WriterWrite(usize, u64, Data),
    /// Through the n-th kept writer: `set_len`, not committed.
    WriterSetLen(usize, u64),
    /// Read the n-th kept writer's view in full: its own writes included.
    WriterRead(usize),
    /// Commit the n-th kept writer and keep it open.
    WriterCommit(usize),
    /// Close (and so commit) the n-th kept writer.
    WriterClose(usize),
    /// Close every kept writer (in order) and reader, drop the `Fs` and
    /// open the container again with this durability.
    Reopen(Durability),
}

/// A path as generated: a literal one, or the n-th existing file or
/// directory (modulo their number) at the time the step runs, so that
/// sequences hit existing names often.
#[derive(Clone, Debug)]
enum Target {
    Path(String),
    File(usize),
    Dir(usize),
}

impl Target {
    fn pick(&self, m: &Model) -> String {
        let nth = |n: usize, mut it: Box<dyn ExactSizeIterator<Item = &String> + '_>| {
            let len = it.len();
            if len == 0 {
                "a".to_string()
            } else {
                it.nth(n % len).expect("n % len < len").clone()
            }
        };
        match self {
            Target::Path(p) => p.clone(),
            Target::File(n) => nth(*n, Box::new(m.files.keys())),
            Target::Dir(n) => nth(*n, Box::new(m.dirs.iter())),
        }
    }
}

impl Op<Target> {
    /// The step with its targets picked against the model's state.
    fn pick(&self, m: &Model) -> Op {
        match self {
            Op::Write(p, d) => Op::Write(p.pick(m), *d),
            Op::WriteAt(p, o, d) => Op::WriteAt(p.pick(m), *o, *d),
            Op::Append(p, d) => Op::Append(p.pick(m), *d),
            Op::SetLen(p, l) => Op::SetLen(p.pick(m), *l),
            Op::Mkdir(p) => Op::Mkdir(p.pick(m)),
            Op::MkdirAll(p) => Op::MkdirAll(p.pick(m)),
            Op::RemoveFile(p) => Op::RemoveFile(p.pick(m)),
            Op::RemoveDir(p) => Op::RemoveDir(p.pick(m)),
            Op::Rename(a, b) => Op::Rename(a.pick(m), b.pick(m)),
            Op::HardLink(a, b) => Op::HardLink(a.pick(m), b.pick(m)),
            Op::Read(p) => Op::Read(p.pick(m)),
            Op::Stat(p) => Op::Stat(p.pick(m)),
            Op::List(p) => Op::List(p.pick(m)),
            Op::Hold(p) => Op::Hold(p.pick(m)),
            Op::CheckHeld(n) => Op::CheckHeld(*n),
            Op::OpenWriter(p, w) => Op::OpenWriter(p.pick(m), *w),
            Op::WriterWrite(n, o, d) => Op::WriterWrite(*n, *o, *d),
            Op::WriterSetLen(n, l) => Op::WriterSetLen(*n, *l),
            Op::WriterRead(n) => Op::WriterRead(*n),
            Op::WriterCommit(n) => Op::WriterCommit(*n),
            Op::WriterClose(n) => Op::WriterClose(*n),
            Op::Reopen(d) => Op::Reopen(*d),
        }
    }
}

/// The error kinds the model predicts; anything else is a test failure.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotFound,
    Exists,
    NotDir,
    IsDir,
    NotEmpty,
    Arg,
    Busy,
}

fn outcome_of(r: whefs::Result<()>) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(Error::NotFound(_)) => Outcome::NotFound,
        Err(Error::Exists(_)) => Outcome::Exists,
        Err(Error::NotDir(_)) => Outcome::NotDir,
        Err(Error::IsDir(_)) => Outcome::IsDir,
        Err(Error::NotEmpty(_)) => Outcome::NotEmpty,
        Err(Error::Arg(_)) => Outcome::Arg,
        Err(Error::Busy(_)) => Outcome::Busy,
        Err(e) => panic!("error the model never predicts: {e:?}"),
    }
}

fn path() -> impl Strategy<Value = String> {
    // Few names, three levels, shallow paths likelier: operations collide
    // often and deeper paths often have a parent.
    let name = prop_oneof![3 => Just("a"), 3 => Just("b"), 1 => Just("c")];
    let depth = prop_oneof![4 => Just(1usize), 3 => Just(2usize), 2 => Just(3usize)];
    depth
        .prop_flat_map(move |n| prop::collection::vec(name.clone(), n))
        .prop_map(|v| v.join("/"))
}

/// A literal path or an existing file or directory.
fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => path().prop_map(Target::Path),
        2 => any::<usize>().prop_map(Target::File),
        1 => any::<usize>().prop_map(Target::Dir),
    ]
}

fn data() -> impl Strategy<Value = Data> {
    let len = prop_oneof![
        1 => Just(0usize),
        4 => 1..900usize,            // inline
        2 => 900..1100usize,         // around the inline limit (960 for 4 KiB pages)
        2 => 1100..20_000usize,      // a few pages
        1 => 20_000..100_000usize,   // many pages, several extents
    ];
    (len, any::<u8>()).prop_map(|(len, seed)| Data { len, seed })
}

fn small_data() -> impl Strategy<Value = Data> {
    let len = prop_oneof![3 => 1..200usize, 2 => 200..5000usize, 1 => 5000..30_000usize];
    (len, any::<u8>()).prop_map(|(len, seed)| Data { len, seed })
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0..2000u64, 1 => 4090..4100u64, 2 => 0..110_000u64]
}

fn new_len() -> impl Strategy<Value = u64> {
    prop_oneof![1 => Just(0u64), 2 => 0..1000u64, 2 => 900..1100u64, 1 => 4090..4100u64, 2 => 0..120_000u64]
}

fn durability() -> impl Strategy<Value = Durability> {
    prop_oneof![
        Just(Durability::Off),
        Just(Durability::Normal),
        Just(Durability::Full)
    ]
}

fn writer_mode() -> impl Strategy<Value = WriterMode> {
    prop_oneof![
        3 => Just(WriterMode::Update),
        1 => Just(WriterMode::Create),
        1 => Just(WriterMode::Truncate),
        1 => Just(WriterMode::Append),
    ]
}

fn op() -> impl Strategy<Value = Op<Target>> {
    let n = || any::<usize>();
    prop_oneof![
        6 => (target(), data()).prop_map(|(p, d)| Op::Write(p, d)),
        4 => (target(), offset(), small_data()).prop_map(|(p, o, d)| Op::WriteAt(p, o, d)),
        2 => (target(), small_data()).prop_map(|(p, d)| Op::Append(p, d)),
        3 => (target(), new_len()).prop_map(|(p, l)| Op::SetLen(p, l)),
        3 => target().prop_map(Op::Mkdir),
        2 => target().prop_map(Op::MkdirAll),
        2 => target().prop_map(Op::RemoveFile),
        2 => target().prop_map(Op::RemoveDir),
        4 => (target(), target()).prop_map(|(a, b)| Op::Rename(a, b)),
        2 => (target(), target()).prop_map(|(a, b)| Op::HardLink(a, b)),
        2 => target().prop_map(Op::Read),
        1 => target().prop_map(Op::Stat),
        1 => prop_oneof![Just(Target::Path(String::new())), target()].prop_map(Op::List),
        2 => target().prop_map(Op::Hold),
        2 => n().prop_map(Op::CheckHeld),
        3 => (target(), writer_mode()).prop_map(|(p, w)| Op::OpenWriter(p, w)),
        4 => (n(), offset(), small_data()).prop_map(|(i, o, d)| Op::WriterWrite(i, o, d)),
        1 => (n(), new_len()).prop_map(|(i, l)| Op::WriterSetLen(i, l)),
        2 => n().prop_map(Op::WriterRead),
        2 => n().prop_map(Op::WriterCommit),
        2 => n().prop_map(Op::WriterClose),
        2 => durability().prop_map(Op::Reopen),
    ]
}

// ---------------------------------------------------------------------------
// The model

/// A writer kept open: the inode it writes and what it sees.
#[derive(Debug)]
struct ModelWriter {
    ino: u64,
    view: Vec<u8>,
    append: bool,
}

#[derive(Default, Debug)]
struct Model {
    /// Names of files → their inodes.
    files: BTreeMap<String, u64>,
    /// Committed content of every live inode, orphans (written by a kept
    /// writer, named nowhere) included.
    inodes: BTreeMap<u64, Vec<u8>>,
    next_ino: u64,
    /// Directories other than the root (`""`).
    dirs: BTreeSet<String>,
    /// What each kept reader must see.
    held: Vec<Vec<u8>>,
    writers: Vec<ModelWriter>,
}

/// Readers and writers kept at once; the oldest is closed to make room.
const MAX_HELD: usize = 4;
const MAX_WRITERS: usize = 3;

fn parent(p: &str) -> &str {
    p.rsplit_once('/').map_or("", |(a, _)| a)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn write_into(v: &mut Vec<u8>, off: usize, bytes: &[u8]) {
    if v.len() < off + bytes.len() {
        v.resize(off + bytes.len(), 0);
    }
    v[off..off + bytes.len()].copy_from_slice(bytes);
}

/// What a read-like operation shows: the model's prediction and whefs'
/// answer must be equal.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Nothing,
    Bytes(Vec<u8>),
    /// Kind, size and link count.
    Stat(FileType, u64, u32),
    Listing(Vec<(String, FileType, u64)>),
}

impl Model {
    fn kind(&self, p: &str) -> Option<FileType> {
        if p.is_empty() || self.dirs.contains(p) {
            Some(FileType::Dir)
        } else if self.files.contains_key(p) {
            Some(FileType::File)
        } else {
            None
        }
    }

    fn content(&self, p: &str) -> &Vec<u8> {
        &self.inodes[&self.files[p]]
    }

    /// Walks the path from the root as whefs does: a file in the middle is
    /// `NotDir`, a missing component `NotFound`.
    fn resolve(&self, p: &str) -> Result<FileType, Outcome> {
        let mut cur = FileType::Dir;
        let mut prefix = String::new();
        for part in p.split('/').filter(|s| !s.is_empty()) {
            if cur == FileType::File {
                return Err(Outcome::NotDir);
            }
            prefix = join(&prefix, part);
            cur = self.kind(&prefix).ok_or(Outcome::NotFound)?;
        }
        Ok(cur)
    }

    fn resolve_parent(&self, p: &str) -> Result<(), Outcome> {
        match self.resolve(parent(p))? {
            FileType::Dir => Ok(()),
            FileType::File | FileType::Symlink => Err(Outcome::NotDir),
        }
    }

    /// An existing file, as `open(.., "r")` finds it.
    fn open_existing(&self, p: &str) -> Result<(), Outcome> {
        match self.resolve(p)? {
            FileType::Dir => Err(Outcome::IsDir),
            FileType::File | FileType::Symlink => Ok(()),
        }
    }

    /// Whether a kept writer holds the file's one-writer lock.
    fn locked(&self, p: &str) -> bool {
        self.files
            .get(p)
            .is_some_and(|ino| self.writers.iter().any(|w| w.ino == *ino))
    }

    /// Opening for writing as `File::open` does: resolve, create if asked
    /// (committed at once, empty), then the writer lock (`Busy`).
    fn open_for_writing(&mut self, p: &str, create: bool) -> Result<u64, Outcome> {
        match self.resolve(p) {
            Ok(FileType::Dir) => return Err(Outcome::IsDir),
            Ok(FileType::File) if self.locked(p) => return Err(Outcome::Busy),
            Ok(FileType::File | FileType::Symlink) => {}
            Err(Outcome::NotFound) if create => {
                self.resolve_parent(p)?;
                self.link_new(p, Vec::new());
            }
            Err(e) => return Err(e),
        }
        Ok(self.files[p])
    }

    fn link_new(&mut self, p: &str, content: Vec<u8>) {
        self.next_ino += 1;
        self.inodes.insert(self.next_ino, content);
        self.files.insert(p.to_string(), self.next_ino);
    }

    /// Removes a name; the inode goes too unless another name or a
    /// writer keeps it (orphan).
    fn unlink(&mut self, p: &str) {
        let ino = self.files.remove(p).expect("unlinking a file");
        if !self.writers.iter().any(|w| w.ino == ino) && !self.files.values().any(|&i| i == ino) {
            self.inodes.remove(&ino);
        }
    }

    /// The link count `stat` shows: names of a file, 2 + subdirectories of
    /// a directory.
    fn nlink(&self, p: &str) -> u32 {
        match self.files.get(p) {
            Some(ino) => self.files.values().filter(|&i| i == ino).count() as u32,
            None => 2 + self.dirs.iter().filter(|d| parent(d) == p).count() as u32,
        }
    }

    fn children(&self, d: &str) -> Vec<(String, FileType, u64)> {
        let files = self
            .files
            .iter()
            .map(|(p, ino)| (p, FileType::File, self.inodes[ino].len() as u64));
        let dirs = self.dirs.iter().map(|p| (p, FileType::Dir, 0));
        let mut out: Vec<_> = files
            .chain(dirs)
            .filter(|(p, _, _)| parent(p) == d)
            .map(|(p, k, s)| {
                (
                    p.rsplit('/').next().expect("non-empty path").to_string(),
                    k,
                    s,
                )
            })
            .collect();
        // whefs lists in bytewise name order; names are unique in a directory.
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The visible tree: path → content.
    fn tree(&self) -> (BTreeMap<String, Vec<u8>>, BTreeSet<String>) {
        let files = self
            .files
            .iter()
            .map(|(p, ino)| (p.clone(), self.inodes[ino].clone()))
            .collect();
        (files, self.dirs.clone())
    }

    fn writer_index(&self, n: usize) -> Option<usize> {
        (!self.writers.is_empty()).then(|| n % self.writers.len())
    }

    /// A writer's commit: its view becomes its inode's content.
    fn commit_writer(&mut self, i: usize) {
        let w = &self.writers[i];
        self.inodes.insert(w.ino, w.view.clone());
    }

    /// A writer's close: commit, then an orphan is freed.
    fn close_writer(&mut self, i: usize) {
        self.commit_writer(i);
        let w = self.writers.remove(i);
        if !self.files.values().any(|&ino| ino == w.ino) {
            self.inodes.remove(&w.ino);
        }
    }

    fn apply(&mut self, op: &Op) -> (Outcome, Seen) {
        match self.try_apply(op) {
            Ok(seen) => (Outcome::Ok, seen),
            Err(o) => (o, Seen::Nothing),
        }
    }

    fn try_apply(&mut self, op: &Op) -> Result<Seen, Outcome> {
        match op {
            Op::Write(p, d) => {
                self.resolve_parent(p)?;
                match self.kind(p) {
                    Some(FileType::Dir) => return Err(Outcome::IsDir),
                    Some(_) => self.unlink(p),
                    None => {}
                }
                self.link_new(p, d.bytes());
            }
            Op::WriteAt(p, off, d) => {
                let ino = self.open_for_writing(p, false)?;
                write_into(
                    self.inodes.get_mut(&ino).expect("live inode"),
                    *off as usize,
                    &d.bytes(),
                );
            }
            Op::Append(p, d) => {
                let ino = self.open_for_writing(p, true)?;
                self.inodes
                    .get_mut(&ino)
                    .expect("live inode")
                    .extend_from_slice(&d.bytes());
            }
            Op::SetLen(p, len) => {
                let ino = self.open_for_writing(p, false)?;
                self.inodes
                    .get_mut(&ino)
                    .expect("live inode")
                    .resize(*len as usize, 0);
            }
            Op::Mkdir(p) => {
                self.resolve_parent(p)?;
                if self.kind(p).is_some() {
                    return Err(Outcome::Exists);
                }
                self.dirs.insert(p.clone());
            }
            Op::MkdirAll(p) => {
                let parts: Vec<&str> = p.split('/').collect();
                let prefixes: Vec<String> =
                    (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
                if prefixes
                    .iter()
                    .any(|q| self.kind(q) == Some(FileType::File))
                {
                    return Err(Outcome::NotDir);
                }
                self.dirs.extend(prefixes);
            }
            Op::RemoveFile(p) => {
                self.resolve_parent(p)?;
                match self.kind(p) {
                    None => return Err(Outcome::NotFound),
                    Some(FileType::Dir) => return Err(Outcome::IsDir),
                    Some(_) => self.unlink(p),
                }
            }
            Op::RemoveDir(p) => {
                self.resolve_parent(p)?;
                match self.kind(p) {
                    None => return Err(Outcome::NotFound),
                    Some(FileType::File | FileType::Symlink) => return Err(Outcome::NotDir),
                    Some(FileType::Dir) if !self.children(p).is_empty() => {
                        return Err(Outcome::NotEmpty)
                    }
                    Some(FileType::Dir) => self.dirs.remove(p),
                };
            }
            Op::Rename(from, to) => self.rename(from, to)?,
            Op::HardLink(from, to) => {
                // As link(2): both paths are resolved before the kinds count.
                let kind = self.resolve(from)?;
                self.resolve_parent(to)?;
                if kind == FileType::Dir {
                    return Err(Outcome::IsDir);
                }
                if self.kind(to).is_some() {
                    return Err(Outcome::Exists);
                }
                let ino = self.files[from.as_str()];
                self.files.insert(to.clone(), ino);
            }
            Op::Read(p) => {
                self.open_existing(p)?;
                return Ok(Seen::Bytes(self.content(p).clone()));
            }
            Op::Stat(p) => {
                let k = self.resolve(p)?;
                let size = if k == FileType::File {
                    self.content(p).len() as u64
                } else {
                    0
                };
                return Ok(Seen::Stat(k, size, self.nlink(p)));
            }
            Op::List(p) => match self.resolve(p)? {
                FileType::File | FileType::Symlink => return Err(Outcome::NotDir),
                FileType::Dir => return Ok(Seen::Listing(self.children(p))),
            },
            Op::Hold(p) => {
                self.open_existing(p)?;
                if self.held.len() == MAX_HELD {
                    self.held.remove(0);
                }
                self.held.push(self.content(p).clone());
            }
            Op::CheckHeld(n) => {
                if !self.held.is_empty() {
                    return Ok(Seen::Bytes(self.held[n % self.held.len()].clone()));
                }
            }
            Op::OpenWriter(p, mode) => {
                if self.writers.len() == MAX_WRITERS {
                    self.close_writer(0);
                }
                let ino = self.open_for_writing(p, *mode != WriterMode::Update)?;
                let view = if *mode == WriterMode::Truncate {
                    Vec::new()
                } else {
                    self.inodes[&ino].clone()
                };
                self.writers.push(ModelWriter {
                    ino,
                    view,
                    append: *mode == WriterMode::Append,
                });
            }
            Op::WriterWrite(n, off, d) => {
                if let Some(i) = self.writer_index(*n) {
                    let w = &mut self.writers[i];
                    let off = if w.append {
                        w.view.len()
                    } else {
                        *off as usize
                    };
                    write_into(&mut w.view, off, &d.bytes());
                }
            }
            Op::WriterSetLen(n, len) => {
                if let Some(i) = self.writer_index(*n) {
                    self.writers[i].view.resize(*len as usize, 0);
                }
            }
            Op::WriterRead(n) => {
                if let Some(i) = self.writer_index(*n) {
                    return Ok(Seen::Bytes(self.writers[i].view.clone()));
                }
            }
            Op::WriterCommit(n) => {
                if let Some(i) = self.writer_index(*n) {
                    self.commit_writer(i);
                }
            }
            Op::WriterClose(n) => {
                if let Some(i) = self.writer_index(*n) {
                    self.close_writer(i);
                }
            }
            Op::Reopen(_) => {
                while !self.writers.is_empty() {
                    self.close_writer(0);
                }
                self.held.clear();
            }
        }
        Ok(Seen::Nothing)
    }

    /// `Fs::rename`, checked in the order whefs checks: source, target's
    /// parent, moving into itself, then the kinds at the target.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), Outcome> {
        self.resolve_parent(from)?;
        let src = self.kind(from).ok_or(Outcome::NotFound)?;
        if self.resolve(parent(to))? == FileType::File {
            return Err(Outcome::NotDir);
        }
        let to_parent = parent(to);
        if to_parent == from || to_parent.starts_with(&format!("{from}/")) {
            return Err(Outcome::Arg);
        }
        if let Some(dst) = self.kind(to) {
            if from == to
                || self
                    .files
                    .get(from)
                    .is_some_and(|i| self.files.get(to) == Some(i))
            {
                return Ok(()); // one inode: POSIX says do nothing
            }
            match (src, dst) {
                (FileType::Dir, FileType::File) => return Err(Outcome::NotDir),
                (FileType::File, FileType::Dir) => return Err(Outcome::IsDir),
                (FileType::Dir, FileType::Dir) if !self.children(to).is_empty() => {
                    return Err(Outcome::NotEmpty)
                }
                (FileType::Dir, FileType::Dir) => {
                    self.dirs.remove(to);
                }
                (_, FileType::Dir) => return Err(Outcome::IsDir),
                (FileType::Dir, _) => return Err(Outcome::NotDir),
                _ => self.unlink(to),
            }
        }
        let moved = |p: &str| -> Option<String> {
            if p == from {
                Some(to.to_string())
            } else {
                p.strip_prefix(&format!("{from}/"))
                    .map(|rest| format!("{to}/{rest}"))
            }
        };
        let files: Vec<String> = self
            .files
            .keys()
            .filter(|p| moved(p).is_some())
            .cloned()
            .collect();
        for p in files {
            let ino = self.files.remove(&p).expect("listed above");
            self.files.insert(moved(&p).expect("filtered above"), ino);
        }
        let dirs: Vec<String> = self
            .dirs
            .iter()
            .filter(|p| moved(p).is_some())
            .cloned()
            .collect();
        for p in dirs {
            self.dirs.remove(&p);
            self.dirs.insert(moved(&p).expect("filtered above"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The real thing

/// Where the container lives between reopens.
enum Backend {
    File(PathBuf),
    Memory(Arc<MemoryStorage>),
}

struct Subject {
    _dir: Option<tempfile::TempDir>,
    backend: Backend,
    fs: Option<Fs>,
    held: Vec<whefs::File>,
    writers: Vec<whefs::File>,
}

/// A second writer of a file gives up at once: the model says `Busy`.
const BUSY: Duration = Duration::ZERO;

impl Subject {
    fn file() -> Subject {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("model.whefs");
        let fs = FsOptions::new()
            .create(true)
            .durability(Durability::Off)
            .busy_timeout(BUSY)
            .open(&path)
            .expect("create container");
        Subject {
            _dir: Some(dir),
            backend: Backend::File(path),
            fs: Some(fs),
            held: Vec::new(),
            writers: Vec::new(),
        }
    }

    fn memory() -> Subject {
        let storage = Arc::new(MemoryStorage::new());
        let fs = FsOptions::new()
            .create(true)
            .busy_timeout(BUSY)
            .open_storage(storage.clone())
            .expect("create memory container");
        Subject {
            _dir: None,
            backend: Backend::Memory(storage),
            fs: Some(fs),
            held: Vec::new(),
            writers: Vec::new(),
        }
    }

    fn fs(&self) -> &Fs {
        self.fs.as_ref().expect("open between steps")
    }

    /// Closes kept writers (committing, in order) and readers.
    fn close_handles(&mut self) -> whefs::Result<()> {
        self.held.clear();
        for w in self.writers.drain(..) {
            w.close()?;
        }
        Ok(())
    }

    fn reopen(&mut self, d: Durability) {
        // Handles keep their `Fs` open: close them first.
        self.close_handles()
            .expect("close kept handles before reopening");
        drop(self.fs.take());
        let fs = match &mut self.backend {
            Backend::File(path) => FsOptions::new()
                .write(true)
                .durability(d)
                .busy_timeout(BUSY)
                .open(&*path)
                .expect("reopen container file"),
            Backend::Memory(storage) => {
                let image = storage.snapshot();
                *storage = Arc::new(MemoryStorage::from_vec(image));
                FsOptions::new()
                    .write(true)
                    .durability(d)
                    .busy_timeout(BUSY)
                    .open_storage(storage.clone())
                    .expect("reopen memory image")
            }
        };
        self.fs = Some(fs);
    }

    /// A read-only open of a copy of the container's bytes.
    fn image_copy(&self) -> Fs {
        let bytes = match &self.backend {
            Backend::File(path) => std::fs::read(path).expect("read container file"),
            Backend::Memory(storage) => storage.snapshot(),
        };
        FsOptions::new()
            .open_storage(Arc::new(MemoryStorage::from_vec(bytes)))
            .expect("open copy read-only")
    }

    fn writer(&mut self, n: usize) -> Option<usize> {
        (!self.writers.is_empty()).then(|| n % self.writers.len())
    }

    fn apply(&mut self, op: &Op) -> (Outcome, Seen) {
        let fs = self.fs().clone();
        let mut seen = Seen::Nothing;
        let r: whefs::Result<()> = match op {
            Op::Write(p, d) => fs.write(p, &d.bytes()),
            Op::WriteAt(p, off, d) => (|| {
                let mut f = fs.open_file(p, "r+")?;
                f.write_at(&d.bytes(), *off)?;
                f.commit()?;
                f.close()
            })(),
            Op::Append(p, d) => (|| {
                let mut f = fs.open_file(p, "a")?;
                f.write_all(&d.bytes()).map_err(Error::from_io)?;
                f.close()
            })(),
            Op::SetLen(p, len) => (|| {
                let mut f = fs.open_file(p, "r+")?;
                f.set_len(*len)?;
                f.close()
            })(),
            Op::Mkdir(p) => fs.create_dir(p),
            Op::MkdirAll(p) => fs.create_dir_all(p),
            Op::RemoveFile(p) => fs.remove_file(p),
            Op::RemoveDir(p) => fs.remove_dir(p),
            Op::Rename(a, b) => fs.rename(a, b),
            Op::HardLink(a, b) => fs.hard_link(a, b),
            Op::Read(p) => fs.read(p).map(|b| seen = Seen::Bytes(b)),
            Op::Stat(p) => fs
                .metadata(p)
                .map(|m| seen = Seen::Stat(m.kind, m.size, m.nlink)),
            Op::List(p) => list(&fs, p).map(|l| seen = Seen::Listing(l)),
            Op::Hold(p) => fs.open_file(p, "r").map(|f| {
                if self.held.len() == MAX_HELD {
                    self.held.remove(0);
                }
                self.held.push(f);
            }),
            Op::CheckHeld(n) => {
                if !self.held.is_empty() {
                    seen = Seen::Bytes(read_all(&self.held[n % self.held.len()]));
                }
                Ok(())
            }
            Op::OpenWriter(p, mode) => (|| {
                if self.writers.len() == MAX_WRITERS {
                    self.writers.remove(0).close()?;
                }
                self.writers.push(fs.open_file(p, mode.mode())?);
                Ok(())
            })(),
            Op::WriterWrite(n, off, d) => match self.writer(*n) {
                Some(i) => self.writers[i].write_at(&d.bytes(), *off).map(|_| ()),
                None => Ok(()),
            },
            Op::WriterSetLen(n, len) => match self.writer(*n) {
                Some(i) => self.writers[i].set_len(*len),
                None => Ok(()),
            },
            Op::WriterRead(n) => {
                if let Some(i) = self.writer(*n) {
                    seen = Seen::Bytes(read_all(&self.writers[i]));
                }
                Ok(())
            }
            Op::WriterCommit(n) => match self.writer(*n) {
                Some(i) => self.writers[i].commit(),
                None => Ok(()),
            },
            Op::WriterClose(n) => match self.writer(*n) {
                Some(i) => self.writers.remove(i).close(),
                None => Ok(()),
            },
            Op::Reopen(d) => {
                drop(fs);
                self.reopen(*d);
                self.fs().check().expect("check after reopen");
                Ok(())
            }
        };
        (outcome_of(r), seen)
    }
}

/// A handle's whole content as it sees it, through `read_at`.
fn read_all(f: &whefs::File) -> Vec<u8> {
    let mut buf = vec![0u8; f.len() as usize];
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], done as u64) {
            Ok(0) => break,
            Ok(k) => done += k,
            Err(e) => panic!("reading a kept handle: {e:?}"),
        }
    }
    buf.truncate(done);
    buf
}

fn list(fs: &Fs, p: &str) -> whefs::Result<Vec<(String, FileType, u64)>> {
    let mut out = Vec::new();
    for e in fs.read_dir(p)? {
        let e = e?;
        out.push((e.name, e.kind, e.size));
    }
    Ok(out)
}

/// Walks the whole container with `read_dir` and reads every file.
fn walk(fs: &Fs) -> (BTreeMap<String, Vec<u8>>, BTreeSet<String>) {
    let (mut files, mut dirs) = (BTreeMap::new(), BTreeSet::new());
    let mut todo = vec![String::new()];
    while let Some(d) = todo.pop() {
        for (name, kind, size) in list(fs, &d).expect("list a directory the walk found") {
            let p = join(&d, &name);
            match kind {
                FileType::Dir => {
                    dirs.insert(p.clone());
                    todo.push(p);
                }
                FileType::File => {
                    let bytes = fs.read(&p).expect("read a file the walk found");
                    assert_eq!(
                        bytes.len() as u64,
                        size,
                        "{p}: listing size differs from content length"
                    );
                    files.insert(p, bytes);
                }
                FileType::Symlink => panic!("{p}: the model makes no symbolic links"),
            }
        }
    }
    (files, dirs)
}

fn assert_tree_equals(fs: &Fs, model: &Model, what: &str) {
    let report = fs
        .check()
        .unwrap_or_else(|e| panic!("{what}: check failed: {e}"));
    let (files, dirs) = walk(fs);
    let (want_files, want_dirs) = model.tree();
    assert_eq!(dirs, want_dirs, "{what}: directories differ");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        want_files.keys().collect::<Vec<_>>(),
        "{what}: file names differ"
    );
    for (p, want) in &want_files {
        let got = &files[p];
        if got != want {
            let at = got.iter().zip(want).position(|(a, b)| a != b);
            panic!(
                "{what}: {p}: content differs (len {} vs model {}, first difference at {at:?})",
                got.len(),
                want.len()
            );
        }
    }
    // Orphans (kept writers' unnamed files) are files too.
    assert_eq!(
        report.files,
        model.inodes.len() as u64,
        "{what}: check() counts files"
    );
    assert_eq!(
        report.dirs,
        model.dirs.len() as u64 + 1,
        "{what}: check() counts directories (root included)"
    );
    let info = fs.info().expect("info");
    assert_eq!(
        (info.files, info.dirs),
        (report.files, report.dirs),
        "{what}: info() counts"
    );
}

fn stats_enabled() -> bool {
    std::env::var_os("WHEFS_MODEL_STATS").is_some()
}

fn run_sequence(mut subject: Subject, steps: &[Op<Target>]) {
    let mut model = Model::default();
    for (i, step) in steps.iter().enumerate() {
        let op = &step.pick(&model);
        let want = model.apply(op);
        let got = subject.apply(op);
        assert_eq!(got.0, want.0, "step {i}: {op:?}: outcome");
        if stats_enabled() {
            eprintln!(
                "STAT {} {:?}",
                format!("{op:?}").split('(').next().unwrap_or(""),
                got.0
            );
        }
        assert!(
            got.1 == want.1,
            "step {i}: {op:?}: whefs shows {:.200?}, the model {:.200?}",
            got.1,
            want.1
        );
    }
    assert_tree_equals(
        subject.fs(),
        &model,
        "after the sequence, handles still open",
    );
    subject.close_handles().expect("close kept handles");
    while !model.writers.is_empty() {
        model.close_writer(0);
    }
    model.held.clear();
    assert_tree_equals(subject.fs(), &model, "after closing the kept handles");
    subject.reopen(Durability::Full);
    assert_tree_equals(subject.fs(), &model, "after a final reopen");
    assert_tree_equals(
        &subject.image_copy(),
        &model,
        "on a read-only copy of the bytes",
    );
}

// ---------------------------------------------------------------------------
// Tests

fn long() -> bool {
    std::env::var_os("WHEFS_LONG").is_some_and(|v| v != "0")
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if long() { 2000 } else { 256 });
    Config {
        cases,
        ..Config::default()
    }
}

fn ops() -> impl Strategy<Value = Vec<Op<Target>>> {
    prop::collection::vec(op(), 1..=if long() { 120 } else { 40 })
}

#[test]
fn random_operations_on_a_container_file_match_the_model() {
    TestRunner::new(config())
        .run(&ops(), |ops| {
            run_sequence(Subject::file(), &ops);
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_operations_on_a_memory_image_match_the_model() {
    TestRunner::new(config())
        .run(&ops(), |ops| {
            run_sequence(Subject::memory(), &ops);
            Ok(())
        })
        .unwrap();
}

/// The model's own predictions, pinned on a hand-written sequence so that
/// a wrong model cannot make the random tests vacuous.
#[test]
fn model_predicts_the_documented_error_kinds() {
    let d = |len| Data { len, seed: 1 };
    let s = |p: &str| p.to_string();
    let script = [
        (Op::Read(s("a")), Outcome::NotFound),
        (Op::Write(s("a/b"), d(3)), Outcome::NotFound),
        (Op::Mkdir(s("a")), Outcome::Ok),
        (Op::Mkdir(s("a")), Outcome::Exists),
        (Op::Write(s("a/b"), d(5000)), Outcome::Ok),
        (Op::Hold(s("a/b")), Outcome::Ok),
        (Op::Write(s("a/b/c"), d(1)), Outcome::NotDir),
        (Op::Write(s("a"), d(1)), Outcome::IsDir),
        (Op::RemoveDir(s("a")), Outcome::NotEmpty),
        (Op::RemoveFile(s("a")), Outcome::IsDir),
        (Op::RemoveDir(s("a/b")), Outcome::NotDir),
        (Op::MkdirAll(s("a/b/c")), Outcome::NotDir),
        (Op::Rename(s("a"), s("a/c")), Outcome::Arg),
        (Op::Mkdir(s("c")), Outcome::Ok),
        (Op::Rename(s("a/b"), s("c")), Outcome::IsDir),
        (Op::Rename(s("c"), s("a/b")), Outcome::NotDir),
        (Op::Rename(s("c"), s("a")), Outcome::NotEmpty),
        (Op::Rename(s("a"), s("c")), Outcome::Ok),
        (Op::SetLen(s("c"), 3), Outcome::IsDir),
        (Op::SetLen(s("c/b"), 3), Outcome::Ok),
        (Op::Append(s("c/new"), d(7)), Outcome::Ok),
        (Op::Append(s("b/new"), d(7)), Outcome::NotFound),
        (Op::List(s("c/b")), Outcome::NotDir),
        (Op::CheckHeld(0), Outcome::Ok),
        (Op::Hold(s("c")), Outcome::IsDir),
        // A kept writer: others get Busy, its writes stay private until commit.
        (Op::OpenWriter(s("c/b"), WriterMode::Update), Outcome::Ok),
        (Op::WriterWrite(0, 10, d(5)), Outcome::Ok),
        (Op::WriteAt(s("c/b"), 0, d(1)), Outcome::Busy),
        (Op::SetLen(s("c/b"), 0), Outcome::Busy),
        (Op::Append(s("c/b"), d(1)), Outcome::Busy),
        (Op::OpenWriter(s("c/b"), WriterMode::Create), Outcome::Busy),
        (Op::Read(s("c/b")), Outcome::Ok),
        (Op::WriterRead(0), Outcome::Ok),
        (Op::WriterCommit(0), Outcome::Ok),
        (Op::Read(s("c/b")), Outcome::Ok),
        // Renamed while written: the commit lands at the new name.
        (Op::Rename(s("c/b"), s("moved")), Outcome::Ok),
        (Op::WriterWrite(0, 0, d(2000)), Outcome::Ok),
        (Op::WriterCommit(0), Outcome::Ok),
        (Op::Read(s("moved")), Outcome::Ok),
        // Replaced while written: the writer goes on with an orphan.
        (Op::Write(s("moved"), d(9)), Outcome::Ok),
        (Op::WriterWrite(0, 0, d(3000)), Outcome::Ok),
        (Op::WriterCommit(0), Outcome::Ok),
        (Op::Read(s("moved")), Outcome::Ok),
        (Op::WriterClose(0), Outcome::Ok),
        (
            Op::OpenWriter(s("fresh"), WriterMode::Truncate),
            Outcome::Ok,
        ),
        (Op::WriterWrite(0, 0, d(100)), Outcome::Ok),
        (Op::RemoveFile(s("fresh")), Outcome::Ok),
        (Op::WriterClose(0), Outcome::Ok),
        (Op::Reopen(Durability::Full), Outcome::Ok),
        (Op::Read(s("c/b")), Outcome::NotFound),
        (Op::Read(s("fresh")), Outcome::NotFound),
    ];
    let mut model = Model::default();
    let mut subject = Subject::memory();
    for (i, (op, want)) in script.iter().enumerate() {
        let op: &Op = op;
        let (m, s) = (model.apply(op), subject.apply(op));
        assert_eq!(&m.0, want, "model, step {i}: {op:?}");
        assert_eq!(&s.0, want, "whefs, step {i}: {op:?}");
        assert!(
            m.1 == s.1,
            "step {i}: {op:?}: whefs shows {:.200?}, the model {:.200?}",
            s.1,
            m.1
        );
    }
    assert_tree_equals(subject.fs(), &model, "after the script");
}
