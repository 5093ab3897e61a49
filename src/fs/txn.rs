//! Multi-operation transactions: [`Fs::begin`] starts a [`Transaction`]
//! that records namespace changes and whole-file writes, and
//! [`Transaction::commit`] applies them in one atomic commit;
//! [`Fs::transaction`] does both around a closure.
//!
//! Invariants: file data is written to reserved pages before the commit
//! lock is taken (DESIGN §4 "Ordering"), so the time under it is tree work
//! only; every operation's precondition is checked under the commit lock
//! on the latest tree, in order, each seeing the ones before it; if any
//! fails, nothing is published and every page written for the
//! transaction is free again. A write streamed in with
//! [`Transaction::write_from`] leaves only its page list (and a small
//! file's few bytes) in memory, so a transaction may hold more data than
//! fits in memory.

use std::io;

use crate::engine::{self, Durability, Tx};
use crate::error::{Error, Result};
use crate::format::records;
use crate::format::records::InodeKind;
use crate::fs::file::{settle_pages, File};
use crate::fs::path;
use crate::fs::{Fs, SetAttributes};

/// One recorded operation.
enum Op {
    /// A whole-file write: a detached handle holding the data.
    Write(Box<File>),
    CreateDir(String),
    CreateDirAll(String),
    RemoveFile(String),
    RemoveDir(String),
    RemoveDirAll(String),
    Rename(String, String),
    SetLabel(String),
    /// Permission bits and/or modification time of an existing path.
    SetAttrs {
        path: String,
        mode: Option<u32>,
        mtime_ns: Option<i64>,
    },
    /// Mode, owner and times of a path (a link at its end not followed).
    SetAttributes(String, SetAttributes),
    Symlink {
        target: String,
        link: String,
    },
    HardLink(String, String),
}

/// Bytes [`Transaction::write_from`] reads at a time, in pages.
const STREAM_PAGES: usize = 64;

/// The operations of one transaction, recorded between [`Fs::begin`] and
/// [`Transaction::commit`] (or by the closure given to
/// [`Fs::transaction`]) and committed together.
///
/// Recording checks only the arguments (a bad path is [`Error::Arg`] at
/// once, and nothing is recorded for that call); whether each operation
/// can be done — a parent exists, a file is there to remove, a directory
/// is empty — is checked at the commit, on the latest state, with each
/// operation seeing the ones recorded before it: `write("a")` then
/// `rename("a", "b")` works. The first failing operation's error is
/// returned and nothing is committed.
///
/// Nobody sees a recorded operation before the commit, this transaction
/// included: its own reads through the [`Fs`] show the latest commit.
/// Dropping a transaction without committing it discards it and frees
/// the pages its writes took. While it is open, its writes keep their
/// data pages reserved and the snapshot they started from pinned (pages
/// freed after it are not reused), so keep transactions short.
pub struct Transaction {
    fs: Fs,
    ops: Vec<Op>,
}

impl Fs {
    /// Runs `f` to record operations, then commits them all at once:
    /// every reader sees all of them or none (DESIGN G4). If `f` or any
    /// operation fails, nothing is committed and the error is returned.
    ///
    /// ```
    /// let fs = whefs::Fs::memory().unwrap();
    /// fs.write("draft", b"v1").unwrap();
    /// fs.transaction(|t| {
    ///     t.create_dir("published")?;
    ///     t.rename("draft", "published/doc")?;
    ///     t.write("published/index", b"doc")?;
    ///     Ok(())
    /// })
    /// .unwrap();
    /// assert_eq!(fs.read("published/doc").unwrap(), b"v1");
    /// ```
    pub fn transaction<T>(&self, f: impl FnOnce(&mut Transaction) -> Result<T>) -> Result<T> {
        let mut t = self.begin()?;
        let out = f(&mut t)?;
        t.commit()?;
        Ok(out)
    }

