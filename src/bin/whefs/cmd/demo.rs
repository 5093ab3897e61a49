//! `whefs demo`: shows the filesystem working, step by step, on a fresh
//! container — directories, text, binary, a multi-page streamed file, a
//! sparse file, snapshots, threads, rename and remove, named snapshots,
//! restore, backup and compaction, `info` and `check` —
//! and verifies everything it reads back. Any failed verification makes the
//! command exit non-zero, so `make demo` doubles as a smoke test.

use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::thread;

use whefs::{File, Fs};

use crate::cmd::{info, ls, rm};
use crate::container::{options, refuse_existing};
use crate::failure::{Exit, Failure};
use crate::printer::stdout_failure;
use crate::text::human;
use crate::Global;

/// The container used when `whefs demo` gets no path; replaced on each run.
pub const DEFAULT_CONTAINER: &str = "./demo.whefs";

/// Size of the streamed multi-page file.
const BIG_SIZE: u64 = 4 * 1024 * 1024;
/// Chunk in which it is written and read back.
const CHUNK: usize = 64 * 1024;
/// Offset of the tail of the sparse file: everything before it but the
/// head is a hole.
const SPARSE_TAIL_AT: u64 = 8 * 1024 * 1024;
/// Threads that write at once in the threads step.
const THREADS: usize = 4;

/// Show the filesystem working, step by step, verifying as it goes.
///
/// Without CONTAINER it uses ./demo.whefs, removing an old one first; a
/// CONTAINER given must not exist yet (`:memory:` runs in RAM). Exits
/// non-zero if any verification fails.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to build the demo container.
    container: Option<PathBuf>,
}

