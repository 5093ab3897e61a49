//! `whefs_file`: an open pseudofile with its own position.
//!
//! Invariant: the Rust [`File`] sits behind a `Mutex`, so calls on one
//! handle from several threads are serialized (a `read` and a `seek` never
//! interleave), while different handles run in parallel. A panic while the
//! mutex is held poisons it; later calls then fail with
//! `WHEFS_ERR_INTERNAL` instead of using a half-updated handle.

use std::ffi::{c_char, c_int, c_void};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Mutex, MutexGuard};

use super::boundary::{self, bytes_in, bytes_out, handle, out_param, put, str_arg};
use super::fs::{whefs_fs, whefs_stat_t};
use crate::error::{Error, Result};
use crate::fs::file::{File, Mode};

/// An open pseudofile. Create with `whefs_file_open()`, free with
/// `whefs_file_close()`. Any thread may use it; calls on one handle are
/// serialized.
pub struct whefs_file {
    file: Mutex<File>,
}

impl whefs_file {
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, File>> {
        self.file.lock().map_err(|_| {
            Error::Internal("an earlier call on this file handle panicked; close it".into())
        })
    }
}

/// `io` errors of `File`'s trait methods carry the whefs error inside.
fn from_io(err: io::Error) -> Error {
    Error::from_io(err)
}

/// Opens a pseudofile. `mode` as `fopen()`/PHP: "r", "r+", "w", "w+", "a",
/// "a+", "c", "c+" (create, no truncate), "x", "x+" (exclusive create);
/// "b" is ignored and the letters after the first may come in any order
/// ("rb+" == "r+b"). A bad mode is `WHEFS_ERR_ARG`.
///
/// Reads see the file as committed when it was opened (a snapshot), plus
/// this handle's own writes; writes become visible to others at
/// `whefs_file_flush()`, `whefs_file_sync()` or `whefs_file_close()`. A
/// second writer of one file waits up to the busy timeout, then gets
/// `WHEFS_ERR_BUSY`; writing through a read-only container is
/// `WHEFS_ERR_ACCESS`.
///
/// # Safety
/// `fs` is NULL or a live handle; `path` and `mode` NUL-terminated strings;
/// `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_open(
    fs: *mut whefs_fs,
    path: *const c_char,
    mode: *const c_char,
    out: *mut *mut whefs_file,
) -> c_int {
    boundary::status(|| {
        // SAFETY (all three): per this function's contract.
        let fs = unsafe { handle(fs, "fs") }?;
        let path = unsafe { str_arg(path, "path") }?;
        let mode = unsafe { str_arg(mode, "mode") }?;
        let out = out_param(out, "out")?;
        Mode::parse(mode)?; // a bad mode fails before any I/O
        let file = fs.fs.open_file(path, mode)?;
        let handle = Box::into_raw(Box::new(whefs_file {
            file: Mutex::new(file),
        }));
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, handle) };
        Ok(())
    })
}

/// Reads up to `len` bytes at the position and advances it; `*nread` is the
/// count, less than `len` only at the end of the file (0 = end of file).
///
/// # Safety
/// `f` is NULL or a live handle; `buf` points to `len` writable bytes (NULL
/// allowed when `len` is 0); `nread` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_read(
    f: *mut whefs_file,
    buf: *mut c_void,
    len: usize,
    nread: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let buf = unsafe { bytes_out(buf, len, "buf") }?;
        let nread = out_param(nread, "nread")?;
        let mut file = f.lock()?;
        let done = repeat_io(buf.len(), false, |done| {
            file.read(&mut buf[done..]).map_err(from_io)
        })?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(nread, done) };
        Ok(())
    })
}

/// Writes `len` bytes at the position (at the end in append mode) and
/// advances it; `*nwritten` is `len` on success. Writing past the end
/// leaves a hole that reads as zeros.
///
/// # Safety
/// `f` is NULL or a live handle; `buf` points to `len` readable bytes (NULL
/// allowed when `len` is 0); `nwritten` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_write(
    f: *mut whefs_file,
    buf: *const c_void,
    len: usize,
    nwritten: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let buf = unsafe { bytes_in(buf, len, "buf") }?;
        let nwritten = out_param(nwritten, "nwritten")?;
        let mut file = f.lock()?;
        let done = repeat_io(buf.len(), true, |done| {
            file.write(&buf[done..]).map_err(from_io)
        })?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(nwritten, done) };
        Ok(())
    })
}

/// Reads up to `len` bytes at `offset` without moving the position;
/// `*nread` is less than `len` only at the end of the file.
///
/// # Safety
/// As `whefs_file_read()`.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_pread(
    f: *mut whefs_file,
    buf: *mut c_void,
    len: usize,
    offset: u64,
    nread: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let buf = unsafe { bytes_out(buf, len, "buf") }?;
        let nread = out_param(nread, "nread")?;
        let file = f.lock()?;
        let done = repeat_io(buf.len(), false, |done| {
            let at = offset
                .checked_add(done as u64)
                .ok_or_else(|| Error::Range("offset overflows".into()))?;
            file.read_at(&mut buf[done..], at)
        })?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(nread, done) };
        Ok(())
    })
}

