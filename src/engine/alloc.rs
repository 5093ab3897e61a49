//! The page allocator. Its state lives in the tree under the system inode —
//! free extents `(0, FREE, start) → len` and pending-free extents
//! `(0, PENDING, generation, start) → len` — so it is committed with the
//! same root pointer as everything else and updated in O(changes).
//!
//! Invariants (checked by [`check`]):
//! - Every page below the high-water mark `page_count`, except page 0, is
//!   exactly one of: a reachable tree page, a reachable data page, free,
//!   pending-free, or held for a snapshot. Pages at or past `page_count` are
//!   free.
//! - A page freed by commit *k* is reused only by a commit *n > k*, after a
//!   superblock of generation ≥ *k* is durable and no reader pins a
//!   generation below *k* (DESIGN §3).
//! - A page written by commit *b* and freed by commit *k* is held, not
//!   pending, while a snapshot of a generation in *b..k* exists: it was live
//!   in exactly those generations. Deleting the last such snapshot moves it
//!   to the deleting commit's pending list (`snapshots.rs`).
//! - A page reserved by another writer is never taken.

use std::collections::BTreeMap;

use super::{Engine, Tx};
use crate::error::{Error, Result};
use crate::format::records::{
    self, DirentRecord, ExtentRecord, HeldExtent, InodeKind, InodeRecord, Key, Kind,
    SnapshotRecord, SYSTEM_INO,
};
use crate::format::{PagePtr, Superblock};

/// What `Fs::check` looked at. A check that finds a problem returns
/// [`crate::Error::Corrupt`] instead.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Generation checked.
    pub generation: u64,
    /// Tree pages visited and verified.
    pub tree_pages: u64,
    /// Data pages verified.
    pub data_pages: u64,
    /// Files found.
    pub files: u64,
    /// Directories found.
    pub dirs: u64,
    /// Free pages.
    pub free_pages: u64,
    /// Pending-free pages.
    pub pending_pages: u64,
    /// Named snapshots found.
    pub snapshots: u64,
    /// Pages only snapshots reference (held extents).
    pub held_pages: u64,
}

/// Sorts page ranges and merges adjacent ones.
pub fn coalesce(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.retain(|r| r.1 > 0);
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (s, l) in ranges {
        match out.last_mut() {
            Some(last) if last.0 + last.1 == s => last.1 += l,
            _ => out.push((s, l)),
        }
    }
    out
}

/// Pages a writer reserved as free that the latest commit does not list as free.
fn not_free(start: u64, len: u64) -> Error {
    Error::Internal(format!(
        "pages {start}+{len} were reserved as free but are not free in the latest commit"
    ))
}

/// Most pending extents one commit moves back to the free list, so a
/// commit's work stays bounded after a large delete.
const RECLAIM_BATCH: usize = 512;

