//! Shared harness of the power-loss sweep (`tests/crash.rs`) and the
//! I/O-error sweep (`tests/io_errors.rs`): scripted workloads, a model of
//! the whole namespace after every step, a session that runs the steps on a
//! real `Fs`, and a dump of a container to compare against the model.
//!
//! The invariant both sweeps check against the model: whatever goes wrong,
//! a container shows exactly one committed state — the one after some step
//! of the workload — never a mix of two.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use whefs::storage::fault::FaultStorage;
use whefs::storage::Storage;
use whefs::{Durability, Error, FaultSwitches, File, FileType, Fs};

/// Everything a container shows: path → `None` for a directory, the bytes
/// for a file. The root is implied.
pub type State = BTreeMap<String, Option<Vec<u8>>>;

/// One step of a workload: one commit (except `OpenReader`, which commits
/// nothing and only opens a snapshot to check later).
#[derive(Clone, Debug)]
pub enum Step {
    /// `Fs::write`: create or replace a whole file, one commit.
    Write { path: String, data: Vec<u8> },
    /// `Fs::create_dir_all`, one commit.
    MkdirAll(String),
    /// `Fs::remove_file`.
    Remove(String),
    /// `Fs::remove_dir`.
    RemoveDir(String),
    /// `Fs::rename`.
    Rename { from: String, to: String },
    /// Overwrites pieces of an existing file through one long-lived `"r+"`
    /// handle (opened at the first patch of `path`), then `commit()` — or
    /// `sync_all()` when `sync` is set.
    Patch {
        path: String,
        writes: Vec<(u64, Vec<u8>)>,
        sync: bool,
    },
    /// Writes pieces through the long-lived `"r+"` handle of `path` without
    /// committing (no commit: the next `Patch` of `path` publishes them).
    /// Large stages make the handle write its pages before the commit.
    Stage {
        path: String,
        writes: Vec<(u64, Vec<u8>)>,
    },
    /// Opens a read handle on `path`. Every later step checks that it still
    /// reads the content it had when opened (DESIGN G2).
    OpenReader(String),
    /// Closes every handle and the `Fs` (as a process that exits), then
    /// opens the same storage again with this durability. No commit.
    Reopen(Durability),
    /// `Fs::create_snapshot`: the model keeps a copy of the namespace
    /// under `@name/`.
    Snapshot(String),
    /// `Fs::delete_snapshot`.
    DeleteSnapshot(String),
    /// `Fs::compact` (always durable: it syncs before every commit).
    Compact,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ws = |w: &Vec<(u64, Vec<u8>)>| {
            w.iter()
                .map(|(o, b)| format!("{}@{o}", b.len()))
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            Step::Write { path, data } => write!(f, "write {path:?} ({} bytes)", data.len()),
            Step::MkdirAll(p) => write!(f, "mkdir -p {p:?}"),
            Step::Remove(p) => write!(f, "rm {p:?}"),
            Step::RemoveDir(p) => write!(f, "rmdir {p:?}"),
            Step::Rename { from, to } => write!(f, "mv {from:?} {to:?}"),
            Step::Patch { path, writes, sync } => write!(
                f,
                "patch {path:?} [{}] {}",
                ws(writes),
                if *sync { "sync_all" } else { "commit" }
            ),
            Step::Stage { path, writes } => write!(f, "stage {path:?} [{}]", ws(writes)),
            Step::OpenReader(p) => write!(f, "open reader {p:?}"),
            Step::Reopen(d) => write!(f, "reopen ({d:?})"),
            Step::Snapshot(n) => write!(f, "snapshot {n:?}"),
            Step::DeleteSnapshot(n) => write!(f, "delete snapshot {n:?}"),
            Step::Compact => write!(f, "compact"),
        }
    }
}

impl Step {
    /// Whether the step publishes a commit.
    pub fn commits(&self) -> bool {
        !matches!(
            self,
            Step::OpenReader(_) | Step::Stage { .. } | Step::Reopen(_)
        )
    }
}

