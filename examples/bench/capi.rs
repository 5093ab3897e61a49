//! whefs as a C program sees it: thin owners over the `extern "C"`
//! functions of `whefs::ffi` (the same symbols `include/whefs.h` declares),
//! so the benchmark measures what a C, PHP or Python user gets, boundary
//! included. A failing call panics with `whefs_errmsg()`: a benchmark that
//! hits an error has nothing to report.

use std::ffi::{c_int, c_uint, CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

use whefs::ffi::dir::{whefs_dir, whefs_dir_close, whefs_dir_next, whefs_dir_open, whefs_dirent};
use whefs::ffi::error::{whefs_errmsg, whefs_rc_name};
use whefs::ffi::file::{
    whefs_file, whefs_file_close, whefs_file_flush, whefs_file_open, whefs_file_pwrite,
    whefs_file_read, whefs_file_write,
};
use whefs::ffi::fs::{
    whefs_fs, whefs_fs_close, whefs_fs_info, whefs_fs_open, whefs_fs_set_durability, whefs_info,
    whefs_mkdir_all, whefs_read_file, whefs_stat, whefs_stat_t, whefs_write_file,
};
use whefs::ffi::txn::{
    whefs_txn, whefs_txn_begin, whefs_txn_commit, whefs_txn_mkdir_all, whefs_txn_write,
};

pub use whefs::ffi::fs::{
    WHEFS_DURABLE_FULL, WHEFS_DURABLE_OFF, WHEFS_OPEN_CREATE, WHEFS_OPEN_READONLY,
    WHEFS_OPEN_READWRITE,
};

fn check(rc: c_int, what: &str) {
    if rc != 0 {
        // SAFETY: both return static or thread-local NUL-terminated strings.
        let (name, msg) = unsafe {
            (
                CStr::from_ptr(whefs_rc_name(rc)),
                CStr::from_ptr(whefs_errmsg()),
            )
        };
        panic!(
            "{what}: {} ({})",
            name.to_string_lossy(),
            msg.to_string_lossy()
        );
    }
}

pub fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("a path without NUL")
}

pub fn cstr(s: &str) -> CString {
    CString::new(s).expect("a name without NUL")
}

/// An open `whefs_fs`, closed on drop.
pub struct Container(*mut whefs_fs);

// SAFETY: the C API lets any thread use a `whefs_fs`, calls in parallel
// (include/whefs.h); the library checks it at compile time (src/ffi/mod.rs).
unsafe impl Send for Container {}
unsafe impl Sync for Container {}

impl Container {
    pub fn open(path: &Path, flags: c_uint) -> Container {
        let p = cpath(path);
        let mut fs = ptr::null_mut();
        // SAFETY: a NUL-terminated path and a writable out-pointer.
        check(
            unsafe { whefs_fs_open(p.as_ptr(), flags, &mut fs) },
            "whefs_fs_open",
        );
        Container(fs)
    }

    pub fn read_only(path: &Path) -> Container {
        Container::open(path, WHEFS_OPEN_READONLY)
    }

    /// Read-write, created if missing, at durability `mode`.
    pub fn writable(path: &Path, mode: c_int) -> Container {
        let fs = Container::open(path, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE);
        fs.durability(mode);
        fs
    }

    pub fn durability(&self, mode: c_int) {
        // SAFETY: a live handle.
        check(
            unsafe { whefs_fs_set_durability(self.0, mode) },
            "whefs_fs_set_durability",
        );
    }

    /// `whefs_read_file` into `buf`; returns the size.
    pub fn read_file(&self, name: &CStr, buf: &mut [u8]) -> usize {
        let mut len = 0;
        // SAFETY: a live handle, a NUL-terminated name, `buf.len()` writable bytes.
        let rc = unsafe {
            whefs_read_file(
                self.0,
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut len,
            )
        };
        check(rc, "whefs_read_file");
        len
    }

    pub fn stat_size(&self, name: &CStr) -> u64 {
        // SAFETY: plain old data, filled by the call.
        let mut st: whefs_stat_t = unsafe { std::mem::zeroed() };
        // SAFETY: a live handle, a NUL-terminated name, a writable struct.
        check(
            unsafe { whefs_stat(self.0, name.as_ptr(), &mut st) },
            "whefs_stat",
        );
        st.size
    }

    pub fn write_file(&self, name: &CStr, data: &[u8]) {
        // SAFETY: a live handle, a NUL-terminated name, `data.len()` readable bytes.
        let rc =
            unsafe { whefs_write_file(self.0, name.as_ptr(), data.as_ptr().cast(), data.len()) };
        check(rc, "whefs_write_file");
    }

    pub fn mkdir_all(&self, name: &str) {
        let n = cstr(name);
        // SAFETY: a live handle and a NUL-terminated name.
        check(
            unsafe { whefs_mkdir_all(self.0, n.as_ptr()) },
            "whefs_mkdir_all",
        );
    }