impl Tx<'_> {
    /// Checks that an extent read from the allocator state or an extent
    /// record lies inside the container: a forged record is corruption, and
    /// never reaches the free list.
    pub(crate) fn check_extent(&self, start: u64, len: u64, what: &str) -> Result<()> {
        if start == 0
            || len == 0
            || start
                .checked_add(len)
                .is_none_or(|end| end > self.sb.page_count)
        {
            return Err(Error::corrupt(format!(
                "{what} {start}+{len} lies outside the container ({} pages)",
                self.sb.page_count
            )));
        }
        Ok(())
    }

    /// The generation of the oldest pending-free extent.
    pub(super) fn oldest_pending(&self) -> Result<Option<u64>> {
        let mut found = None;
        let lo = records::kind_start(SYSTEM_INO, Kind::Pending);
        let hi = records::kind_end(SYSTEM_INO, Kind::Pending);
        self.visit(&lo, &hi, false, &mut |k, _| {
            found = Some(Key::decode(k)?.pending()?.0);
            Ok(false)
        })?;
        Ok(found)
    }

    /// Moves pending extents freed at generations ≤ `limit` to the free list.
    pub(super) fn reclaim(&mut self, limit: u64) -> Result<()> {
        let lo = records::kind_start(SYSTEM_INO, Kind::Pending);
        let hi = records::pending_key(limit.saturating_add(1), 0);
        let mut batch = Vec::new();
        self.visit(&lo, &hi, false, &mut |k, v| {
            let (_, start) = Key::decode(k)?.pending()?;
            batch.push((k.to_vec(), start, records::decode_count(v)?));
            Ok(batch.len() < RECLAIM_BATCH)
        })?;
        let mut runs = Vec::with_capacity(batch.len());
        for (key, start, len) in batch {
            self.check_extent(start, len, "pending extent")?;
            self.remove(&key)?;
            self.sb.pending_pages = self.sb.pending_pages.saturating_sub(len);
            runs.push((start, len));
        }
        // Pages freed by neighbouring commits often lie side by side: one
        // free extent each, merged first, instead of one merge per record.
        // The free list comes out the same (`add_free` merges neighbours).
        for (start, len) in coalesce(runs) {
            self.add_free(start, len)?;
        }
        Ok(())
    }

    /// Adds a free extent, merging it with its neighbours.
    fn add_free(&mut self, mut start: u64, mut len: u64) -> Result<()> {
        self.sb.free_pages += len;
        let end = start + len;
        // One walk down from the new extent's end finds both neighbours: the
        // extent starting right at `end` (if any) comes first, then the
        // nearest one before it, which must end at or before `start`.
        let lo = records::kind_start(SYSTEM_INO, Kind::Free);
        let (mut prev, mut next) = (None, None);
        self.visit(
            &lo,
            &records::free_key(end.saturating_add(1)),
            true,
            &mut |k, v| {
                let (s, l) = (Key::decode(k)?.sub_u64()?, records::decode_count(v)?);
                if s == end && next.is_none() {
                    next = Some(l);
                    return Ok(true);
                }
                prev = Some((s, l));
                Ok(false)
            },
        )?;
        if let Some((ps, pl)) = prev {
            self.check_extent(ps, pl, "free extent")?;
            if ps + pl > start {
                return Err(Error::corrupt(format!(
                    "pages {start}.. freed twice (free extent {ps}+{pl})"
                )));
            }
            if ps + pl == start {
                // Merged into the extent before: its record takes the new
                // length in place (below).
                start = ps;
                len += pl;
            }
        }
        if let Some(nl) = next {
            self.check_extent(end, nl, "free extent")?;
            self.remove(&records::free_key(end))?;
            len += nl;
        }
        self.insert(&records::free_key(start), &records::encode_count(len))?;
        Ok(())
    }

    /// Removes `start..start+len` from the free extent that holds it.
    fn remove_free(&mut self, start: u64, len: u64) -> Result<()> {
        // Pages nearly always come from the start of their extent (the
        // pool hands them out lowest first, and the extent's rest keeps a
        // record starting where they end): its record is removed at once,
        // found by its key; otherwise the extent holding `start` is looked for.
        let (fs, fl) = match self.remove(&records::free_key(start))? {
            Some(v) => (start, records::decode_count(&v)?),
            None => {
                let lo = records::kind_start(SYSTEM_INO, Kind::Free);
                let mut holder = None;
                self.visit(&lo, &records::free_key(start + 1), true, &mut |k, v| {
                    holder = Some((Key::decode(k)?.sub_u64()?, records::decode_count(v)?));
                    Ok(false)
                })?;
                let (fs, fl) = holder.ok_or_else(|| not_free(start, len))?;
                self.remove(&records::free_key(fs))?;
                (fs, fl)
            }
        };
        self.check_extent(fs, fl, "free extent")?;
        if !(fs <= start && start + len <= fs + fl) {
            return Err(not_free(start, len));
        }
        if fs < start {
            self.insert(&records::free_key(fs), &records::encode_count(start - fs))?;
        }
        if start + len < fs + fl {
            self.insert(
                &records::free_key(start + len),
                &records::encode_count(fs + fl - start - len),
            )?;
        }
        self.sb.free_pages -= len;
        Ok(())
    }

    /// Marks pages as in use: below the high-water mark they leave the free
    /// list; past it the mark moves and the gap becomes free.
    fn mark_used(&mut self, start: u64, len: u64) -> Result<()> {
        let end = start + len;
        if start < self.sb.page_count {
            let below = end.min(self.sb.page_count) - start;
            self.remove_free(start, below)?;
        }
        if end > self.sb.page_count {
            let from = start.max(self.sb.page_count);
            if from > self.sb.page_count {
                let gap = (self.sb.page_count, from - self.sb.page_count);
                self.sb.page_count = from;
                self.add_free(gap.0, gap.1)?;
            }
            self.sb.page_count = end;
        }
        Ok(())
    }

    /// Takes the writers' pages into use.
    pub(super) fn account_used(&mut self) -> Result<()> {
        for (s, l) in coalesce(std::mem::take(&mut self.used)) {
            self.mark_used(s, l)?;
        }
        Ok(())
    }

    /// Moves everything freed so far (copied tree pages, replaced data
    /// pages) onto this commit's pending list — or, where a snapshot still
    /// references them, into held extents; repeats, since recording may copy
    /// more tree pages.
    fn flush_freed(&mut self) -> Result<()> {
        loop {
            let mut all = std::mem::take(&mut self.freed);
            all.extend(self.tree.freed.drain(..).map(|(p, birth)| (p, 1, birth)));
            if all.is_empty() {
                return Ok(());
            }
            // Pages written at `birth` were live in every generation from
            // then to this commit's base, so the newest snapshot tells.
            let newest = match self.engine.faults().ignore_snapshots {
                false => self.newest_snapshot()?,
                true => None,
            };
            let (held, pending): (Vec<_>, Vec<_>) = all
                .into_iter()
                .partition(|&(_, _, birth)| newest.is_some_and(|s| birth <= s));
            for (s, l) in coalesce(pending.into_iter().map(|(s, l, _)| (s, l)).collect()) {
                self.check_extent(s, l, "freed pages")?;
                self.sb.pending_pages += l;
                let key = records::pending_key(self.generation, s);
                if self.insert(&key, &records::encode_count(l))?.is_some() {
                    return Err(Error::Internal(format!(
                        "page {s} freed twice in one commit"
                    )));
                }
            }
            let mut by_birth: BTreeMap<u64, Vec<(u64, u64)>> = BTreeMap::new();
            for (s, l, birth) in held {
                by_birth.entry(birth).or_default().push((s, l));
            }
            for (birth, runs) in by_birth {
                for (s, l) in coalesce(runs) {
                    self.check_extent(s, l, "freed pages")?;
                    self.sb.held_pages += l;
                    let key = records::held_key(self.generation, s);
                    let value = HeldExtent { count: l, birth }.encode();
                    if self.insert(&key, &value)?.is_some() {
                        return Err(Error::Internal(format!(
                            "page {s} freed twice in one commit"
                        )));
                    }
                }
            }
        }
    }

    /// Takes `want` pages from this open's pool into use for tree pages.
    fn take_pages(&mut self, want: u64) -> Result<Vec<u64>> {
        let got = self.engine.take_pages(want)?;
        let mut pages = Vec::with_capacity(want as usize);
        for &(s, l) in &got {
            self.taken.push((s, l));
            self.mark_used(s, l)?;
            pages.extend(s..s + l);
        }
        Ok(pages)
    }

    /// Finds pages for every node this commit wrote (DESIGN §3: the
    /// allocator state is written last). Taking pages changes the free list,
    /// which may copy more nodes; repeat until the pool matches. Merges are
    /// off meanwhile, so the count of dirty nodes only grows.
    pub(super) fn allocate_tree_pages(&mut self) -> Result<Vec<u64>> {
        self.tree.no_merge = true;
        let mut pool: Vec<u64> = Vec::new();
        for _ in 0..64 {
            self.flush_freed()?;
            let need = self.tree.dirty_count();
            if pool.len() == need {
                self.tree.no_merge = false;
                return Ok(pool);
            }
            if pool.len() > need {
                // Nodes vanished (an emptied leaf): the spare pages were
                // never written, but they left the free list with this commit.
                for p in pool.split_off(need) {
                    self.freed.push((p, 1, self.generation));
                }
                continue;
            }
            let want = (need - pool.len()) as u64;
            pool.extend(self.take_pages(want)?);
        }
        Err(Error::Internal(
            "tree page allocation did not settle".into(),
        ))
    }
}

