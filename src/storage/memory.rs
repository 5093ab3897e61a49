//! Memory storage: `:memory:` containers and read-only images borrowed from
//! a byte slice. Locks are local to the one `Fs` that can see the bytes.

use std::sync::RwLock;

use super::{LockMode, Storage};
use crate::error::{Error, Result};

enum Bytes {
    Owned(Vec<u8>),
    Borrowed(&'static [u8]),
}

/// A container held in memory.
pub struct MemoryStorage {
    bytes: RwLock<Bytes>,
}

impl MemoryStorage {
    /// An empty, writable container in memory.
    pub fn new() -> MemoryStorage {
        MemoryStorage {
            bytes: RwLock::new(Bytes::Owned(Vec::new())),
        }
    }

    /// A writable container in memory starting from a copy of `bytes`.
    pub fn from_vec(bytes: Vec<u8>) -> MemoryStorage {
        MemoryStorage {
            bytes: RwLock::new(Bytes::Owned(bytes)),
        }
    }

    /// A read-only container over borrowed bytes.
    ///
    /// # Safety
    /// The caller guarantees that `bytes` outlives every use of the storage
    /// (the C API's `whefs_fs_open_image` contract).
    pub unsafe fn borrowed(bytes: &[u8]) -> MemoryStorage {
        // SAFETY: the caller keeps the bytes alive for the storage's life.
        let forever: &'static [u8] = unsafe { std::mem::transmute::<&[u8], &'static [u8]>(bytes) };
        MemoryStorage {
            bytes: RwLock::new(Bytes::Borrowed(forever)),
        }
    }

    /// A read-only container over bytes that live for the whole program.
    pub fn image(bytes: &'static [u8]) -> MemoryStorage {
        MemoryStorage {
            bytes: RwLock::new(Bytes::Borrowed(bytes)),
        }
    }

    /// A copy of the whole container.
    pub fn snapshot(&self) -> Vec<u8> {
        match &*self.bytes.read().expect("memory storage lock poisoned") {
            Bytes::Owned(v) => v.clone(),
            Bytes::Borrowed(b) => b.to_vec(),
        }
    }
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

fn read_only_error() -> Error {
    Error::Access("the container image is read-only".into())
}

impl Storage for MemoryStorage {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let guard = self.bytes.read().expect("memory storage lock poisoned");
        let bytes: &[u8] = match &*guard {
            Bytes::Owned(v) => v,
            Bytes::Borrowed(b) => b,
        };
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        if start >= bytes.len() {
            return Ok(0);
        }
        let n = buf.len().min(bytes.len() - start);
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let mut guard = self.bytes.write().expect("memory storage lock poisoned");
        let Bytes::Owned(v) = &mut *guard else {
            return Err(read_only_error());
        };
        let start =
            usize::try_from(offset).map_err(|_| Error::Full("offset beyond memory".into()))?;
        let end = start + buf.len();
        if v.len() < end {
            v.try_reserve(end - v.len())
                .map_err(|_| Error::NoMem("growing a memory container".into()))?;
            v.resize(end, 0);
        }
        v[start..end].copy_from_slice(buf);
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn len(&self) -> Result<u64> {
        Ok(
            match &*self.bytes.read().expect("memory storage lock poisoned") {
                Bytes::Owned(v) => v.len() as u64,
                Bytes::Borrowed(b) => b.len() as u64,
            },
        )
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut guard = self.bytes.write().expect("memory storage lock poisoned");
        let Bytes::Owned(v) = &mut *guard else {
            return Err(read_only_error());
        };
        let len = usize::try_from(len).map_err(|_| Error::Full("length beyond memory".into()))?;
        v.resize(len, 0);
        Ok(())
    }

    fn read_only(&self) -> bool {
        matches!(
            &*self.bytes.read().expect("memory storage lock poisoned"),
            Bytes::Borrowed(_)
        )
    }

    fn try_lock(&self, _start: u64, _len: u64, _mode: LockMode) -> Result<bool> {
        Ok(true)
    }

    fn unlock(&self, _start: u64, _len: u64) -> Result<()> {
        Ok(())
    }

    fn probe_lock(&self, _start: u64, _len: u64, _mode: LockMode) -> Result<Option<(u64, u64)>> {
        Ok(None)
    }

    fn shared_locks(&self) -> bool {
        false
    }

    fn parallel_reads(&self) -> bool {
        true
    }
}
