//! POSIX metadata and the inode-addressed API. Permission bits, owners and
//! times ([`SetAttributes`]), symbolic links, hard links and `truncate` by
//! path; and the `*_at` / `inode_*` calls that name a directory or a file
//! by inode number, as `openat`/`mkdirat`/`renameat` name it by descriptor
//! — what a FUSE mount or a file server needs, since it is asked about
//! inodes, not paths. Each change is one commit.
//!
//! Invariants: a file or link has as many names as its link count (an
//! orphan has none and a count of 0); a directory has one name, a parent
//! link, and a count of 2 + its subdirectories. Inode numbers are never
//! reused, so a number from an earlier call names that inode or nothing.

use crate::engine::{self, Tx};
use crate::error::{Error, Result};
use crate::format::records::{self, DirentRecord, InodeKind, InodeRecord};
use crate::fs::dir::ReadDir;
use crate::fs::file::{File, Target};
use crate::fs::options::OpenOptions;
use crate::fs::{self, Fs, Metadata, SnapView};

/// The permission bits an inode keeps: `rwx` for user, group and others,
/// plus set-user-id, set-group-id and sticky (`0o7777`).
pub const MODE_BITS: u32 = 0o7777;

/// POSIX attributes to set on an inode, or to give a new one: `None`
/// leaves a field as it is (or, at creation, takes the default: 0o644
/// files, 0o755 directories, 0o777 links; the effective user and group of
/// the process when it opened the container; now). Times are nanoseconds
/// since the Unix epoch.
///
/// ```
/// use whefs::{Fs, SetAttributes};
/// let fs = Fs::memory().unwrap();
/// fs.write("a.txt", b"hi").unwrap();
/// let m = fs
///     .set_attributes("a.txt", &SetAttributes::new().mode(0o600).mtime_ns(1_000_000_007))
///     .unwrap();
/// assert_eq!((m.mode, m.mtime_ns), (0o600, 1_000_000_007));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttributes {
    /// Permission bits (only [`MODE_BITS`] are kept).
    pub mode: Option<u32>,
    /// Owner's user id.
    pub uid: Option<u32>,
    /// Owner's group id.
    pub gid: Option<u32>,
    /// Access time.
    pub atime_ns: Option<i64>,
    /// Modification time.
    pub mtime_ns: Option<i64>,
}

impl SetAttributes {
    /// Changes nothing.
    pub fn new() -> SetAttributes {
        SetAttributes::default()
    }
    /// Sets the permission bits.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }
    /// Sets the owner; `None` keeps that id (like `-1` to `chown(2)`).
    pub fn owner(mut self, uid: Option<u32>, gid: Option<u32>) -> Self {
        self.uid = uid;
        self.gid = gid;
        self
    }
    /// Sets the access time.
    pub fn atime_ns(mut self, t: i64) -> Self {
        self.atime_ns = Some(t);
        self
    }
    /// Sets the modification time.
    pub fn mtime_ns(mut self, t: i64) -> Self {
        self.mtime_ns = Some(t);
        self
    }
}

/// Checks a symbolic link's target: not empty, no NUL, and short enough to
/// live inline in the link's inode record.
pub(crate) fn check_target(target: &str, page_size: u32) -> Result<()> {
    if target.is_empty() || target.contains('\0') {
        return Err(Error::Arg(format!("invalid link target {target:?}")));
    }
    let limit = records::inline_limit(page_size);
    if target.len() > limit {
        return Err(Error::NameTooLong(format!(
            "link target of {} bytes (limit {limit} at this page size)",
            target.len()
        )));
    }
    Ok(())
}

/// How errors name the entry `name` of directory `dir`.
fn describe(dir: u64, name: &str) -> String {
    format!("{name:?} in directory {dir}")
}

