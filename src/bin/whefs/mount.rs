//! `whefs mount` and `whefs umount`: a container as a FUSE filesystem, so
//! that every program can use it. The mount is a thin layer over the
//! inode-addressed Rust API (`Fs::lookup_at`, `Fs::open_inode`,
//! `Fs::rename_at`, ...): each FUSE request becomes one library call, each
//! change one commit, so the library's guarantees are the mount's.
//! `docs/mount.md` maps the semantics.
//!
//! What the mount keeps itself (invariants):
//! - At most one whefs writer per inode, shared by every open of the inode
//!   for writing (whefs allows one writer per file, POSIX many). It is
//!   opened at the first change and closed — committing — when the last
//!   such open is released; `flush` commits it, `fsync` commits durably.
//! - A read of an inode that has a writer reads through it (POSIX: a read
//!   sees every write before it); otherwise it reads the latest commit
//!   through its own read-only handle, which keeps the file readable after
//!   an unlink.
//! - Nothing else is cached: attributes and names come from the latest
//!   commit, and the kernel caches them for `--cache-ms` only, so other
//!   processes' commits show through the mount within that time.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use fuser::{
    Config, Errno, FileAttr, FileHandle, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, MountOption, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs,
    ReplyWrite, Request, Session, SessionACL, TimeOrNow, WriteFlags,
};
use whefs::{DirEntry, Error, File, FileType, Fs, Metadata, OpenOptions, ReadDir, SetAttributes};

use crate::container::{self, Access};
use crate::failure::{Exit, Failure};
use crate::Global;

/// `whefs mount`: the options after the container and the mount point.
#[derive(Args, Debug)]
pub struct MountArgs {
    /// The container file.
    pub container: PathBuf,
    /// The directory to mount it on (it must exist).
    pub mountpoint: PathBuf,
    /// Stay in the foreground until unmounted (errors go to stderr);
    /// without it the command returns once the mount is ready and a
    /// background process serves it.
    #[arg(long)]
    pub foreground: bool,
    /// Let users other than the one mounting use the mount (for non-root
    /// users, /etc/fuse.conf must say `user_allow_other`). The kernel
    /// checks permission bits and owners either way.
    #[arg(long)]
    pub allow_other: bool,
    /// How long the kernel may cache names and attributes, in
    /// milliseconds: changes other processes commit show through the mount
    /// after at most this long.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub cache_ms: u64,
    /// Threads serving requests (a slow commit or a lock wait occupies one).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,
}

/// `whefs umount`: the mount point.
#[derive(Args, Debug)]
pub struct UmountArgs {
    /// The mount point of a `whefs mount`.
    pub mountpoint: PathBuf,
    /// Detach now even if files are open; the mount goes when they close.
    #[arg(long)]
    pub lazy: bool,
}

/// Largest read and write request the kernel sends.
const MAX_IO: u32 = 1 << 20;
/// Readahead asked of the kernel, in KiB (for large sequential reads).
const READAHEAD_KB: u32 = 1024;
/// `st_blksize`: the I/O size programs are told to prefer.
const BLKSIZE: u32 = 128 * 1024;

/// Runs `whefs mount`.
pub fn mount(global: &Global, args: &MountArgs) -> Result<(), Failure> {
    let container = std::fs::canonicalize(&args.container)
        .map_err(|e| Failure::host(args.container.display(), e))?;
    let mountpoint = std::fs::canonicalize(&args.mountpoint)
        .map_err(|e| Failure::host(args.mountpoint.display(), e))?;
    if !mountpoint.is_dir() {
        return Err(Failure::new(
            Exit::Kind,
            format!("{}: not a directory", mountpoint.display()),
        ));
    }
    if args.foreground {
        return serve(global, args, &container, &mountpoint, None);
    }
    let (read, write) = pipe()?;
    // SAFETY: the process has one thread here (nothing has started any),
    // so the child may go on running Rust code after fork.
    match unsafe { libc::fork() } {
        -1 => Err(Failure::host("fork", io::Error::last_os_error())),
        0 => {
            drop(read);
            // SAFETY: setsid has no memory effects; it detaches the daemon
            // from the terminal's session.
            unsafe { libc::setsid() };
            let outcome = serve(global, args, &container, &mountpoint, Some(write));
            std::process::exit(outcome.map_or_else(|f| f.exit as i32, |()| 0));
        }
        _child => {
            drop(write);
            wait_until_ready(read)
        }
    }
}

