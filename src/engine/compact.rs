//! Compaction in place (DESIGN §5 "Compaction"): under the container lock,
//! move live pages from the tail into free space, commit, truncate.
//!
//! Every step is an ordinary commit, so the commit protocol's argument
//! (docs/format.md §7) covers it: moved data is written to pages free in
//! the latest state, reserved like any writer's, before the commit that
//! points the extents at them; the old copies go on that commit's pending
//! list. Tree pages in the tail move by being copied on write. Only after
//! a commit that ends the container before the tail is durable is the
//! file truncated, so no state a crash can bring back names a page past
//! the end. Pages a snapshot references do not move (moving a shared page
//! would give the snapshot a copy of its own); they bound how far the
//! container can shrink.

use std::sync::atomic::Ordering;

use super::tree::PageSource;
use super::{Engine, Tx};
use crate::error::{Error, Result};
use crate::format::records::{self, ExtentRecord, Key, Kind, SYSTEM_INO};
use crate::format::PagePtr;
use crate::storage::LockMode;

/// What a compaction did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Pages in the container before.
    pub pages_before: u64,
    /// Pages after.
    pub pages_after: u64,
    /// Data pages moved.
    pub data_pages_moved: u64,
    /// Commits made.
    pub commits: u64,
}

/// Rounds of moving at most: each round's copied tree pages free their old
/// places only at the next, so the tree settles in a few.
const MAX_ROUNDS: usize = 6;
/// Free pages of its own a compaction commit stocks the pool with.
const STOCK: u64 = 64;

/// An extent to move: its key, its record and where it goes.
struct Move {
    key: Vec<u8>,
    ext: ExtentRecord,
    to: Vec<(u64, u64)>,
}

impl Engine {
    /// Compacts the container in place; see the module comment. Needs the
    /// container to itself: waits up to the busy timeout for other opens to
    /// go, and fails with `Busy` naming the reason.
    pub fn compact(&self) -> Result<CompactReport> {
        if self.read_only || self.is_view() {
            return Err(Error::Access(
                "compaction needs a read-write open of the latest state".into(),
            ));
        }
        self.check_usable()?;
        self.sticky.clear();
        if self.states.oldest(None).is_some() {
            return Err(Error::Busy(
                "this open has files, listings or snapshot views open; close them before compacting"
                    .into(),
            ));
        }
        self.locks
            .lock_container(LockMode::Exclusive, self.busy_timeout())
            .map_err(|_| {
                Error::Busy(format!(
                    "compaction needs the container to itself, and other opens kept it open for {:?}",
                    self.busy_timeout()
                ))
            })?;
        let result = self.compact_alone();
        // Back to sharing, whatever happened.
        let _ = self
            .locks
            .lock_container(LockMode::Shared, self.busy_timeout());
        result
    }

    fn compact_alone(&self) -> Result<CompactReport> {
        self.drain_pool();
        let mut report = CompactReport {
            pages_before: self.latest()?.page_count,
            ..Default::default()
        };
        // Rounds go on while they bring the end of the used pages down.
        let mut end = self.used_end()?;
        for _ in 0..MAX_ROUNDS {
            let moved = self.compact_round(&mut report)?;
            let now = self.used_end()?;
            if moved == 0 || now >= end {
                break;
            }
            end = now;
        }
        self.shrink(&mut report)?;
        report.pages_after = self.latest()?.page_count;
        Ok(report)
    }

    /// One durable commit of a compaction, between two drains of the pool:
    /// before, so that its pages come from the latest state's lowest free
    /// ones; after, so that no page it stocked stays reserved (whether it
    /// committed or not).
    fn compaction_commit<T>(
        &self,
        f: impl FnOnce(&mut Tx) -> Result<T>,
    ) -> Result<(T, Option<crate::format::Superblock>)> {
        self.drain_pool();
        let result = self.commit(true, f);
        self.drain_pool();
        result
    }

