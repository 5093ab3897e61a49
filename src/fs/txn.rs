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
//! transaction is free again.

use crate::engine::Durability;
use crate::error::{Error, Result};
use crate::format::records;
use crate::fs::file::{settle_pages, File};
use crate::fs::path;
use crate::fs::Fs;

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
}

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
            return Err(Error::Access("the container is open read-only".into()));
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
                }
            }
            Ok(())
        });
        settle_pages(engine, result.is_ok(), &pages);
        result.map(|_| ())
    }
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
