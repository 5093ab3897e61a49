//! The copy-on-write B+tree. A tree is a [`Child`]: either a clean pointer
//! to a committed page or a dirty node in memory. Reads work on both;
//! writes copy each clean node they touch into memory (its page goes on the
//! `freed` list) and [`TxTree::write_out`] gives every dirty node a new page,
//! children before parents, so each parent records its children's checksums.
//!
//! Invariants:
//! - A committed page is never modified: changing it means a new page.
//! - Keys in a node are strictly increasing, and the key of child *i* is a
//!   lower bound of every key below it (child 0's bound is minus infinity).
//! - Every node fits in one page after [`TxTree::write_out`].
//! - A child is exactly one level below its parent; loading checks it, so a
//!   hostile container cannot make a walk loop.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::format::node::{self, HEADER};
use crate::format::{Node, PagePtr};

/// A callback over `(key, value)` records; returns whether to go on.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

/// Where tree pages come from (the engine: cache, storage, checksums).
pub trait PageSource {
    /// Loads and verifies the node behind `ptr`.
    fn load(&self, ptr: &PagePtr) -> Result<Arc<Node>>;
    /// Page size in bytes.
    fn page_size(&self) -> usize;
}

/// A subtree: committed, or modified in memory.
pub enum Child {
    /// A committed page.
    Clean(PagePtr),
    /// A node changed by this transaction.
    Dirty(Box<DNode>),
}

/// Sorted `(key, value)` pairs packed in one buffer, as in a page: copying
/// a committed node is one `memcpy`, and an edit appends the new pair and
/// updates the index, with no allocation per key.
///
/// Each pair this adds is preceded by its [`node::leaf_lengths`], as in a
/// leaf page (and as in the page a leaf was copied from), so that a leaf's
/// unchanged runs of entries go to its new page in one copy each
/// ([`Node::build_leaf_from`], which checks the lengths, so this layout
/// decides speed, never content).
#[derive(Clone, Default)]
struct Entries {
    /// Key and value bytes; entries not in `index` are garbage.
    buf: Vec<u8>,
    /// Per entry in key order: offset in `buf`, key length, value length.
    index: Vec<(u32, u16, u16)>,
    /// Key and value bytes of the live entries.
    live: usize,
}

/// Spare entries and bytes a copied node starts with.
const INDEX_ROOM: usize = 16;
const STASH_ROOM: usize = 1024;

impl Entries {
    /// A copy of a committed node's entries: one `memcpy` of its page (up
    /// to its last entry: the rest is zeros) and of its index (an internal
    /// node's values, its child pointers, are kept apart, so they count as
    /// empty here).
    fn from_node(n: &Node) -> Entries {
        let (bytes, page_index) = n.raw_parts();
        let used = page_index
            .last()
            .map_or(0, |&(o, k, v)| o as usize + k as usize + v as usize);
        // Room for a commit's few edits, so that they do not move the copy.
        let mut index = Vec::with_capacity(page_index.len() + INDEX_ROOM);
        if n.is_leaf() {
            index.extend_from_slice(page_index);
        } else {
            index.extend(page_index.iter().map(|&(o, k, _)| (o, k, 0)));
        }
        let live = index.iter().map(|&(_, k, v)| k as usize + v as usize).sum();
        let mut buf = Vec::with_capacity(used + STASH_ROOM);
        buf.extend_from_slice(&bytes[..used]);
        Entries { buf, index, live }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        let (off, kl, _) = self.index[i];
        &self.buf[off as usize..off as usize + kl as usize]
    }

    fn value(&self, i: usize) -> &[u8] {
        let (off, kl, vl) = self.index[i];
        let start = off as usize + kl as usize;
        &self.buf[start..start + vl as usize]
    }

