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
//! Named snapshots are operations too: the model keeps a copy of the
//! committed namespace each one was taken of, and a snapshot's view (one
//! opened for a step, or kept open across steps, even after the snapshot
//! is deleted) must show exactly that copy and refuse writes; `restore`
//! of the whole container or of one path must bring back exactly the
//! snapshot's entries (a path the snapshot lacks is removed, hard links
//! inside the restored tree stay links) in one commit or change nothing;
//! `diff` must list exactly the added and removed paths and every file
//! whose content changed; `compact` must be `Busy` while this open has
//! readers, writers or views kept, and otherwise change nothing visible.
//! After each of these steps `check()` must be clean and the whole tree
//! must equal the model; after the sequence every snapshot is compared
//! again after a compaction and a reopen.
//!
//! Two backends: a real container file (reopened with a random durability)
//! and a memory container (reopened from a byte snapshot via
//! `MemoryStorage::from_vec`).
//!
//! Case counts: 256 cases of up to 40 operations per backend by default;
//! `WHEFS_LONG=1` runs 2000 cases of up to 120; `PROPTEST_CASES` overrides
//! the case count either way (on the container file one case in ten
//! compacts, see `file_ops`). A failure prints the shrunk operation list.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use whefs::storage::MemoryStorage;
use whefs::{ChangeKind, Durability, Error, FileType, Fs, FsOptions};

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
    /// `Fs::create_snapshot`: the latest committed state, kept by name.
    CreateSnapshot(P),
    /// `Fs::delete_snapshot`.
    DeleteSnapshot(P),
    /// Open a view of the snapshot, walk and read it whole (it must equal
    /// the model's copy) and try a write through it (refused).
    CheckSnapshot(P),
    /// Open a view and keep it: it must go on showing its snapshot, even
    /// after the snapshot is deleted (the oldest is dropped when too many).
    HoldSnapshot(P),
    /// Walk the n-th kept view in full.
    CheckHeldSnapshot(usize),
    /// `Fs::snapshots`: names and counts.
    ListSnapshots,
    /// `Fs::restore(snapshot, path)`; the empty path is the whole container.
    Restore(P, P),
    /// `view.diff(&fs)`: from the snapshot to the latest state.
    Diff(P),
    /// `Fs::compact`.
    Compact,
}

/// A path as generated: a literal one, or the n-th existing file or
/// directory (modulo their number) at the time the step runs, so that
/// sequences hit existing names often.
#[derive(Clone, Debug)]
enum Target {
    Path(String),
    File(usize),
    Dir(usize),
    /// The n-th existing snapshot's name (`s0` if there is none).
    Snapshot(usize),
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
            Target::Snapshot(n) if m.snapshots.is_empty() => "s0".to_string(),
            Target::Snapshot(n) => nth(*n, Box::new(m.snapshots.keys())),
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
            Op::CreateSnapshot(n) => Op::CreateSnapshot(n.pick(m)),
            Op::DeleteSnapshot(n) => Op::DeleteSnapshot(n.pick(m)),
            Op::CheckSnapshot(n) => Op::CheckSnapshot(n.pick(m)),
            Op::HoldSnapshot(n) => Op::HoldSnapshot(n.pick(m)),
            Op::CheckHeldSnapshot(n) => Op::CheckHeldSnapshot(*n),
            Op::ListSnapshots => Op::ListSnapshots,
            Op::Restore(n, p) => Op::Restore(n.pick(m), p.pick(m)),
            Op::Diff(n) => Op::Diff(n.pick(m)),
            Op::Compact => Op::Compact,
        }
    }
}