    /// Lists `dir` with `whefs_dir_open`/`next`/`close`: (entries, sum of sizes).
    pub fn list(&self, dir: &CStr) -> (usize, u64) {
        let mut d: *mut whefs_dir = ptr::null_mut();
        // SAFETY: a live handle, a NUL-terminated path, a writable out-pointer.
        check(
            unsafe { whefs_dir_open(self.0, dir.as_ptr(), &mut d) },
            "whefs_dir_open",
        );
        let (mut n, mut bytes) = (0, 0);
        loop {
            // SAFETY: plain old data, filled by the call.
            let mut e: whefs_dirent = unsafe { std::mem::zeroed() };
            let mut has = 0;
            // SAFETY: a live listing and writable out-parameters.
            check(
                unsafe { whefs_dir_next(d, &mut e, &mut has) },
                "whefs_dir_next",
            );
            if has == 0 {
                break;
            }
            n += 1;
            bytes += e.size;
        }
        // SAFETY: the listing opened above, not used again.
        check(unsafe { whefs_dir_close(d) }, "whefs_dir_close");
        (n, bytes)
    }

    pub fn file(&self, name: &str, mode: &str) -> PseudoFile {
        let (n, m) = (cstr(name), cstr(mode));
        let mut f = ptr::null_mut();
        // SAFETY: a live handle, NUL-terminated strings, a writable out-pointer.
        check(
            unsafe { whefs_file_open(self.0, n.as_ptr(), m.as_ptr(), &mut f) },
            "whefs_file_open",
        );
        PseudoFile(f)
    }

    pub fn begin(&self) -> Txn {
        let mut t = ptr::null_mut();
        // SAFETY: a live handle and a writable out-pointer.
        check(
            unsafe { whefs_txn_begin(self.0, &mut t) },
            "whefs_txn_begin",
        );
        Txn(t)
    }

    pub fn info(&self) -> whefs_info {
        // SAFETY: plain old data, filled by the call.
        let mut i: whefs_info = unsafe { std::mem::zeroed() };
        // SAFETY: a live handle and a writable struct.
        check(unsafe { whefs_fs_info(self.0, &mut i) }, "whefs_fs_info");
        i
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // SAFETY: the handle opened in `open`, closed once.
        let rc = unsafe { whefs_fs_close(self.0) };
        if !std::thread::panicking() {
            check(rc, "whefs_fs_close");
        }
    }
}

/// An open `whefs_file`; `close` commits.
pub struct PseudoFile(*mut whefs_file);

impl PseudoFile {
    /// `whefs_file_read`: up to `buf.len()` bytes; 0 at the end.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        // SAFETY: a live handle and `buf.len()` writable bytes.
        check(
            unsafe { whefs_file_read(self.0, buf.as_mut_ptr().cast(), buf.len(), &mut n) },
            "whefs_file_read",
        );
        n
    }

    pub fn write(&mut self, buf: &[u8]) {
        let mut n = 0;
        // SAFETY: a live handle and `buf.len()` readable bytes.
        check(
            unsafe { whefs_file_write(self.0, buf.as_ptr().cast(), buf.len(), &mut n) },
            "whefs_file_write",
        );
        assert_eq!(n, buf.len(), "short whefs_file_write");
    }

    pub fn pwrite(&mut self, buf: &[u8], at: u64) {
        let mut n = 0;
        // SAFETY: a live handle and `buf.len()` readable bytes.
        check(
            unsafe { whefs_file_pwrite(self.0, buf.as_ptr().cast(), buf.len(), at, &mut n) },
            "whefs_file_pwrite",
        );
    }

    /// `whefs_file_flush`: one commit at the container's durability.
    pub fn flush(&mut self) {
        // SAFETY: a live handle.
        check(unsafe { whefs_file_flush(self.0) }, "whefs_file_flush");
    }

    /// `whefs_file_close`: commits and frees.
    pub fn close(self) {
        let f = self.0;
        std::mem::forget(self);
        // SAFETY: the live handle, not used again.
        check(unsafe { whefs_file_close(f) }, "whefs_file_close");
    }
}

impl Drop for PseudoFile {
    fn drop(&mut self) {
        // SAFETY: the live handle, not used again.
        unsafe { whefs_file_close(self.0) };
    }
}

/// A `whefs_txn` being recorded; `commit` publishes it.
pub struct Txn(*mut whefs_txn);

impl Txn {
    pub fn write(&mut self, name: &CStr, data: &[u8]) {
        // SAFETY: a live transaction, a NUL-terminated name, readable data.
        let rc =
            unsafe { whefs_txn_write(self.0, name.as_ptr(), data.as_ptr().cast(), data.len()) };
        check(rc, "whefs_txn_write");
    }

    pub fn mkdir_all(&mut self, name: &str) {
        let n = cstr(name);
        // SAFETY: a live transaction and a NUL-terminated name.
        check(
            unsafe { whefs_txn_mkdir_all(self.0, n.as_ptr()) },
            "whefs_txn_mkdir_all",
        );
    }

    pub fn commit(self) {
        let t = self.0;
        std::mem::forget(self);
        // SAFETY: the live transaction, freed by the call.
        check(unsafe { whefs_txn_commit(t) }, "whefs_txn_commit");
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // SAFETY: the live transaction, freed by the call.
        unsafe { whefs::ffi::txn::whefs_txn_abort(self.0) };
    }
}
