//! Tree node pages. A node is a sorted run of keys; a leaf pairs each key
//! with a value, an internal node with a child pointer whose key is the
//! lowest key the child may hold (the first one is empty: minus infinity).
//!
//! Page layout (little-endian):
//! `magic u32 | kind u8 | level u8 | count u16 | page u64 | generation u64`
//! then `count` entries: leaf `klen u16 | vlen u16 | key | value`,
//! internal `klen u16 | key | PagePtr (24)`. The rest of the page is zero.
//!
//! Invariant: a decoded node has strictly increasing keys, a level that
//! matches its kind, and the page number and generation its pointer
//! promised; anything else is `Corrupt`.

use super::{past_end, PagePtr, Reader};
use crate::error::{Error, Result};

const NODE_MAGIC: u32 = u32::from_le_bytes(*b"WHND");
const LEAF: u8 = 1;
const INTERNAL: u8 = 2;
/// Bytes before the first entry.
pub const HEADER: usize = 24;
/// Deepest tree accepted; far beyond any real tree, it bounds hostile input.
pub const MAX_LEVEL: u8 = 40;

/// A verified tree node, used in place: its page bytes plus an index of
/// where each entry's key and value lie in them. Lookups binary-search the
/// keys as slices of the page; no key or value is copied out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    bytes: Box<[u8]>,
    level: u8,
    /// Per entry: offset of its key in `bytes`, key length, value length
    /// (the value follows the key; for internal nodes it is a `PagePtr`).
    index: Box<[(u32, u16, u16)]>,
    /// Child pointers of an internal node (empty for a leaf).
    children: Box<[PagePtr]>,
}

// A node is never used as a collection, so no `is_empty`.
#[allow(clippy::len_without_is_empty)]
impl Node {
    /// 0 for leaves; a parent is one level above its children.
    pub fn level(&self) -> u8 {
        self.level
    }

    /// Whether this is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.level == 0
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Key `i`.
    pub fn key(&self, i: usize) -> &[u8] {
        let (off, klen, _) = self.index[i];
        &self.bytes[off as usize..off as usize + klen as usize]
    }

    /// Value `i` of a leaf.
    pub fn value(&self, i: usize) -> &[u8] {
        let (off, klen, vlen) = self.index[i];
        let start = off as usize + klen as usize;
        &self.bytes[start..start + vlen as usize]
    }

    /// Child `i` of an internal node.
    pub fn child(&self, i: usize) -> PagePtr {
        self.children[i]
    }

    /// The child pointers of an internal node.
    pub fn children(&self) -> &[PagePtr] {
        &self.children
    }

    /// The page bytes and the entry index into them (key offset, key
    /// length, value length), for copying a node wholesale.
    pub fn raw_parts(&self) -> (&[u8], &[(u32, u16, u16)]) {
        (&self.bytes, &self.index)
    }