    /// Starts a transaction: record operations on it, then
    /// [`commit`](Transaction::commit) them all at once, or drop it to
    /// discard them. Takes no lock; [`Error::Access`] on a read-only open.
    ///
    /// ```
    /// let fs = whefs::Fs::memory().unwrap();
    /// let mut t = fs.begin().unwrap();
    /// t.create_dir("logs").unwrap();
    /// t.write("logs/today", b"started").unwrap();
    /// assert!(!fs.exists("logs").unwrap()); // not before the commit
    /// t.commit().unwrap();
    /// assert_eq!(fs.read("logs/today").unwrap(), b"started");
    ///
    /// let mut t = fs.begin().unwrap();
    /// t.remove_dir_all("logs").unwrap();
    /// drop(t); // discarded
    /// assert!(fs.exists("logs/today").unwrap());
    /// ```
    pub fn begin(&self) -> Result<Transaction> {
        if self.engine().read_only() {
            return Err(Error::Access(self.engine().read_only_reason().into()));
        }
        Ok(Transaction {
            fs: self.clone(),
            ops: Vec::new(),
        })
    }
}

impl Transaction {
    /// Creates or replaces the file `path` with `data`. Large data is
    /// written to pages now; the file appears at the commit.
    pub fn write(&mut self, path: &str, data: &[u8]) -> Result<&mut Self> {
        path::parent_and_name(path)?;
        let mut f = File::create_detached(&self.fs, path)?;
        if let Err(e) = f.write_at(data, 0) {
            let _ = f.abort();
            return Err(e);
        }
        self.ops.push(Op::Write(Box::new(f)));
        Ok(self)
    }

    /// Creates or replaces the file `path` with everything `reader` yields,
    /// and returns the number of bytes. The data is streamed to reserved
    /// pages as it is read; what the transaction keeps in memory is the
    /// file's page list, or for a small file (up to the inline size, a
    /// quarter page) its bytes, so a transaction can hold many files of
    /// any size. Whole pages of zeros become holes, which read back as
    /// zeros and use no pages. If `reader` fails, its error is returned
    /// ([`Error::Io`], or the whefs error an `io::Error` wraps) and
    /// nothing is recorded for this call.
    ///
    /// ```
    /// let fs = whefs::Fs::memory().unwrap();
    /// let mut t = fs.begin().unwrap();
    /// let mut input: &[u8] = b"streamed";
    /// assert_eq!(t.write_from("log", &mut input).unwrap(), 8);
    /// t.commit().unwrap();
    /// assert_eq!(fs.read("log").unwrap(), b"streamed");
    /// ```
    pub fn write_from(&mut self, path: &str, reader: &mut dyn io::Read) -> Result<u64> {
        path::parent_and_name(path)?;
        let mut f = File::create_detached(&self.fs, path)?;
        match stream_into(&mut f, reader, self.fs.engine().page_size() as usize) {
            Ok(len) => {
                self.ops.push(Op::Write(Box::new(f)));
                Ok(len)
            }
            Err(e) => {
                let _ = f.abort();
                Err(e)
            }
        }
    }

    /// Sets the permission bits (at most `0o7777`) of the file or directory
    /// `path`, as it is at this point of the transaction.
    pub fn set_mode(&mut self, path: &str, mode: u32) -> Result<&mut Self> {
        if mode > 0o7777 {
            return Err(Error::Arg(format!(
                "mode {mode:o} has bits beyond the permission bits 7777"
            )));
        }
        path::components(path)?;
        self.ops.push(Op::SetAttrs {
            path: path.to_string(),
            mode: Some(mode),
            mtime_ns: None,
        });
        Ok(self)
    }

    /// Sets the modification time (nanoseconds since the Unix epoch) of the
    /// file or directory `path`, as it is at this point of the transaction.
    /// Later operations in the same transaction that change a directory's
    /// entries update its time again, so set a directory's time after
    /// filling it.
    pub fn set_mtime(&mut self, path: &str, mtime_ns: i64) -> Result<&mut Self> {
        path::components(path)?;
        self.ops.push(Op::SetAttrs {
            path: path.to_string(),
            mode: None,
            mtime_ns: Some(mtime_ns),
        });
        Ok(self)
    }

