//! Storage: positional I/O, durability and byte-range locks over one
//! container. Nothing above this layer knows whether the bytes live in a
//! file, in memory or in a test's fault injector.
//!
//! Invariant: every access is positional. There is no cursor anywhere, so two
//! threads can never move a position under each other (the 2009 library's
//! open question, answered by construction).

pub mod fault;
mod file;
pub mod fork;
mod mapped;
mod memory;

pub use file::{CreateOutcome, FileStorage, NewFile};
pub use memory::MemoryStorage;

use crate::error::Result;

/// How a byte-range lock is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Shared (read) lock: any number of holders.
    Shared,
    /// Exclusive (write) lock: one holder.
    Exclusive,
}

/// A container's bytes: positional reads and writes, `sync`, length, and
/// advisory byte-range locks that belong to this open (OFD semantics: two
/// opens of one file in one process conflict like two processes).
// `len` is the container's byte length, not a collection size: no `is_empty`.
#[allow(clippy::len_without_is_empty)]
pub trait Storage: Send + Sync + 'static {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many were read
    /// (fewer only at the end of the container).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize>;
    /// Reads the superblock slots at the start of the container into `buf`
    /// (as `read_at(buf, 0)`). A backend may serve it from memory it shares
    /// with other processes, so checking for a new commit costs no syscall.
    fn read_superblocks(&self, buf: &mut [u8]) -> Result<usize> {
        self.read_at(buf, 0)
    }
    /// Fills `bufs` in order from the bytes at `offset` on, as one read where
    /// the backend can (`preadv`); returns how many bytes were read (fewer
    /// only at the end of the container).
    fn read_vectored_at(&self, bufs: &mut [&mut [u8]], offset: u64) -> Result<usize> {
        let mut done = 0;
        for b in bufs.iter_mut() {
            let n = self.read_at(b, offset + done as u64)?;
            done += n;
            if n < b.len() {
                break;
            }
        }
        Ok(done)
    }
    /// Writes all of `buf` at `offset`, growing the container if needed.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()>;
    /// Writes `bufs` one after another from `offset` on, as one write where
    /// the backend can (`pwritev`).
    fn write_vectored_at(&self, bufs: &[&[u8]], offset: u64) -> Result<()> {
        let mut at = offset;
        for b in bufs {
            self.write_at(b, at)?;
            at += b.len() as u64;
        }
        Ok(())
    }
    /// Makes every completed write durable (`fdatasync`).
    fn sync(&self) -> Result<()>;
    /// Starts writing the bytes at `offset..offset + len` back to the disk
    /// without waiting (`sync_file_range` with `SYNC_FILE_RANGE_WRITE`), so
    /// that the disk works while a large write goes on and its [`sync`]
    /// finds little left to do. Only a hint: it makes nothing durable and
    /// reports nothing (a write-back error is still reported by the
    /// `sync`), and a backend without it does nothing.
    ///
    /// [`sync`]: Storage::sync
    fn start_writeback(&self, _offset: u64, _len: u64) {}
    /// The container's length in bytes.
    fn len(&self) -> Result<u64>;
    /// Sets the container's length (truncates or extends with zeros).
    fn set_len(&self, len: u64) -> Result<()>;
    /// Whether this open can only read.
    fn read_only(&self) -> bool;
    /// Tries to take a byte-range lock without waiting. `Ok(false)` means
    /// another open holds a conflicting lock.
    fn try_lock(&self, start: u64, len: u64, mode: LockMode) -> Result<bool>;
    /// Releases a byte-range lock taken by this open.
    fn unlock(&self, start: u64, len: u64) -> Result<()>;
    /// Returns the lowest-starting lock of *another* open that conflicts with
    /// `mode` over the range, as `(start, len)` (`F_OFD_GETLK`).
    fn probe_lock(&self, start: u64, len: u64, mode: LockMode) -> Result<Option<(u64, u64)>>;
    /// Whether byte-range locks are shared with other processes (false for
    /// memory storage, where no other process can see the container).
    fn shared_locks(&self) -> bool;
    /// Whether a large read may be split between two threads reading at
    /// once. False by default, and where reads are numbered (fault
    /// injection: the order of two threads' reads would change which one
    /// an injected failure hits).
    fn parallel_reads(&self) -> bool {
        false
    }
    /// Whether a sync that only lets freed pages be reused may run on a
    /// helper thread while commits go on. False by default, and where
    /// operations are numbered (fault injection: the crash and I/O-error
    /// sweeps cut at every sync, in order).
    fn background_sync(&self) -> bool {
        false
    }
}

/// Reads exactly `buf.len()` bytes at `offset`; a short read is reported as
/// corruption (the container is shorter than its superblock says).
pub fn read_exact_at(storage: &dyn Storage, buf: &mut [u8], offset: u64) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = storage.read_at(&mut buf[done..], offset + done as u64)?;
        if n == 0 {
            return Err(crate::Error::corrupt(format!(
                "container ends at byte {} but {} bytes at offset {} are needed",
                offset + done as u64,
                buf.len(),
                offset
            )));
        }
        done += n;
    }
    Ok(())
}
