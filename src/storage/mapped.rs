//! Small reads served from a shared mapping of the container (issue 9:
//! "reads faster than the plain filesystem"). A `pread` of 10 KiB from the
//! page cache costs its syscall, the kernel's page lookup and its copy:
//! 1.25 µs here for random 10 KiB reads of a warm 120 MB file, against
//! 0.46 µs for a `memcpy` of the same bytes from a mapping of the file.
//! The mapping shows what every process writes as it lands, as `pread`
//! does (one page cache), so a read through it sees the same bytes.
//!
//! Invariants:
//! - Only bytes below [`DataMap::valid`] are read through the mapping, and
//!   `valid` never exceeds the file's length as this open last saw it: the
//!   container only grows, except when this open truncates it (compaction,
//!   under the exclusive `CONTAINER` lock, which shuts out every other
//!   open), and [`DataMap::shrink`] lowers `valid` before that truncation.
//!   A foreign truncation of an open container (not whefs) would fault, as
//!   with the superblock mapping.
//! - The mapping is reserved once, larger than the file, and never moved:
//!   a read past `valid` looks at the file's length again and extends
//!   `valid` up to the reservation; past the reservation reads use `pread`.
//! - It is made by an open's [`MAP_AFTER`]th read: a process that opens,
//!   reads one file and exits (a CGI program) pays no `mmap`, no page
//!   table and no `munmap`. Large reads (over [`MAX_MAPPED_READ`]) keep
//!   using `preadv`: the kernel's copy is as fast, and a mapping would add
//!   a page fault per 64 KiB first touched.
//! - A forked child does not inherit it (`MADV_DONTFORK`): the mapping
//!   holds the open file description, and with it the parent's locks.
//! - The bytes may change while they are copied (a page being reused by
//!   another process under a reader that lost its pin); they are copied,
//!   never interpreted here, and the caller verifies its copy's checksum.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};

/// The read of an open after which its mapping is made.
pub const MAP_AFTER: u64 = 64;
/// Largest read served from the mapping.
pub const MAX_MAPPED_READ: usize = 64 << 10;

/// Address space reserved: the file's length this many times over, at
/// least [`MIN_RESERVE`], at most [`MAX_RESERVE`].
const GROWTH: u64 = 4;
const MIN_RESERVE: u64 = 1 << 30;
const MAX_RESERVE: u64 = 1 << 40;

/// A read-only shared mapping of a container file.
#[derive(Debug)]
pub struct DataMap {
    ptr: std::ptr::NonNull<u8>,
    reserved: u64,
    /// Bytes from the start known to be inside the file.
    valid: AtomicU64,
}

// SAFETY: the mapping is read-only, only copied from, and unmapped once,
// on drop; `valid` is atomic.
unsafe impl Send for DataMap {}
// SAFETY: as above: no `&mut` access to the mapped bytes exists.
unsafe impl Sync for DataMap {}

impl DataMap {
    /// Maps `file`, or `None` (reads then keep using `pread`).
    pub fn new(file: &File) -> Option<DataMap> {
        let len = file.metadata().ok()?.len();
        let reserved = len
            .saturating_mul(GROWTH)
            .clamp(MIN_RESERVE, MAX_RESERVE)
            .min(usize::MAX as u64);
        // SAFETY: a fresh read-only shared mapping of an open descriptor;
        // the kernel picks the address. Mapping past the end of the file
        // is allowed; only touching those pages would fault, and `valid`
        // keeps every read inside the file.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved as usize,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: `p` is the mapping just made, of this length.
        if unsafe { libc::madvise(p, reserved as usize, libc::MADV_DONTFORK) } != 0 {
            // SAFETY: as above; the mapping is not used.
            unsafe { libc::munmap(p, reserved as usize) };
            return None;
        }
        let ptr = std::ptr::NonNull::new(p.cast())?;
        Some(DataMap {
            ptr,
            reserved,
            valid: AtomicU64::new(len.min(reserved)),
        })
    }

    /// Whether `offset..offset + len` lies inside the file as last seen
    /// (`file_len` is asked for when it lies past that, and may extend it).
    pub fn covers(&self, offset: u64, len: usize, file_len: impl FnOnce() -> Option<u64>) -> bool {
        let Some(end) = offset.checked_add(len as u64) else {
            return false;
        };
        if end <= self.valid.load(Ordering::Acquire) {
            return true;
        }
        if end > self.reserved {
            return false;
        }
        let Some(len) = file_len() else {
            return false;
        };
        self.valid
            .fetch_max(len.min(self.reserved), Ordering::AcqRel);
        end <= self.valid.load(Ordering::Acquire)
    }

    /// Copies the bytes at `offset..offset + buf.len()` into `buf` if they
    /// lie inside the file ([`DataMap::covers`]); false if they cannot be
    /// served from the mapping.
    pub fn copy(
        &self,
        buf: &mut [u8],
        offset: u64,
        file_len: impl FnOnce() -> Option<u64>,
    ) -> bool {
        if buf.len() > MAX_MAPPED_READ || !self.covers(offset, buf.len(), file_len) {
            return false;
        }
        // SAFETY: the bytes lie inside the reservation and inside the file
        // (the module invariant), so the pages are mapped and backed;
        // `buf` is an exclusive borrow of its own memory, which cannot
        // overlap a read-only mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset as usize),
                buf.as_mut_ptr(),
                buf.len(),
            );
        }
        true
    }

    /// Where the mapping starts.
    #[cfg(test)]
    pub fn start(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Notes that the file is about to be cut to `len` bytes.
    pub fn shrink(&self, len: u64) {
        self.valid.fetch_min(len, Ordering::AcqRel);
    }
}

impl Drop for DataMap {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length, unmapped only here.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.reserved as usize) };
    }
}