    /// Sets permission bits, owner and times of what `path` names, as it is
    /// at this point of the transaction; a symbolic link at its end is
    /// changed itself, not followed.
    pub fn set_attributes(&mut self, path: &str, attrs: &SetAttributes) -> Result<&mut Self> {
        path::components(path)?;
        self.ops.push(Op::SetAttributes(path.to_string(), *attrs));
        Ok(self)
    }

    /// Creates the symbolic link `link` to `target` (see [`Fs::symlink`]).
    pub fn symlink(&mut self, target: &str, link: &str) -> Result<&mut Self> {
        super::posix::check_target(target, self.fs.engine().page_size())?;
        path::parent_and_name(link)?;
        self.ops.push(Op::Symlink {
            target: target.to_string(),
            link: link.to_string(),
        });
        Ok(self)
    }

    /// Gives the file at `existing` another name `new` (see [`Fs::hard_link`]).
    pub fn hard_link(&mut self, existing: &str, new: &str) -> Result<&mut Self> {
        path::parent_and_name(existing)?;
        path::parent_and_name(new)?;
        self.ops
            .push(Op::HardLink(existing.to_string(), new.to_string()));
        Ok(self)
    }

    /// Creates a directory; its parent must exist (or be created earlier
    /// in the transaction).
    pub fn create_dir(&mut self, path: &str) -> Result<&mut Self> {
        path::parent_and_name(path)?;
        self.ops.push(Op::CreateDir(path.to_string()));
        Ok(self)
    }

    /// Creates a directory and its missing parents.
    pub fn create_dir_all(&mut self, path: &str) -> Result<&mut Self> {
        path::components(path)?;
        self.ops.push(Op::CreateDirAll(path.to_string()));
        Ok(self)
    }

    /// Removes a file (see [`Fs::remove_file`]).
    pub fn remove_file(&mut self, path: &str) -> Result<&mut Self> {
        path::parent_and_name(path)?;
        self.ops.push(Op::RemoveFile(path.to_string()));
        Ok(self)
    }

    /// Removes an empty directory (see [`Fs::remove_dir`]).
    pub fn remove_dir(&mut self, path: &str) -> Result<&mut Self> {
        path::parent_and_name(path)?;
        self.ops.push(Op::RemoveDir(path.to_string()));
        Ok(self)
    }

    /// Removes a directory and everything below it (see [`Fs::remove_dir_all`]).
    pub fn remove_dir_all(&mut self, path: &str) -> Result<&mut Self> {
        path::parent_and_name(path)?;
        self.ops.push(Op::RemoveDirAll(path.to_string()));
        Ok(self)
    }

