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
use crate::format::node::{self, internal_entry_size, leaf_entry_size, HEADER};
use crate::format::{Node, NodeBody, PagePtr};

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

/// A node in memory.
pub struct DNode {
    level: u8,
    keys: Vec<Vec<u8>>,
    body: DBody,
}

enum DBody {
    Leaf(Vec<Vec<u8>>),
    Internal(Vec<Child>),
}

impl DNode {
    fn empty_leaf() -> DNode {
        DNode {
            level: 0,
            keys: Vec::new(),
            body: DBody::Leaf(Vec::new()),
        }
    }

    fn from_node(n: &Node) -> DNode {
        let body = match &n.body {
            NodeBody::Leaf(v) => DBody::Leaf(v.clone()),
            NodeBody::Internal(c) => DBody::Internal(c.iter().map(|p| Child::Clean(*p)).collect()),
        };
        DNode {
            level: n.level,
            keys: n.keys.clone(),
            body,
        }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn entry_size(&self, i: usize) -> usize {
        match &self.body {
            DBody::Leaf(v) => leaf_entry_size(&self.keys[i], &v[i]),
            DBody::Internal(_) => internal_entry_size(&self.keys[i]),
        }
    }

    fn encoded_size(&self) -> usize {
        HEADER + (0..self.len()).map(|i| self.entry_size(i)).sum::<usize>()
    }

    /// Splits entries `at..` off into a new node of the same level.
    fn split_off(&mut self, at: usize) -> DNode {
        let keys = self.keys.split_off(at);
        let body = match &mut self.body {
            DBody::Leaf(v) => DBody::Leaf(v.split_off(at)),
            DBody::Internal(c) => DBody::Internal(c.split_off(at)),
        };
        DNode {
            level: self.level,
            keys,
            body,
        }
    }

    fn append(&mut self, mut other: DNode) {
        self.keys.append(&mut other.keys);
        match (&mut self.body, other.body) {
            (DBody::Leaf(a), DBody::Leaf(mut b)) => a.append(&mut b),
            (DBody::Internal(a), DBody::Internal(mut b)) => a.append(&mut b),
            _ => unreachable!("siblings share a level, so they share a kind"),
        }
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

/// Index of the child whose range holds `key`: the last with a lower bound ≤ key.
fn child_index(keys: &[Vec<u8>], key: &[u8]) -> usize {
    match keys.binary_search_by(|k| k.as_slice().cmp(key)) {
        Ok(i) => i,
        Err(0) => 0,
        Err(i) => i - 1,
    }
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
        View::Shared(n) => n.level,
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
    get_rec(src, root, None, key)
}

/// One step of [`get`]: the key can only be below the child whose range holds it.
fn get_rec(
    src: &dyn PageSource,
    child: &Child,
    parent_level: Option<u8>,
    key: &[u8],
) -> Result<Option<Vec<u8>>> {
    let find = |keys: &[Vec<u8>]| keys.binary_search_by(|k| k.as_slice().cmp(key)).ok();
    match view(src, child, parent_level)? {
        View::Shared(n) => match &n.body {
            NodeBody::Leaf(vals) => Ok(find(&n.keys).map(|i| vals[i].clone())),
            NodeBody::Internal(ptrs) => {
                let i = child_index(&n.keys, key);
                get_rec(src, &Child::Clean(ptrs[i]), Some(n.level), key)
            }
        },
        View::Borrowed(n) => match &n.body {
            DBody::Leaf(vals) => Ok(find(&n.keys).map(|i| vals[i].clone())),
            DBody::Internal(children) => get_rec(
                src,
                &children[child_index(&n.keys, key)],
                Some(n.level),
                key,
            ),
        },
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
    let v = view(src, child, parent_level)?;
    let in_range = |k: &[u8]| k >= lo && hi.is_none_or(|h| k < h);
    match &v {
        View::Shared(n) => match &n.body {
            NodeBody::Leaf(vals) => visit_leaf(&n.keys, vals, in_range, rev, f),
            NodeBody::Internal(ptrs) => visit_children(child_span(&n.keys, lo, hi), rev, |i| {
                visit_rec(src, &Child::Clean(ptrs[i]), Some(n.level), lo, hi, rev, f)
            }),
        },
        View::Borrowed(n) => match &n.body {
            DBody::Leaf(vals) => visit_leaf(&n.keys, vals, in_range, rev, f),
            DBody::Internal(children) => visit_children(child_span(&n.keys, lo, hi), rev, |i| {
                visit_rec(src, &children[i], Some(n.level), lo, hi, rev, f)
            }),
        },
    }
}

/// The children of an internal node whose ranges meet `lo..hi`.
fn child_span(keys: &[Vec<u8>], lo: &[u8], hi: Option<&[u8]>) -> std::ops::Range<usize> {
    let first = child_index(keys, lo);
    let last = hi.map_or(keys.len(), |h| keys.partition_point(|k| k.as_slice() < h));
    first..last.max(first + 1)
}

/// Calls `each` for the children in `span`, in order or reversed, until
/// one returns `false` (which is then returned).
fn visit_children(
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

fn visit_leaf(
    keys: &[Vec<u8>],
    vals: &[Vec<u8>],
    in_range: impl Fn(&[u8]) -> bool,
    rev: bool,
    f: &mut Visitor,
) -> Result<bool> {
    let idx: Box<dyn Iterator<Item = usize>> = if rev {
        Box::new((0..keys.len()).rev())
    } else {
        Box::new(0..keys.len())
    };
    for i in idx {
        if in_range(&keys[i]) && !f(&keys[i], &vals[i])? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A tree being changed by one transaction.
pub struct TxTree {
    root: Child,
    /// Pages of committed nodes this transaction copied (now garbage once it commits).
    pub freed: Vec<u64>,
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
        if leaf_entry_size(key, value) > src.page_size() / 3 {
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
            let mut keys = Vec::with_capacity(pieces.len());
            keys.push(Vec::new());
            keys.extend(pieces[1..].iter().map(|p| p.keys[0].clone()));
            let children = pieces
                .into_iter()
                .map(|p| Child::Dirty(Box::new(p)))
                .collect();
            self.root = Child::Dirty(Box::new(DNode {
                level: level + 1,
                keys,
                body: DBody::Internal(children),
            }));
        }
        Ok(old)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, src: &dyn PageSource, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // Do not copy pages for a key that is not there.
        if self.get(src, key)?.is_none() {
            return Ok(None);
        }
        let node = make_dirty(src, &mut self.root, None, &mut self.freed)?;
        let old = remove_rec(src, node, key, &mut self.freed, self.no_merge)?;
        // Collapse a root with a single child; an empty root becomes an empty leaf.
        while let Child::Dirty(n) = &mut self.root {
            match &mut n.body {
                DBody::Internal(c) if c.len() == 1 => {
                    self.root = c.pop().expect("one child");
                }
                DBody::Internal(c) if c.is_empty() => {
                    self.root = Child::Dirty(Box::new(DNode::empty_leaf()));
                }
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
                Child::Dirty(n) => {
                    1 + match &n.body {
                        DBody::Internal(cs) => cs.iter().map(count).sum(),
                        DBody::Leaf(_) => 0,
                    }
                }
            }
        }
        count(&self.root)
    }

    /// Gives each dirty node a page from `pages`, encodes it for
    /// `generation` and hands `(page, bytes)` to `write`, children before
    /// parents. Returns the new root pointer.
    pub fn write_out(
        &mut self,
        page_size: usize,
        generation: u64,
        pages: &mut dyn Iterator<Item = u64>,
        write: &mut dyn FnMut(u64, Vec<u8>) -> Result<()>,
    ) -> Result<PagePtr> {
        fn out(
            c: &mut Child,
            ps: usize,
            g: u64,
            pages: &mut dyn Iterator<Item = u64>,
            write: &mut dyn FnMut(u64, Vec<u8>) -> Result<()>,
        ) -> Result<PagePtr> {
            let n = match c {
                Child::Clean(p) => return Ok(*p),
                Child::Dirty(n) => n,
            };
            let page = pages
                .next()
                .ok_or_else(|| Error::Internal("allocator handed out too few tree pages".into()))?;
            let bytes = match &mut n.body {
                DBody::Leaf(vals) => node::encode_leaf(
                    ps,
                    page,
                    g,
                    n.keys
                        .iter()
                        .map(|k| &k[..])
                        .zip(vals.iter().map(|v| &v[..])),
                ),
                DBody::Internal(children) => {
                    let ptrs = children
                        .iter_mut()
                        .map(|ch| out(ch, ps, g, pages, write))
                        .collect::<Result<Vec<_>>>()?;
                    node::encode_internal(
                        ps,
                        page,
                        g,
                        n.level,
                        n.keys.iter().map(|k| &k[..]).zip(ptrs),
                    )
                }
            };
            let ptr = PagePtr {
                page,
                generation: g,
                checksum: crate::format::page_checksum(page, g, &bytes),
            };
            write(page, bytes)?;
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
    freed: &mut Vec<u64>,
) -> Result<&'a mut DNode> {
    if let Child::Clean(ptr) = c {
        let n = src.load(ptr)?;
        if let Some(p) = parent_level {
            if n.level + 1 != p {
                return Err(Error::corrupt(format!(
                    "tree node at level {} below a node at level {p}",
                    n.level
                )));
            }
        }
        freed.push(ptr.page);
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
    freed: &mut Vec<u64>,
) -> Result<Option<Vec<u8>>> {
    let level = n.level;
    match &mut n.body {
        DBody::Leaf(vals) => match n.keys.binary_search_by(|k| k.as_slice().cmp(key)) {
            Ok(i) => Ok(Some(std::mem::replace(&mut vals[i], value.to_vec()))),
            Err(i) => {
                n.keys.insert(i, key.to_vec());
                vals.insert(i, value.to_vec());
                Ok(None)
            }
        },
        DBody::Internal(children) => {
            let i = child_index(&n.keys, key);
            let child = make_dirty(src, &mut children[i], Some(level), freed)?;
            let old = insert_rec(src, child, key, value, freed)?;
            if child.encoded_size() > src.page_size() {
                split_child(&mut n.keys, children, i, src.page_size());
            }
            Ok(old)
        }
    }
}

/// Cuts the oversized dirty child `i` into pieces that fit, in place: the
/// first piece keeps the child's slot and bound, the others follow it with
/// their first keys as bounds.
fn split_child(keys: &mut Vec<Vec<u8>>, children: &mut Vec<Child>, i: usize, page_size: usize) {
    let Child::Dirty(c) = std::mem::replace(&mut children[i], Child::Clean(PagePtr::default()))
    else {
        unreachable!("only a dirty child can outgrow its page")
    };
    for (j, p) in c.into_pieces(page_size).into_iter().enumerate() {
        if j == 0 {
            children[i] = Child::Dirty(Box::new(p));
        } else {
            keys.insert(i + j, p.keys[0].clone());
            children.insert(i + j, Child::Dirty(Box::new(p)));
        }
    }
}

fn remove_rec(
    src: &dyn PageSource,
    n: &mut DNode,
    key: &[u8],
    freed: &mut Vec<u64>,
    no_merge: bool,
) -> Result<Option<Vec<u8>>> {
    let level = n.level;
    let page_size = src.page_size();
    match &mut n.body {
        DBody::Leaf(vals) => match n.keys.binary_search_by(|k| k.as_slice().cmp(key)) {
            Ok(i) => {
                n.keys.remove(i);
                Ok(Some(vals.remove(i)))
            }
            Err(_) => Ok(None),
        },
        DBody::Internal(children) => {
            let i = child_index(&n.keys, key);
            let child = make_dirty(src, &mut children[i], Some(level), freed)?;
            let old = remove_rec(src, child, key, freed, no_merge)?;
            if child.len() == 0 {
                children.remove(i);
                let bound = n.keys.remove(i);
                if i == 0 && !n.keys.is_empty() {
                    // The new first child inherits the lower bound of the old one.
                    n.keys[0] = bound;
                }
            } else if !no_merge && child.encoded_size() < page_size / 4 && children.len() > 1 {
                let (l, r) = if i + 1 < children.len() {
                    (i, i + 1)
                } else {
                    (i - 1, i)
                };
                make_dirty(src, &mut children[r], Some(level), freed)?;
                make_dirty(src, &mut children[l], Some(level), freed)?;
                let Child::Dirty(right) = children.remove(r) else {
                    unreachable!("made dirty above")
                };
                n.keys.remove(r);
                let Child::Dirty(left) = &mut children[l] else {
                    unreachable!("made dirty above")
                };
                left.append(*right);
                if left.encoded_size() > page_size {
                    split_child(&mut n.keys, children, l, page_size);
                }
            }
            Ok(old)
        }
    }
}
