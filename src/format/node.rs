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

use super::{PagePtr, Reader};
use crate::error::{Error, Result};

const NODE_MAGIC: u32 = u32::from_le_bytes(*b"WHND");
const LEAF: u8 = 1;
const INTERNAL: u8 = 2;
/// Bytes before the first entry.
pub const HEADER: usize = 24;
/// Deepest tree accepted; far beyond any real tree, it bounds hostile input.
pub const MAX_LEVEL: u8 = 40;

/// What a node holds besides its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeBody {
    /// Values, one per key.
    Leaf(Vec<Vec<u8>>),
    /// Child pointers, one per key.
    Internal(Vec<PagePtr>),
}

/// A decoded tree node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// 0 for leaves; a parent is one level above its children.
    pub level: u8,
    /// Sorted keys.
    pub keys: Vec<Vec<u8>>,
    /// Values or children.
    pub body: NodeBody,
}

/// Encoded size of one leaf entry.
pub fn leaf_entry_size(key: &[u8], value: &[u8]) -> usize {
    4 + key.len() + value.len()
}

/// Encoded size of one internal entry.
pub fn internal_entry_size(key: &[u8]) -> usize {
    2 + key.len() + PagePtr::SIZE
}

/// Starts a page: writes the header.
fn header(out: &mut Vec<u8>, kind: u8, level: u8, count: usize, page: u64, generation: u64) {
    out.extend_from_slice(&NODE_MAGIC.to_le_bytes());
    out.push(kind);
    out.push(level);
    out.extend_from_slice(&(count as u16).to_le_bytes());
    out.extend_from_slice(&page.to_le_bytes());
    out.extend_from_slice(&generation.to_le_bytes());
}

/// Encodes a leaf into a full page. The caller has checked that it fits.
pub fn encode_leaf<'a>(
    page_size: usize,
    page: u64,
    generation: u64,
    entries: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(page_size);
    header(&mut out, LEAF, 0, entries.len(), page, generation);
    for (k, v) in entries {
        out.extend_from_slice(&(k.len() as u16).to_le_bytes());
        out.extend_from_slice(&(v.len() as u16).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    assert!(
        out.len() <= page_size,
        "leaf overflows its page: engine split bug"
    );
    out.resize(page_size, 0);
    out
}

/// Encodes an internal node into a full page. The caller has checked that it fits.
pub fn encode_internal<'a>(
    page_size: usize,
    page: u64,
    generation: u64,
    level: u8,
    entries: impl ExactSizeIterator<Item = (&'a [u8], PagePtr)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(page_size);
    header(&mut out, INTERNAL, level, entries.len(), page, generation);
    for (k, ptr) in entries {
        out.extend_from_slice(&(k.len() as u16).to_le_bytes());
        out.extend_from_slice(k);
        ptr.encode(&mut out);
    }
    assert!(
        out.len() <= page_size,
        "internal node overflows its page: engine split bug"
    );
    out.resize(page_size, 0);
    out
}

/// Decodes a node page read through `ptr`. The caller has verified the checksum.
pub fn decode(bytes: &[u8], ptr: &PagePtr) -> Result<Node> {
    let mut r = Reader::new(bytes);
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
    let mut keys: Vec<Vec<u8>> = Vec::with_capacity(count);
    let body = if kind == LEAF {
        let mut vals = Vec::with_capacity(count);
        for _ in 0..count {
            let (kl, vl) = (r.u16()? as usize, r.u16()? as usize);
            keys.push(r.take(kl)?.to_vec());
            vals.push(r.take(vl)?.to_vec());
        }
        NodeBody::Leaf(vals)
    } else {
        let mut children = Vec::with_capacity(count);
        for _ in 0..count {
            let kl = r.u16()? as usize;
            keys.push(r.take(kl)?.to_vec());
            children.push(PagePtr::decode(r.take(PagePtr::SIZE)?)?);
        }
        NodeBody::Internal(children)
    };
    if keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Error::corrupt(format!("page {page}: keys out of order")));
    }
    Ok(Node { level, keys, body })
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
        let node = decode(&page, &ptr).unwrap();
        assert_eq!(node.keys, keys);
        assert_eq!(node.body, NodeBody::Leaf(vals.to_vec()));
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
        let node = decode(&page, &ptr).unwrap();
        assert_eq!(node.level, 1);
        assert_eq!(node.body, NodeBody::Internal(vec![child, child]));
    }

    #[test]
    fn misdirected_or_garbled_pages_are_corrupt() {
        let page = encode_leaf(4096, 5, 2, std::iter::empty());
        assert!(decode(
            &page,
            &PagePtr {
                page: 6,
                generation: 2,
                checksum: 0
            }
        )
        .is_err());
        assert!(decode(
            &[0xAB; 4096],
            &PagePtr {
                page: 5,
                generation: 2,
                checksum: 0
            }
        )
        .is_err());
    }
}