/// The parent's side of daemonizing: the child reports `ok` once the mount
/// answers requests, or an exit status and a message.
fn wait_until_ready(read: OwnedFd) -> Result<(), Failure> {
    let mut report = String::new();
    let _ = std::fs::File::from(read).read_to_string(&mut report);
    let report = report.trim_end();
    if report == "ok" {
        return Ok(());
    }
    match report.split_once(' ') {
        Some((code, message)) => {
            let exit = exit_from_code(code.parse().unwrap_or(1));
            Err(Failure::new(exit, message.to_string()))
        }
        None => Err(Failure::new(
            Exit::Generic,
            "the mount process ended before the mount was ready",
        )),
    }
}

fn exit_from_code(code: u8) -> Exit {
    [
        Exit::Usage,
        Exit::NotFound,
        Exit::Exists,
        Exit::Kind,
        Exit::Busy,
        Exit::Corrupt,
        Exit::Access,
        Exit::Full,
        Exit::Io,
    ]
    .into_iter()
    .find(|e| *e as u8 == code)
    .unwrap_or(Exit::Generic)
}

fn pipe() -> Result<(OwnedFd, OwnedFd), Failure> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Failure::host("pipe", io::Error::last_os_error()));
    }
    // SAFETY: both descriptors were just created and are owned here only.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Opens the container, mounts it, tells `ready` (the daemonizing parent)
/// and serves requests until the mount goes away.
fn serve(
    global: &Global,
    args: &MountArgs,
    container: &Path,
    mountpoint: &Path,
    ready: Option<OwnedFd>,
) -> Result<(), Failure> {
    let report = |ready: Option<OwnedFd>, outcome: &Result<(), Failure>| {
        if let Some(fd) = ready {
            let line = match outcome {
                Ok(()) => "ok\n".to_string(),
                Err(f) => format!("{} {f}\n", f.exit as u8),
            };
            let _ = std::fs::File::from(fd).write_all(line.as_bytes());
        }
    };
    // Before anything starts a thread (the session's workers, the
    // library's pin reaper): a thread that does not block the termination
    // signals would take them, and their default action kills the process
    // instead of unmounting it.
    let signals = block_signals();
    let started = start(global, args, container, mountpoint);
    let session = match started {
        Ok(s) => s,
        Err(f) => {
            let failure = Err(f);
            report(ready, &failure);
            return failure;
        }
    };
    raise_readahead(mountpoint);
    let daemon = ready.is_some();
    report(ready, &Ok(()));
    if daemon {
        detach_stdio();
    }
    let mountpoint = mountpoint.to_path_buf();
    std::thread::spawn(move || unmount_on_signal(signals, &mountpoint));
    session
        .run()
        .map_err(|e| Failure::host("serving the mount", e))
}

fn start(
    global: &Global,
    args: &MountArgs,
    container: &Path,
    mountpoint: &Path,
) -> Result<Session<Mount>, Failure> {
    // A snapshot is served read-only, like the global --read-only.
    let (access, read_only) = match global.snapshot {
        Some(_) => (Access::Read, true),
        None => (Access::Write, global.read_only),
    };
    let fs = container::open(global, container, access)?;
    let mut options = vec![
        MountOption::FSName(container.display().to_string()),
        MountOption::Subtype("whefs".into()),
        MountOption::DefaultPermissions,
        MountOption::NoAtime,
    ];
    if read_only {
        options.push(MountOption::RO);
    }
    let root = geteuid() == 0;
    let mut config = Config::default();
    config.n_threads = Some(args.threads as usize);
    config.acl = if args.allow_other {
        SessionACL::All
    } else {
        SessionACL::Owner
    };
    // Auto-unmount (fusermount3 watches the mount process) cleans the
    // mount point up after a kill -9; it needs allow_root or allow_other.
    let auto_unmount = (root || args.allow_other) && which("fusermount3");
    let mut attempt = config.clone();
    if auto_unmount {
        attempt.mount_options = options.clone();
        attempt.mount_options.push(MountOption::AutoUnmount);
        if attempt.acl == SessionACL::Owner {
            attempt.acl = SessionACL::RootAndOwner;
        }
        let filesystem = Mount::new(fs.clone(), container, read_only, args.cache_ms);
        if let Ok(session) = Session::new(filesystem, mountpoint, &attempt) {
            return Ok(session);
        }
    }
    config.mount_options = options;
    let filesystem = Mount::new(fs, container, read_only, args.cache_ms);
    Session::new(filesystem, mountpoint, &config)
        .map_err(|e| Failure::host(format!("mount on {}", mountpoint.display()), e))
}

