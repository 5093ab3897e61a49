//! A storage for tests that passes every call to another one and shows the
//! test each call first (to count it, delay it or hold it), and each read's
//! bytes after it (to change them: a misread). One wrapper instead of one
//! hand-written `Storage` impl per test.

#![allow(dead_code)]

use std::sync::Arc;

use whefs::storage::{LockMode, Storage};

/// A call, as the hook sees it before it is passed on.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    Read {
        offset: u64,
        len: usize,
    },
    Write {
        offset: u64,
        len: usize,
    },
    Sync,
    SetLen(u64),
    TryLock {
        start: u64,
        len: u64,
        mode: LockMode,
    },
}

type Before = Box<dyn Fn(Call) + Send + Sync>;
type AfterRead = Box<dyn Fn(u64, &mut [u8]) + Send + Sync>;

pub struct Hooked {
    inner: Arc<dyn Storage>,
    before: Before,
    after_read: AfterRead,
    parallel_reads: bool,
}

impl Hooked {
    /// Passes everything to `inner` (and says reads may not be split
    /// between threads) until told otherwise.
    pub fn new(inner: Arc<dyn Storage>) -> Hooked {
        Hooked {
            inner,
            before: Box::new(|_| {}),
            after_read: Box::new(|_, _| {}),
            parallel_reads: false,
        }
    }

    /// Calls `f` before each call is passed on.
    pub fn before(mut self, f: impl Fn(Call) + Send + Sync + 'static) -> Hooked {
        self.before = Box::new(f);
        self
    }

    /// Calls `f` with the offset and the bytes after each read of any.
    pub fn after_read(mut self, f: impl Fn(u64, &mut [u8]) + Send + Sync + 'static) -> Hooked {
        self.after_read = Box::new(f);
        self
    }

    /// What [`Storage::parallel_reads`] answers.
    pub fn parallel_reads(mut self, yes: bool) -> Hooked {
        self.parallel_reads = yes;
        self
    }
}

impl Storage for Hooked {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> whefs::Result<usize> {
        (self.before)(Call::Read {
            offset,
            len: buf.len(),
        });
        let n = self.inner.read_at(buf, offset)?;
        if n > 0 {
            (self.after_read)(offset, &mut buf[..n]);
        }
        Ok(n)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> whefs::Result<()> {
        (self.before)(Call::Write {
            offset,
            len: buf.len(),
        });
        self.inner.write_at(buf, offset)
    }
    fn sync(&self) -> whefs::Result<()> {
        (self.before)(Call::Sync);
        self.inner.sync()
    }
    fn len(&self) -> whefs::Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> whefs::Result<()> {
        (self.before)(Call::SetLen(len));
        self.inner.set_len(len)
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
    fn try_lock(&self, start: u64, len: u64, mode: LockMode) -> whefs::Result<bool> {
        (self.before)(Call::TryLock { start, len, mode });
        self.inner.try_lock(start, len, mode)
    }
    fn unlock(&self, start: u64, len: u64) -> whefs::Result<()> {
        self.inner.unlock(start, len)
    }
    fn probe_lock(
        &self,
        start: u64,
        len: u64,
        mode: LockMode,
    ) -> whefs::Result<Option<(u64, u64)>> {
        self.inner.probe_lock(start, len, mode)
    }
    fn shared_locks(&self) -> bool {
        self.inner.shared_locks()
    }
    fn parallel_reads(&self) -> bool {
        self.parallel_reads
    }
}