impl Tx<'_> {
    /// The directory `dir`, checked: present and a directory.
    fn existing_dir(&self, dir: u64) -> Result<()> {
        match fs::inode_opt(self, dir)? {
            None => Err(Error::NotFound(format!("directory {dir}"))),
            Some(rec) if rec.kind != InodeKind::Dir => Err(Error::NotDir(format!("inode {dir}"))),
            Some(_) => Ok(()),
        }
    }

    /// Creates `name` in `dir` as a new inode of `kind`; `Exists` if taken.
    fn create_at(
        &mut self,
        dir: u64,
        name: &str,
        kind: InodeKind,
        attrs: &SetAttributes,
        target: Option<&str>,
    ) -> Result<u64> {
        records::check_name(name.as_bytes())?;
        self.existing_dir(dir)?;
        if fs::lookup(self, dir, name)?.is_some() {
            return Err(Error::Exists(describe(dir, name)));
        }
        self.create_inode_with(dir, name, kind, attrs, target)
    }

    /// Applies `attrs` to inode `ino` and stamps its status change time.
    pub(crate) fn set_attributes(
        &mut self,
        ino: u64,
        attrs: &SetAttributes,
    ) -> Result<InodeRecord> {
        let mut rec =
            fs::inode_opt(self, ino)?.ok_or_else(|| Error::NotFound(format!("inode {ino}")))?;
        if let Some(m) = attrs.mode {
            rec.mode = m & MODE_BITS;
        }
        rec.uid = attrs.uid.unwrap_or(rec.uid);
        rec.gid = attrs.gid.unwrap_or(rec.gid);
        rec.atime_ns = attrs.atime_ns.unwrap_or(rec.atime_ns);
        rec.mtime_ns = attrs.mtime_ns.unwrap_or(rec.mtime_ns);
        rec.ctime_ns = engine::now_ns();
        self.insert(&records::inode_key(ino), &rec.encode())?;
        Ok(rec)
    }

    /// Gives the file or link `ino` another name, `name` in `dir`.
    pub(crate) fn hard_link_at(&mut self, ino: u64, dir: u64, name: &str) -> Result<InodeRecord> {
        records::check_name(name.as_bytes())?;
        let mut rec = fs::inode_opt(self, ino)?
            .filter(|r| r.kind == InodeKind::Dir || r.nlink > 0)
            .ok_or_else(|| Error::NotFound(format!("inode {ino}")))?;
        if rec.kind == InodeKind::Dir {
            return Err(Error::IsDir(format!(
                "inode {ino}: directories cannot have hard links"
            )));
        }
        self.existing_dir(dir)?;
        if fs::lookup(self, dir, name)?.is_some() {
            return Err(Error::Exists(describe(dir, name)));
        }
        rec.nlink = rec
            .nlink
            .checked_add(1)
            .ok_or_else(|| Error::Range(format!("inode {ino} has too many links")))?;
        rec.ctime_ns = engine::now_ns();
        self.insert(&records::inode_key(ino), &rec.encode())?;
        self.insert(
            &records::dirent_key(dir, name.as_bytes()),
            &DirentRecord {
                ino,
                kind: rec.kind,
            }
            .encode(),
        )?;
        self.touch_dir(dir)?;
        Ok(rec)
    }
}

impl Fs {
    /// Runs one commit and returns `f`'s value.
    fn commit_one<T>(&self, f: impl FnOnce(&mut Tx) -> Result<T>) -> Result<T> {
        self.engine().commit(false, f).map(|(out, _)| out)
    }

    /// Sets permission bits, owner and times of what `path` names (a
    /// symbolic link is followed), in one commit; returns the new metadata.
    pub fn set_attributes(&self, path: &str, attrs: &SetAttributes) -> Result<Metadata> {
        self.commit_one(|tx| {
            let (ino, _) = fs::resolve(tx, path)?;
            Ok(fs::metadata_of(ino, &tx.set_attributes(ino, attrs)?))
        })
    }

    /// `chmod`: sets the permission bits (only [`MODE_BITS`] are kept).
    pub fn set_permissions(&self, path: &str, mode: u32) -> Result<()> {
        self.set_attributes(path, &SetAttributes::new().mode(mode))
            .map(drop)
    }

    /// `chown`: sets the owner's user and/or group id (`None` keeps it).
    pub fn set_owner(&self, path: &str, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        self.set_attributes(path, &SetAttributes::new().owner(uid, gid))
            .map(drop)
    }

    /// `utimensat`: sets the access and/or modification time, in
    /// nanoseconds since the Unix epoch (`None` keeps it).
    pub fn set_times(
        &self,
        path: &str,
        atime_ns: Option<i64>,
        mtime_ns: Option<i64>,
    ) -> Result<()> {
        let attrs = SetAttributes {
            atime_ns,
            mtime_ns,
            ..SetAttributes::default()
        };
        self.set_attributes(path, &attrs).map(drop)
    }

    /// `truncate`: sets the length of the file at `path` (a symbolic link is
    /// followed), cutting it or extending it with a hole, in one commit.
    pub fn truncate(&self, path: &str, size: u64) -> Result<()> {
        let mut f = OpenOptions::new().write(true).open(self, path)?;
        f.set_len(size)?;
        f.close()
    }