/// Whether `program` is on `PATH`.
fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn geteuid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Asks for a larger readahead window than the kernel's default 128 KiB
/// (its backing device is named `major:minor` in /proc/self/mountinfo).
/// Best effort: only root may, and a failure changes nothing else.
fn raise_readahead(mountpoint: &Path) {
    if let Some((device, _)) = mount_entry(mountpoint) {
        let knob = format!("/sys/class/bdi/{device}/read_ahead_kb");
        let _ = std::fs::write(knob, READAHEAD_KB.to_string());
    }
}

/// The `(major:minor, filesystem type)` of the mount at `mountpoint`, from
/// /proc/self/mountinfo (the last one mounted there).
fn mount_entry(mountpoint: &Path) -> Option<(String, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let want = mountpoint.to_str()?;
    info.lines()
        .rev()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let device = fields.nth(2)?;
            let point = fields.nth(1)?;
            let fstype = line.split(" - ").nth(1)?.split(' ').next()?;
            (unescape_mountinfo(point) == want).then(|| (device.to_string(), fstype.to_string()))
        })
        .next()
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape_mountinfo(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|d| u8::from_str_radix(d, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Blocks SIGTERM, SIGINT and SIGHUP in this thread and every thread it
/// starts, so that one thread can wait for them.
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data that sigemptyset initializes; the
    // calls only touch `set` and this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// Waits for a termination signal, then unmounts: the session ends and the
/// process exits cleanly (lazily if files are still open: it ends when
/// they are closed).
fn unmount_on_signal(set: libc::sigset_t, mountpoint: &Path) {
    let mut signal = 0;
    // SAFETY: `set` is an initialized signal set; sigwait writes `signal`.
    unsafe { libc::sigwait(&set, &mut signal) };
    if unmount(mountpoint, false).is_err() {
        let _ = unmount(mountpoint, true);
    }
}

/// Unmounts `mountpoint`: with umount2 as root, else with `fusermount3 -u`.
fn unmount(mountpoint: &Path, lazy: bool) -> io::Result<()> {
    if geteuid() == 0 {
        let path = std::ffi::CString::new(mountpoint.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let flags = if lazy { libc::MNT_DETACH } else { 0 };
        // SAFETY: `path` is a NUL-terminated string alive for the call.
        if unsafe { libc::umount2(path.as_ptr(), flags) } == 0 {
            return Ok(());
        }
        return Err(io::Error::last_os_error());
    }
    let mut cmd = std::process::Command::new("fusermount3");
    cmd.arg("-u");
    if lazy {
        cmd.arg("-z");
    }
    let out = cmd.arg("--").arg(mountpoint).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

/// Points stdin, stdout and stderr at /dev/null (a daemon has no terminal).
fn detach_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            // SAFETY: dup2 onto the standard descriptors; `null` stays open
            // for the call.
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
}

/// Runs `whefs umount`.
pub fn umount(args: &UmountArgs) -> Result<(), Failure> {
    let point = std::fs::canonicalize(&args.mountpoint)
        .or_else(|_| std::path::absolute(&args.mountpoint))
        .map_err(|e| Failure::host(args.mountpoint.display(), e))?;
    match mount_entry(&point) {
        None => {
            return Err(Failure::new(
                Exit::NotFound,
                format!("{}: not mounted", point.display()),
            ))
        }
        Some((_, fstype)) if fstype != "fuse.whefs" => {
            return Err(Failure::new(
                Exit::Kind,
                format!("{}: a {fstype} mount, not a whefs mount", point.display()),
            ))
        }
        Some(_) => {}
    }
    unmount(&point, args.lazy).map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::EBUSY) {
            " (files are open; --lazy detaches it now and it goes when they close)"
        } else {
            ""
        };
        Failure::new(Exit::Busy, format!("umount {}: {e}{hint}", point.display()))
    })
}

