//! Named snapshots (DESIGN §5 "Snapshots"): a committed record
//! `(0, SNAPSHOT, name)` that keeps the root of one generation.
//!
//! Invariant (stated once, here; `alloc::check` verifies it): a page that
//! the current tree stops using is *held* instead of pending while some
//! snapshot still references it. A page written by commit *b* and dropped
//! by commit *k* was live in exactly the generations *b..k*, so it is held
//! while a snapshot of a generation in *b..k* exists. Deleting a snapshot
//! moves what no other snapshot needs onto the deleting commit's pending
//! list, whose ordinary rules (no reader pins an older generation, the
//! deleting commit is durable) decide when it is reused — so a reader of a
//! snapshot that was just deleted keeps its pages as long as its pin.
//!
//! Pages a snapshot shares with the current tree need no record: they are
//! live, and when the current tree drops them the rule above holds them.

use std::sync::Arc;

use super::sticky::PinnedState;
use super::tree::{self, Child};
use super::{Engine, Snapshot, Tx};
use crate::error::{Error, Result};
use crate::format::records::{self, HeldExtent, Key, Kind, SnapshotRecord, SYSTEM_INO};
use crate::format::Superblock;

/// A named snapshot as listed: its record and the pages only it holds
/// (what deleting it would give back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotEntry {
    /// The snapshot's name.
    pub name: String,
    /// What it keeps.
    pub record: SnapshotRecord,
    /// Pages no other snapshot and not the current tree references.
    pub exclusive_pages: u64,
}

/// The state a read-only view of a snapshot reads, and the pin that keeps
/// its pages while the view lives (even if the snapshot is deleted).
pub(super) struct Frozen {
    pub(super) sb: Arc<Superblock>,
    pub(super) state: Arc<PinnedState>,
}

/// Checks a snapshot name: the rules of a file name (1–255 bytes of UTF-8,
/// no `/` or NUL, not `.` or `..`).
fn check_snapshot_name(name: &str) -> Result<()> {
    records::check_name(name.as_bytes())
        .map_err(|e| Error::Arg(format!("invalid snapshot name {name:?}: {e}")))
}

/// Every snapshot record of the state rooted at `root`, in name order.
fn records_of(engine: &Engine, root: &Child) -> Result<Vec<(String, SnapshotRecord)>> {
    let lo = records::kind_start(SYSTEM_INO, Kind::Snapshot);
    let hi = records::kind_end(SYSTEM_INO, Kind::Snapshot);
    let mut out = Vec::new();
    tree::visit(engine, root, &lo, Some(&hi), false, &mut |k, v| {
        let name = String::from_utf8_lossy(Key::decode(k)?.sub).into_owned();
        out.push((name, SnapshotRecord::decode(v)?));
        Ok(true)
    })?;
    Ok(out)
}

/// The newest snapshot's generation in the state rooted at `root`.
pub(super) fn newest_generation(engine: &Engine, root: &Child) -> Result<Option<u64>> {
    Ok(records_of(engine, root)?
        .iter()
        .map(|(_, r)| r.generation)
        .max())
}

/// Every held extent of the state rooted at `root`: (freed by, start, extent).
fn held_of(engine: &Engine, root: &Child) -> Result<Vec<(u64, u64, HeldExtent)>> {
    let lo = records::kind_start(SYSTEM_INO, Kind::Held);
    let hi = records::kind_end(SYSTEM_INO, Kind::Held);
    let mut out = Vec::new();
    tree::visit(engine, root, &lo, Some(&hi), false, &mut |k, v| {
        let (freed_by, start) = Key::decode(k)?.pending()?;
        out.push((freed_by, start, HeldExtent::decode(v)?));
        Ok(true)
    })?;
    Ok(out)
}

/// Lists the snapshots of a state with the pages each holds alone.
pub fn list(engine: &Engine, snap: &Snapshot) -> Result<Vec<SnapshotEntry>> {
    let root = snap.root();
    let found = records_of(engine, &root)?;
    let mut exclusive = vec![0u64; found.len()];
    for (freed_by, _, h) in held_of(engine, &root)? {
        let mut needing = found
            .iter()
            .enumerate()
            .filter(|(_, (_, r))| HeldExtent::needed_by(h.birth, freed_by, [r.generation]));
        if let (Some((i, _)), None) = (needing.next(), needing.next()) {
            exclusive[i] += h.count;
        }
    }
    Ok(found
        .into_iter()
        .zip(exclusive)
        .map(|((name, record), exclusive_pages)| SnapshotEntry {
            name,
            record,
            exclusive_pages,
        })
        .collect())
}