    fn search(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match node::compare_keys(self.key(mid), key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Appends the bytes of a pair; returns its index entry.
    fn stash(&mut self, key: &[u8], value: &[u8]) -> (u32, u16, u16) {
        if self.buf.len() > 2 * self.live + 8 * 1024 {
            self.compact();
        }
        let (kl, vl) = (key.len() as u16, value.len() as u16);
        self.buf.extend_from_slice(&node::leaf_lengths(kl, vl));
        let off = self.buf.len() as u32;
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(value);
        self.live += key.len() + value.len();
        (off, kl, vl)
    }

    /// Appends a pair that sorts after every key here.
    fn push(&mut self, key: &[u8], value: &[u8]) {
        let e = self.stash(key, value);
        self.index.push(e);
    }

    fn insert(&mut self, i: usize, key: &[u8], value: &[u8]) {
        let e = self.stash(key, value);
        self.index.insert(i, e);
    }

    /// Replaces value `i`; returns the old one.
    fn set_value(&mut self, i: usize, value: &[u8]) -> Vec<u8> {
        let old = self.value(i).to_vec();
        let key = self.key(i).to_vec();
        let (_, kl, vl) = self.index[i];
        self.live -= kl as usize + vl as usize;
        self.index[i] = self.stash(&key, value);
        old
    }

    /// Replaces key `i` (an internal node's lower bound).
    fn set_key(&mut self, i: usize, key: &[u8]) {
        let value = self.value(i).to_vec();
        let (_, kl, vl) = self.index[i];
        self.live -= kl as usize + vl as usize;
        self.index[i] = self.stash(key, &value);
    }

    /// Removes entry `i`.
    fn remove(&mut self, i: usize) {
        let (_, kl, vl) = self.index.remove(i);
        self.live -= kl as usize + vl as usize;
    }

    /// Drops the garbage.
    fn compact(&mut self) {
        let mut buf = Vec::with_capacity(self.live + 4 * self.index.len() + 1024);
        for e in &mut self.index {
            let (off, kl, vl) = *e;
            let start = off as usize;
            buf.extend_from_slice(&node::leaf_lengths(kl, vl));
            e.0 = buf.len() as u32;
            buf.extend_from_slice(&self.buf[start..start + kl as usize + vl as usize]);
        }
        self.buf = buf;
    }

    /// Splits entries `at..` off.
    fn split_off(&mut self, at: usize) -> Entries {
        let mut other = Entries::default();
        for i in at..self.len() {
            other.push(self.key(i), self.value(i));
        }
        self.live -= other.live;
        self.index.truncate(at);
        self.compact();
        other
    }

    fn append(&mut self, other: &Entries) {
        for i in 0..other.len() {
            self.push(other.key(i), other.value(i));
        }
    }
}

/// A node in memory.
pub struct DNode {
    level: u8,
    entries: Entries,
    /// Children of an internal node, one per key (empty for a leaf).
    children: Vec<Child>,
}

/// Encoded overhead of one entry besides its key and value bytes.
fn entry_overhead(leaf: bool) -> usize {
    if leaf {
        4
    } else {
        2 + PagePtr::SIZE
    }
}

impl DNode {
    fn empty_leaf() -> DNode {
        DNode {
            level: 0,
            entries: Entries::default(),
            children: Vec::new(),
        }
    }

    fn from_node(n: &Node) -> DNode {
        DNode {
            level: n.level(),
            entries: Entries::from_node(n),
            children: n.children().iter().map(|p| Child::Clean(*p)).collect(),
        }
    }

    fn is_leaf(&self) -> bool {
        self.level == 0
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn entry_size(&self, i: usize) -> usize {
        let (_, kl, vl) = self.entries.index[i];
        entry_overhead(self.is_leaf()) + kl as usize + vl as usize
    }

    fn encoded_size(&self) -> usize {
        HEADER + self.entries.live + self.len() * entry_overhead(self.is_leaf())
    }

    /// Splits entries `at..` off into a new node of the same level.
    fn split_off(&mut self, at: usize) -> DNode {
        let children = if self.is_leaf() {
            Vec::new()
        } else {
            self.children.split_off(at)
        };
        DNode {
            level: self.level,
            entries: self.entries.split_off(at),
            children,
        }
    }

    fn append(&mut self, other: DNode) {
        self.entries.append(&other.entries);
        self.children.extend(other.children);
    }

    /// Cuts an oversized node into pieces that each fit in a page. Entries
    /// go to pieces by the byte offset where they start, so each piece holds
    /// at most its share plus one entry.
    fn into_pieces(mut self, page_size: usize) -> Vec<DNode> {
        let total = self.encoded_size() - HEADER;
        let cap = page_size - HEADER;
        if total <= cap {
            return vec![self];
        }
        let largest = (0..self.len())
            .map(|i| self.entry_size(i))
            .max()
            .unwrap_or(0);
        let share = cap.saturating_sub(largest).max(1);
        let n = total.div_ceil(share).max(2);
        let mut cuts = Vec::new();
        let mut prefix = 0;
        let mut last_piece = 0;
        for i in 0..self.len() {
            let piece = (prefix * n / total).min(n - 1);
            if piece != last_piece && i > 0 {
                cuts.push(i);
                last_piece = piece;
            }
            prefix += self.entry_size(i);
        }
        let mut pieces = Vec::with_capacity(cuts.len() + 1);
        for &cut in cuts.iter().rev() {
            pieces.push(self.split_off(cut));
        }
        pieces.push(self);
        pieces.reverse();
        pieces
    }
}

/// Sorted keys, read in place: a committed node or a node in memory.
trait Keys {
    fn count(&self) -> usize;
    fn find(&self, key: &[u8]) -> std::result::Result<usize, usize>;
}

impl Keys for Node {
    fn count(&self) -> usize {
        self.len()
    }
    fn find(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        self.search(key)
    }
}

impl Keys for DNode {
    fn count(&self) -> usize {
        self.len()
    }
    fn find(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        self.entries.search(key)
    }
}

/// Index of the child whose range holds `key`: the last with a lower bound ≤ key.
fn child_index(keys: &dyn Keys, key: &[u8]) -> usize {
    match keys.find(key) {
        Ok(i) => i,
        Err(0) => 0,
        Err(i) => i - 1,
    }
}

/// The children of an internal node whose ranges meet `lo..hi`.
fn child_span(keys: &dyn Keys, lo: &[u8], hi: Option<&[u8]>) -> std::ops::Range<usize> {
    let first = child_index(keys, lo);
    let last = hi.map_or(keys.count(), |h| keys.find(h).unwrap_or_else(|i| i));
    first..last.max(first + 1)
}

/// The entries of a leaf inside `lo..hi`.
fn leaf_span(keys: &dyn Keys, lo: &[u8], hi: Option<&[u8]>) -> std::ops::Range<usize> {
    let first = keys.find(lo).unwrap_or_else(|i| i);
    let last = hi.map_or(keys.count(), |h| keys.find(h).unwrap_or_else(|i| i));
    first..last.max(first)
}

/// A node seen through either a committed page or memory.
enum View<'a> {
    Shared(Arc<Node>),
    Borrowed(&'a DNode),
}

fn view<'a>(src: &dyn PageSource, child: &'a Child, parent_level: Option<u8>) -> Result<View<'a>> {
    let v = match child {
        Child::Clean(ptr) => View::Shared(src.load(ptr)?),
        Child::Dirty(n) => View::Borrowed(n),
    };
    let level = match &v {
        View::Shared(n) => n.level(),
        View::Borrowed(n) => n.level,
    };
    if let Some(p) = parent_level {
        if level + 1 != p {
            return Err(Error::corrupt(format!(
                "tree node at level {level} below a node at level {p}"
            )));
        }
    }
    Ok(v)
}

/// Looks up `key`.
pub fn get(src: &dyn PageSource, root: &Child, key: &[u8]) -> Result<Option<Vec<u8>>> {
    get_with(src, root, key, &mut |v| v.to_vec())
}

/// Looks up `key` and hands its value, in place, to `f`.
pub fn get_with<T>(
    src: &dyn PageSource,
    root: &Child,
    key: &[u8],
    f: &mut dyn FnMut(&[u8]) -> T,
) -> Result<Option<T>> {
    get_rec(src, root, None, key, f)
}

/// One step of [`get_with`]: the key can only be below the child whose range holds it.
fn get_rec<T>(
    src: &dyn PageSource,
    child: &Child,
    parent_level: Option<u8>,
    key: &[u8],
    f: &mut dyn FnMut(&[u8]) -> T,
) -> Result<Option<T>> {
    match view(src, child, parent_level)? {
        View::Shared(n) if n.is_leaf() => Ok(n.search(key).ok().map(|i| f(n.value(i)))),
        View::Shared(n) => {
            let next = Child::Clean(n.child(child_index(&*n, key)));
            get_rec(src, &next, Some(n.level()), key, f)
        }
        View::Borrowed(n) if n.is_leaf() => {
            Ok(n.entries.search(key).ok().map(|i| f(n.entries.value(i))))
        }
        View::Borrowed(n) => get_rec(src, &n.children[child_index(n, key)], Some(n.level), key, f),
    }
}

/// Calls `f(key, value)` for the keys in `lo..hi` (all keys from `lo` when
/// `hi` is `None`) in order, or in reverse order when `rev`; `f` returns
/// whether to go on.
pub fn visit(
    src: &dyn PageSource,
    root: &Child,
    lo: &[u8],
    hi: Option<&[u8]>,
    rev: bool,
    f: &mut Visitor,
) -> Result<()> {
    visit_rec(src, root, None, lo, hi, rev, f).map(|_| ())
}

fn visit_rec(
    src: &dyn PageSource,
    child: &Child,
    parent_level: Option<u8>,
    lo: &[u8],
    hi: Option<&[u8]>,
    rev: bool,
    f: &mut Visitor,
) -> Result<bool> {
    match &view(src, child, parent_level)? {
        View::Shared(n) if n.is_leaf() => {
            visit_span(leaf_span(&**n, lo, hi), rev, |i| f(n.key(i), n.value(i)))
        }
        View::Shared(n) => visit_span(child_span(&**n, lo, hi), rev, |i| {
            visit_rec(
                src,
                &Child::Clean(n.child(i)),
                Some(n.level()),
                lo,
                hi,
                rev,
                f,
            )
        }),
        View::Borrowed(n) if n.is_leaf() => visit_span(leaf_span(*n, lo, hi), rev, |i| {
            f(n.entries.key(i), n.entries.value(i))
        }),
        View::Borrowed(n) => visit_span(child_span(*n, lo, hi), rev, |i| {
            visit_rec(src, &n.children[i], Some(n.level), lo, hi, rev, f)
        }),
    }
}

/// Calls `each` for the indices in `span`, in order or reversed, until
/// one returns `false` (which is then returned).
fn visit_span(
    span: std::ops::Range<usize>,
    rev: bool,
    mut each: impl FnMut(usize) -> Result<bool>,
) -> Result<bool> {
    if rev {
        for i in span.rev() {
            if !each(i)? {
                return Ok(false);
            }
        }
    } else {
        for i in span {
            if !each(i)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// A tree being changed by one transaction.
pub struct TxTree {
    root: Child,
    /// Pages of committed nodes this transaction copied (now garbage once it commits).
    /// Pages of replaced nodes, each with the generation that wrote it
    /// (its birth: a snapshot of a generation from then on references it).
    pub freed: Vec<(u64, u64)>,
    /// While set, deletions do not merge nodes, so the number of dirty
    /// nodes only grows (the allocator's fixed-point loop relies on it).
    pub no_merge: bool,
}

impl TxTree {
    /// Starts from a committed root (`None`: an empty tree).
    pub fn new(root: Option<PagePtr>) -> TxTree {
        let root = match root {
            Some(p) => Child::Clean(p),
            None => Child::Dirty(Box::new(DNode::empty_leaf())),
        };
        TxTree {
            root,
            freed: Vec::new(),
            no_merge: false,
        }
    }

    /// The current root.
    pub fn root(&self) -> &Child {
        &self.root
    }

    /// Looks up `key`.
    pub fn get(&self, src: &dyn PageSource, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get(src, &self.root, key)
    }

    /// Inserts or replaces; returns the old value.
    pub fn insert(
        &mut self,
        src: &dyn PageSource,
        key: &[u8],
        value: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        if node::leaf_entry_size(key, value) > src.page_size() / 3 {
            return Err(Error::Internal(format!(
                "record of {} bytes is too large for a node",
                key.len() + value.len()
            )));
        }
        let node = make_dirty(src, &mut self.root, None, &mut self.freed)?;
        let old = insert_rec(src, node, key, value, &mut self.freed)?;
        if node.encoded_size() > src.page_size() {
            let Child::Dirty(n) =
                std::mem::replace(&mut self.root, Child::Clean(PagePtr::default()))
            else {
                unreachable!("made dirty above")
            };
            let level = n.level;
            let pieces = n.into_pieces(src.page_size());
            let mut entries = Entries::default();
            entries.push(&[], &[]);
            for p in &pieces[1..] {
                entries.push(p.entries.key(0), &[]);
            }
            let children = pieces
                .into_iter()
                .map(|p| Child::Dirty(Box::new(p)))
                .collect();
            self.root = Child::Dirty(Box::new(DNode {
                level: level + 1,
                entries,
                children,
            }));
        }
        Ok(old)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, src: &dyn PageSource, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // Find the key before copying anything (no page is copied for a key
        // that is not there), and keep the way to it: copying a node keeps
        // the order of its entries, so the way down is searched only once.
        let mut path = Vec::with_capacity(8);
        if !locate(src, &self.root, None, key, &mut path)? {
            return Ok(None);
        }
        let node = make_dirty(src, &mut self.root, None, &mut self.freed)?;
        let old = remove_rec(src, node, key, &path, &mut self.freed, self.no_merge)?;
        // Collapse a root with a single child; an empty root becomes an empty leaf.
        while let Child::Dirty(n) = &mut self.root {
            if n.is_leaf() {
                break;
            }
            match n.children.len() {
                1 => self.root = n.children.pop().expect("one child"),
                0 => self.root = Child::Dirty(Box::new(DNode::empty_leaf())),
                _ => break,
            }
        }
        Ok(old)
    }

    /// Nodes waiting for a page.
    pub fn dirty_count(&self) -> usize {
        fn count(c: &Child) -> usize {
            match c {
                Child::Clean(_) => 0,
                Child::Dirty(n) => 1 + n.children.iter().map(count).sum::<usize>(),
            }
        }
        count(&self.root)
    }

    /// Gives each dirty node a page from `pages`, builds it for
    /// `generation` and hands `(pointer, node)` to `write`, children before
    /// parents. Returns the new root pointer.
    pub fn write_out(
        &mut self,
        page_size: usize,
        generation: u64,
        pages: &mut dyn Iterator<Item = u64>,
        write: &mut dyn FnMut(PagePtr, Node) -> Result<()>,
    ) -> Result<PagePtr> {
        fn out(
            c: &mut Child,
            ps: usize,
            g: u64,
            pages: &mut dyn Iterator<Item = u64>,
            write: &mut dyn FnMut(PagePtr, Node) -> Result<()>,
        ) -> Result<PagePtr> {
            let n = match c {
                Child::Clean(p) => return Ok(*p),
                Child::Dirty(n) => n,
            };
            let page = pages
                .next()
                .ok_or_else(|| Error::Internal("allocator handed out too few tree pages".into()))?;
            let built = if n.level == 0 {
                Node::build_leaf_from(ps, page, g, &n.entries.buf, &n.entries.index)
            } else {
                // Children first: each becomes the clean pointer its
                // parent records.
                for ch in n.children.iter_mut() {
                    out(ch, ps, g, pages, write)?;
                }
                let e = &n.entries;
                let ptrs = n.children.iter().map(|ch| match ch {
                    Child::Clean(p) => *p,
                    Child::Dirty(_) => unreachable!("written out above"),
                });
                Node::build_internal(
                    ps,
                    page,
                    g,
                    n.level,
                    (0..e.len()).map(|i| e.key(i)).zip(ptrs),
                )
            };
            let ptr = PagePtr {
                page,
                generation: g,
                checksum: crate::format::page_checksum(page, g, built.bytes()),
            };
            write(ptr, built)?;
            *c = Child::Clean(ptr);
            Ok(ptr)
        }
        out(&mut self.root, page_size, generation, pages, write)
    }
}

/// Copies a clean node into memory (its page goes on `freed`) and returns it.
fn make_dirty<'a>(
    src: &dyn PageSource,
    c: &'a mut Child,
    parent_level: Option<u8>,
    freed: &mut Vec<(u64, u64)>,
) -> Result<&'a mut DNode> {
    if let Child::Clean(ptr) = c {
        let n = src.load(ptr)?;
        if let Some(p) = parent_level {
            if n.level() + 1 != p {
                return Err(Error::corrupt(format!(
                    "tree node at level {} below a node at level {p}",
                    n.level()
                )));
            }
        }
        freed.push((ptr.page, ptr.generation));
        *c = Child::Dirty(Box::new(DNode::from_node(&n)));
    }
    match c {
        Child::Dirty(n) => Ok(n),
        Child::Clean(_) => unreachable!("made dirty above"),
    }
}

fn insert_rec(
    src: &dyn PageSource,
    n: &mut DNode,
    key: &[u8],
    value: &[u8],
    freed: &mut Vec<(u64, u64)>,
) -> Result<Option<Vec<u8>>> {
    if n.is_leaf() {
        return Ok(match n.entries.search(key) {
            Ok(i) => Some(n.entries.set_value(i, value)),
            Err(i) => {
                n.entries.insert(i, key, value);
                None
            }
        });
    }
    let i = child_index(n, key);
    let child = make_dirty(src, &mut n.children[i], Some(n.level), freed)?;
    let old = insert_rec(src, child, key, value, freed)?;
    if child.encoded_size() > src.page_size() {
        split_child(n, i, src.page_size());
    }
    Ok(old)
}

/// Cuts the oversized dirty child `i` of `n` into pieces that fit, in
/// place: the first piece keeps the child's slot and bound, the others
/// follow it with their first keys as bounds.
fn split_child(n: &mut DNode, i: usize, page_size: usize) {
    let Child::Dirty(c) = std::mem::replace(&mut n.children[i], Child::Clean(PagePtr::default()))
    else {
        unreachable!("only a dirty child can outgrow its page")
    };
    for (j, p) in c.into_pieces(page_size).into_iter().enumerate() {
        if j == 0 {
            n.children[i] = Child::Dirty(Box::new(p));
        } else {
            n.entries.insert(i + j, p.entries.key(0), &[]);
            n.children.insert(i + j, Child::Dirty(Box::new(p)));
        }
    }
}

/// The way from `child` down to `key`, as [`TxTree::remove`] takes it:
/// pushes the index of the child followed at each internal node, then the
/// index of the key in its leaf; returns whether the key is there. Copies
/// nothing.
fn locate(
    src: &dyn PageSource,
    child: &Child,
    parent_level: Option<u8>,
    key: &[u8],
    path: &mut Vec<usize>,
) -> Result<bool> {
    match view(src, child, parent_level)? {
        View::Shared(n) if n.is_leaf() => Ok(n.search(key).map(|i| path.push(i)).is_ok()),
        View::Shared(n) => {
            let i = child_index(&*n, key);
            path.push(i);
            locate(src, &Child::Clean(n.child(i)), Some(n.level()), key, path)
        }
        View::Borrowed(n) if n.is_leaf() => Ok(n.entries.search(key).map(|i| path.push(i)).is_ok()),
        View::Borrowed(n) => {
            let i = child_index(n, key);
            path.push(i);
            locate(src, &n.children[i], Some(n.level), key, path)
        }
    }
}

/// Removes `key`, which [`locate`] found at `path` (this node's index first).
fn remove_rec(
    src: &dyn PageSource,
    n: &mut DNode,
    key: &[u8],
    path: &[usize],
    freed: &mut Vec<(u64, u64)>,
    no_merge: bool,
) -> Result<Option<Vec<u8>>> {
    let level = n.level;
    let page_size = src.page_size();
    let (&i, below) = path
        .split_first()
        .ok_or_else(|| Error::Internal("the way to a key ends above its leaf".into()))?;
    if n.is_leaf() {
        if i >= n.len() || n.entries.key(i) != key {
            return Err(Error::Internal("the way to a key led elsewhere".into()));
        }
        let old = n.entries.value(i).to_vec();
        n.entries.remove(i);
        return Ok(Some(old));
    }
    let child = make_dirty(src, &mut n.children[i], Some(level), freed)?;
    let old = remove_rec(src, child, key, below, freed, no_merge)?;
    if child.len() == 0 {
        n.children.remove(i);
        let bound = (i == 0).then(|| n.entries.key(0).to_vec());
        n.entries.remove(i);
        if let Some(bound) = bound.filter(|_| n.len() > 0) {
            // The new first child inherits the lower bound of the old one.
            n.entries.set_key(0, &bound);
        }
    } else if !no_merge && child.encoded_size() < page_size / 4 && n.children.len() > 1 {
        let (l, r) = if i + 1 < n.children.len() {
            (i, i + 1)
        } else {
            (i - 1, i)
        };
        make_dirty(src, &mut n.children[r], Some(level), freed)?;
        make_dirty(src, &mut n.children[l], Some(level), freed)?;
        let Child::Dirty(right) = n.children.remove(r) else {
            unreachable!("made dirty above")
        };
        n.entries.remove(r);
        let Child::Dirty(left) = &mut n.children[l] else {
            unreachable!("made dirty above")
        };
        left.append(*right);
        if left.encoded_size() > page_size {
            split_child(n, l, page_size);
        }
    }
    Ok(old)
}