// ---- The filesystem ----------------------------------------------------

/// One FUSE open of a file.
struct OpenFile {
    ino: u64,
    writable: bool,
    append: bool,
    /// Reads the latest commit when the inode has no writer (and keeps an
    /// unlinked file readable).
    reader: Mutex<File>,
}

/// The shared writer of one inode and how many writable opens use it.
struct Writing {
    opens: usize,
    slot: Arc<WriterSlot>,
}

#[derive(Default)]
struct WriterSlot {
    state: Mutex<SlotState>,
    opened: Condvar,
}

#[derive(Default)]
struct SlotState {
    file: Option<File>,
    /// A thread is opening the writer (waiting for the file's lock): the
    /// slot is not held meanwhile, so readers never wait for another
    /// process's writer.
    opening: bool,
}

/// One directory listing: the snapshot of its `opendir`.
struct Listing {
    entries: Vec<DirEntry>,
    rest: ReadDir,
    done: bool,
    parent: u64,
}

/// The FUSE filesystem over one open container.
pub struct Mount {
    fs: Fs,
    /// The host directory holding the container (for free space).
    host_dir: PathBuf,
    read_only: bool,
    ttl: Duration,
    page_size: u64,
    next_fh: AtomicU64,
    files: Mutex<HashMap<u64, Arc<OpenFile>>>,
    writing: Mutex<HashMap<u64, Writing>>,
    listings: Mutex<HashMap<u64, Arc<Mutex<Listing>>>>,
}

type Reply<T> = Result<T, Errno>;

/// The errno for a whefs error.
fn errno(e: &Error) -> Errno {
    let code = match e {
        Error::NotFound(_) => libc::ENOENT,
        Error::Exists(_) => libc::EEXIST,
        Error::NotDir(_) => libc::ENOTDIR,
        Error::IsDir(_) => libc::EISDIR,
        Error::NotEmpty(_) => libc::ENOTEMPTY,
        Error::NameTooLong(_) => libc::ENAMETOOLONG,
        Error::Access(_) => libc::EACCES,
        Error::Busy(_) => libc::EBUSY,
        Error::Full(_) => libc::ENOSPC,
        Error::Arg(m) if m.contains("symbolic links") => libc::ELOOP,
        Error::Arg(_) | Error::Range(_) => libc::EINVAL,
        Error::NoMem(_) => libc::ENOMEM,
        Error::Unsupported(_) => libc::EOPNOTSUPP,
        Error::Closed(_) => libc::EBADF,
        Error::Io { source, .. } => source.raw_os_error().unwrap_or(libc::EIO),
        _ => libc::EIO,
    };
    Errno::from_i32(code)
}

fn ok<T>(r: whefs::Result<T>) -> Reply<T> {
    r.map_err(|e| errno(&e))
}

/// A name from the kernel: whefs names are UTF-8, so another name cannot exist.
fn name_of(name: &OsStr) -> Reply<&str> {
    name.to_str().ok_or(Errno::ENOENT)
}

