//! An fsx-style exerciser through `whefs mount` (after the classic fsx of
//! BSD and xfstests): thousands of random operations on a few files —
//! pwrite, pread, O_APPEND writes, ftruncate up and down, fsync, mmap reads
//! and shared-mmap writes, fstat, a second descriptor's reads, close and
//! reopen — each checked against an in-memory model at once. At the end
//! the container, opened with the library after unmounting, must hold the
//! model's bytes and be clean.
//!
//! `WHEFS_FSX_OPS` sets the number of operations (default 3000) and
//! `WHEFS_FSX_SEED` the seed; a failure prints both, and the seed replays it.

mod mount_support;

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, OpenOptionsExt};

use mount_support::*;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Largest file the exerciser grows (a few extents at 4 KiB pages).
const MAX_LEN: u64 = 300_000;

/// One file under test: its descriptors and what it must contain.
struct Subject {
    path: std::path::PathBuf,
    file: File,
    append: bool,
    reader: File,
    model: Vec<u8>,
}

impl Subject {
    fn open(path: &std::path::Path, append: bool, model: Vec<u8>) -> Subject {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .append(append)
            .mode(0o644)
            .open(path)
            .expect("open for writing");
        let reader = File::open(path).expect("open for reading");
        Subject {
            path: path.to_path_buf(),
            file,
            append,
            reader,
            model,
        }
    }

    fn check_range(&self, got: &[u8], off: u64, what: &str, step: usize) {
        let off = off as usize;
        let end = (off + got.len()).min(self.model.len());
        let want = &self.model[off.min(end)..end];
        assert!(
            got == want,
            "step {step}: {what} at {off}+{} differs from the model (first difference at {:?})",
            got.len(),
            got.iter().zip(want).position(|(a, b)| a != b)
        );
    }
}

fn mmap_check(s: &mut Subject, step: usize, rng: &mut Rng, write: bool) {
    let len = s.model.len();
    if len == 0 {
        return;
    }
    let fd = s.file.as_raw_fd();
    let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
    // SAFETY: maps `len` bytes of an open file; unmapped below, before the
    // file can change size.
    let map = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
    assert_ne!(map, libc::MAP_FAILED, "step {step}: mmap");
    // SAFETY: the mapping is `len` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts_mut(map.cast::<u8>(), len) };
    let off = rng.below(len as u64) as usize;
    let n = (rng.below(5000) as usize + 1).min(len - off);
    trace(step, &format!("mmap write {write} {off}+{n}"));
    if write {
        let data = pattern(n, rng.next());
        bytes[off..off + n].copy_from_slice(&data);
        // SAFETY: the mapping made above.
        assert_eq!(unsafe { libc::msync(map, len, libc::MS_SYNC) }, 0, "msync");
        s.model[off..off + n].copy_from_slice(&data);
    } else {
        s.check_range(&bytes[off..off + n], off as u64, "mmap read", step);
    }
    // SAFETY: unmaps the mapping made above.
    assert_eq!(unsafe { libc::munmap(map, len) }, 0);
}

fn trace(step: usize, what: &str) {
    if std::env::var_os("WHEFS_FSX_TRACE").is_some() {
        eprintln!("step {step}: {what}");
    }
}

#[test]
fn random_operations_through_the_mount_match_a_model() {
    if !fuse_available("fsx") {
        return;
    }
    let ops: usize = std::env::var("WHEFS_FSX_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("WHEFS_FSX_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f5c5);
    eprintln!("fsx: {ops} operations, WHEFS_FSX_SEED={seed}");
    let mut m = Mounted::new(&["--durability", "normal"]);
    let mut rng = Rng(seed | 1);
    let mut subjects: Vec<Subject> = (0..3)
        .map(|i| Subject::open(&m.path(&format!("fsx{i}")), false, Vec::new()))
        .collect();
    for step in 0..ops {
        let which = rng.below(3) as usize;
        let s = &mut subjects[which];
        let len = s.model.len() as u64;
        let op = rng.below(100);
        if std::env::var_os("WHEFS_FSX_TRACE").is_some() {
            eprintln!("step {step}: file {which} len {len} op {op}");
        }
        match op {
            0..=29 => {
                let off = if s.append { len } else { rng.below(MAX_LEN) };
                let most = if rng.below(4) == 0 { 70_000 } else { 3000 };
                let n = (rng.below(most) + 1).min(MAX_LEN.saturating_sub(off).max(1));
                let data = pattern(n as usize, rng.next());
                trace(step, &format!("write {off}+{n} append {}", s.append));
                if s.append {
                    std::io::Write::write_all(&mut s.file, &data).expect("append");
                } else {
                    s.file.write_all_at(&data, off).expect("pwrite");
                }
                let off = off as usize;
                if s.model.len() < off + data.len() {
                    s.model.resize(off + data.len(), 0);
                }
                s.model[off..off + data.len()].copy_from_slice(&data);
            }
            30..=49 => {
                let off = rng.below(len + 100);
                let mut buf = vec![0u8; rng.below(20_000) as usize + 1];
                let n = s.file.read_at(&mut buf, off).expect("pread");
                s.check_range(&buf[..n], off, "pread", step);
                let want = (len.saturating_sub(off) as usize).min(buf.len());
                assert_eq!(n, want, "step {step}: pread length at {off}");
            }
            50..=57 => {
                // Another descriptor sees every write so far (POSIX).
                let off = rng.below(len + 1);
                let mut buf = vec![0u8; rng.below(8000) as usize + 1];
                let n = s.reader.read_at(&mut buf, off).expect("second fd pread");
                s.check_range(&buf[..n], off, "second fd pread", step);
            }
            58..=67 => {
                let new = if rng.below(2) == 0 {
                    rng.below(len + 1)
                } else {
                    rng.below(MAX_LEN)
                };
                trace(step, &format!("truncate {new}"));
                s.file.set_len(new).expect("ftruncate");
                s.model.resize(new as usize, 0);
            }
            68..=72 => {
                assert_eq!(
                    s.file.metadata().expect("fstat").len(),
                    len,
                    "step {step}: fstat size"
                );
            }
            73..=77 => s.file.sync_all().expect("fsync"),
            78..=83 => mmap_check(s, step, &mut rng, false),
            84..=87 => mmap_check(s, step, &mut rng, true),
            _ => {
                // Close (commits) and reopen, sometimes with O_APPEND.
                let append = rng.below(3) == 0;
                let model = std::mem::take(&mut s.model);
                let path = s.path.clone();
                *s = Subject::open(&path, append, model);
                let on_disk = std::fs::read(&path).expect("read after reopen");
                assert!(
                    on_disk == s.model,
                    "step {step}: content after reopen: {} bytes, model {}, first difference at {:?}",
                    on_disk.len(),
                    s.model.len(),
                    on_disk.iter().zip(&s.model).position(|(a, b)| a != b)
                );
            }
        }
    }
    let models: Vec<(String, Vec<u8>)> = subjects
        .drain(..)
        .enumerate()
        .map(|(i, s)| (format!("fsx{i}"), s.model))
        .collect();
    m.unmount();
    let fs = whefs::Fs::open_read_only(&m.container).unwrap();
    for (name, model) in &models {
        assert!(
            fs.read(name).unwrap() == *model,
            "{name}: the container differs from the model (seed {seed})"
        );
    }
    fs.check().unwrap();
}