/// Writes `len` bytes at `offset` without moving the position;
/// `*nwritten` is `len` on success. Offsets past 4 GiB work; the gap
/// becomes a hole that reads as zeros and takes no space. In append mode
/// the bytes go to the end whatever `offset` (like `pwrite` on Linux).
///
/// # Safety
/// As `whefs_file_write()`.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_pwrite(
    f: *mut whefs_file,
    buf: *const c_void,
    len: usize,
    offset: u64,
    nwritten: *mut usize,
) -> c_int {
    boundary::status(|| {
        // SAFETY (both): per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let buf = unsafe { bytes_in(buf, len, "buf") }?;
        let nwritten = out_param(nwritten, "nwritten")?;
        offset.checked_add(buf.len() as u64).ok_or_else(|| {
            Error::Range(format!("{} bytes at offset {offset} pass 2^64", buf.len()))
        })?;
        let mut file = f.lock()?;
        let done = repeat_io(buf.len(), true, |done| {
            file.write_at(&buf[done..], offset + done as u64)
        })?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(nwritten, done) };
        Ok(())
    })
}

/// Moves the position: `whence` 0 (`SEEK_SET`), 1 (`SEEK_CUR`) or 2
/// (`SEEK_END`); anything else is `WHEFS_ERR_ARG`, a position before 0
/// `WHEFS_ERR_RANGE`. Past the end is allowed. `*newpos` (may be NULL) is
/// the new position.
///
/// # Safety
/// `f` is NULL or a live handle; `newpos` is NULL or points to writable
/// memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_seek(
    f: *mut whefs_file,
    offset: i64,
    whence: c_int,
    newpos: *mut u64,
) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let mut file = f.lock()?;
        let base = match whence {
            0 => 0,
            1 => file.stream_position().map_err(from_io)?,
            2 => file.len(),
            other => {
                return Err(Error::Arg(format!(
                    "bad whence {other} (expected 0, 1 or 2)"
                )))
            }
        };
        let target = base
            .checked_add_signed(offset)
            .ok_or_else(|| Error::Range(format!("seek to {base} + {offset} is outside 0..2^64")))?;
        let pos = file.seek(SeekFrom::Start(target)).map_err(from_io)?;
        if let Some(out) = std::ptr::NonNull::new(newpos) {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { put(out, pos) };
        }
        Ok(())
    })
}

/// The position (`ftell`).
///
/// # Safety
/// `f` is NULL or a live handle; `pos` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_tell(f: *mut whefs_file, pos: *mut u64) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let out = out_param(pos, "pos")?;
        let position = f.lock()?.stream_position().map_err(from_io)?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, position) };
        Ok(())
    })
}

/// The file's size as this handle sees it (its snapshot plus its writes).
///
/// # Safety
/// `f` is NULL or a live handle; `size` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_size(f: *mut whefs_file, size: *mut u64) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let out = out_param(size, "size")?;
        let len = f.lock()?.len();
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, len) };
        Ok(())
    })
}

/// Truncates, or extends with a hole of zeros, to `size`. The position
/// does not move.
///
/// # Safety
/// `f` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_truncate(f: *mut whefs_file, size: u64) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        f.lock()?.set_len(size)
    })
}

/// `stat` of this handle's view of the file.
///
/// # Safety
/// `f` is NULL or a live handle; `out` points to writable memory.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_stat(f: *mut whefs_file, out: *mut whefs_stat_t) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        let out = out_param(out, "out")?;
        let meta = f.lock()?.metadata()?;
        // SAFETY: checked, writable per the contract.
        unsafe { put(out, whefs_stat_t::from(&meta)) };
        Ok(())
    })
}

/// Commits this handle's writes at the container's durability: afterwards
/// they are visible to every other handle and process. If the commit
/// fails, the handle's uncommitted changes are discarded.
///
/// # Safety
/// `f` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_flush(f: *mut whefs_file) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        f.lock()?.commit()
    })
}

/// Commits this handle's writes durably, whatever the durability setting.
///
/// # Safety
/// `f` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_sync(f: *mut whefs_file) -> c_int {
    boundary::status(|| {
        // SAFETY: per this function's contract.
        let f = unsafe { handle(f, "f") }?;
        f.lock()?.sync_all()
    })
}

/// Commits like `whefs_file_flush()` and frees the handle — either way:
/// the result is the commit's. NULL is allowed (does nothing). No other
/// thread may be using the handle.
///
/// # Safety
/// `f` is NULL or a live handle, not used again afterwards.
#[no_mangle]
pub unsafe extern "C" fn whefs_file_close(f: *mut whefs_file) -> c_int {
    boundary::status(|| {
        if f.is_null() {
            return Ok(());
        }
        // SAFETY: a live handle made by `Box::into_raw`, closed once.
        let handle = unsafe { Box::from_raw(f) };
        match handle.file.into_inner() {
            Ok(file) => file.close(),
            // A panic left the handle in an unknown state: discard its
            // uncommitted changes, but still release its locks.
            Err(poisoned) => {
                let _ = poisoned.into_inner().abort();
                Err(Error::Internal("an earlier call on this file handle panicked; its uncommitted changes were discarded".into()))
            }
        }
    })
}

/// Repeats `step(done)` — which moves bytes from offset `done` of a
/// `len`-byte buffer and says how many — until all `len` bytes moved. A step
/// that moves none ends a read (end of file) and fails a write.
fn repeat_io(
    len: usize,
    write: bool,
    mut step: impl FnMut(usize) -> Result<usize>,
) -> Result<usize> {
    let mut done = 0;
    while done < len {
        match step(done)? {
            0 if write => return Err(Error::Internal("a write made no progress".into())),
            0 => break,
            n => done += n,
        }
    }
    Ok(done)
}