fn system_time(ns: i64) -> SystemTime {
    let d = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

fn ns_of(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

fn time_arg(t: TimeOrNow) -> i64 {
    match t {
        TimeOrNow::SpecificTime(t) => ns_of(t),
        TimeOrNow::Now => ns_of(SystemTime::now()),
    }
}

fn fuse_kind(kind: FileType) -> fuser::FileType {
    match kind {
        FileType::File => fuser::FileType::RegularFile,
        FileType::Dir => fuser::FileType::Directory,
        FileType::Symlink => fuser::FileType::Symlink,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind,
    // still consistent enough to serve (or to close) files.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Mount {
    fn new(fs: Fs, container: &Path, read_only: bool, cache_ms: u64) -> Mount {
        let page_size = fs.info().map_or(4096, |i| i.page_size as u64);
        Mount {
            fs,
            host_dir: container.parent().unwrap_or(Path::new("/")).to_path_buf(),
            read_only,
            ttl: Duration::from_millis(cache_ms),
            page_size,
            next_fh: AtomicU64::new(1),
            files: Mutex::default(),
            writing: Mutex::default(),
            listings: Mutex::default(),
        }
    }

    fn writable(&self) -> Reply<()> {
        if self.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    fn attr(&self, m: &Metadata) -> FileAttr {
        let size = match self.slot(m.ino) {
            Some(slot) => lock(&slot.state).file.as_ref().map_or(m.size, File::len),
            None => m.size,
        };
        let blocks = if m.is_file() {
            size.div_ceil(self.page_size) * self.page_size / 512
        } else {
            0
        };
        FileAttr {
            ino: INodeNo(m.ino),
            size,
            blocks,
            atime: system_time(m.atime_ns),
            mtime: system_time(m.mtime_ns),
            ctime: system_time(m.ctime_ns),
            crtime: system_time(m.ctime_ns),
            kind: fuse_kind(m.kind),
            perm: (m.mode & 0o7777) as u16,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: 0,
            blksize: BLKSIZE,
            flags: 0,
        }
    }

    fn entry(&self, m: whefs::Result<Metadata>, reply: ReplyEntry) {
        match m {
            Ok(m) => reply.entry(&self.ttl, &self.attr(&m), Generation(0)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    /// Attributes of a new inode made for `req`.
    fn creator(req: &Request, mode: u32, umask: u32) -> SetAttributes {
        SetAttributes::new()
            .mode(mode & !umask & 0o7777)
            .owner(Some(req.uid()), Some(req.gid()))
    }

    fn open_file(&self, fh: FileHandle) -> Reply<Arc<OpenFile>> {
        lock(&self.files).get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    fn slot(&self, ino: u64) -> Option<Arc<WriterSlot>> {
        lock(&self.writing).get(&ino).map(|w| Arc::clone(&w.slot))
    }

    /// The writer of `ino` (opened now if it is not yet), held.
    fn writer<'s>(&self, ino: u64, slot: &'s WriterSlot) -> Reply<MutexGuard<'s, SlotState>> {
        let mut state = lock(&slot.state);
        loop {
            if state.file.is_some() {
                return Ok(state);
            }
            if !state.opening {
                break;
            }
            state = slot.opened.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.opening = true;
        drop(state);
        let opened = self
            .fs
            .open_inode(ino, OpenOptions::new().read(true).write(true));
        let mut state = lock(&slot.state);
        state.opening = false;
        slot.opened.notify_all();
        state.file = Some(ok(opened)?);
        Ok(state)
    }

    /// Runs `f` on the writer of `ino`, opening it if needed.
    fn with_writer<T>(&self, ino: u64, f: impl FnOnce(&mut File) -> Reply<T>) -> Reply<T> {
        let slot = self.slot(ino).ok_or(Errno::EBADF)?;
        let mut state = self.writer(ino, &slot)?;
        f(state.file.as_mut().expect("writer() opened it"))
    }

    /// Commits the writer of `ino` if there is one (durably if `sync`).
    fn commit_writer(&self, ino: u64, sync: bool) -> Reply<bool> {
        let Some(slot) = self.slot(ino) else {
            return Ok(false);
        };
        let mut state = lock(&slot.state);
        match state.file.as_mut() {
            Some(f) if sync => ok(f.sync_all()).map(|()| true),
            Some(f) => ok(f.commit()).map(|()| true),
            None => Ok(false),
        }
    }

    /// Before the name `name` of `dir` goes (unlink, rename over it): a
    /// file the mount has open for writing gets its writer now, so that
    /// the library keeps it as an orphan and its opens can go on writing.
    fn keep_open_writer(&self, dir: u64, name: &str) {
        if let Ok(m) = self.fs.lookup_at(dir, name) {
            if let Some(slot) = self.slot(m.ino) {
                drop(self.writer(m.ino, &slot));
            }
        }
    }

    /// Registers a FUSE open of `ino`.
    fn open_handle(&self, ino: u64, flags: i32) -> Reply<u64> {
        let acc = OpenFlags(flags).acc_mode();
        let writable = acc != OpenAccMode::O_RDONLY;
        if writable {
            self.writable()?;
        }
        let reader = ok(self.fs.open_inode(ino, OpenOptions::new().read(true)))?;
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        if writable {
            lock(&self.writing)
                .entry(ino)
                .or_insert_with(|| Writing {
                    opens: 0,
                    slot: Arc::default(),
                })
                .opens += 1;
        }
        let file = OpenFile {
            ino,
            writable,
            append: flags & libc::O_APPEND != 0,
            reader: Mutex::new(reader),
        };
        lock(&self.files).insert(fh, Arc::new(file));
        if writable && flags & libc::O_TRUNC != 0 {
            if let Err(e) = self.with_writer(ino, |f| ok(f.set_len(0))) {
                let _ = self.release_handle(fh);
                return Err(e);
            }
        }
        Ok(fh)
    }

    /// Forgets a FUSE open; the last writable open of an inode closes its
    /// writer, committing.
    fn release_handle(&self, fh: u64) -> Reply<()> {
        let Some(file) = lock(&self.files).remove(&fh) else {
            return Ok(());
        };
        if !file.writable {
            return Ok(());
        }
        let last = {
            let mut writing = lock(&self.writing);
            match writing.get_mut(&file.ino) {
                Some(w) if w.opens > 1 => {
                    w.opens -= 1;
                    None
                }
                Some(_) => writing.remove(&file.ino),
                None => None,
            }
        };
        let Some(w) = last else { return Ok(()) };
        let taken = lock(&w.slot.state).file.take();
        match taken {
            Some(f) => ok(f.close()),
            None => Ok(()),
        }
    }

    fn do_getattr(&self, ino: u64, fh: Option<FileHandle>) -> Reply<FileAttr> {
        match self.fs.inode_metadata(ino) {
            Ok(m) => Ok(self.attr(&m)),
            // An open file that was unlinked: its handle still knows it.
            Err(Error::NotFound(_)) if fh.is_some() => {
                let file = self.open_file(fh.ok_or(Errno::ENOENT)?)?;
                let mut m = ok(lock(&file.reader).metadata())?;
                m.nlink = 0;
                Ok(self.attr(&m))
            }
            Err(e) => Err(errno(&e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn do_setattr(
        &self,
        ino: u64,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        fh: Option<FileHandle>,
    ) -> Reply<FileAttr> {
        self.writable()?;
        if let Some(size) = size {
            if self.slot(ino).is_some() {
                self.with_writer(ino, |f| ok(f.set_len(size)))?;
            } else {
                let mut f = ok(self.fs.open_inode(ino, OpenOptions::new().write(true)))?;
                ok(f.set_len(size))?;
                ok(f.close())?;
            }
        }
        let attrs = SetAttributes {
            mode,
            uid,
            gid,
            atime_ns: atime.map(time_arg),
            mtime_ns: mtime.map(time_arg),
        };
        if attrs != SetAttributes::default() {
            if attrs.mtime_ns.is_some() {
                // Pending writes would stamp their commit time over it.
                self.commit_writer(ino, false)?;
            }
            ok(self.fs.set_inode_attributes(ino, &attrs))?;
        }
        self.do_getattr(ino, fh)
    }

    fn do_read(&self, fh: FileHandle, offset: u64, size: u32) -> Reply<Vec<u8>> {
        let file = self.open_file(fh)?;
        let mut buf = vec![0u8; size as usize];
        if let Some(slot) = self.slot(file.ino) {
            let state = lock(&slot.state);
            if let Some(w) = state.file.as_ref() {
                let n = ok(w.read_at(&mut buf, offset))?;
                buf.truncate(n);
                return Ok(buf);
            }
        }
        let mut reader = lock(&file.reader);
        ok(reader.refresh())?;
        let n = ok(reader.read_at(&mut buf, offset))?;
        buf.truncate(n);
        Ok(buf)
    }

    fn do_write(&self, fh: FileHandle, offset: u64, data: &[u8], flags: WriteFlags) -> Reply<u32> {
        let file = self.open_file(fh)?;
        if !file.writable {
            return Err(Errno::EBADF);
        }
        // A write-back of cached pages (shared mmap) carries whichever
        // writable handle the kernel picked: it goes where its page is,
        // even through a handle opened with O_APPEND.
        let append = file.append && !flags.contains(WriteFlags::FUSE_WRITE_CACHE);
        self.with_writer(file.ino, |w| {
            let at = if append { w.len() } else { offset };
            ok(w.write_at(data, at))?;
            Ok(data.len() as u32)
        })
    }

    fn do_create(
        &self,
        req: &Request,
        parent: u64,
        name: &str,
        mode: u32,
        umask: u32,
        flags: i32,
    ) -> Reply<(FileAttr, u64)> {
        self.writable()?;
        let made = self
            .fs
            .create_file_at(parent, name, &Self::creator(req, mode, umask));
        let (meta, flags) = match made {
            Ok(m) => (m, flags & !libc::O_TRUNC),
            // Created by someone else since the kernel looked.
            Err(Error::Exists(_)) if flags & libc::O_EXCL == 0 => {
                let m = ok(self.fs.lookup_at(parent, name))?;
                match m.kind {
                    FileType::File => (m, flags),
                    FileType::Dir => return Err(Errno::EISDIR),
                    FileType::Symlink => return Err(Errno::EEXIST),
                }
            }
            Err(e) => return Err(errno(&e)),
        };
        let fh = self.open_handle(meta.ino, flags)?;
        Ok((self.attr(&meta), fh))
    }

    fn do_opendir(&self, ino: u64) -> Reply<u64> {
        let meta = ok(self.fs.inode_metadata(ino))?;
        let rest = ok(self.fs.inode_read_dir(ino))?;
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        let listing = Listing {
            entries: Vec::new(),
            rest,
            done: false,
            parent: meta.parent,
        };
        lock(&self.listings).insert(fh, Arc::new(Mutex::new(listing)));
        Ok(fh)
    }

    fn do_readdir(&self, ino: u64, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(listing) = lock(&self.listings).get(&fh.0).cloned() else {
            return reply.error(Errno::EBADF);
        };
        let mut l = lock(&listing);
        let mut at = offset;
        loop {
            // Offsets: 0 is ".", 1 is "..", 2 + i the i-th entry.
            let full = match at {
                0 => reply.add(INodeNo(ino), 1, fuser::FileType::Directory, "."),
                1 => reply.add(INodeNo(l.parent), 2, fuser::FileType::Directory, ".."),
                _ => {
                    let i = (at - 2) as usize;
                    while l.entries.len() <= i && !l.done {
                        match l.rest.next() {
                            Some(Ok(e)) => l.entries.push(e),
                            Some(Err(e)) => return reply.error(errno(&e)),
                            None => l.done = true,
                        }
                    }
                    let Some(e) = l.entries.get(i) else { break };
                    reply.add(INodeNo(e.ino), at + 1, fuse_kind(e.kind), &e.name)
                }
            };
            if full {
                break;
            }
            at += 1;
        }
        reply.ok()
    }

    fn do_statfs(&self) -> Reply<(u64, u64, u64, u32)> {
        let info = ok(self.fs.info())?;
        let ps = info.page_size as u64;
        // The container grows into its host filesystem: report that room
        // too, so that programs checking for space do not see a full disk.
        let room = host_free_bytes(&self.host_dir).unwrap_or(0) / ps;
        let free = info.pages_free + info.pages_pending + room;
        Ok((
            info.pages_total + room,
            free,
            info.files + info.dirs,
            info.page_size,
        ))
    }
}

/// Free bytes (for unprivileged users) of the host filesystem at `dir`.
fn host_free_bytes(dir: &Path) -> Option<u64> {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs is plain data, zero is a valid value of it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string; statvfs writes only `st`.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

impl Filesystem for Mount {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        let _ = config.set_max_write(MAX_IO);
        let _ = config
            .set_max_readahead(MAX_IO)
            .or_else(|max| config.set_max_readahead(max));
        for cap in [
            InitFlags::FUSE_AUTO_INVAL_DATA,
            InitFlags::FUSE_PARALLEL_DIROPS,
        ] {
            if config.capabilities().contains(cap) {
                let _ = config.add_capabilities(cap);
            }
        }
        Ok(())
    }

    fn destroy(&mut self) {
        // Writers still open (the kernel released nothing before it went):
        // commit what they hold.
        let writing: Vec<Writing> = lock(&self.writing).drain().map(|(_, w)| w).collect();
        for w in writing {
            if let Some(f) = lock(&w.slot.state).file.take() {
                let _ = f.close();
            }
        }
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match name_of(name) {
            Ok(name) => self.entry(self.fs.lookup_at(parent.0, name), reply),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.do_getattr(ino.0, fh) {
            Ok(attr) => reply.attr(&self.ttl, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        match self.do_setattr(ino.0, mode, uid, gid, size, atime, mtime, fh) {
            Ok(attr) => reply.attr(&self.ttl, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.fs.inode_read_link(ino.0) {
            Ok(target) => reply.data(target.as_bytes()),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        // Regular files only: whefs has no devices, FIFOs or sockets.
        if mode & libc::S_IFMT != libc::S_IFREG {
            return reply.error(Errno::EPERM);
        }
        let made = self.writable().and_then(|()| name_of(name)).map(|name| {
            self.fs
                .create_file_at(parent.0, name, &Self::creator(req, mode, umask))
        });
        match made {
            Ok(m) => self.entry(m, reply),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let made = self.writable().and_then(|()| name_of(name)).map(|name| {
            self.fs
                .create_dir_at(parent.0, name, &Self::creator(req, mode, umask))
        });
        match made {
            Ok(m) => self.entry(m, reply),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let done = self
            .writable()
            .and_then(|()| name_of(name))
            .and_then(|name| {
                self.keep_open_writer(parent.0, name);
                ok(self.fs.remove_file_at(parent.0, name))
            });
        match done {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let done = self
            .writable()
            .and_then(|()| name_of(name))
            .and_then(|name| ok(self.fs.remove_dir_at(parent.0, name)));
        match done {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let made = self
            .writable()
            .and_then(|()| name_of(link_name))
            .and_then(|name| Ok((name, target.to_str().ok_or(Errno::EINVAL)?)))
            .map(|(name, target)| {
                let owner = SetAttributes::new().owner(Some(req.uid()), Some(req.gid()));
                self.fs.symlink_at(parent.0, name, target, &owner)
            });
        match made {
            Ok(m) => self.entry(m, reply),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let done = self.writable().and_then(|()| {
            let (name, newname) = (name_of(name)?, name_of(newname)?);
            if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
                return Err(Errno::EINVAL); // RENAME_EXCHANGE, RENAME_WHITEOUT
            }
            let replace = !flags.contains(RenameFlags::RENAME_NOREPLACE);
            self.keep_open_writer(newparent.0, newname);
            ok(self
                .fs
                .rename_at(parent.0, name, newparent.0, newname, replace))
        });
        match done {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let made = self
            .writable()
            .and_then(|()| name_of(newname))
            .and_then(
                |name| match self.fs.hard_link_at(ino.0, newparent.0, name) {
                    Err(Error::IsDir(_)) => Err(Errno::EPERM),
                    other => Ok(other),
                },
            );
        match made {
            Ok(m) => self.entry(m, reply),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        match self.open_handle(ino.0, flags.0) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.do_read(fh, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.do_write(fh, offset, data, write_flags) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        let writable = self.open_file(fh).is_ok_and(|f| f.writable);
        match if writable {
            self.commit_writer(ino.0, false).map(drop)
        } else {
            Ok(())
        } {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        match self.release_handle(fh.0) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let synced = match self.commit_writer(ino.0, true) {
            Ok(true) => Ok(()),
            Ok(false) => ok(self.fs.sync()),
            Err(e) => Err(e),
        };
        match synced {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.do_opendir(ino.0) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectory,
    ) {
        self.do_readdir(ino.0, fh, offset, reply)
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        lock(&self.listings).remove(&fh.0);
        reply.ok()
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.fs.sync() {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.do_statfs() {
            Ok((blocks, free, files, bsize)) => reply.statfs(
                blocks,
                free,
                free,
                files,
                u32::MAX as u64,
                bsize,
                255,
                bsize,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        // With default_permissions the kernel checks modes itself.
        reply.ok()
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let made =
            name_of(name).and_then(|name| self.do_create(req, parent.0, name, mode, umask, flags));
        match made {
            Ok((attr, fh)) => reply.created(
                &self.ttl,
                &attr,
                Generation(0),
                FileHandle(fh),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }
}