    /// Creates a symbolic link at `link` that points to `target`, which is
    /// stored as given and resolved when the link is followed: relative to
    /// the link's directory, or from the container's root if it starts
    /// with `/`. It need not exist. A target is at most about a quarter
    /// page (960 bytes at 4 KiB pages; longer is [`Error::NameTooLong`]).
    pub fn symlink(&self, target: &str, link: &str) -> Result<()> {
        check_target(target, self.engine().page_size())?;
        self.commit_one(|tx| {
            let (dir, name) = fs::resolve_parent(tx, link)?;
            if fs::lookup(tx, dir, name)?.is_some() {
                return Err(Error::Exists(link.to_string()));
            }
            let attrs = SetAttributes::default();
            tx.create_inode_with(dir, name, InodeKind::Symlink, &attrs, Some(target))
                .map(drop)
        })
    }

    /// The target of the symbolic link at `path` ([`Error::Arg`] if it is
    /// not a link).
    pub fn read_link(&self, path: &str) -> Result<String> {
        let (_snap, ino, rec) = self.resolve_latest_nofollow(path)?;
        fs::link_target(&rec, ino)
    }

    /// `lstat`: like [`Fs::metadata`], but a symbolic link at the end of
    /// `path` is described itself, not followed.
    pub fn symlink_metadata(&self, path: &str) -> Result<Metadata> {
        let (_snap, ino, rec) = self.resolve_latest_nofollow(path)?;
        Ok(fs::metadata_of(ino, &rec))
    }

    /// `link`: gives the file (or symbolic link, not followed) at
    /// `existing` a second name `new`; both then name one inode, with one
    /// content and one link count. Directories cannot be linked
    /// ([`Error::IsDir`]); `new` must not exist.
    pub fn hard_link(&self, existing: &str, new: &str) -> Result<()> {
        self.commit_one(|tx| {
            let (ino, _) = fs::resolve_nofollow(tx, existing)?;
            let (dir, name) = fs::resolve_parent(tx, new)?;
            tx.hard_link_at(ino, dir, name).map(drop)
        })
    }

    /// Makes every commit so far durable (one `fdatasync` of the
    /// container), whatever the durability they were made at.
    pub fn sync(&self) -> Result<()> {
        self.engine().check_usable()?;
        self.engine().sync_or_poison()
    }

    fn resolve_latest_nofollow(&self, path: &str) -> Result<(engine::Snapshot, u64, InodeRecord)> {
        let snap = self.engine().snapshot()?;
        let (ino, rec) = fs::resolve_nofollow(
            &SnapView {
                engine: self.engine(),
                snap: &snap,
            },
            path,
        )?;
        Ok((snap, ino, rec))
    }

    // ---- The inode-addressed API -------------------------------------

    /// `stat` of inode `ino` in the latest commit (a link is described
    /// itself); [`Error::NotFound`] if there is no such inode any more.
    pub fn inode_metadata(&self, ino: u64) -> Result<Metadata> {
        let snap = self.engine().snapshot()?;
        let view = SnapView {
            engine: self.engine(),
            snap: &snap,
        };
        let rec =
            fs::inode_opt(&view, ino)?.ok_or_else(|| Error::NotFound(format!("inode {ino}")))?;
        Ok(fs::metadata_of(ino, &rec))
    }

    /// `lstat` of the entry `name` of directory `dir`.
    pub fn lookup_at(&self, dir: u64, name: &str) -> Result<Metadata> {
        records::check_name(name.as_bytes())?;
        let snap = self.engine().snapshot()?;
        let view = SnapView {
            engine: self.engine(),
            snap: &snap,
        };
        match fs::inode_opt(&view, dir)? {
            None => return Err(Error::NotFound(format!("directory {dir}"))),
            Some(rec) if rec.kind != InodeKind::Dir => {
                return Err(Error::NotDir(format!("inode {dir}")))
            }
            Some(_) => {}
        }
        let d =
            fs::lookup(&view, dir, name)?.ok_or_else(|| Error::NotFound(describe(dir, name)))?;
        Ok(fs::metadata_of(d.ino, &fs::inode(&view, d.ino)?))
    }

    /// Lists directory `dir` as of now (the listing keeps that snapshot).
    pub fn inode_read_dir(&self, dir: u64) -> Result<ReadDir> {
        let snap = self.engine().snapshot()?;
        let rec = fs::inode_opt(
            &SnapView {
                engine: self.engine(),
                snap: &snap,
            },
            dir,
        )?
        .ok_or_else(|| Error::NotFound(format!("directory {dir}")))?;
        if rec.kind != InodeKind::Dir {
            return Err(Error::NotDir(format!("inode {dir}")));
        }
        Ok(ReadDir::new(self.clone(), snap, dir))
    }