/// For each prefix of `steps` run from an open with durability `start`:
/// `floor[i]` is the number of steps after which the state is durable once
/// the first `i` steps were acknowledged (a commit at `Full`, or a
/// `sync_all`, makes everything before it durable).
pub fn durable_floors(steps: &[Step], start: Durability) -> Vec<usize> {
    let mut floors = vec![0];
    let mut d = start;
    let mut floor = 0;
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Reopen(nd) => d = *nd,
            Step::Patch { sync: true, .. } | Step::Compact => floor = i + 1,
            s if s.commits() && d == Durability::Full => floor = i + 1,
            _ => {}
        }
        floors.push(floor);
    }
    floors
}

/// A named list of steps.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Workload {
    /// The model's state before step 0 and after every step: `states[i]` is
    /// the state after `i` steps.
    pub fn states(&self) -> Vec<State> {
        let mut states = vec![State::new()];
        let mut m = Model::default();
        for (i, step) in self.steps.iter().enumerate() {
            m.apply(step).unwrap_or_else(|e| {
                panic!(
                    "workload {}: step {} ({step}) is invalid in the model: {e}",
                    self.name,
                    i + 1
                )
            });
            states.push(m.state.clone());
        }
        states
    }
}

/// Deterministic content: every (seed, offset) gives a different-looking byte run.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn parent(path: &str) -> Option<&str> {
    path.rfind('/').map(|i| &path[..i])
}

fn need_parent(s: &State, path: &str) -> Result<(), String> {
    match parent(path) {
        None => Ok(()),
        Some(p) => match s.get(p) {
            Some(None) => Ok(()),
            _ => Err(format!("parent of {path:?} is not a directory")),
        },
    }
}

/// The model: the committed state plus the writes staged in handles.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub state: State,
    pub staged: BTreeMap<String, Vec<(u64, Vec<u8>)>>,
}

impl Model {
    /// Applies a step; an error means the step would fail.
    pub fn apply(&mut self, step: &Step) -> Result<(), String> {
        match step {
            // Closing a handle commits what it staged; workloads commit first.
            Step::Reopen(_) if !self.staged.is_empty() => {
                Err("a reopen with staged writes is not modelled".into())
            }
            Step::Stage { path, writes } => {
                if !matches!(self.state.get(path), Some(Some(_))) {
                    return Err(format!("{path:?} is not a file"));
                }
                self.staged
                    .entry(path.clone())
                    .or_default()
                    .extend(writes.iter().cloned());
                Ok(())
            }
            Step::Patch { path, writes, sync } => {
                let mut all = self.staged.remove(path).unwrap_or_default();
                all.extend(writes.iter().cloned());
                apply(
                    &mut self.state,
                    &Step::Patch {
                        path: path.clone(),
                        writes: all,
                        sync: *sync,
                    },
                )
            }
            _ => apply(&mut self.state, step),
        }
    }

    /// A failed write or commit through `path`'s handle discards what it
    /// had staged (see [`Session::step`]).
    pub fn discard_staged(&mut self, step: &Step) {
        if let Step::Patch { path, .. } | Step::Stage { path, .. } = step {
            self.staged.remove(path);
        }
    }
}

fn apply_writes(data: &mut Vec<u8>, writes: &[(u64, Vec<u8>)]) {
    for (off, bytes) in writes {
        let off = *off as usize;
        if data.len() < off + bytes.len() {
            data.resize(off + bytes.len(), 0);
        }
        data[off..off + bytes.len()].copy_from_slice(bytes);
    }
}