    /// The page after the last one in use in the latest state: its page
    /// count, less the free extent that reaches it.
    fn used_end(&self) -> Result<u64> {
        let latest = self.latest()?;
        let root = super::tree::Child::Clean(latest.root);
        let lo = records::kind_start(SYSTEM_INO, Kind::Free);
        let hi = records::kind_end(SYSTEM_INO, Kind::Free);
        let mut end = latest.page_count;
        super::tree::visit(self, &root, &lo, Some(&hi), true, &mut |k, v| {
            let (s, l) = (Key::decode(k)?.sub_u64()?, records::decode_count(v)?);
            if s + l == latest.page_count {
                end = s;
            }
            Ok(false)
        })?;
        Ok(end)
    }

    /// Gives back every page this open's pool holds, so that the next
    /// commit takes its tree pages from the lowest free pages of the latest
    /// state — not from pages reserved earlier past its end. Called before
    /// every commit of a compaction.
    fn drain_pool(&self) {
        let drained = self.pool().drain();
        for (pages, owner) in drained {
            self.locks.release_pages(owner, &pages);
        }
    }

    /// One round: reclaim everything, then move what lies past the live
    /// size. Returns the data and tree pages it moved.
    fn compact_round(&self, report: &mut CompactReport) -> Result<u64> {
        // Everything pending is reusable: nobody else has the container,
        // and a sync makes the commits that freed it durable.
        self.sync_latest_durable()?;
        let (_, sb) = self.compaction_commit(|tx| tx.reclaim_everything())?;
        if sb.is_some() {
            report.commits += 1;
        }
        let latest = self.latest()?;
        let root = super::tree::Child::Clean(latest.root);
        let newest = super::snapshots::newest_generation(self, &root)?;
        let movable = |birth: u64| newest.is_none_or(|s| birth > s);
        // Pages that must stay (live, held, pending, page 0) fit below this.
        let live_end = latest.page_count - latest.free_pages;

        // Data in the tail, highest first, into the lowest free pages.
        let mut tail_data = Vec::new();
        let lo = records::kind_start(records::ROOT_INO, Kind::Inode);
        super::tree::visit(self, &root, &lo, None, false, &mut |k, v| {
            if Key::decode(k)?.kind == Kind::Extent {
                let ext = ExtentRecord::decode(v)?;
                if ext.first + ext.count() > live_end && movable(ext.generation) {
                    tail_data.push((k.to_vec(), ext));
                }
            }
            Ok(true)
        })?;
        let want: u64 = tail_data.iter().map(|(_, e)| e.count()).sum();
        let mut moves = Vec::new();
        let owner = self.locks.new_owner();
        if want > 0 {
            let got = self.reserve(owner, owner, want)?;
            let (mut got, mut at) = (got.into_iter(), None::<(u64, u64)>);
            for (key, ext) in tail_data {
                let mut to = Vec::new();
                let mut need = ext.count();
                while need > 0 {
                    let (s, l) = match at.take() {
                        Some(r) => r,
                        None => got.next().ok_or_else(|| {
                            Error::Internal("reserved fewer pages than asked".into())
                        })?,
                    };
                    let n = l.min(need);
                    to.push((s, n));
                    if n < l {
                        at = Some((s + n, l - n));
                    }
                    need -= n;
                }
                moves.push(Move { key, ext, to });
            }
            let spare: Vec<(u64, u64)> = at.into_iter().chain(got).collect();
            self.locks.release_pages(owner, &spare);
        }
        // Only moves that bring pages down are worth a copy.
        let (moves, stay): (Vec<Move>, Vec<Move>) = moves.into_iter().partition(|m| {
            m.to.iter()
                .all(|&(s, l)| s + l <= m.ext.first + m.ext.count())
        });
        let unused: Vec<(u64, u64)> = stay.iter().flat_map(|m| m.to.clone()).collect();
        self.locks.release_pages(owner, &unused);

        // Copy the data to its new pages before the commit names them.
        let ps = self.page_size as usize;
        let mut buf = Vec::new();
        let mut written: Vec<Vec<(u64, u64)>> = Vec::with_capacity(moves.len());
        let copy = (|| -> Result<()> {
            for m in &moves {
                buf.resize(m.ext.count() as usize * ps, 0);
                self.read_data_run(m.ext.first, &m.ext.checksums, &mut buf)?;
                let mut sums = Vec::with_capacity(m.ext.checksums.len());
                let mut off = 0;
                for &(s, l) in &m.to {
                    let part = &buf[off..off + l as usize * ps];
                    self.storage.write_at(part, self.offset_of(s)?)?;
                    for (i, page) in part.chunks_exact(ps).enumerate() {
                        sums.push((
                            s + i as u64,
                            crate::format::page_checksum(s + i as u64, 0, page),
                        ));
                    }
                    off += l as usize * ps;
                }
                written.push(sums);
            }
            if self.faults().compact_without_sync {
                return Ok(());
            }
            self.sync_or_poison()
        })();
        if let Err(e) = copy {
            let taken: Vec<(u64, u64)> = moves.iter().flat_map(|m| m.to.clone()).collect();
            self.locks.release_pages(owner, &taken);
            return Err(e);
        }

        // Tree pages in the tail are copied on write by touching a key of
        // each leaf below them.
        let mut touch = Vec::new();
        collect_tail_keys(self, latest.root, live_end, &movable, &mut touch)?;

        let data_moved: u64 = moves.iter().map(|m| m.ext.count()).sum();
        if moves.is_empty() && touch.is_empty() {
            return Ok(0);
        }
        let result = self.compaction_commit(|tx| {
            tx.reclaim_everything()?;
            for (m, sums) in moves.iter().zip(&written) {
                tx.relocate_extent(&m.key, &m.ext, &m.to, sums)?;
            }
            for key in &touch {
                if let Some(v) = tx.get(key)? {
                    tx.insert(key, &v)?;
                }
            }
            Ok(())
        });
        let taken: Vec<(u64, u64)> = moves.iter().flat_map(|m| m.to.clone()).collect();
        self.locks.release_pages(owner, &taken);
        result?;
        report.commits += 1;
        report.data_pages_moved += data_moved;
        Ok(data_moved + touch.len() as u64)
    }