    /// Binary search for `key` among the keys.
    pub fn search(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match compare_keys(self.key(mid), key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }
}

/// Orders keys as byte strings, eight bytes at a time as big-endian
/// integers (the same order): a key's inode number settles most
/// comparisons of a tree walk, and keys of one inode (the allocator's
/// records, a directory's entries) mostly differ in their next eight bytes,
/// so few comparisons get to the tail, and none needs a `memcmp` call.
#[inline]
pub fn compare_keys(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_be_bytes(a[i..i + 8].try_into().expect("8 bytes"));
        let y = u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// Encoded size of one leaf entry.
pub fn leaf_entry_size(key: &[u8], value: &[u8]) -> usize {
    4 + key.len() + value.len()
}

/// The lengths that precede a leaf entry's key in a page.
#[inline]
pub fn leaf_lengths(klen: u16, vlen: u16) -> [u8; 4] {
    let (k, v) = (klen.to_le_bytes(), vlen.to_le_bytes());
    [k[0], k[1], v[0], v[1]]
}

/// Starts a page: a buffer of the page's capacity holding the header.
fn header(
    page_size: usize,
    kind: u8,
    level: u8,
    count: usize,
    page: u64,
    generation: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(page_size);
    out.extend_from_slice(&NODE_MAGIC.to_le_bytes());
    out.push(kind);
    out.push(level);
    out.extend_from_slice(&(count as u16).to_le_bytes());
    out.extend_from_slice(&page.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
    out
}

impl Node {
    /// Builds a leaf as a full page in one pass, indexed as it is written
    /// (no decode afterwards). The caller has checked that it fits.
    pub fn build_leaf<'a>(
        page_size: usize,
        page: u64,
        generation: u64,
        entries: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Node {
        let mut index = Vec::with_capacity(entries.len());
        let mut out = header(page_size, LEAF, 0, entries.len(), page, generation);
        for (k, v) in entries {
            let (kl, vl) = (k.len() as u16, v.len() as u16);
            out.extend_from_slice(&leaf_lengths(kl, vl));
            index.push((out.len() as u32, kl, vl));
            out.extend_from_slice(k);
            out.extend_from_slice(v);
        }
        Node::finish(out, page_size, 0, index, Vec::new())
    }

    /// Builds a leaf as a full page from entries whose bytes lie in `src`,
    /// given in key order as (key offset, key length, value length), each
    /// value right after its key. Where consecutive entries lie in `src` as
    /// in a page (each key preceded by its [`leaf_lengths`]), they are
    /// copied as one run: a leaf copied from a page and changed in a few
    /// places costs a few copies. The page is the same as
    /// [`Node::build_leaf`]'s whatever the layout of `src`; the layout only
    /// decides how much is copied at once. The caller has checked that it
    /// fits.
    pub fn build_leaf_from(
        page_size: usize,
        page: u64,
        generation: u64,
        src: &[u8],
        entries: &[(u32, u16, u16)],
    ) -> Node {
        let mut index = Vec::with_capacity(entries.len());
        let mut out = header(page_size, LEAF, 0, entries.len(), page, generation);
        // Bytes of `src` that go next into the page, not copied yet.
        let mut run = 0..0;
        // Where the next entry's lengths land in the page.
        let mut at = HEADER;
        for &(off, kl, vl) in entries {
            let (off, end) = (off as usize, off as usize + kl as usize + vl as usize);
            let lengths = leaf_lengths(kl, vl);
            let laid_out = off >= 4 && src[off - 4..off] == lengths;
            if laid_out && off - 4 == run.end {
                run.end = end;
            } else {
                out.extend_from_slice(&src[run]);
                if laid_out {
                    run = off - 4..end;
                } else {
                    out.extend_from_slice(&lengths);
                    run = off..end;
                }
            }
            index.push(((at + 4) as u32, kl, vl));
            at += 4 + kl as usize + vl as usize;
        }
        out.extend_from_slice(&src[run]);
        debug_assert_eq!(out.len(), at);
        Node::finish(out, page_size, 0, index, Vec::new())
    }

    /// Builds an internal node as a full page in one pass. The caller has
    /// checked that it fits.
    pub fn build_internal<'a>(
        page_size: usize,
        page: u64,
        generation: u64,
        level: u8,
        entries: impl ExactSizeIterator<Item = (&'a [u8], PagePtr)>,
    ) -> Node {
        let mut index = Vec::with_capacity(entries.len());
        let mut children = Vec::with_capacity(entries.len());
        let mut out = header(page_size, INTERNAL, level, entries.len(), page, generation);
        for (k, ptr) in entries {
            out.extend_from_slice(&(k.len() as u16).to_le_bytes());
            index.push((out.len() as u32, k.len() as u16, PagePtr::SIZE as u16));
            out.extend_from_slice(k);
            out.extend_from_slice(&ptr.to_bytes());
            children.push(ptr);
        }
        Node::finish(out, page_size, level, index, children)
    }

    /// Zero-fills a built page to its size and wraps it up.
    fn finish(
        mut out: Vec<u8>,
        page_size: usize,
        level: u8,
        index: Vec<(u32, u16, u16)>,
        children: Vec<PagePtr>,
    ) -> Node {
        assert!(
            out.len() <= page_size,
            "node overflows its page: engine split bug"
        );
        out.resize(page_size, 0);
        Node {
            bytes: out.into_boxed_slice(),
            level,
            index: index.into_boxed_slice(),
            children: children.into_boxed_slice(),
        }
    }

    /// The page bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Encodes a leaf into a full page. The caller has checked that it fits.
pub fn encode_leaf<'a>(
    page_size: usize,
    page: u64,
    generation: u64,
    entries: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<u8> {
    Node::build_leaf(page_size, page, generation, entries)
        .bytes
        .into_vec()
}

/// Encodes an internal node into a full page. The caller has checked that it fits.
#[cfg(test)]
pub fn encode_internal<'a>(
    page_size: usize,
    page: u64,
    generation: u64,
    level: u8,
    entries: impl ExactSizeIterator<Item = (&'a [u8], PagePtr)>,
) -> Vec<u8> {
    Node::build_internal(page_size, page, generation, level, entries)
        .bytes
        .into_vec()
}

/// Checks a node page read through `ptr` and indexes it; takes the page
/// bytes over. The caller has verified the checksum.
pub fn decode(bytes: Vec<u8>, ptr: &PagePtr) -> Result<Node> {
    let mut r = Reader::new(&bytes);
    if r.u32()? != NODE_MAGIC {
        return Err(Error::corrupt(format!(
            "page {} is not a tree node",
            ptr.page
        )));
    }
    let (kind, level, count) = (r.u8()?, r.u8()?, r.u16()? as usize);
    let (page, generation) = (r.u64()?, r.u64()?);
    if page != ptr.page || generation != ptr.generation {
        return Err(Error::corrupt(format!(
            "page {} claims to be page {page} of generation {generation}, expected generation {}",
            ptr.page, ptr.generation
        )));
    }
    if level > MAX_LEVEL || (kind == LEAF) != (level == 0) || (kind != LEAF && kind != INTERNAL) {
        return Err(Error::corrupt(format!(
            "page {page}: bad node kind {kind} at level {level}"
        )));
    }
    // Each entry takes at least 4 bytes: the count is bounded by the page.
    if count > bytes.len() / 4 || (kind == INTERNAL && count == 0) {
        return Err(Error::corrupt(format!(
            "page {page}: impossible entry count {count}"
        )));
    }
    let mut index = Vec::with_capacity(count);
    let mut children = Vec::with_capacity(if kind == LEAF { 0 } else { count });
    // One pass with plain bounds checks (this runs for every node loaded).
    let b = &bytes[..];
    let le16 = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]);
    let mut pos = r.position();
    let mut prev: Option<&[u8]> = None;
    for _ in 0..count {
        let (kl, vl, off) = if kind == LEAF {
            if pos + 4 > b.len() {
                return Err(past_end());
            }
            (le16(pos), le16(pos + 2), pos + 4)
        } else {
            if pos + 2 > b.len() {
                return Err(past_end());
            }
            (le16(pos), PagePtr::SIZE as u16, pos + 2)
        };
        let (key_end, end) = (off + kl as usize, off + kl as usize + vl as usize);
        if end > b.len() {
            return Err(past_end());
        }
        let key = &b[off..key_end];
        if prev.is_some_and(|p| compare_keys(p, key) != std::cmp::Ordering::Less) {
            return Err(Error::corrupt(format!("page {page}: keys out of order")));
        }
        prev = Some(key);
        if kind == INTERNAL {
            children.push(PagePtr::decode(&b[key_end..end])?);
        }
        index.push((off as u32, kl, vl));
        pos = end;
    }
    Ok(Node {
        bytes: bytes.into_boxed_slice(),
        level,
        index: index.into_boxed_slice(),
        children: children.into_boxed_slice(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_and_internal_round_trip() {
        let ptr = PagePtr {
            page: 5,
            generation: 2,
            checksum: 0,
        };
        let keys = [b"a".to_vec(), b"b".to_vec()];
        let vals = [b"1".to_vec(), b"22".to_vec()];
        let page = encode_leaf(
            4096,
            5,
            2,
            keys.iter().map(|k| &k[..]).zip(vals.iter().map(|v| &v[..])),
        );
        let node = decode(page, &ptr).unwrap();
        assert!(node.is_leaf());
        assert_eq!((node.key(0), node.key(1)), (&b"a"[..], &b"b"[..]));
        assert_eq!((node.value(0), node.value(1)), (&b"1"[..], &b"22"[..]));
        assert_eq!((node.search(b"b"), node.search(b"ab")), (Ok(1), Err(1)));
        let child = PagePtr {
            page: 9,
            generation: 1,
            checksum: 3,
        };
        let page = encode_internal(
            4096,
            5,
            2,
            1,
            [(&b""[..], child), (&b"m"[..], child)].into_iter(),
        );
        let node = decode(page, &ptr).unwrap();
        assert_eq!(node.level(), 1);
        assert_eq!(node.children(), &[child, child]);
    }

    #[test]
    fn a_leaf_built_from_packed_entries_is_the_same_page_whatever_their_layout() {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..40u8)
            .map(|i| (vec![b'k', i], vec![i; (i % 7) as usize]))
            .collect();
        let expected = encode_leaf(4096, 5, 2, pairs.iter().map(|(k, v)| (&k[..], &v[..])));
        // As in a page (one run), then pairs without their lengths, then a
        // mix of both in scattered order, with garbage in between.
        let mut src = Vec::new();
        let mut as_page = Vec::new();
        for (k, v) in &pairs {
            src.extend_from_slice(&leaf_lengths(k.len() as u16, v.len() as u16));
            as_page.push((src.len() as u32, k.len() as u16, v.len() as u16));
            src.extend_from_slice(k);
            src.extend_from_slice(v);
        }
        let mut bare = Vec::new();
        for (k, v) in &pairs {
            bare.push((src.len() as u32, k.len() as u16, v.len() as u16));
            src.extend_from_slice(k);
            src.extend_from_slice(v);
            src.push(0xEE);
        }
        let mixed: Vec<_> = (0..pairs.len())
            .map(|i| if i % 3 == 0 { bare[i] } else { as_page[i] })
            .collect();
        for index in [&as_page, &bare, &mixed] {
            let built = Node::build_leaf_from(4096, 5, 2, &src, index);
            assert_eq!(built.bytes(), &expected[..]);
            let ptr = PagePtr {
                page: 5,
                generation: 2,
                checksum: 0,
            };
            assert_eq!(built, decode(expected.clone(), &ptr).unwrap());
        }
    }

    #[test]
    fn keys_compare_as_byte_strings() {
        let mut keys: Vec<Vec<u8>> = vec![vec![]];
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..40 {
            // Prefixes of one another.
            keys.push(vec![0; len]);
            for _ in 0..6 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Few distinct byte values, so keys share long prefixes.
                keys.push((0..len).map(|i| ((x >> (i % 60)) & 3) as u8).collect());
            }
        }
        for a in &keys {
            for b in &keys {
                assert_eq!(compare_keys(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn misdirected_or_garbled_pages_are_corrupt() {
        let page = encode_leaf(4096, 5, 2, std::iter::empty());
        assert!(decode(
            page,
            &PagePtr {
                page: 6,
                generation: 2,
                checksum: 0
            }
        )
        .is_err());
        assert!(decode(
            vec![0xAB; 4096],
            &PagePtr {
                page: 5,
                generation: 2,
                checksum: 0
            }
        )
        .is_err());
    }
}