impl<P> Op<P> {
    /// Whether the step changes snapshots or the whole container: after it
    /// the test compares everything (and runs `check()`).
    fn checks_everything(&self) -> bool {
        matches!(
            self,
            Op::CreateSnapshot(_) | Op::DeleteSnapshot(_) | Op::Restore(..) | Op::Compact
        )
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

/// Snapshot names: an existing one, or a few literal ones (rarely an
/// invalid one, `Arg`).
fn snap_name() -> impl Strategy<Value = Target> {
    let name = |s: &str| Just(Target::Path(s.to_string()));
    prop_oneof![
        5 => any::<usize>().prop_map(Target::Snapshot),
        3 => name("s0"),
        2 => name("s1"),
        1 => name("s2"),
        1 => name(BAD_SNAPSHOT_NAME),
    ]
}

/// A name for a new snapshot: mostly a free one while there are few.
fn new_snap_name() -> impl Strategy<Value = Target> {
    let name = |s: &str| Just(Target::Path(s.to_string()));
    prop_oneof![
        4 => name("s0"),
        4 => name("s1"),
        3 => name("s2"),
        1 => any::<usize>().prop_map(Target::Snapshot),
        1 => name(BAD_SNAPSHOT_NAME),
    ]
}

/// What a restore brings back: everything, or one path.
fn restore_target() -> impl Strategy<Value = Target> {
    prop_oneof![1 => Just(Target::Path(String::new())), 3 => target()]
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
        5 => new_snap_name().prop_map(Op::CreateSnapshot),
        1 => snap_name().prop_map(Op::DeleteSnapshot),
        1 => snap_name().prop_map(Op::CheckSnapshot),
        1 => snap_name().prop_map(Op::HoldSnapshot),
        1 => n().prop_map(Op::CheckHeldSnapshot),
        1 => Just(Op::ListSnapshots),
        3 => (snap_name(), restore_target()).prop_map(|(s, p)| Op::Restore(s, p)),
        1 => snap_name().prop_map(Op::Diff),
        1 => Just(Op::Compact),
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
    /// Named snapshots: the committed namespace each was taken of (a model
    /// with no handles and no snapshots of its own).
    snapshots: BTreeMap<String, Model>,
    /// What each kept snapshot view must show.
    views: Vec<Tree>,
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

/// Readers, writers and snapshot views kept at once; the oldest is closed
/// to make room.
const MAX_HELD: usize = 4;
const MAX_WRITERS: usize = 3;
const MAX_VIEWS: usize = 2;

/// A snapshot name whefs refuses (`Arg`): it has a `/`.
const BAD_SNAPSHOT_NAME: &str = "bad/name";

/// A whole namespace as a walk sees it: files with their content, and the
/// directories other than the root.
type Tree = (BTreeMap<String, Vec<u8>>, BTreeSet<String>);

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
    /// A snapshot view walked whole.
    Tree(Tree),
    /// `Fs::snapshots`: name, files (orphans included) and directories
    /// (the root included) of each.
    Snapshots(Vec<(String, u64, u64)>),
    /// What whefs' `diff` listed, in its order.
    Diff(Vec<(ChangeKind, String)>),
    /// What the model expects of a diff: exactly these added and removed
    /// paths; every path of `must` changed, and besides them only paths of
    /// `may` (files whose content is the same, but that may have been
    /// rewritten: the model does not track modification times).
    DiffBounds {
        added: BTreeSet<String>,
        removed: BTreeSet<String>,
        must: BTreeSet<String>,
        may: BTreeSet<String>,
    },
}

/// Whether whefs' answer agrees with the model's prediction.
fn agrees(got: &Seen, want: &Seen) -> bool {
    match (got, want) {
        (
            Seen::Diff(changes),
            Seen::DiffBounds {
                added,
                removed,
                must,
                may,
            },
        ) => {
            let of = |k: ChangeKind| -> Vec<String> {
                changes
                    .iter()
                    .filter(|(kind, _)| *kind == k)
                    .map(|(_, p)| p.trim_start_matches('/').to_string())
                    .collect()
            };
            let set = |v: &Vec<String>| v.iter().cloned().collect::<BTreeSet<_>>();
            let (a, r, c) = (
                of(ChangeKind::Added),
                of(ChangeKind::Removed),
                of(ChangeKind::Changed),
            );
            let sorted = changes.windows(2).all(|w| w[0].1 <= w[1].1);
            sorted
                && set(&a).len() == a.len()
                && set(&r).len() == r.len()
                && set(&c).len() == c.len()
                && set(&a) == *added
                && set(&r) == *removed
                && must.is_subset(&set(&c))
                && set(&c).iter().all(|p| must.contains(p) || may.contains(p))
        }
        _ => got == want,
    }
}

/// Whether whefs takes `name` as a snapshot name.
fn valid_snapshot_name(name: &str) -> Result<(), Outcome> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        Err(Outcome::Arg)
    } else {
        Ok(())
    }
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

    /// What a snapshot taken now keeps: the committed namespace (kept
    /// writers' views are not committed; orphans count as files).
    fn saved(&self) -> Model {
        Model {
            files: self.files.clone(),
            inodes: self.inodes.clone(),
            next_ino: self.next_ino,
            dirs: self.dirs.clone(),
            ..Model::default()
        }
    }