/// Runs the demo on the container given, or on [`DEFAULT_CONTAINER`]
/// (removed first).
pub fn run(args: &Args, global: &Global) -> Result<(), Failure> {
    let container = args.container.as_deref();
    if global.read_only {
        return Err(Failure::usage(
            "demo: --read-only cannot create the demo container",
        ));
    }
    let mut demo = Demo {
        out: io::stdout().lock(),
        step: 0,
        passed: 0,
        failed: 0,
    };
    demo.say(format_args!(
        "whefs {} demo: a whole filesystem inside one file",
        whefs::VERSION
    ))?;

    let path: PathBuf = match container {
        Some(path) => {
            if path != Path::new(":memory:") {
                refuse_existing(path)?;
            }
            path.to_path_buf()
        }
        None => {
            let path = PathBuf::from(DEFAULT_CONTAINER);
            match std::fs::remove_file(&path) {
                Ok(()) => demo.say(format_args!("removed the old {}", path.display()))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Failure::host(path.display(), e)),
            }
            path
        }
    };

    demo.step("create the container")?;
    let fs = options(global)
        .create(true)
        .label("whefs demo")
        .open(&path)
        .map_err(|e| Failure::fs(path.display(), e))?;
    let info = fs.info().map_err(|e| Failure::fs("info", e))?;
    demo.say(format_args!(
        "created {} (page size {}, label {:?})",
        path.display(),
        info.page_size,
        info.label
    ))?;

    demo.step("make directories")?;
    for dir in ["/docs/notes", "/data", "/scratch"] {
        fs.create_dir_all(dir)
            .map_err(|e| Failure::fs(format!("mkdir -p {dir}"), e))?;
        demo.say(format_args!("mkdir -p {dir}"))?;
    }

    demo.step("write files")?;
    for (path, text) in TEXTS {
        write_whole(&fs, path, text.as_bytes())?;
        demo.say(format_args!(
            "write {path} ({} bytes, one commit)",
            text.len()
        ))?;
    }
    write_todo(&fs)?;
    demo.say(format_args!(
        "write {TODO} (line by line through a handle; close() commits)"
    ))?;
    write_whole(&fs, BLOB, &blob())?;
    demo.say(format_args!(
        "write {BLOB} ({} bytes: every byte value, NULs included)",
        blob().len()
    ))?;
    write_big(&fs)?;
    demo.say(format_args!(
        "write {BIG} ({}, streamed in {} chunks)",
        human(BIG_SIZE),
        human(CHUNK as u64)
    ))?;
    let used_before = fs.info().map_err(|e| Failure::fs("info", e))?.pages_used;
    write_sparse(&fs)?;
    let used_after = fs.info().map_err(|e| Failure::fs("info", e))?.pages_used;
    demo.say(format_args!(
        "write {SPARSE} (\"head\" at 0, \"tail\" at {}: a hole in between)",
        human(SPARSE_TAIL_AT)
    ))?;

    demo.step("list the tree (ls -l -R /)")?;
    ls::list(&fs, "/", true, true, &mut demo.out)?;

    demo.step("read everything back")?;
    for (path, text) in TEXTS {
        let got = fs
            .read(path)
            .map_err(|e| Failure::fs(format!("read {path}"), e))?;
        demo.verify(
            got == text.as_bytes(),
            format_args!("{path}: {} bytes as written", text.len()),
        )?;
    }
    let got = fs
        .read(TODO)
        .map_err(|e| Failure::fs(format!("read {TODO}"), e))?;
    demo.verify(
        got == todo_text().as_bytes(),
        format_args!("{TODO}: {} bytes as written", got.len()),
    )?;
    let got = fs
        .read(BLOB)
        .map_err(|e| Failure::fs(format!("read {BLOB}"), e))?;
    demo.verify(
        got == blob(),
        format_args!("{BLOB}: {} bytes as written, NULs included", got.len()),
    )?;
    let big = verify_big(&fs)?;
    demo.verify(
        big.is_ok(),
        format_args!(
            "{BIG}: {} streamed back {}",
            human(BIG_SIZE),
            big.describe()
        ),
    )?;
    let sparse = verify_sparse(&fs)?;
    demo.verify(
        sparse.is_ok(),
        format_args!(
            "{SPARSE}: head, {} of zeros, tail {}",
            human(SPARSE_TAIL_AT - 4),
            sparse.describe()
        ),
    )?;
    let hole_pages = SPARSE_TAIL_AT / u64::from(info.page_size.max(1));
    let grew = used_after.saturating_sub(used_before);
    demo.verify(
        grew < hole_pages / 4,
        format_args!(
            "{SPARSE}: the hole takes no space ({grew} pages used for a {} file)",
            human(SPARSE_TAIL_AT + 4)
        ),
    )?;

    demo.step("snapshots: a reader keeps what it opened")?;
    let mut reader = fs
        .open_file(HELLO, "r")
        .map_err(|e| Failure::fs(format!("open {HELLO}"), e))?;
    write_whole(&fs, HELLO, HELLO_AGAIN.as_bytes())?;
    demo.say(format_args!("opened {HELLO} for reading, then replaced it"))?;
    let mut old = Vec::new();
    reader
        .read_to_end(&mut old)
        .map_err(|e| Failure::host(format!("read {HELLO}"), e))?;
    reader
        .close()
        .map_err(|e| Failure::fs(format!("close {HELLO}"), e))?;
    demo.verify(
        old == TEXTS[1].1.as_bytes(),
        format_args!("the open reader still sees the old text"),
    )?;
    let new = fs
        .read(HELLO)
        .map_err(|e| Failure::fs(format!("read {HELLO}"), e))?;
    demo.verify(
        new == HELLO_AGAIN.as_bytes(),
        format_args!("a new read sees the new text"),
    )?;

    demo.step(&format!(
        "threads: {THREADS} threads write {THREADS} files at once through one open"
    ))?;
    write_in_threads(&fs)?;
    for i in 0..THREADS {
        let path = thread_file(i);
        let got = fs
            .read(&path)
            .map_err(|e| Failure::fs(format!("read {path}"), e))?;
        demo.verify(
            got == thread_text(i).as_bytes(),
            format_args!("{path}: {} bytes as written", got.len()),
        )?;
    }

    demo.step("rename and remove")?;
    fs.rename(TODO, DONE)
        .map_err(|e| Failure::fs(format!("mv {TODO} {DONE}"), e))?;
    demo.say(format_args!("mv {TODO} {DONE}"))?;
    let moved = exists(&fs, DONE)? && !exists(&fs, TODO)?;
    let content = fs
        .read(DONE)
        .map_err(|e| Failure::fs(format!("read {DONE}"), e))?;
    demo.verify(
        moved && content == todo_text().as_bytes(),
        format_args!("{TODO} is gone, {DONE} has its content"),
    )?;
    fs.rename("/scratch", "/docs/old-scratch")
        .map_err(|e| Failure::fs("mv /scratch /docs/old-scratch", e))?;
    demo.say(format_args!(
        "mv /scratch /docs/old-scratch (a directory: one entry moves)"
    ))?;
    let got = fs
        .read("/docs/old-scratch/threads/t0.txt")
        .map_err(|e| Failure::fs("read", e))?;
    demo.verify(
        got == thread_text(0).as_bytes(),
        format_args!("files moved with their directory"),
    )?;
    fs.remove_file(SPARSE)
        .map_err(|e| Failure::fs(format!("rm {SPARSE}"), e))?;
    demo.say(format_args!("rm {SPARSE}"))?;
    rm::remove(&fs, &["/docs/old-scratch".to_string()], true, false)?;
    demo.say(format_args!("rm -r /docs/old-scratch"))?;
    let gone = !exists(&fs, SPARSE)? && !exists(&fs, "/docs/old-scratch")?;
    demo.verify(gone, format_args!("removed paths are gone"))?;

    snapshots_backup_compact(&mut demo, &fs, &path, container.is_none())?;

    demo.step("list the tree again")?;
    ls::list(&fs, "/", true, true, &mut demo.out)?;

    demo.step("container info (whefs info)")?;
    info::print_text(&fs, &path, &mut demo.out)?;

    demo.step("check every checksum (whefs check)")?;
    match fs.check() {
        Ok(report) => demo.verify(
            true,
            format_args!(
                "clean: generation {}, {} tree pages and {} data pages verified, {} files, {} dirs",
                report.generation, report.tree_pages, report.data_pages, report.files, report.dirs
            ),
        )?,
        Err(e) => demo.verify(false, format_args!("check: {e}"))?,
    }
    drop(fs);

    demo.finish(&path)
}