    /// Renames (see [`Fs::rename`]).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<&mut Self> {
        path::parent_and_name(from)?;
        path::parent_and_name(to)?;
        self.ops.push(Op::Rename(from.to_string(), to.to_string()));
        Ok(self)
    }

    /// Sets the container label (see [`Fs::set_label`]).
    pub fn set_label(&mut self, label: &str) -> Result<&mut Self> {
        super::namespace::check_label(label)?;
        self.ops.push(Op::SetLabel(label.to_string()));
        Ok(self)
    }

    /// Operations recorded so far.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Publishes every recorded operation in one commit: every reader sees
    /// all of them or none (DESIGN G4). The operations run in the order
    /// they were recorded, on the latest state; if one fails, its error is
    /// returned and nothing is committed. Either way the transaction is
    /// used up and the pages of writes not committed are free again. An
    /// empty transaction commits nothing.
    pub fn commit(mut self) -> Result<()> {
        let fs = self.fs.clone();
        let engine = fs.engine();
        // Data first, synced once for all files, outside the commit lock.
        let limit = records::inline_limit(engine.page_size()) as u64;
        let mut staged = Vec::new();
        let mut pages = Vec::new();
        let mut paged = false;
        let mut failed = None;
        for op in &mut self.ops {
            if let Op::Write(f) = op {
                paged |= f.len() > limit;
                match f.stage(Durability::Off) {
                    Ok(s) => {
                        pages.extend_from_slice(&s.pages);
                        staged.push(s);
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
        }
        if failed.is_none() && paged && engine.durability() != Durability::Off {
            failed = engine.sync_or_poison().err();
            for s in &mut staged {
                s.synced = true;
            }
        }
        if let Some(e) = failed {
            settle_pages(engine, false, &pages);
            return Err(e);
        }
        let mut staged = staged.into_iter();
        let ops = &self.ops;
        let result = engine.commit(false, |tx| {
            for op in ops {
                match op {
                    Op::Write(_) => {
                        let s = staged.next().expect("one staged change per write");
                        s.apply(tx)?;
                    }
                    Op::CreateDir(p) => tx.mkdir(p, false)?,
                    Op::CreateDirAll(p) => tx.create_dir_all(p)?,
                    Op::RemoveFile(p) => tx.remove_file(p)?,
                    Op::RemoveDir(p) => tx.remove_dir(p)?,
                    Op::RemoveDirAll(p) => tx.remove_dir_all(p)?,
                    Op::Rename(from, to) => tx.rename(from, to)?,
                    Op::SetLabel(label) => tx.set_label(label)?,
                    Op::SetAttrs {
                        path,
                        mode,
                        mtime_ns,
                    } => set_attrs(tx, path, *mode, *mtime_ns)?,
                    Op::SetAttributes(path, attrs) => {
                        let (ino, _) = crate::fs::resolve_nofollow(tx, path)?;
                        tx.set_attributes(ino, attrs)?;
                    }
                    Op::Symlink { target, link } => {
                        let (dir, name) = crate::fs::resolve_parent(tx, link)?;
                        if crate::fs::lookup(tx, dir, name)?.is_some() {
                            return Err(Error::Exists(link.clone()));
                        }
                        let attrs = SetAttributes::default();
                        tx.create_inode_with(dir, name, InodeKind::Symlink, &attrs, Some(target))?;
                    }
                    Op::HardLink(existing, new) => {
                        let (ino, _) = crate::fs::resolve_nofollow(tx, existing)?;
                        let (dir, name) = crate::fs::resolve_parent(tx, new)?;
                        tx.hard_link_at(ino, dir, name)?;
                    }
                }
            }
            Ok(())
        });
        settle_pages(engine, result.is_ok(), &pages);
        result.map(|_| ())
    }
}

/// Copies everything `reader` yields into the new file `f`, skipping whole
/// pages of zeros (they stay holes), then ends its writing
/// ([`File::finish_writing`]). Returns the bytes copied.
fn stream_into(f: &mut File, reader: &mut dyn io::Read, page_size: usize) -> Result<u64> {
    let mut buf = vec![0u8; page_size * STREAM_PAGES];
    let mut at = 0u64;
    loop {
        // Fill the buffer (short reads are normal for pipes), so that
        // pages are whole except at the end.
        let mut filled = 0;
        while filled < buf.len() {
            match reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.get_ref().is_some_and(|i| i.is::<Error>()) => {
                    return Err(Error::from_io(e))
                }
                Err(e) => return Err(Error::io("reading the data to write", e)),
            }
        }
        for (i, page) in buf[..filled].chunks(page_size).enumerate() {
            if page.iter().any(|&b| b != 0) {
                f.write_at(page, at + (i * page_size) as u64)?;
            }
        }
        at += filled as u64;
        if filled < buf.len() {
            break;
        }
    }
    f.set_len(at)?;
    f.finish_writing()?;
    Ok(at)
}

/// Sets `path`'s permission bits and/or modification time (its status
/// change time becomes now).
fn set_attrs(tx: &mut Tx, path: &str, mode: Option<u32>, mtime_ns: Option<i64>) -> Result<()> {
    let (ino, mut rec) = crate::fs::resolve(tx, path)?;
    if let Some(mode) = mode {
        rec.mode = mode;
    }
    if let Some(mtime) = mtime_ns {
        rec.mtime_ns = mtime;
    }
    rec.ctime_ns = engine::now_ns();
    tx.insert(&records::inode_key(ino), &rec.encode())?;
    Ok(())
}

impl Drop for Transaction {
    /// Frees the write handles. After a commit their changes are published
    /// or refused; a transaction dropped uncommitted is discarded here.
    /// Either way only their page reservations are left to release.
    fn drop(&mut self) {
        for op in self.ops.drain(..) {
            if let Op::Write(f) = op {
                let _ = (*f).abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that yields `len` bytes in odd-sized pieces, then fails if
    /// `fail` is set.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        fail: bool,
    }

    impl io::Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                return if self.fail {
                    Err(io::Error::other("source went away"))
                } else {
                    Ok(0)
                };
            }
            let n = buf.len().min(777).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn content(len: usize) -> Vec<u8> {
        // Non-zero pages around a run of zero pages (a hole).
        (0..len)
            .map(|i| {
                if (3 * 4096..6 * 4096).contains(&i) {
                    0
                } else {
                    (i % 251) as u8 + 1
                }
            })
            .collect()
    }

    #[test]
    fn write_from_streams_many_pages_and_keeps_no_data_in_memory() {
        let fs = Fs::memory().unwrap();
        let data = content(300 * 1024 + 5);
        let mut t = fs.begin().unwrap();
        let mut src = Pieces {
            data: data.clone(),
            at: 0,
            fail: false,
        };
        assert_eq!(t.write_from("big", &mut src).unwrap(), data.len() as u64);
        let mut small: &[u8] = b"tiny";
        t.write_from("small", &mut small).unwrap();
        match &t.ops[0] {
            Op::Write(f) => assert_eq!(f.held(), (0, 0), "buffered pages, spare ranges"),
            _ => panic!("the first op is the write"),
        }
        assert!(!fs.exists("big").unwrap());
        t.commit().unwrap();
        assert_eq!(fs.read("big").unwrap(), data);
        assert_eq!(fs.read("small").unwrap(), b"tiny");
        fs.check().unwrap();
    }

    #[test]
    fn a_failing_reader_records_nothing_and_frees_its_pages() {
        let fs = Fs::memory().unwrap();
        let mut t = fs.begin().unwrap();
        let mut src = Pieces {
            data: content(100 * 1024),
            at: 0,
            fail: true,
        };
        let err = t.write_from("broken", &mut src).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(t.is_empty());
        t.commit().unwrap();
        assert!(!fs.exists("broken").unwrap());
        let report = fs.check().unwrap();
        assert_eq!(report.data_pages, 0);
    }

    #[test]
    fn set_mode_and_mtime_apply_in_order_within_the_commit() {
        let fs = Fs::memory().unwrap();
        fs.transaction(|t| {
            t.create_dir("d")?;
            t.write("d/f", b"x")?;
            t.set_mode("d/f", 0o600)?;
            t.set_mtime("d/f", 1_000_000_007)?;
            t.set_mtime("d", -5)?;
            Ok(())
        })
        .unwrap();
        let f = fs.metadata("d/f").unwrap();
        assert_eq!((f.mode, f.mtime_ns), (0o600, 1_000_000_007));
        assert_eq!(fs.metadata("d").unwrap().mtime_ns, -5);
        let mut t = fs.begin().unwrap();
        assert!(matches!(t.set_mode("d", 0o10000), Err(Error::Arg(_))));
        t.set_mode("missing", 0o644).unwrap();
        assert!(matches!(t.commit(), Err(Error::NotFound(_))));
    }
}