    fn snapshot(&self, name: &str) -> Result<&Model, Outcome> {
        valid_snapshot_name(name)?;
        self.snapshots.get(name).ok_or(Outcome::NotFound)
    }

    /// Every path at or below `p` (the whole tree for the root, `""`).
    fn at_or_below(p: &str, q: &str) -> bool {
        p.is_empty() || q == p || q.starts_with(&format!("{p}/"))
    }

    /// Removes `p` and everything below it (the root: everything in it).
    fn remove_tree(&mut self, p: &str) {
        let files: Vec<String> = self
            .files
            .keys()
            .filter(|q| Model::at_or_below(p, q))
            .cloned()
            .collect();
        for q in files {
            self.unlink(&q);
        }
        self.dirs.retain(|q| !Model::at_or_below(p, q));
    }

    /// `Fs::restore(name, target)` as whefs does it: look the path up in
    /// the snapshot, then now (a file in the middle of it is `NotDir`,
    /// either time); in one commit remove what is there now and copy the
    /// snapshot's entries back as new inodes, names that shared an inode
    /// in the snapshot sharing one again. Re-creating the path needs its
    /// parent now (`NotFound` otherwise, and nothing changes).
    fn restore(&mut self, name: &str, target: &str) -> Result<(), Outcome> {
        let snap = self.snapshot(name)?;
        let look = |m: &Model| match m.resolve(target) {
            Ok(k) => Ok(Some(k)),
            Err(Outcome::NotFound) => Ok(None),
            Err(e) => Err(e),
        };
        let then = look(snap)?;
        let now = look(self)?;
        if then.is_some() && !target.is_empty() {
            self.resolve_parent(target)?;
        }
        let snap = self.snapshots[name].saved();
        if now.is_some() {
            self.remove_tree(target);
        }
        if then.is_some() {
            self.dirs.extend(
                snap.dirs
                    .iter()
                    .filter(|q| Model::at_or_below(target, q))
                    .cloned(),
            );
            let mut new_ino = BTreeMap::new();
            for (q, ino) in &snap.files {
                if !Model::at_or_below(target, q) {
                    continue;
                }
                let fresh = *new_ino.entry(*ino).or_insert_with(|| {
                    self.next_ino += 1;
                    self.inodes.insert(self.next_ino, snap.inodes[ino].clone());
                    self.next_ino
                });
                self.files.insert(q.clone(), fresh);
            }
        }
        Ok(())
    }