/// A named snapshot kept through changes and restored, a diff, an online
/// backup checked clean, and a compaction that does not grow the file.
fn snapshots_backup_compact(
    demo: &mut Demo,
    fs: &Fs,
    path: &Path,
    default_container: bool,
) -> Result<(), Failure> {
    demo.step("named snapshots, restore, backup and compaction")?;
    let snap = "before-cleanup";
    fs.create_snapshot(snap)
        .map_err(|e| Failure::fs(format!("snapshot create {snap}"), e))?;
    demo.say(format_args!(
        "snapshot create {snap} (one commit; keeps this state whole)"
    ))?;
    fs.remove_file(BLOB)
        .map_err(|e| Failure::fs(format!("rm {BLOB}"), e))?;
    write_whole(fs, HELLO, b"changed after the snapshot\n")?;
    demo.say(format_args!("rm {BLOB}; rewrite {HELLO}"))?;
    let view = fs
        .open_snapshot(snap)
        .map_err(|e| Failure::fs(format!("open snapshot {snap}"), e))?;
    let kept = view.read(BLOB).map_err(|e| Failure::fs("read", e))? == blob()
        && view.read(HELLO).map_err(|e| Failure::fs("read", e))? == HELLO_AGAIN.as_bytes();
    demo.verify(
        kept,
        format_args!("the snapshot still has both as they were"),
    )?;
    let changes = view.diff(fs).map_err(|e| Failure::fs("diff", e))?;
    drop(view);
    for c in &changes {
        let letter = match c.kind {
            whefs::ChangeKind::Added => 'A',
            whefs::ChangeKind::Removed => 'D',
            whefs::ChangeKind::Changed => 'M',
        };
        demo.say(format_args!("diff: {letter} {}", c.path))?;
    }
    let names: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
    demo.verify(
        names.contains(&BLOB) && names.contains(&HELLO),
        format_args!("diff {snap} names the removed and the rewritten file"),
    )?;
    fs.restore(snap, "/")
        .map_err(|e| Failure::fs(format!("restore {snap}"), e))?;
    let back = fs.read(BLOB).map_err(|e| Failure::fs("read", e))? == blob()
        && fs.read(HELLO).map_err(|e| Failure::fs("read", e))? == HELLO_AGAIN.as_bytes();
    demo.verify(
        back,
        format_args!("restore {snap} /: both are back, in one commit"),
    )?;

    if path != Path::new(":memory:") {
        // demo.whefs → demo-backup.whefs, beside it.
        let stem = path.file_stem().unwrap_or(path.as_os_str()).to_owned();
        let mut name = stem;
        name.push("-backup.whefs");
        let dest = path.with_file_name(name);
        if default_container {
            // The last run's copy, like the default container itself; a
            // copy that is not there is fine.
            let _ = std::fs::remove_file(&dest);
        }
        let report = fs
            .backup_to(&dest)
            .map_err(|e| Failure::fs(format!("backup {}", dest.display()), e))?;
        let copy = Fs::open_read_only(&dest).map_err(|e| Failure::fs(dest.display(), e))?;
        let clean =
            copy.check().is_ok() && copy.read(BLOB).map_err(|e| Failure::fs("read", e))? == blob();
        demo.verify(
            clean,
            format_args!(
                "backup {}: {} files, {}, checks clean",
                dest.display(),
                report.files,
                human(report.bytes)
            ),
        )?;
    }

    fs.delete_snapshot(snap)
        .map_err(|e| Failure::fs(format!("snapshot delete {snap}"), e))?;
    let report = fs.compact().map_err(|e| Failure::fs("compact", e))?;
    demo.verify(
        report.pages_after <= report.pages_before,
        format_args!(
            "snapshot delete {snap}; compact: {} pages before, {} after",
            report.pages_before, report.pages_after
        ),
    )
}

