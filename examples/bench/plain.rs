//! Plain files the way a C program uses them: raw `open`/`read`/`close`,
//! `stat`, `readdir` + `fstatat`, `pwrite` + `fdatasync` through `libc`,
//! with no buffering layer in between, so the baseline is the cheapest
//! honest way to do each operation. Every failure panics with `errno`.

use std::ffi::{CStr, CString};
use std::io::Error;

use crate::capi::cpath;

fn fail(what: &str) -> ! {
    panic!("{what}: {}", Error::last_os_error())
}

/// Which syncs a plain write makes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    None,
    /// `fdatasync` of the file.
    Data,
    /// `fdatasync` of the file, then `fsync` of the directory (`dirfd`), so
    /// that a new name is durable too (POSIX; ext4 usually has it anyway).
    DataAndDir(i32),
}

/// open + read + close: whole file into `buf` (sized above the file).
pub fn read_whole(path: &CStr, buf: &mut [u8]) -> usize {
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        fail("open");
    }
    let mut done = 0;
    loop {
        let want = buf.len() - done;
        if want == 0 {
            break;
        }
        // SAFETY: `buf[done..]` is writable.
        let n = unsafe { libc::read(fd, buf[done..].as_mut_ptr().cast(), want) };
        if n < 0 {
            fail("read");
        }
        done += n as usize;
        // A regular file returns less than asked only at its end.
        if (n as usize) < want {
            break;
        }
    }
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
    done
}

pub fn stat_size(path: &CStr) -> u64 {
    // SAFETY: plain old data, filled by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a writable struct.
    if unsafe { libc::stat(path.as_ptr(), &mut st) } != 0 {
        fail("stat");
    }
    st.st_size as u64
}

/// opendir + readdir + fstatat per entry: (entries, sum of sizes).
pub fn list(dir: &CStr) -> (usize, u64) {
    // SAFETY: a NUL-terminated path; closed below.
    let d = unsafe { libc::opendir(dir.as_ptr()) };
    if d.is_null() {
        fail("opendir");
    }
    // SAFETY: a live DIR.
    let dfd = unsafe { libc::dirfd(d) };
    let (mut n, mut bytes) = (0, 0);
    loop {
        // SAFETY: a live DIR; the entry is valid until the next readdir.
        let e = unsafe { libc::readdir(d) };
        if e.is_null() {
            break;
        }
        // SAFETY: readdir returns a valid entry with a NUL-terminated name.
        let name = unsafe { CStr::from_ptr((*e).d_name.as_ptr()) };
        if name.to_bytes() == b"." || name.to_bytes() == b".." {
            continue;
        }
        // SAFETY: plain old data, filled by the call.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: a live directory descriptor, a NUL-terminated name.
        if unsafe { libc::fstatat(dfd, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
            fail("fstatat");
        }
        n += 1;
        bytes += st.st_size as u64;
    }
    // SAFETY: the DIR opened above.
    unsafe { libc::closedir(d) };
    (n, bytes)
}

/// Creates (or truncates) `path` with `data`, synced as `sync` says.
pub fn write_file(path: &CStr, data: &[u8], sync: Sync) {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path; closed below.
    let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644) };
    if fd < 0 {
        fail("open for writing");
    }
    write_all_at(fd, data, 0);
    match sync {
        Sync::None => {}
        Sync::Data => datasync(fd),
        Sync::DataAndDir(dirfd) => {
            datasync(fd);
            // SAFETY: the caller's open directory descriptor.
            if unsafe { libc::fsync(dirfd) } != 0 {
                fail("fsync of the directory");
            }
        }
    }
    // SAFETY: our descriptor.
    unsafe { libc::close(fd) };
}

pub fn write_all_at(fd: i32, data: &[u8], at: u64) {
    let mut done = 0;
    while done < data.len() {
        // SAFETY: `data[done..]` is readable.
        let n = unsafe {
            libc::pwrite(
                fd,
                data[done..].as_ptr().cast(),
                data.len() - done,
                (at + done as u64) as libc::off_t,
            )
        };
        if n <= 0 {
            fail("pwrite");
        }
        done += n as usize;
    }
}

pub fn pread(fd: i32, buf: &mut [u8], at: u64) -> usize {
    // SAFETY: `buf` is writable.
    let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), at as libc::off_t) };
    if n < 0 {
        fail("pread");
    }
    n as usize
}

pub fn datasync(fd: i32) {
    // SAFETY: a descriptor the caller owns.
    if unsafe { libc::fdatasync(fd) } != 0 {
        fail("fdatasync");
    }
}

/// A raw descriptor, closed on drop.
pub struct Fd(pub i32);

impl Fd {
    pub fn open(path: &std::path::Path, flags: i32) -> Fd {
        let p: CString = cpath(path);
        // SAFETY: a NUL-terminated path.
        let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, 0o644) };
        if fd < 0 {
            fail(&format!("open {}", path.display()));
        }
        Fd(fd)
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: our descriptor, closed once.
        unsafe { libc::close(self.0) };
    }
}