/// Applies a committing step to a state; an error means the step would fail.
pub fn apply(s: &mut State, step: &Step) -> Result<(), String> {
    match step {
        Step::Write { path, data } => {
            need_parent(s, path)?;
            if let Some(None) = s.get(path) {
                return Err(format!("{path:?} is a directory"));
            }
            s.insert(path.clone(), Some(data.clone()));
        }
        Step::MkdirAll(path) => {
            let mut at = String::new();
            for part in path.split('/') {
                if !at.is_empty() {
                    at.push('/');
                }
                at.push_str(part);
                match s.get(&at) {
                    Some(None) => {}
                    Some(Some(_)) => return Err(format!("{at:?} is a file")),
                    None => {
                        s.insert(at.clone(), None);
                    }
                }
            }
        }
        Step::Remove(path) => match s.get(path) {
            Some(Some(_)) => {
                s.remove(path);
            }
            _ => return Err(format!("{path:?} is not a file")),
        },
        Step::RemoveDir(path) => {
            if s.get(path) != Some(&None) {
                return Err(format!("{path:?} is not a directory"));
            }
            let prefix = format!("{path}/");
            if s.keys().any(|k| k.starts_with(&prefix)) {
                return Err(format!("{path:?} is not empty"));
            }
            s.remove(path);
        }
        Step::Rename { from, to } => {
            let src = s
                .get(from)
                .cloned()
                .ok_or_else(|| format!("{from:?} is missing"))?;
            need_parent(s, to)?;
            if to.starts_with(&format!("{from}/")) {
                return Err(format!("cannot move {from:?} into itself"));
            }
            match (&src, s.get(to)) {
                (_, None) => {}
                (Some(_), Some(Some(_))) => {}
                (None, Some(None)) if !s.keys().any(|k| k.starts_with(&format!("{to}/"))) => {}
                _ => return Err(format!("cannot rename {from:?} over {to:?}")),
            }
            let prefix = format!("{from}/");
            let moved: Vec<(String, Option<Vec<u8>>)> = s
                .iter()
                .filter(|(k, _)| *k == from || k.starts_with(&prefix))
                .map(|(k, v)| (format!("{to}{}", &k[from.len()..]), v.clone()))
                .collect();
            s.retain(|k, _| k != from && !k.starts_with(&prefix));
            s.extend(moved);
        }
        Step::Patch { path, writes, .. } => {
            let Some(Some(data)) = s.get_mut(path) else {
                return Err(format!("{path:?} is not a file"));
            };
            apply_writes(data, writes);
        }
        Step::Stage { .. } => return Err("a staged write needs the model's handles".into()),
        Step::Reopen(_) | Step::Compact => {}
        Step::Snapshot(name) => {
            let at = format!("@{name}");
            if s.contains_key(&at) {
                return Err(format!("snapshot {name:?} exists"));
            }
            let copy: Vec<(String, Option<Vec<u8>>)> = s
                .iter()
                .filter(|(k, _)| !k.starts_with('@'))
                .map(|(k, v)| (format!("{at}/{k}"), v.clone()))
                .collect();
            s.insert(at, None);
            s.extend(copy);
        }
        Step::DeleteSnapshot(name) => {
            let at = format!("@{name}");
            if s.remove(&at).is_none() {
                return Err(format!("no snapshot {name:?}"));
            }
            let prefix = format!("{at}/");
            s.retain(|k, _| !k.starts_with(&prefix));
        }
        Step::OpenReader(path) => {
            if !matches!(s.get(path), Some(Some(_))) {
                return Err(format!("{path:?} is not a file"));
            }
        }
    }
    Ok(())
}

/// Reads everything a container shows: its namespace, and each named
/// snapshot's under `@name/`.
pub fn dump(fs: &Fs) -> whefs::Result<State> {
    let mut out = dump_namespace(fs)?;
    for snap in fs.snapshots()? {
        let at = format!("@{}", snap.name);
        for (k, v) in dump_namespace(&fs.open_snapshot(&snap.name)?)? {
            out.insert(format!("{at}/{k}"), v);
        }
        out.insert(at, None);
    }
    Ok(out)
}

/// Reads the namespace of the state `fs` reads.
fn dump_namespace(fs: &Fs) -> whefs::Result<State> {
    let mut out = State::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        let listing = fs.read_dir(if dir.is_empty() { "/" } else { &dir })?;
        for e in listing {
            let e = e?;
            let path = if dir.is_empty() {
                e.name.clone()
            } else {
                format!("{dir}/{}", e.name)
            };
            match e.kind {
                FileType::Dir => {
                    out.insert(path.clone(), None);
                    dirs.push(path);
                }
                FileType::File => {
                    let data = fs.read(&path)?;
                    out.insert(path, Some(data));
                }
                FileType::Symlink => {
                    let target = fs.read_link(&path)?;
                    out.insert(path, Some(format!("-> {target}").into_bytes()));
                }
            }
        }
    }
    Ok(out)
}