/// Progress and verdicts of one demo run.
struct Demo {
    out: io::StdoutLock<'static>,
    step: u32,
    passed: u32,
    failed: u32,
}

impl Demo {
    /// Prints one line.
    fn say(&mut self, line: fmt::Arguments<'_>) -> Result<(), Failure> {
        writeln!(self.out, "{line}").map_err(stdout_failure)
    }

    /// Starts a numbered step.
    fn step(&mut self, title: &str) -> Result<(), Failure> {
        self.step += 1;
        writeln!(self.out, "\n== {}. {title}", self.step).map_err(stdout_failure)
    }

    /// Records and prints a verification.
    fn verify(&mut self, ok: bool, what: fmt::Arguments<'_>) -> Result<(), Failure> {
        if ok {
            self.passed += 1;
            self.say(format_args!("ok    {what}"))
        } else {
            self.failed += 1;
            self.say(format_args!("FAIL  {what}"))
        }
    }

    /// The verdict: an error if any verification failed.
    fn finish(mut self, path: &Path) -> Result<(), Failure> {
        if self.failed > 0 {
            let total = self.passed + self.failed;
            return Err(Failure::new(
                Exit::Generic,
                format!("demo: {} of {total} checks FAILED", self.failed),
            ));
        }
        let passed = self.passed;
        self.say(format_args!("\ndemo passed: all {passed} checks ok."))?;
        if path != Path::new(":memory:") {
            let shown = path.display();
            self.say(format_args!(
                "The container stays at {shown}; look inside with `whefs ls -l -R {shown}`."
            ))?;
        }
        Ok(())
    }
}