    /// The target of the symbolic link `ino`.
    pub fn inode_read_link(&self, ino: u64) -> Result<String> {
        let m = self.inode_metadata(ino)?;
        if !m.is_symlink() {
            return Err(Error::Arg(format!("inode {ino} is not a symbolic link")));
        }
        let snap = self.engine().snapshot()?;
        let view = SnapView {
            engine: self.engine(),
            snap: &snap,
        };
        let rec =
            fs::inode_opt(&view, ino)?.ok_or_else(|| Error::NotFound(format!("inode {ino}")))?;
        fs::link_target(&rec, ino)
    }

    /// Opens the file `ino` with `options` (`create`/`create_new` mean
    /// nothing here: the inode exists or the call is [`Error::NotFound`]).
    pub fn open_inode(&self, ino: u64, options: &OpenOptions) -> Result<File> {
        let mut mode = options.mode()?;
        mode.create = false;
        mode.exclusive = false;
        File::open_target(self, Target::Inode(ino), mode)
    }

    /// Sets attributes of inode `ino` (a link itself, not followed), in
    /// one commit; returns the new metadata.
    pub fn set_inode_attributes(&self, ino: u64, attrs: &SetAttributes) -> Result<Metadata> {
        self.commit_one(|tx| Ok(fs::metadata_of(ino, &tx.set_attributes(ino, attrs)?)))
    }

    /// Creates the empty file `name` in directory `dir` with `attrs` (one
    /// commit); [`Error::Exists`] if the name is taken.
    pub fn create_file_at(&self, dir: u64, name: &str, attrs: &SetAttributes) -> Result<Metadata> {
        self.create_inode_at(dir, name, InodeKind::File, attrs, None)
    }

    /// Creates the directory `name` in directory `dir` with `attrs`.
    pub fn create_dir_at(&self, dir: u64, name: &str, attrs: &SetAttributes) -> Result<Metadata> {
        self.create_inode_at(dir, name, InodeKind::Dir, attrs, None)
    }

    /// Creates the symbolic link `name` in directory `dir`, pointing to
    /// `target` (see [`Fs::symlink`]).
    pub fn symlink_at(
        &self,
        dir: u64,
        name: &str,
        target: &str,
        attrs: &SetAttributes,
    ) -> Result<Metadata> {
        check_target(target, self.engine().page_size())?;
        self.create_inode_at(dir, name, InodeKind::Symlink, attrs, Some(target))
    }

    fn create_inode_at(
        &self,
        dir: u64,
        name: &str,
        kind: InodeKind,
        attrs: &SetAttributes,
        target: Option<&str>,
    ) -> Result<Metadata> {
        self.commit_one(|tx| {
            let ino = tx.create_at(dir, name, kind, attrs, target)?;
            Ok(fs::metadata_of(ino, &fs::inode(tx, ino)?))
        })
    }

    /// Gives inode `ino` (a file or link) the new name `name` in `dir`
    /// (see [`Fs::hard_link`]); returns its metadata with the new count.
    pub fn hard_link_at(&self, ino: u64, dir: u64, name: &str) -> Result<Metadata> {
        self.commit_one(|tx| Ok(fs::metadata_of(ino, &tx.hard_link_at(ino, dir, name)?)))
    }

    /// Removes the file or link `name` of directory `dir` (see
    /// [`Fs::remove_file`]: the inode stays while other names remain).
    pub fn remove_file_at(&self, dir: u64, name: &str) -> Result<()> {
        records::check_name(name.as_bytes())?;
        self.commit_one(|tx| {
            tx.existing_dir(dir)?;
            tx.remove_file_at(dir, name, &describe(dir, name))
        })
    }

    /// Removes the empty directory `name` of directory `dir`.
    pub fn remove_dir_at(&self, dir: u64, name: &str) -> Result<()> {
        records::check_name(name.as_bytes())?;
        self.commit_one(|tx| {
            tx.existing_dir(dir)?;
            tx.remove_dir_at(dir, name, &describe(dir, name))
        })
    }

    /// Renames the entry `name` of `dir` to `new_name` in `new_dir`,
    /// atomically (see [`Fs::rename`]); with `replace` false an existing
    /// target is [`Error::Exists`] (`RENAME_NOREPLACE`).
    pub fn rename_at(
        &self,
        dir: u64,
        name: &str,
        new_dir: u64,
        new_name: &str,
        replace: bool,
    ) -> Result<()> {
        records::check_name(name.as_bytes())?;
        records::check_name(new_name.as_bytes())?;
        let (from, to) = (describe(dir, name), describe(new_dir, new_name));
        self.commit_one(|tx| {
            tx.existing_dir(dir)?;
            tx.existing_dir(new_dir)?;
            tx.rename_at(dir, name, new_dir, new_name, replace, (&from, &to))
        })
    }
}