impl Tx<'_> {
    /// The newest snapshot's generation in the tree as this commit has it.
    pub(super) fn newest_snapshot(&mut self) -> Result<Option<u64>> {
        if let Some(n) = self.newest_snapshot {
            return Ok(n);
        }
        let newest = newest_generation(self.engine, self.tree.root())?;
        self.newest_snapshot = Some(newest);
        Ok(newest)
    }

    /// Records a snapshot named `name` of this commit's base state — the
    /// latest committed one. Must come before any other change of the
    /// commit, so that the base state is what the snapshot holds.
    pub fn create_snapshot(&mut self, name: &str, now_ns: i64) -> Result<SnapshotRecord> {
        check_snapshot_name(name)?;
        if self.changed {
            return Err(Error::Internal(
                "a snapshot must be the first change of its commit".into(),
            ));
        }
        let key = records::snapshot_key(name.as_bytes());
        if self.get(&key)?.is_some() {
            return Err(Error::Exists(format!("snapshot {name:?} already exists")));
        }
        let rec = SnapshotRecord {
            generation: self.sb.generation,
            root: self.sb.root,
            created_ns: now_ns,
            files: self.sb.files,
            dirs: self.sb.dirs,
            next_ino: self.sb.next_ino,
        };
        self.insert(&key, &rec.encode())?;
        self.sb.snapshots += 1;
        self.newest_snapshot = None;
        Ok(rec)
    }

    /// Deletes the snapshot `name`; what no other snapshot needs goes on
    /// this commit's pending list. Returns the pages given back.
    pub fn delete_snapshot(&mut self, name: &str) -> Result<u64> {
        check_snapshot_name(name)?;
        if self
            .remove(&records::snapshot_key(name.as_bytes()))?
            .is_none()
        {
            return Err(Error::NotFound(format!("no snapshot named {name:?}")));
        }
        self.sb.snapshots = self.sb.snapshots.saturating_sub(1);
        self.newest_snapshot = None;
        let remaining: Vec<u64> = records_of(self.engine, self.tree.root())?
            .iter()
            .map(|(_, r)| r.generation)
            .collect();
        let mut released = 0;
        for (freed_by, start, h) in held_of(self.engine, self.tree.root())? {
            if HeldExtent::needed_by(h.birth, freed_by, remaining.iter().copied()) {
                continue;
            }
            self.check_extent(start, h.count, "held extent")?;
            self.remove(&records::held_key(freed_by, start))?;
            let key = records::pending_key(self.generation, start);
            if self
                .insert(&key, &records::encode_count(h.count))?
                .is_some()
            {
                return Err(Error::corrupt(format!(
                    "pages {start}+{} are both held and pending",
                    h.count
                )));
            }
            self.sb.pending_pages += h.count;
            self.sb.held_pages = self.sb.held_pages.saturating_sub(h.count);
            released += h.count;
        }
        Ok(released)
    }
}

impl Engine {
    /// A read-only engine over the snapshot `name`: it shares this open's
    /// storage, locks and reader table, and pins the latest state in which
    /// the snapshot exists for its whole life, so that deleting the snapshot
    /// meanwhile frees nothing it reads.
    pub fn view(&self, name: &str) -> Result<Engine> {
        check_snapshot_name(name)?;
        let snap = self.snapshot()?;
        let key = records::snapshot_key(name.as_bytes());
        let rec = tree::get(self, &snap.root(), &key)?
            .map(|v| SnapshotRecord::decode(&v))
            .transpose()?
            .ok_or_else(|| Error::NotFound(format!("no snapshot named {name:?}")))?;
        let state = match &snap._state {
            Some(s) => Arc::new(PinnedState::new(
                s.generation(),
                Arc::clone(s.pin()),
                &self.states,
            )),
            None => {
                return Err(Error::Unsupported(
                    "a snapshot view needs a pinned state".into(),
                ))
            }
        };
        let sb = Superblock {
            generation: rec.generation,
            root: rec.root,
            next_ino: rec.next_ino,
            files: rec.files,
            dirs: rec.dirs,
            manifest: Default::default(),
            ..Superblock::clone(&snap.sb)
        };
        let mut view = Engine::new_over(
            Arc::clone(&self.storage),
            Arc::clone(&self.locks),
            Arc::clone(&self.states),
            &snap.sb,
            true,
            self.durability(),
            self.busy_timeout(),
            self.torn,
        );
        view.frozen = Some(Frozen {
            sb: Arc::new(sb),
            state,
        });
        Ok(view)
    }

    /// The frozen state of a snapshot view, as a [`Snapshot`].
    pub(super) fn frozen_snapshot(&self) -> Option<Snapshot> {
        self.frozen.as_ref().map(|f| Snapshot {
            sb: Arc::clone(&f.sb),
            _state: Some(Arc::clone(&f.state)),
        })
    }

    /// Whether this engine reads a named snapshot.
    pub fn is_view(&self) -> bool {
        self.frozen.is_some()
    }
}