    /// What `old.diff(new)` must list.
    fn diff(old: &Model, new: &Model) -> Seen {
        let kinds = |m: &Model| -> BTreeMap<String, FileType> {
            m.files
                .keys()
                .map(|p| (p.clone(), FileType::File))
                .chain(m.dirs.iter().map(|p| (p.clone(), FileType::Dir)))
                .collect()
        };
        let (a, b) = (kinds(old), kinds(new));
        let (mut added, mut removed, mut must, mut may) = Default::default();
        let (added, removed, must, may): (
            &mut BTreeSet<String>,
            &mut BTreeSet<String>,
            &mut BTreeSet<String>,
            &mut BTreeSet<String>,
        ) = (&mut added, &mut removed, &mut must, &mut may);
        for (p, ka) in &a {
            match b.get(p) {
                None => {
                    removed.insert(p.clone());
                }
                Some(kb) if kb != ka => {
                    removed.insert(p.clone());
                    added.insert(p.clone());
                }
                Some(FileType::File) => {
                    if old.content(p) != new.content(p) {
                        must.insert(p.clone());
                    } else {
                        may.insert(p.clone());
                    }
                }
                // A directory changes only by its own metadata.
                Some(_) => {}
            }
        }
        for p in b.keys() {
            if !a.contains_key(p) {
                added.insert(p.clone());
            }
        }
        Seen::DiffBounds {
            added: std::mem::take(added),
            removed: std::mem::take(removed),
            must: std::mem::take(must),
            may: std::mem::take(may),
        }
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
                self.views.clear();
            }
            Op::CreateSnapshot(n) => {
                valid_snapshot_name(n)?;
                if self.snapshots.contains_key(n) {
                    return Err(Outcome::Exists);
                }
                let saved = self.saved();
                self.snapshots.insert(n.clone(), saved);
            }
            Op::DeleteSnapshot(n) => {
                self.snapshot(n)?;
                self.snapshots.remove(n);
            }
            Op::CheckSnapshot(n) => return Ok(Seen::Tree(self.snapshot(n)?.tree())),
            Op::HoldSnapshot(n) => {
                let tree = self.snapshot(n)?.tree();
                if self.views.len() == MAX_VIEWS {
                    self.views.remove(0);
                }
                self.views.push(tree);
            }
            Op::CheckHeldSnapshot(i) => {
                if !self.views.is_empty() {
                    return Ok(Seen::Tree(self.views[i % self.views.len()].clone()));
                }
            }
            Op::ListSnapshots => {
                return Ok(Seen::Snapshots(
                    self.snapshots
                        .iter()
                        .map(|(n, s)| (n.clone(), s.inodes.len() as u64, s.dirs.len() as u64 + 1))
                        .collect(),
                ))
            }
            Op::Restore(n, p) => self.restore(n, p)?,
            Op::Diff(n) => return Ok(Model::diff(self.snapshot(n)?, self)),
            Op::Compact => {
                // Every kept handle and view pins a state of this open.
                if !self.held.is_empty() || !self.writers.is_empty() || !self.views.is_empty() {
                    return Err(Outcome::Busy);
                }
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
    /// Snapshot views kept open.
    views: Vec<Fs>,
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
            views: Vec::new(),
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
            views: Vec::new(),
        }
    }

    fn fs(&self) -> &Fs {
        self.fs.as_ref().expect("open between steps")
    }

    /// Closes kept writers (committing, in order), readers and views.
    fn close_handles(&mut self) -> whefs::Result<()> {
        self.held.clear();
        self.views.clear();
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
            Op::CreateSnapshot(n) => fs.create_snapshot(n).map(drop),
            Op::DeleteSnapshot(n) => fs.delete_snapshot(n).map(drop),
            Op::CheckSnapshot(n) => fs.open_snapshot(n).map(|v| {
                seen = Seen::Tree(walk(&v));
                assert_read_only(&v);
            }),
            Op::HoldSnapshot(n) => fs.open_snapshot(n).map(|v| {
                if self.views.len() == MAX_VIEWS {
                    self.views.remove(0);
                }
                self.views.push(v);
            }),
            Op::CheckHeldSnapshot(i) => {
                if !self.views.is_empty() {
                    seen = Seen::Tree(walk(&self.views[i % self.views.len()]));
                }
                Ok(())
            }
            Op::ListSnapshots => fs.snapshots().map(|l| {
                seen = Seen::Snapshots(l.into_iter().map(|s| (s.name, s.files, s.dirs)).collect())
            }),
            Op::Restore(n, p) => fs.restore(n, p),
            Op::Diff(n) => fs
                .open_snapshot(n)
                .and_then(|v| v.diff(&fs))
                .map(|changes| {
                    seen = Seen::Diff(changes.into_iter().map(|c| (c.kind, c.path)).collect())
                }),
            Op::Compact => fs.compact().map(assert_no_growth),
        };
        (outcome_of(r), seen)
    }
}

/// A compaction never leaves the container larger than it was.
fn assert_no_growth(r: whefs::CompactReport) {
    assert!(
        r.pages_after <= r.pages_before,
        "compaction grew the container: {r:?}"
    );
}