    /// Ends the container after its last used page, commits that, and
    /// truncates the file once the commit is durable.
    fn shrink(&self, report: &mut CompactReport) -> Result<()> {
        self.sync_latest_durable()?;
        let (_, sb) = self.compaction_commit(|tx| {
            tx.reclaim_everything()?;
            tx.cut_free_tail()
        })?;
        if let Some(sb) = sb {
            report.commits += 1;
            let end = sb.page_count * self.page_size as u64;
            if self.storage.len()? > end {
                self.storage.set_len(end).map_err(|e| self.poison(e))?;
                self.file_pages.store(sb.page_count, Ordering::Relaxed);
                self.sync_or_poison()?;
            }
        }
        Ok(())
    }
}

/// Keys whose re-insertion copies every movable tree page at or past
/// `end` to a new place: re-inserting any key of a leaf copies the whole
/// path to it, so one key below each such node is enough. Returns whether
/// a key below `ptr` was chosen.
fn collect_tail_keys(
    engine: &Engine,
    ptr: PagePtr,
    end: u64,
    movable: &dyn Fn(u64) -> bool,
    out: &mut Vec<Vec<u8>>,
) -> Result<bool> {
    let node = engine.load(&ptr)?;
    let in_tail = ptr.page >= end && movable(ptr.generation);
    if node.is_leaf() {
        if in_tail && node.len() > 0 {
            out.push(node.key(0).to_vec());
            return Ok(true);
        }
        return Ok(false);
    }
    let mut chosen = false;
    for c in node.children() {
        chosen |= collect_tail_keys(engine, *c, end, movable, out)?;
    }
    if in_tail && !chosen {
        // Any key below will do: the leftmost leaf's first.
        let mut leaf = engine.load(&node.child(0))?;
        while !leaf.is_leaf() {
            leaf = engine.load(&leaf.child(0))?;
        }
        if leaf.len() > 0 {
            out.push(leaf.key(0).to_vec());
            chosen = true;
        }
    }
    Ok(chosen)
}