/// What a walk of the whole tree found, for the accounting check.
#[derive(Default)]
struct Walk {
    owner: BTreeMap<u64, (u64, &'static str)>,
    report: CheckReport,
    inodes: BTreeMap<u64, InodeRecord>,
    dirents: Vec<(u64, Vec<u8>, DirentRecord)>,
    extents: Vec<(u64, u64, ExtentRecord)>,
    orphans: Vec<u64>,
    snapshots: Vec<(Vec<u8>, SnapshotRecord)>,
    /// Held extents: (freeing generation, start, record).
    held: Vec<(u64, u64, HeldExtent)>,
    /// Tree pages verified so far, by pointer: a snapshot shares whole
    /// subtrees with the current tree and with other snapshots.
    seen_nodes: std::collections::HashSet<PagePtr>,
    /// Data pages verified so far, with their checksums.
    seen_data: std::collections::HashMap<u64, u64>,
}

impl Walk {
    /// Records that `what` owns pages `start..start+len`; two owners of one page are corruption.
    fn claim(&mut self, start: u64, len: u64, what: &'static str) -> Result<()> {
        if start == 0 || len == 0 || start.checked_add(len).is_none() {
            return Err(Error::corrupt(format!(
                "{what} claims page range {start}+{len}"
            )));
        }
        if let Some((&s, &(l, w))) = self.owner.range(..start + len).next_back() {
            if s + l > start {
                return Err(Error::corrupt(format!(
                    "pages {start}+{len} ({what}) overlap pages {s}+{l} ({w})"
                )));
            }
        }
        self.owner.insert(start, (len, what));
        Ok(())
    }
}

/// fsck: walks every tree page and data page reachable from `sb`, verifies
/// checksums, the structure of the namespace, and that every page is
/// accounted for exactly once.
///
/// Without `accounting` (a snapshot's state, whose allocator records are
/// long out of date) only the tree, the data and the namespace are checked.
pub fn check(engine: &Engine, sb: &Superblock, accounting: bool) -> Result<CheckReport> {
    let mut w = Walk::default();
    w.report.generation = sb.generation;
    walk_tree(engine, sb.root, None, &mut w)?;
    let ps = engine.page_size();

    // Data pages: verify every checksum.
    let mut buf = vec![0u8; ps as usize];
    let extents = std::mem::take(&mut w.extents);
    for (ino, index, ext) in &extents {
        let inode = w
            .inodes
            .get(ino)
            .ok_or_else(|| Error::corrupt(format!("extent of missing inode {ino}")))?;
        if inode.kind != InodeKind::File || inode.inline.is_some() {
            return Err(Error::corrupt(format!(
                "inode {ino} has extents but is not an extent file"
            )));
        }
        if index.saturating_add(ext.count()) > inode.size.div_ceil(ps as u64) {
            return Err(Error::corrupt(format!(
                "inode {ino} has an extent past its size"
            )));
        }
        if ext.count() > records::max_extent_pages(ps) as u64 {
            return Err(Error::corrupt(format!(
                "inode {ino}: extent of {} pages is too long",
                ext.count()
            )));
        }
        w.claim(ext.first, ext.count(), "data")?;
        for (i, &sum) in ext.checksums.iter().enumerate() {
            engine.read_data_page(ext.first + i as u64, sum, &mut buf)?;
            w.seen_data.insert(ext.first + i as u64, sum);
            w.report.data_pages += 1;
        }
    }
    if extents
        .windows(2)
        .any(|p| p[0].0 == p[1].0 && p[0].1 + p[0].2.count() > p[1].1)
    {
        return Err(Error::corrupt("overlapping extents in one file"));
    }

    // Namespace: a directory other than the root is named exactly once and
    // counts 2 + its subdirectories as links; a file or symbolic link has
    // as many names as its link count, or is an orphan with none. Entries
    // point at inodes of the kind they say.
    let mut named: BTreeMap<u64, u32> = BTreeMap::new();
    let mut subdirs: BTreeMap<u64, u32> = BTreeMap::new();
    for (dir, name, d) in &w.dirents {
        records::check_name(name)
            .map_err(|e| Error::corrupt(format!("bad name in directory {dir}: {e}")))?;
        let parent = w
            .inodes
            .get(dir)
            .ok_or_else(|| Error::corrupt(format!("entry in missing directory {dir}")))?;
        if parent.kind != InodeKind::Dir {
            return Err(Error::corrupt(format!(
                "entry in inode {dir}, which is not a directory"
            )));
        }
        let child = w
            .inodes
            .get(&d.ino)
            .ok_or_else(|| Error::corrupt(format!("entry names missing inode {}", d.ino)))?;
        if child.kind != d.kind {
            return Err(Error::corrupt(format!(
                "entry for inode {} has the wrong kind",
                d.ino
            )));
        }
        *named.entry(d.ino).or_default() += 1;
        if d.kind == InodeKind::Dir {
            *subdirs.entry(*dir).or_default() += 1;
            if child.parent != *dir {
                return Err(Error::corrupt(format!(
                    "directory inode {} is in directory {dir} but names {} as its parent",
                    d.ino, child.parent
                )));
            }
        }
    }
    let orphans: std::collections::BTreeSet<u64> = w.orphans.iter().copied().collect();
    for &o in &orphans {
        if !w.inodes.get(&o).is_some_and(|i| i.kind == InodeKind::File) {
            return Err(Error::corrupt(format!(
                "orphan record for inode {o}, which is not a file"
            )));
        }
    }
    let (mut files, mut dirs) = (0, 0);
    for (&ino, inode) in &w.inodes {
        let n = named.get(&ino).copied().unwrap_or(0);
        let orphan = orphans.contains(&ino);
        let links_ok = match inode.kind {
            InodeKind::Dir => {
                let root = ino == records::ROOT_INO;
                if (root && n != 0) || (!root && n != 1) {
                    return Err(Error::corrupt(format!("inode {ino} is named {n} times")));
                }
                if root && inode.parent != records::ROOT_INO {
                    return Err(Error::corrupt("the root directory's parent is not itself"));
                }
                inode.nlink == subdirs.get(&ino).copied().unwrap_or(0).saturating_add(2)
            }
            _ if inode.parent != 0 => {
                return Err(Error::corrupt(format!(
                    "inode {ino} is not a directory but has a parent"
                )))
            }
            _ if orphan => n == 0 && inode.nlink == 0,
            _ => n >= 1 && inode.nlink == n,
        };
        if !links_ok {
            return Err(Error::corrupt(format!(
                "inode {ino} has a link count of {} but {n} names{}",
                inode.nlink,
                if orphan { " and an orphan record" } else { "" }
            )));
        }
        if inode.size >= 1 << 62 {
            return Err(Error::corrupt(format!(
                "inode {ino} has size {}, past the largest file",
                inode.size
            )));
        }
        if ino >= sb.next_ino {
            return Err(Error::corrupt(format!(
                "inode {ino} is not below next_ino {}",
                sb.next_ino
            )));
        }
        match inode.kind {
            InodeKind::File | InodeKind::Symlink => files += 1,
            InodeKind::Dir => dirs += 1,
        }
    }
    if !w.inodes.contains_key(&records::ROOT_INO) {
        return Err(Error::corrupt("the root directory is missing"));
    }
    if files != sb.files || dirs != sb.dirs {
        return Err(Error::corrupt(format!(
            "superblock counts {} files and {} dirs, the tree holds {files} and {dirs}",
            sb.files, sb.dirs
        )));
    }
    w.report.files = files;
    w.report.dirs = dirs;

    if accounting {
        check_snapshots(engine, sb, &mut w)?;
    } else {
        return Ok(w.report);
    }

    // Accounting: every page below the high-water mark is owned once.
    if w.report.free_pages != sb.free_pages || w.report.pending_pages != sb.pending_pages {
        return Err(Error::corrupt(format!(
            "superblock counts {} free and {} pending pages, the allocator state holds {} and {}",
            sb.free_pages, sb.pending_pages, w.report.free_pages, w.report.pending_pages
        )));
    }
    if w.report.held_pages != sb.held_pages || w.report.snapshots != sb.snapshots {
        return Err(Error::corrupt(format!(
            "superblock counts {} snapshots holding {} pages, the tree holds {} and {}",
            sb.snapshots, sb.held_pages, w.report.snapshots, w.report.held_pages
        )));
    }
    let mut next = 1;
    for (&s, &(l, what)) in &w.owner {
        if s != next {
            return Err(Error::corrupt(format!(
                "pages {next}..{s} are lost (neither used nor free)"
            )));
        }
        if s + l > sb.page_count {
            return Err(Error::corrupt(format!(
                "{what} pages {s}+{l} lie past the end ({})",
                sb.page_count
            )));
        }
        next = s + l;
    }
    if next != sb.page_count.max(1) {
        return Err(Error::corrupt(format!(
            "pages {next}..{} are lost (neither used nor free)",
            sb.page_count
        )));
    }
    Ok(w.report)
}

fn walk_tree(engine: &Engine, ptr: PagePtr, parent_level: Option<u8>, w: &mut Walk) -> Result<()> {
    use super::tree::PageSource;
    let node = engine.load(&ptr)?;
    if parent_level.is_some_and(|p| node.level() + 1 != p) {
        return Err(Error::corrupt(format!(
            "tree page {} at the wrong level",
            ptr.page
        )));
    }
    w.claim(ptr.page, 1, "tree")?;
    w.seen_nodes.insert(ptr);
    w.report.tree_pages += 1;
    match node.is_leaf() {
        false => {
            for c in node.children() {
                walk_tree(engine, *c, Some(node.level()), w)?;
            }
        }
        true => {
            for (k, v) in (0..node.len()).map(|i| (node.key(i), node.value(i))) {
                let key = Key::decode(k)?;
                match key.kind {
                    Kind::Inode => {
                        w.inodes.insert(key.ino, InodeRecord::decode(v)?);
                    }
                    Kind::Dirent => {
                        w.dirents
                            .push((key.ino, key.sub.to_vec(), DirentRecord::decode(v)?))
                    }
                    Kind::Extent => {
                        w.extents
                            .push((key.ino, key.sub_u64()?, ExtentRecord::decode(v)?))
                    }
                    Kind::Free => {
                        let len = records::decode_count(v)?;
                        w.claim(key.sub_u64()?, len, "free")?;
                        w.report.free_pages += len;
                    }
                    Kind::Pending => {
                        let (_, start) = key.pending()?;
                        let len = records::decode_count(v)?;
                        w.claim(start, len, "pending")?;
                        w.report.pending_pages += len;
                    }
                    Kind::Orphan => w.orphans.push(key.sub_u64()?),
                    Kind::Snapshot => {
                        records::check_name(key.sub)
                            .map_err(|e| Error::corrupt(format!("bad snapshot name: {e}")))?;
                        w.snapshots
                            .push((key.sub.to_vec(), SnapshotRecord::decode(v)?));
                    }
                    Kind::Held => {
                        let (freed_by, start) = key.pending()?;
                        let h = HeldExtent::decode(v)?;
                        w.claim(start, h.count, "held")?;
                        w.report.held_pages += h.count;
                        w.held.push((freed_by, start, h));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The snapshots' side of the accounting: every page a snapshot references
/// is verified and is either shared with the current tree (the very same
/// node or data page) or held — never free or pending — and every held page
/// is referenced by a snapshot that needs it.
fn check_snapshots(engine: &Engine, sb: &Superblock, w: &mut Walk) -> Result<()> {
    let generations: Vec<u64> = w.snapshots.iter().map(|(_, s)| s.generation).collect();
    for (freed_by, start, h) in &w.held {
        if !HeldExtent::needed_by(h.birth, *freed_by, generations.iter().copied()) {
            return Err(Error::corrupt(format!(
                "pages {start}+{} are held, but no snapshot of a generation in {}..{freed_by} exists",
                h.count, h.birth
            )));
        }
    }
    let mut referenced = 0u64;
    for (name, snap) in std::mem::take(&mut w.snapshots) {
        if snap.generation >= sb.generation {
            return Err(Error::corrupt(format!(
                "snapshot {:?} keeps generation {}, not older than the state {}",
                String::from_utf8_lossy(&name),
                snap.generation,
                sb.generation
            )));
        }
        walk_snapshot(engine, snap.root, None, &name, w, &mut referenced)?;
        w.report.snapshots += 1;
    }
    if referenced != w.report.held_pages {
        return Err(Error::corrupt(format!(
            "{} pages are held for snapshots, but the snapshots reference {referenced} of them",
            w.report.held_pages
        )));
    }
    Ok(())
}

/// The role `page` has in the current state's accounting, if any.
fn role_of(w: &Walk, page: u64) -> Option<&'static str> {
    w.owner
        .range(..=page)
        .next_back()
        .filter(|(&s, &(l, _))| page < s + l)
        .map(|(_, &(_, what))| what)
}

fn walk_snapshot(
    engine: &Engine,
    ptr: PagePtr,
    parent_level: Option<u8>,
    name: &[u8],
    w: &mut Walk,
    referenced: &mut u64,
) -> Result<()> {
    use super::tree::PageSource;
    if w.seen_nodes.contains(&ptr) {
        return Ok(());
    }
    let whose = || String::from_utf8_lossy(name).into_owned();
    match role_of(w, ptr.page) {
        Some("held") => {}
        role => {
            return Err(Error::corrupt(format!(
                "tree page {} of snapshot {:?} is {} in the current state",
                ptr.page,
                whose(),
                role.unwrap_or("lost")
            )))
        }
    }
    let node = engine.load(&ptr)?;
    if parent_level.is_some_and(|p| node.level() + 1 != p) {
        return Err(Error::corrupt(format!(
            "tree page {} of snapshot {:?} at the wrong level",
            ptr.page,
            whose()
        )));
    }
    w.seen_nodes.insert(ptr);
    *referenced += 1;
    w.report.tree_pages += 1;
    if !node.is_leaf() {
        for c in node.children() {
            walk_snapshot(engine, *c, Some(node.level()), name, w, referenced)?;
        }
        return Ok(());
    }
    let mut buf = vec![0u8; engine.page_size() as usize];
    for (k, v) in (0..node.len()).map(|i| (node.key(i), node.value(i))) {
        if Key::decode(k)?.kind != Kind::Extent {
            continue;
        }
        let ext = ExtentRecord::decode(v)?;
        for (i, &sum) in ext.checksums.iter().enumerate() {
            let page = ext.first + i as u64;
            match w.seen_data.get(&page) {
                Some(&seen) if seen == sum => continue,
                Some(_) => {
                    return Err(Error::corrupt(format!(
                        "data page {page} of snapshot {:?} was overwritten",
                        whose()
                    )))
                }
                None => {}
            }
            if role_of(w, page) != Some("held") {
                return Err(Error::corrupt(format!(
                    "data page {page} of snapshot {:?} is {} in the current state",
                    whose(),
                    role_of(w, page).unwrap_or("lost")
                )));
            }
            engine.read_data_page(page, sum, &mut buf)?;
            w.seen_data.insert(page, sum);
            *referenced += 1;
            w.report.data_pages += 1;
        }
    }
    Ok(())
}
