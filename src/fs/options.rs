//! [`OpenOptions`]: opening a pseudofile the way `std::fs::OpenOptions`
//! opens a file. It is another spelling of [`Mode`]; both end in the same
//! `File::open`, so the two can never disagree.

use crate::error::{Error, Result};
use crate::fs::file::{File, Mode};
use crate::fs::Fs;

/// How to open a pseudofile, like `std::fs::OpenOptions`: a builder of
/// flags, then [`OpenOptions::open`] (or [`Fs::open_with`]).
///
/// ```
/// use whefs::{Fs, OpenOptions};
/// let fs = Fs::memory().unwrap();
/// let mut f = OpenOptions::new().append(true).create(true).open(&fs, "log").unwrap();
/// std::io::Write::write_all(&mut f, b"one line\n").unwrap();
/// f.close().unwrap();
/// assert_eq!(fs.read("log").unwrap(), b"one line\n");
/// ```
///
/// The combinations `std` refuses are refused here too, with
/// [`Error::Arg`]: neither `read`, `write` nor `append`; `truncate`
/// without `write`, or with `append`; `create` or `create_new` without
/// `write` or `append`. `create_new` ignores `create` and `truncate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
}

impl OpenOptions {
    /// No flags set: set at least one of `read`, `write` and `append`.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }
    /// Allow reading.
    pub fn read(&mut self, yes: bool) -> &mut Self {
        self.read = yes;
        self
    }
    /// Allow writing.
    pub fn write(&mut self, yes: bool) -> &mut Self {
        self.write = yes;
        self
    }
    /// Every write goes to the end of the file (implies writing).
    pub fn append(&mut self, yes: bool) -> &mut Self {
        self.append = yes;
        self
    }
    /// Truncate the file to zero at open (needs `write`).
    pub fn truncate(&mut self, yes: bool) -> &mut Self {
        self.truncate = yes;
        self
    }
    /// Create the file if it is missing (needs `write` or `append`).
    pub fn create(&mut self, yes: bool) -> &mut Self {
        self.create = yes;
        self
    }
    /// Create the file, failing with [`Error::Exists`] if it exists.
    pub fn create_new(&mut self, yes: bool) -> &mut Self {
        self.create_new = yes;
        self
    }

    /// The `fopen`-style mode these options mean, or `Error::Arg` for a
    /// combination `std::fs::OpenOptions` refuses.
    pub fn mode(&self) -> Result<Mode> {
        let o = *self;
        let writes = o.write || o.append;
        let refuse = |why: &str| Err(Error::Arg(format!("open options {o:?}: {why}")));
        if !o.read && !writes {
            return refuse("set read, write or append");
        }
        if !o.create_new && o.truncate && (!o.write || o.append) {
            return refuse("truncate needs write and excludes append");
        }
        if (o.create || o.create_new) && !writes {
            return refuse("create needs write or append");
        }
        Ok(Mode {
            read: o.read,
            write: writes,
            append: o.append,
            create: o.create || o.create_new,
            exclusive: o.create_new,
            truncate: o.truncate && !o.create_new,
        })
    }

    /// Opens `path` in `fs` with these options.
    pub fn open(&self, fs: &Fs, path: &str) -> Result<File> {
        File::open(fs, path, self.mode()?)
    }
}

impl From<Mode> for OpenOptions {
    /// The options that open like `mode` does (`"w+"` is read, write,
    /// create and truncate).
    fn from(mode: Mode) -> OpenOptions {
        OpenOptions {
            read: mode.read,
            write: mode.write && !mode.append,
            append: mode.append,
            truncate: mode.truncate && !mode.exclusive,
            create: mode.create && !mode.exclusive,
            create_new: mode.exclusive,
        }
    }
}

impl Fs {
    /// Opens a pseudofile with [`OpenOptions`].
    pub fn open_with(&self, path: &str, options: &OpenOptions) -> Result<File> {
        options.open(self, path)
    }
}

impl File {
    /// A new [`OpenOptions`], as `std::fs::File::options`.
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }
}