impl Tx<'_> {
    /// Reclaims every pending extent (the caller knows no reader needs them
    /// and that the commits that freed them are durable), and stocks this
    /// open's page pool from the lowest free pages *of this commit*, so that
    /// its tree pages go where compaction wants them — not past the end,
    /// which is where the pool would look while the pages just reclaimed
    /// are free only in this commit. The caller drains the pool if the
    /// commit fails (its pages would not be free then).
    fn reclaim_everything(&mut self) -> Result<()> {
        while self.sb.pending_pages > 0 {
            let before = self.sb.pending_pages;
            self.reclaim(self.sb.generation)?;
            if self.sb.pending_pages == before {
                break;
            }
        }
        let mut free = Vec::new();
        let lo = records::kind_start(SYSTEM_INO, Kind::Free);
        let hi = records::kind_end(SYSTEM_INO, Kind::Free);
        let mut want = STOCK;
        self.visit(&lo, &hi, false, &mut |k, v| {
            let (s, l) = (Key::decode(k)?.sub_u64()?, records::decode_count(v)?);
            free.push((s, l.min(want)));
            want -= l.min(want);
            Ok(want > 0)
        })?;
        let engine = self.engine;
        let mut pool = engine.pool();
        let mut table = engine.locks.reservations();
        // No other open exists under the container lock.
        table.forget_foreign_from(0);
        let mut got = Vec::new();
        for (s, l) in free {
            got.extend(engine.locks.claim_pages(
                &mut table,
                s,
                s + l,
                l,
                pool.owner,
                pool.held_owner,
            )?);
        }
        drop(table);
        pool.add(&got);
        Ok(())
    }

    /// Points the extent at `key` at its new pages (reserved and written by
    /// the caller), keeping its birth generation; the old pages are freed.
    fn relocate_extent(
        &mut self,
        key: &[u8],
        ext: &ExtentRecord,
        to: &[(u64, u64)],
        sums: &[(u64, u64)],
    ) -> Result<()> {
        let index = Key::decode(key)?.sub_u64()?;
        let ino = Key::decode(key)?.ino;
        self.remove(key)?;
        let mut at = 0usize;
        for &(s, l) in to {
            let part = ExtentRecord {
                first: s,
                generation: ext.generation,
                checksums: sums[at..at + l as usize].iter().map(|p| p.1).collect(),
            };
            self.insert(&records::extent_key(ino, index + at as u64), &part.encode())?;
            self.use_pages(s, l);
            at += l as usize;
        }
        self.free_pages(ext.first, ext.count(), ext.generation);
        Ok(())
    }

    /// Ends the container at the start of the free extent that reaches its
    /// end, if there is one.
    fn cut_free_tail(&mut self) -> Result<()> {
        let lo = records::kind_start(SYSTEM_INO, Kind::Free);
        let mut last = None;
        self.visit(
            &lo,
            &records::kind_end(SYSTEM_INO, Kind::Free),
            true,
            &mut |k, v| {
                last = Some((Key::decode(k)?.sub_u64()?, records::decode_count(v)?));
                Ok(false)
            },
        )?;
        if let Some((s, l)) = last.filter(|&(s, l)| s + l == self.sb.page_count) {
            self.check_extent(s, l, "free extent")?;
            self.remove(&records::free_key(s))?;
            self.sb.free_pages -= l;
            self.sb.page_count = s;
            self.changed = true;
        }
        Ok(())
    }
}