/// Small text files written whole: `(path, content)`.
const TEXTS: [(&str, &str); 2] = [
    (
        "/README.txt",
        "This container was made by `whefs demo`.\nEverything here lives in one host file.\n",
    ),
    (HELLO, "hello, world\n"),
];
const HELLO: &str = "/docs/notes/hello.txt";
const HELLO_AGAIN: &str = "hello again: this replaced the old text atomically\n";
const TODO: &str = "/docs/todo.txt";
const DONE: &str = "/docs/done.txt";
const BLOB: &str = "/data/blob.bin";
const BIG: &str = "/data/big.bin";
const SPARSE: &str = "/data/sparse.bin";

/// The todo list, written a line at a time.
fn todo_text() -> String {
    (1..=20)
        .map(|i| format!("{i:2}. write the demo, step {i}\n"))
        .collect()
}

/// Binary content: every byte value twice, so NUL bytes sit at several offsets.
fn blob() -> Vec<u8> {
    (0..=255u8).chain((0..=255u8).rev()).collect()
}

/// The file thread `i` writes.
fn thread_file(i: usize) -> String {
    format!("/scratch/threads/t{i}.txt")
}

/// What thread `i` writes.
fn thread_text(i: usize) -> String {
    (0..100)
        .map(|line| format!("thread {i}, line {line}\n"))
        .collect()
}

/// Writes a whole file in one commit.
fn write_whole(fs: &Fs, path: &str, data: &[u8]) -> Result<(), Failure> {
    fs.write(path, data)
        .map_err(|e| Failure::fs(format!("write {path}"), e))
}

/// Opens a file for writing.
fn open_write(fs: &Fs, path: &str, mode: &str) -> Result<File, Failure> {
    fs.open_file(path, mode)
        .map_err(|e| Failure::fs(format!("open {path}"), e))
}

/// Writes the todo list through a handle, line by line; `close` commits.
fn write_todo(fs: &Fs) -> Result<(), Failure> {
    let mut file = open_write(fs, TODO, "w")?;
    for line in todo_text().lines() {
        writeln!(file, "{line}").map_err(|e| Failure::host(format!("write {TODO}"), e))?;
    }
    file.close()
        .map_err(|e| Failure::fs(format!("close {TODO}"), e))
}

/// The content of the big file at `offset`: a pseudo-random sequence, so a
/// page read from the wrong place can never match.
fn big_pattern(offset: u64, buf: &mut [u8]) {
    for (pos, byte) in (offset..).zip(buf.iter_mut()) {
        *byte = (splitmix64(pos / 8) >> ((pos % 8) * 8)) as u8;
    }
}

/// The splitmix64 mixing function.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Streams the big file in chunks: never all in memory.
fn write_big(fs: &Fs) -> Result<(), Failure> {
    let mut file = open_write(fs, BIG, "w")?;
    let mut chunk = vec![0u8; CHUNK];
    let mut offset = 0;
    while offset < BIG_SIZE {
        big_pattern(offset, &mut chunk);
        file.write_all(&chunk)
            .map_err(|e| Failure::host(format!("write {BIG}"), e))?;
        offset += CHUNK as u64;
    }
    file.close()
        .map_err(|e| Failure::fs(format!("close {BIG}"), e))
}

/// Writes a head, then a tail far past the end: the gap is a hole.
fn write_sparse(fs: &Fs) -> Result<(), Failure> {
    let mut file = open_write(fs, SPARSE, "w+")?;
    file.write_all(b"head")
        .map_err(|e| Failure::host(format!("write {SPARSE}"), e))?;
    let n = file
        .write_at(b"tail", SPARSE_TAIL_AT)
        .map_err(|e| Failure::fs(format!("write {SPARSE}"), e))?;
    if n != 4 {
        return Err(Failure::new(
            Exit::Generic,
            format!("write {SPARSE}: short write of {n} bytes"),
        ));
    }
    file.close()
        .map_err(|e| Failure::fs(format!("close {SPARSE}"), e))
}

/// The outcome of a read-back: where it first differed, if it did.
enum Verdict {
    /// Everything matched.
    Same,
    /// A difference, described.
    Differs(String),
}