/// A short description of how `got` differs from `want`.
pub fn diff(got: &State, want: &State) -> String {
    let mut out = String::new();
    for (k, v) in want {
        match got.get(k) {
            None => write!(out, " missing {k:?};").unwrap(),
            Some(g) if g != v => write!(out, " {k:?}: {};", describe_change(g, v)).unwrap(),
            _ => {}
        }
        if out.len() > 300 {
            return out + " ...";
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        write!(out, " extra {k:?};").unwrap();
        if out.len() > 300 {
            return out + " ...";
        }
    }
    out
}

fn describe_change(got: &Option<Vec<u8>>, want: &Option<Vec<u8>>) -> String {
    match (got, want) {
        (None, _) => "is a directory, want a file".into(),
        (_, None) => "is a file, want a directory".into(),
        (Some(g), Some(w)) if g.len() != w.len() => format!("{} bytes, want {}", g.len(), w.len()),
        (Some(g), Some(w)) => {
            let at = g.iter().zip(w).position(|(a, b)| a != b).unwrap_or(0);
            format!("differs first at byte {at} of {}", w.len())
        }
    }
}

/// The index of the first state in `range` equal to `got`.
pub fn find_state(
    states: &[State],
    got: &State,
    range: std::ops::RangeInclusive<usize>,
) -> Option<usize> {
    range.into_iter().find(|&j| states.get(j) == Some(got))
}

/// Says which state `got` is (or is closest to), for failure messages.
pub fn which_state(states: &[State], got: &State) -> String {
    match states.iter().position(|s| s == got) {
        Some(j) => format!("it is the state after step {j}"),
        None => {
            // Nearest: fewest entries that differ, then fewest differing bytes.
            let score = |s: &State| {
                let keys = s
                    .keys()
                    .chain(got.keys())
                    .collect::<std::collections::BTreeSet<_>>();
                let (mut entries, mut bytes) = (0usize, 0usize);
                for k in keys {
                    match (s.get(k), got.get(k)) {
                        (Some(Some(a)), Some(Some(b))) if a != b => {
                            entries += 1;
                            bytes += a.iter().zip(b).filter(|(x, y)| x != y).count()
                                + a.len().abs_diff(b.len());
                        }
                        (a, b) if a != b => entries += 1,
                        _ => {}
                    }
                }
                (entries, bytes)
            };
            let (j, _) = states
                .iter()
                .enumerate()
                .rev()
                .min_by_key(|(_, s)| score(s))
                .expect("states is never empty");
            format!(
                "it is no state of the workload; nearest is after step {j}:{}",
                diff(got, &states[j])
            )
        }
    }
}

/// A workload being run on one `Fs`: the long-lived write handles of
/// `Patch` steps and the read handles of `OpenReader` steps.
pub struct Session {
    pub fs: Fs,
    /// The storage and fault switches a `Reopen` step opens again.
    reopen: Option<(Arc<dyn Storage>, FaultSwitches)>,
    writers: BTreeMap<String, File>,
    readers: Vec<(String, File, Vec<u8>)>,
}

impl Session {
    /// A session whose workload has no `Reopen` step.
    pub fn new(fs: Fs) -> Session {
        Session {
            fs,
            reopen: None,
            writers: BTreeMap::new(),
            readers: Vec::new(),
        }
    }

    /// A session that reopens `storage` (with `faults` set) at `Reopen` steps.
    pub fn reopenable(fs: Fs, storage: Arc<dyn Storage>, faults: FaultSwitches) -> Session {
        Session {
            fs,
            reopen: Some((storage, faults)),
            writers: BTreeMap::new(),
            readers: Vec::new(),
        }
    }

    /// Runs one step.
    pub fn step(&mut self, step: &Step) -> whefs::Result<()> {
        let fs = &self.fs;
        match step {
            Step::Write { path, data } => fs.write(path, data),
            Step::MkdirAll(path) => fs.create_dir_all(path),
            Step::Remove(path) => fs.remove_file(path),
            Step::RemoveDir(path) => fs.remove_dir(path),
            Step::Rename { from, to } => fs.rename(from, to),
            Step::Patch { path, writes, sync } => {
                self.write_through(path, writes)?;
                let f = self.writers.get_mut(path).expect("opened by write_through");
                // A failed commit discards the handle's changes (DESIGN G4).
                if *sync {
                    f.sync_all()
                } else {
                    f.commit()
                }
            }
            Step::Stage { path, writes } => self.write_through(path, writes),
            Step::Reopen(d) => {
                let (storage, faults) = self
                    .reopen
                    .clone()
                    .ok_or_else(|| Error::Arg("this session cannot reopen".into()))?;
                let writers = std::mem::take(&mut self.writers);
                self.readers.clear();
                for (_, f) in writers {
                    f.close()?;
                }
                self.fs = Fs::options()
                    .write(true)
                    .durability(*d)
                    .fault_switches(faults)
                    .open_storage(storage)?;
                Ok(())
            }
            Step::Snapshot(name) => fs.create_snapshot(name).map(drop),
            Step::DeleteSnapshot(name) => fs.delete_snapshot(name).map(drop),
            Step::Compact => fs.compact().map(drop),
            Step::OpenReader(path) => {
                let f = fs.open_file(path, "r")?;
                let data = read_all(&f)?;
                self.readers.push((path.clone(), f, data));
                Ok(())
            }
        }
    }

    /// Writes through the handle of `path`. If a write fails, the handle's
    /// uncommitted content is unknown, so it is aborted (its changes since
    /// the last commit discarded), as a careful program would.
    fn write_through(&mut self, path: &str, writes: &[(u64, Vec<u8>)]) -> whefs::Result<()> {
        let f = self.writer(path)?;
        for (off, bytes) in writes {
            match f.write_at(bytes, *off) {
                Ok(n) => assert_eq!(n, bytes.len(), "write_at wrote part of the buffer"),
                Err(e) => {
                    let f = self.writers.remove(path).expect("opened above");
                    let _ = f.abort();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The long-lived write handle of `path`, opened `"r+"` on first use.
    fn writer(&mut self, path: &str) -> whefs::Result<&mut File> {
        if !self.writers.contains_key(path) {
            let f = self.fs.open_file(path, "r+")?;
            self.writers.insert(path.to_string(), f);
        }
        Ok(self.writers.get_mut(path).expect("inserted above"))
    }

    /// Checks that every open reader still reads the content it had when it
    /// was opened; returns what is wrong.
    pub fn check_readers(&self) -> Vec<String> {
        let mut bad = Vec::new();
        for (path, f, want) in &self.readers {
            match read_all(f) {
                Ok(got) if got == *want => {}
                Ok(got) => bad.push(format!(
                    "a reader of {path:?} opened earlier now reads other content ({})",
                    describe_change(&Some(got), &Some(want.clone()))
                )),
                Err(e) => bad.push(format!(
                    "a reader of {path:?} opened earlier now fails: {e}"
                )),
            }
        }
        bad
    }

    /// Closes every handle (writers first), reporting the first error.
    pub fn close(mut self) -> whefs::Result<()> {
        let mut result = Ok(());
        for (_, f) in std::mem::take(&mut self.writers) {
            let r = f.close();
            if result.is_ok() {
                result = r;
            }
        }
        self.readers.clear();
        result
    }
}

/// Reads a whole file through a handle, without moving its position.
pub fn read_all(f: &File) -> whefs::Result<Vec<u8>> {
    let mut out = vec![0u8; f.len() as usize];
    let mut done = 0;
    while done < out.len() {
        let n = f.read_at(&mut out[done..], done as u64)?;
        if n == 0 {
            return Err(Error::Internal(format!(
                "read_at returned 0 at {done} of {}",
                out.len()
            )));
        }
        done += n;
    }
    Ok(out)
}

/// A new container on fault-injecting storage, formatted and synced; the
/// storage's ops are counted from here.
pub fn new_container(durability: Durability, faults: FaultSwitches) -> (Arc<FaultStorage>, Fs) {
    let storage = Arc::new(FaultStorage::new());
    let fs = Fs::options()
        .create(true)
        .durability(durability)
        .open_storage(storage.clone())
        .expect("formatting an empty fault storage");
    fs.set_fault_switches(faults);
    (storage, fs)
}

/// Opens an existing container image read-write.
pub fn open_image(
    image: Vec<u8>,
    durability: Durability,
) -> whefs::Result<(Arc<FaultStorage>, Fs)> {
    open_image_with(image, durability, FaultSwitches::default())
}

/// Opens an existing container image read-write with fault switches in
/// force from the open on (`skip_commit_verify` acts at open).
pub fn open_image_with(
    image: Vec<u8>,
    durability: Durability,
    faults: FaultSwitches,
) -> whefs::Result<(Arc<FaultStorage>, Fs)> {
    let storage = Arc::new(FaultStorage::from_image(image));
    let fs = Fs::options()
        .write(true)
        .durability(durability)
        .fault_switches(faults)
        .open_storage(storage.clone())?;
    Ok((storage, fs))
}

/// Opens a container on `storage` read-write with fault switches in force
/// from the open on.
pub fn open_storage_with(
    storage: Arc<FaultStorage>,
    durability: Durability,
    faults: FaultSwitches,
) -> whefs::Result<Fs> {
    Fs::options()
        .write(true)
        .durability(durability)
        .fault_switches(faults)
        .open_storage(storage)
}

/// What a recovered container is asked to do: remove a file (if any),
/// then create a file and replace it. Returns the steps and the states
/// before and after each.
pub fn recovery_steps(state: &State) -> (Vec<Step>, Vec<State>) {
    let mut steps = Vec::new();
    // A file of the namespace (`@name/...` are a snapshot's, read-only).
    if let Some((victim, _)) = state
        .iter()
        .find(|(k, v)| v.is_some() && !k.starts_with('@'))
    {
        steps.push(Step::Remove(victim.clone()));
    }
    steps.push(Step::Write {
        path: "after-recovery.bin".into(),
        data: pattern(6000, 0xAF7E),
    });
    steps.push(Step::Write {
        path: "after-recovery.bin".into(),
        data: pattern(9000, 0xB0B),
    });
    let mut states = vec![state.clone()];
    let mut s = state.clone();
    for step in &steps {
        apply(&mut s, step).expect("recovery steps are valid");
        states.push(s.clone());
    }
    (steps, states)
}

/// After a crash or an error: the reopened container must take new commits
/// — a removed file, a new file, a replaced file — and stay clean (freed
/// and pending pages consistent). Returns what went wrong.
pub fn exercise_after_recovery(fs: &Fs, state: &State) -> Result<(), String> {
    let (steps, states) = recovery_steps(state);
    let mut session = Session::new(fs.clone());
    for step in &steps {
        session
            .step(step)
            .map_err(|e| format!("{step} after recovery: {e}"))?;
    }
    fs.check()
        .map_err(|e| format!("check after new commits: {e}"))?;
    let want = states.last().expect("never empty");
    match dump(fs) {
        Ok(got) if got == *want => Ok(()),
        Ok(got) => Err(format!(
            "after new commits the container shows other content:{}",
            diff(&got, want)
        )),
        Err(e) => Err(format!("listing after new commits: {e}")),
    }
}

/// The scripted workloads of DESIGN §6. `scale` grows them (1 = default).
pub mod workloads {
    use super::*;

    fn w(path: &str, len: usize, seed: u64) -> Step {
        Step::Write {
            path: path.into(),
            data: pattern(len, seed),
        }
    }

    /// (a) Many small files: inline ones (≤ 960 bytes at 4 KiB pages), just
    /// past a page, a few pages; then replace some (inline ↔ extents) and
    /// remove some.
    pub fn small_files(scale: usize) -> Workload {
        let sizes = [0usize, 1, 100, 959, 960, 961, 4096, 4097, 5000, 9000];
        let n = 12 * scale;
        let mut steps = Vec::new();
        for i in 0..n {
            steps.push(w(&format!("f{i:03}"), sizes[i % sizes.len()], i as u64));
        }
        for i in (0..n).step_by(3) {
            // Grow the small ones past a page, shrink the big ones to inline.
            let len = if sizes[i % sizes.len()] > 960 {
                300 + i
            } else {
                4100 + 37 * i
            };
            steps.push(w(&format!("f{i:03}"), len, 1000 + i as u64));
        }
        for i in (1..n).step_by(4) {
            steps.push(Step::Remove(format!("f{i:03}")));
        }
        Workload {
            name: format!("small_files(x{scale})"),
            steps,
        }
    }

    /// (b) One big multi-page file overwritten in place at scattered
    /// offsets through one `"r+"` handle, committed several times.
    pub fn big_file_overwrite(scale: usize) -> Workload {
        let len = 300_000 * scale;
        let mut steps = vec![w("big", len, 7)];
        let offsets: [u64; 6] = [0, 4095, 70_000, 123_457, 200_000, 299_000];
        for round in 0..(4 * scale) as u64 {
            let writes = offsets
                .iter()
                .enumerate()
                .map(|(i, &o)| {
                    let off = (o * scale as u64 + round * 911) % (len as u64 - 9000);
                    (off, pattern(500 + 1700 * i, round * 10 + i as u64))
                })
                .collect();
            steps.push(Step::Patch {
                path: "big".into(),
                writes,
                sync: round % 3 == 2,
            });
        }
        // Grow it past its end through the handle, then one last patch.
        steps.push(Step::Patch {
            path: "big".into(),
            writes: vec![(len as u64 + 10_000, pattern(3000, 99))],
            sync: false,
        });
        Workload {
            name: format!("big_file_overwrite(x{scale})"),
            steps,
        }
    }

    /// (c) Renames (plain, over an existing file, across directories, of a
    /// directory) mixed with unlinks.
    pub fn rename_unlink(scale: usize) -> Workload {
        let mut steps = vec![Step::MkdirAll("d1".into()), Step::MkdirAll("d2/sub".into())];
        for r in 0..scale {
            let t = |s: &str| format!("{s}{r}");
            steps.extend([
                w(&t("a"), 500, 1 + r as u64),
                w(&t("b"), 7000, 2 + r as u64),
                w(&format!("d1/{}", t("c")), 12_000, 3 + r as u64),
                w(&format!("d2/sub/{}", t("e")), 50, 4 + r as u64),
                Step::Rename {
                    from: t("a"),
                    to: t("a2"),
                },
                Step::Rename {
                    from: t("b"),
                    to: t("a2"),
                },
                Step::Rename {
                    from: format!("d1/{}", t("c")),
                    to: format!("d2/{}", t("c")),
                },
                Step::Remove(format!("d2/sub/{}", t("e"))),
                w(&t("b"), 5000, 20 + r as u64),
                Step::Rename {
                    from: format!("d2/{}", t("c")),
                    to: t("b"),
                },
                Step::Remove(t("a2")),
            ]);
        }
        steps.extend([
            Step::Rename {
                from: "d2".into(),
                to: "d1/moved".into(),
            },
            Step::RemoveDir("d1/moved/sub".into()),
            w("d1/moved/x", 2000, 77),
            Step::Rename {
                from: "d1".into(),
                to: "top".into(),
            },
        ]);
        Workload {
            name: format!("rename_unlink(x{scale})"),
            steps,
        }
    }

    /// (d) A chain of directories 10 levels deep with files at each level;
    /// then some files and the deepest directories go.
    pub fn deep_dirs(scale: usize) -> Workload {
        let depth = 10 * scale;
        let dir = |lvl: usize| {
            (0..lvl)
                .map(|i| format!("l{i}"))
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut steps = vec![Step::MkdirAll(dir(depth))];
        for lvl in 1..=depth {
            let len = if lvl % 2 == 0 {
                200 + lvl
            } else {
                4500 + lvl * 10
            };
            steps.push(w(&format!("{}/f{lvl}", dir(lvl)), len, lvl as u64));
        }
        for lvl in (1..=depth).step_by(3) {
            steps.push(Step::Remove(format!("{}/f{lvl}", dir(lvl))));
        }
        // Empty the two deepest levels and remove them.
        for lvl in [depth, depth - 1] {
            let f = format!("{}/f{lvl}", dir(lvl));
            if (lvl - 1) % 3 != 0 {
                steps.push(Step::Remove(f));
            }
            steps.push(Step::RemoveDir(dir(lvl)));
        }
        Workload {
            name: format!("deep_dirs(x{scale})"),
            steps,
        }
    }

    /// (e) A reader holds a snapshot of a multi-page file while a writer
    /// overwrites it again and again (each overwrite frees the pages the
    /// reader still reads).
    pub fn reader_during_overwrite(scale: usize) -> Workload {
        let mut steps = vec![
            w("shared", 40_000, 1),
            w("other", 3000, 2),
            Step::OpenReader("shared".into()),
        ];
        for round in 0..(6 * scale) as u64 {
            steps.push(w("shared", 40_000 + 1000 * round as usize, 10 + round));
            steps.push(w("other", 3000 + 5000 * (round as usize % 2), 50 + round));
        }
        Workload {
            name: format!("reader_during_overwrite(x{scale})"),
            steps,
        }
    }

    /// (g) Commits handed from one open to the next, as processes that come
    /// and go, with durability changing between them: an open must not
    /// trust that the state it found is durable.
    pub fn handoff(scale: usize) -> Workload {
        let mut steps = Vec::new();
        for r in 0..(4 * scale) as u64 {
            let d = [Durability::Normal, Durability::Full][r as usize % 2];
            steps.extend([
                Step::Reopen(d),
                w("log", 300 + 100 * r as usize, r),
                w(&format!("n{r}"), 8000, 100 + r),
                w("log", 500 + 100 * r as usize, 200 + r),
                Step::Reopen(Durability::Full),
                w(&format!("m{r}"), 200, 300 + r),
                w("log", 700, 400 + r),
            ]);
        }
        Workload {
            name: format!("handoff(x{scale})"),
            steps,
        }
    }

    /// A bit of everything, small enough to fail every single op of it:
    /// inline and extent files, a directory, patches through a handle (one
    /// staged past the handle's buffer), a rename over a file, an unlink.
    pub fn mixed() -> Workload {
        let steps = vec![
            w("a", 300, 1),
            Step::MkdirAll("d/e".into()),
            w("d/big", 20_000, 2),
            w("d/e/small", 900, 3),
            Step::Patch {
                path: "d/big".into(),
                writes: vec![(100, pattern(5000, 4)), (17_000, pattern(4000, 5))],
                sync: false,
            },
            w("a", 6000, 6),
            Step::Rename {
                from: "d/e/small".into(),
                to: "a".into(),
            },
            Step::Patch {
                path: "d/big".into(),
                writes: vec![(30_000, pattern(100, 7))],
                sync: true,
            },
            Step::Remove("d/big".into()),
            w("d/e/last", 10, 8),
        ];
        Workload {
            name: "mixed".into(),
            steps,
        }
    }

    /// (g) Named snapshots and compaction: snapshots taken between
    /// rewrites and removals, one deleted, the container compacted with the
    /// other still there, then without any.
    pub fn snapshots_and_compaction(scale: usize) -> Workload {
        let n = 10 * scale;
        let sizes = [300usize, 5000, 9000, 13_000];
        let mut steps = vec![Step::MkdirAll("d".into())];
        for i in 0..n {
            steps.push(w(&format!("d/f{i:02}"), sizes[i % 4], i as u64));
        }
        steps.push(Step::Snapshot("one".into()));
        for i in (0..n).step_by(2) {
            steps.push(w(&format!("d/f{i:02}"), sizes[(i + 1) % 4], 100 + i as u64));
        }
        steps.push(Step::Snapshot("two".into()));
        for i in (0..n).filter(|i| i % 3 != 0) {
            steps.push(Step::Remove(format!("d/f{i:02}")));
        }
        steps.push(Step::DeleteSnapshot("one".into()));
        steps.push(Step::Compact);
        steps.push(w("after", 7000, 900));
        steps.push(Step::DeleteSnapshot("two".into()));
        steps.push(Step::Compact);
        steps.push(w("last", 200, 901));
        Workload {
            name: format!("snapshots_and_compaction(x{scale})"),
            steps,
        }
    }

    /// (f) Two writers on two files at once: one stages more pages than a
    /// handle buffers (so they reach the disk before its commit) while the
    /// other commits, then both commit, in turns.
    pub fn two_writers(scale: usize) -> Workload {
        let mut steps = vec![w("one", 200_000, 1), w("two", 150_000, 2)];
        for round in 0..(2 * scale) as u64 {
            steps.extend([
                Step::Stage {
                    path: "one".into(),
                    writes: vec![(round * 1000, pattern(270_000, 10 + round))],
                },
                Step::Patch {
                    path: "two".into(),
                    writes: vec![(5000 + round * 333, pattern(20_000, 20 + round))],
                    sync: false,
                },
                Step::Stage {
                    path: "two".into(),
                    writes: vec![(100_000, pattern(9000, 30 + round))],
                },
                Step::Patch {
                    path: "one".into(),
                    writes: vec![(4096 * 3, pattern(100, 40 + round))],
                    sync: round % 2 == 1,
                },
                Step::Patch {
                    path: "two".into(),
                    writes: vec![],
                    sync: false,
                },
            ]);
        }
        Workload {
            name: format!("two_writers(x{scale})"),
            steps,
        }
    }
}