/// A snapshot view refuses every kind of write.
fn assert_read_only(v: &Fs) {
    let refused = |what: &str, r: whefs::Result<()>| match r {
        Err(Error::Access(_)) => {}
        other => panic!("{what} through a snapshot view: {other:?}, not Access"),
    };
    refused("write", v.write("probe", b"x"));
    refused("mkdir", v.create_dir("probe"));
    refused("open for writing", v.open_file("probe", "c").map(drop));
    refused("compact", v.compact().map(drop));
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
fn walk(fs: &Fs) -> Tree {
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

/// Every snapshot is listed and its view equals the model's copy.
fn assert_snapshots_equal(fs: &Fs, model: &Model, what: &str) {
    let names: Vec<String> = fs
        .snapshots()
        .expect("list snapshots")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        model.snapshots.keys().cloned().collect::<Vec<_>>(),
        "{what}: snapshot names"
    );
    for (name, saved) in &model.snapshots {
        let view = fs.open_snapshot(name).expect("open a listed snapshot");
        assert!(
            walk(&view) == saved.tree(),
            "{what}: snapshot {name} differs from the model's copy"
        );
    }
}

fn stats_enabled() -> bool {
    std::env::var_os("WHEFS_MODEL_STATS").is_some()
}

/// Runs one sequence; `final_compaction` compacts after closing the kept
/// handles.
fn run_sequence(mut subject: Subject, steps: &[Op<Target>], final_compaction: bool) {
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
            agrees(&got.1, &want.1),
            "step {i}: {op:?}: whefs shows {:.200?}, the model {:.200?}",
            got.1,
            want.1
        );
        if op.checks_everything() {
            assert_tree_equals(subject.fs(), &model, &format!("step {i}: after {op:?}"));
        }
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
    model.views.clear();
    assert_tree_equals(subject.fs(), &model, "after closing the kept handles");
    if final_compaction {
        let report = subject
            .fs()
            .compact()
            .expect("compaction with no handles open");
        assert_no_growth(report);
        assert_tree_equals(subject.fs(), &model, "after a final compaction");
        assert_snapshots_equal(subject.fs(), &model, "after a final compaction");
    }
    subject.reopen(Durability::Full);
    assert_tree_equals(subject.fs(), &model, "after a final reopen");
    assert_snapshots_equal(subject.fs(), &model, "after a final reopen");
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

/// Sequences for a container file, and whether each compacts. A
/// compaction syncs a dozen times whatever the durability, so on a file
/// one case in ten compacts (in its steps and at the end) and the others
/// drop their `Compact` steps: the test takes about as long as it did
/// before compaction was a step. The memory image compacts in every case.
fn file_ops() -> impl Strategy<Value = (Vec<Op<Target>>, bool)> {
    (ops(), prop::bool::weighted(0.1)).prop_map(|(mut ops, compact)| {
        if !compact {
            ops.retain(|op| !matches!(op, Op::Compact));
        }
        (ops, compact)
    })
}

#[test]
fn random_operations_on_a_container_file_match_the_model() {
    TestRunner::new(config())
        .run(&file_ops(), |(ops, compact)| {
            run_sequence(Subject::file(), &ops, compact);
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_operations_on_a_memory_image_match_the_model() {
    TestRunner::new(config())
        .run(&ops(), |ops| {
            run_sequence(Subject::memory(), &ops, true);
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

/// The snapshot operations' predictions, pinned on a hand-written
/// sequence: error kinds, a view kept past its snapshot's deletion,
/// restores of a subtree (hard links kept), of a missing parent (nothing
/// changes), of a path neither state has, of everything, and compaction
/// refused while anything is kept open.
#[test]
fn model_predicts_snapshot_outcomes() {
    let d = |len, seed| Data { len, seed };
    let s = |p: &str| p.to_string();
    let script = [
        (Op::Write(s("f"), d(5000, 1)), Outcome::Ok),
        (Op::Mkdir(s("d")), Outcome::Ok),
        (Op::Write(s("d/x"), d(100, 2)), Outcome::Ok),
        (Op::HardLink(s("d/x"), s("d/y")), Outcome::Ok),
        (Op::CreateSnapshot(s("s0")), Outcome::Ok),
        (Op::CreateSnapshot(s("s0")), Outcome::Exists),
        (Op::CreateSnapshot(s(BAD_SNAPSHOT_NAME)), Outcome::Arg),
        (Op::DeleteSnapshot(s("s9")), Outcome::NotFound),
        (Op::CheckSnapshot(s("s9")), Outcome::NotFound),
        (Op::Restore(s("s9"), s("")), Outcome::NotFound),
        (Op::Diff(s(BAD_SNAPSHOT_NAME)), Outcome::Arg),
        (Op::Write(s("f"), d(7, 3)), Outcome::Ok),
        (Op::RemoveFile(s("d/y")), Outcome::Ok),
        (Op::Write(s("d/z"), d(3, 4)), Outcome::Ok),
        (Op::Diff(s("s0")), Outcome::Ok),
        (Op::ListSnapshots, Outcome::Ok),
        (Op::CheckSnapshot(s("s0")), Outcome::Ok),
        // A subtree comes back with its hard link; the rest stays.
        (Op::Restore(s("s0"), s("d")), Outcome::Ok),
        (Op::Stat(s("d/y")), Outcome::Ok),
        (Op::Read(s("d/z")), Outcome::NotFound),
        (Op::Read(s("f")), Outcome::Ok),
        // A kept view outlives its snapshot and makes compaction Busy.
        (Op::HoldSnapshot(s("s0")), Outcome::Ok),
        (Op::Compact, Outcome::Busy),
        (Op::DeleteSnapshot(s("s0")), Outcome::Ok),
        (Op::CheckHeldSnapshot(0), Outcome::Ok),
        (Op::CheckSnapshot(s("s0")), Outcome::NotFound),
        (Op::Reopen(Durability::Full), Outcome::Ok),
        (Op::Compact, Outcome::Ok),
        (Op::CreateSnapshot(s("s1")), Outcome::Ok),
        (Op::RemoveFile(s("d/x")), Outcome::Ok),
        (Op::RemoveFile(s("d/y")), Outcome::Ok),
        (Op::RemoveDir(s("d")), Outcome::Ok),
        // Its parent is gone: the restore fails and changes nothing.
        (Op::Restore(s("s1"), s("d/x")), Outcome::NotFound),
        (Op::Restore(s("s1"), s("f/g")), Outcome::NotDir),
        (Op::Restore(s("s1"), s("nowhere")), Outcome::Ok),
        (Op::Write(s("extra"), d(10, 5)), Outcome::Ok),
        (Op::Restore(s("s1"), s("")), Outcome::Ok),
        (Op::Read(s("extra")), Outcome::NotFound),
        (Op::Stat(s("d/x")), Outcome::Ok),
        // Kept readers and writers make compaction Busy too.
        (Op::OpenWriter(s("f"), WriterMode::Update), Outcome::Ok),
        (Op::Compact, Outcome::Busy),
        (Op::WriterClose(0), Outcome::Ok),
        (Op::Hold(s("f")), Outcome::Ok),
        (Op::Compact, Outcome::Busy),
        (Op::Reopen(Durability::Normal), Outcome::Ok),
        (Op::Compact, Outcome::Ok),
    ];
    let mut model = Model::default();
    let mut subject = Subject::memory();
    for (i, (op, want)) in script.iter().enumerate() {
        let op: &Op = op;
        let (m, s) = (model.apply(op), subject.apply(op));
        assert_eq!(&m.0, want, "model, step {i}: {op:?}");
        assert_eq!(&s.0, want, "whefs, step {i}: {op:?}");
        assert!(
            agrees(&s.1, &m.1),
            "step {i}: {op:?}: whefs shows {:.300?}, the model {:.300?}",
            s.1,
            m.1
        );
        if op.checks_everything() {
            assert_tree_equals(subject.fs(), &model, &format!("step {i}: after {op:?}"));
        }
    }
    assert_tree_equals(subject.fs(), &model, "after the script");
    assert_snapshots_equal(subject.fs(), &model, "after the script");
    assert_eq!(model.nlink("d/x"), 2, "the restore kept the hard link");
}

/// Found by the random sequences (`[Write(File(0), Data(0b, seed 0))]`,
/// then the final compaction): compacting a small container made it
/// larger — one empty file, 3 pages before and 15 after, in 13 commits
/// (the rounds never settled; fixed on main by "compact: each commit
/// stocks the pool from its own lowest free pages ..."). Kept as a
/// regression test on a few small shapes.
#[test]
fn compaction_never_grows_a_container() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut grew = Vec::new();
    for (files, len) in [(1usize, 0usize), (2, 100), (5, 5000), (20, 0)] {
        let path = dir.path().join(format!("grow-{files}-{len}.whefs"));
        let fs = FsOptions::new()
            .create(true)
            .durability(Durability::Off)
            .open(&path)
            .expect("create container");
        for i in 0..files {
            fs.write(&format!("f{i}"), &Data { len, seed: 1 }.bytes())
                .expect("write");
        }
        let before = std::fs::metadata(&path).expect("stat").len();
        let report = fs.compact().expect("compact, nothing open");
        let after = std::fs::metadata(&path).expect("stat").len();
        fs.check().expect("check after compaction");
        if report.pages_after > report.pages_before || after > before {
            grew.push(format!(
                "{files} files of {len} bytes: {before} -> {after} bytes, {report:?}"
            ));
        }
    }
    assert!(
        grew.is_empty(),
        "compaction grew containers:\n{}",
        grew.join("\n")
    );
}