impl Verdict {
    /// Whether everything matched.
    fn is_ok(&self) -> bool {
        matches!(self, Verdict::Same)
    }
    /// The verdict in words, for the `ok`/`FAIL` line.
    fn describe(&self) -> String {
        match self {
            Verdict::Same => "as written".to_string(),
            Verdict::Differs(why) => format!("WRONG: {why}"),
        }
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8], path: &str) -> Result<usize, Failure> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::host(format!("read {path}"), e)),
        }
    }
    Ok(filled)
}

/// Streams the big file back and compares it chunk by chunk.
fn verify_big(fs: &Fs) -> Result<Verdict, Failure> {
    let mut file = fs
        .open_file(BIG, "r")
        .map_err(|e| Failure::fs(format!("open {BIG}"), e))?;
    let (mut got, mut want) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut offset = 0u64;
    loop {
        let n = read_full(&mut file, &mut got, BIG)?;
        if n == 0 {
            break;
        }
        big_pattern(offset, &mut want[..n]);
        if let Some(i) = (0..n).find(|&i| got[i] != want[i]) {
            return Ok(Verdict::Differs(format!(
                "byte {} differs",
                offset + i as u64
            )));
        }
        offset += n as u64;
    }
    file.close()
        .map_err(|e| Failure::fs(format!("close {BIG}"), e))?;
    if offset != BIG_SIZE {
        return Ok(Verdict::Differs(format!(
            "{offset} bytes instead of {BIG_SIZE}"
        )));
    }
    Ok(Verdict::Same)
}

/// Reads the sparse file back: head, zeros through the hole, tail.
fn verify_sparse(fs: &Fs) -> Result<Verdict, Failure> {
    let mut file = fs
        .open_file(SPARSE, "r")
        .map_err(|e| Failure::fs(format!("open {SPARSE}"), e))?;
    let size = file.len();
    if size != SPARSE_TAIL_AT + 4 {
        return Ok(Verdict::Differs(format!(
            "size {size}, expected {}",
            SPARSE_TAIL_AT + 4
        )));
    }
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        let n = read_full(&mut file, &mut buf, SPARSE)?;
        if n == 0 {
            break;
        }
        for (pos, &byte) in (offset..).zip(&buf[..n]) {
            let want = match pos {
                0..=3 => b"head"[pos as usize],
                p if p >= SPARSE_TAIL_AT => b"tail"[(p - SPARSE_TAIL_AT) as usize % 4],
                _ => 0,
            };
            if byte != want {
                return Ok(Verdict::Differs(format!(
                    "byte {pos} is {byte:#04x}, expected {want:#04x}"
                )));
            }
        }
        offset += n as u64;
    }
    file.close()
        .map_err(|e| Failure::fs(format!("close {SPARSE}"), e))?;
    if offset != size {
        return Ok(Verdict::Differs(format!("read {offset} bytes of {size}")));
    }
    Ok(Verdict::Same)
}

/// Writes one file per thread, all at once, through clones of one `Fs`.
fn write_in_threads(fs: &Fs) -> Result<(), Failure> {
    fs.create_dir_all("/scratch/threads")
        .map_err(|e| Failure::fs("mkdir -p /scratch/threads", e))?;
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let fs = fs.clone();
            thread::spawn(move || -> Result<(), Failure> {
                let path = thread_file(i);
                let mut file = open_write(&fs, &path, "w")?;
                for line in thread_text(i).lines() {
                    writeln!(file, "{line}")
                        .map_err(|e| Failure::host(format!("write {path}"), e))?;
                }
                file.close()
                    .map_err(|e| Failure::fs(format!("close {path}"), e))
            })
        })
        .collect();
    for worker in workers {
        worker
            .join()
            .map_err(|_| Failure::new(Exit::Generic, "a writer thread panicked"))??;
    }
    Ok(())
}

/// Whether a path exists.
fn exists(fs: &Fs, path: &str) -> Result<bool, Failure> {
    fs.exists(path)
        .map_err(|e| Failure::fs(format!("stat {path}"), e))
}
