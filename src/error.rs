//! Errors: one enum for the whole library, with stable numeric codes that
//! the C ABI shares (`../shared/C-API.md`). The code table exists here and
//! nowhere else; `code()` and `name()` are the only ways to read it.

use std::io;

/// Result type of every fallible whefs operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong. Each variant carries a message for people;
/// programs match on the variant (or on [`Error::code`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad argument: a bad mode string, bad flags, a bad path.
    #[error("invalid argument: {0}")]
    Arg(String),
    /// The operating system reported an I/O error.
    #[error("I/O error: {context}: {source}")]
    Io {
        /// What whefs was doing.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Out of memory.
    #[error("out of memory: {0}")]
    NoMem(String),
    /// Not a whefs container, or an unsupported format version.
    #[error("not a whefs container: {0}")]
    BadMagic(String),
    /// A bug in whefs (a caught panic included).
    #[error("internal error: {0}")]
    Internal(String),
    /// A value out of range (seek before 0, size too large).
    #[error("out of range: {0}")]
    Range(String),
    /// No space left (disk full, or a configured size limit).
    #[error("no space: {0}")]
    Full(String),
    /// Not permitted (a write through a read-only open, etc.).
    #[error("access denied: {0}")]
    Access(String),
    /// A checksum or consistency failure in the container.
    #[error("corrupt container: {0}")]
    Corrupt(String),
    /// Not supported here (e.g. OFD locks unavailable).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// No such file or directory.
    #[error("not found: {0}")]
    NotFound(String),
    /// The file or directory already exists.
    #[error("already exists: {0}")]
    Exists(String),
    /// A lock could not be had within the busy timeout.
    #[error("busy: {0}")]
    Busy(String),
    /// A path component is not a directory.
    #[error("not a directory: {0}")]
    NotDir(String),
    /// The path names a directory.
    #[error("is a directory: {0}")]
    IsDir(String),
    /// The directory is not empty.
    #[error("directory not empty: {0}")]
    NotEmpty(String),
    /// The handle is closed, or was inherited across `fork()`.
    #[error("closed: {0}")]
    Closed(String),
    /// A path component is longer than 255 bytes.
    #[error("name too long: {0}")]
    NameTooLong(String),
}

impl Error {
    /// The stable numeric code of this error (`WHEFS_ERR_*`).
    pub fn code(&self) -> i32 {
        match self {
            Error::Arg(_) => 1,
            Error::Io { .. } => 2,
            Error::NoMem(_) => 3,
            Error::BadMagic(_) => 4,
            Error::Internal(_) => 5,
            Error::Range(_) => 6,
            Error::Full(_) => 7,
            Error::Access(_) => 8,
            Error::Corrupt(_) => 9,
            Error::Unsupported(_) => 11,
            Error::NotFound(_) => 12,
            Error::Exists(_) => 13,
            Error::Busy(_) => 14,
            Error::NotDir(_) => 15,
            Error::IsDir(_) => 16,
            Error::NotEmpty(_) => 17,
            Error::Closed(_) => 18,
            Error::NameTooLong(_) => 19,
        }
    }

    /// The name of a numeric code (`"WHEFS_ERR_BUSY"`), or `None` for an unknown code.
    pub fn code_name(code: i32) -> Option<&'static str> {
        Some(match code {
            0 => "WHEFS_OK",
            1 => "WHEFS_ERR_ARG",
            2 => "WHEFS_ERR_IO",
            3 => "WHEFS_ERR_NOMEM",
            4 => "WHEFS_ERR_BAD_MAGIC",
            5 => "WHEFS_ERR_INTERNAL",
            6 => "WHEFS_ERR_RANGE",
            7 => "WHEFS_ERR_FULL",
            8 => "WHEFS_ERR_ACCESS",
            9 => "WHEFS_ERR_CORRUPT",
            11 => "WHEFS_ERR_UNSUPPORTED",
            12 => "WHEFS_ERR_NOT_FOUND",
            13 => "WHEFS_ERR_EXISTS",
            14 => "WHEFS_ERR_BUSY",
            15 => "WHEFS_ERR_NOT_DIR",
            16 => "WHEFS_ERR_IS_DIR",
            17 => "WHEFS_ERR_NOT_EMPTY",
            18 => "WHEFS_ERR_CLOSED",
            19 => "WHEFS_ERR_NAME_TOO_LONG",
            _ => return None,
        })
    }

    /// Wraps an operating-system error with what whefs was doing. Disk-full
    /// errors become [`Error::Full`] so that callers can tell them apart.
    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        let context = context.into();
        match source.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => {
                Error::Full(format!("{context}: {source}"))
            }
            _ => Error::Io { context, source },
        }
    }

    /// Shorthand for a corruption report.
    pub fn corrupt(msg: impl Into<String>) -> Error {
        Error::Corrupt(msg.into())
    }

    /// The `std::io::ErrorKind` that matches this error best.
    pub fn io_kind(&self) -> io::ErrorKind {
        use io::ErrorKind as K;
        match self {
            Error::Arg(_) | Error::NameTooLong(_) => K::InvalidInput,
            Error::Io { source, .. } => source.kind(),
            Error::NoMem(_) => K::OutOfMemory,
            Error::BadMagic(_) | Error::Corrupt(_) => K::InvalidData,
            Error::Internal(_) => K::Other,
            Error::Range(_) => K::InvalidInput,
            Error::Full(_) => K::StorageFull,
            Error::Access(_) => K::PermissionDenied,
            Error::Unsupported(_) => K::Unsupported,
            Error::NotFound(_) => K::NotFound,
            Error::Exists(_) => K::AlreadyExists,
            Error::Busy(_) => K::WouldBlock,
            Error::NotDir(_) => K::NotADirectory,
            Error::IsDir(_) => K::IsADirectory,
            Error::NotEmpty(_) => K::DirectoryNotEmpty,
            Error::Closed(_) => K::BrokenPipe,
        }
    }

    /// Recovers a whefs error from an `io::Error` produced by a `std::io`
    /// trait method of this crate; other errors become [`Error::Io`].
    pub fn from_io(err: io::Error) -> Error {
        if err.get_ref().is_some_and(|e| e.is::<Error>()) {
            let inner = err.into_inner().expect("checked get_ref above");
            return *inner
                .downcast::<Error>()
                .expect("checked is::<Error> above");
        }
        Error::io("I/O", err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        io::Error::new(err.io_kind(), err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_name_and_io_round_trip_keeps_the_variant() {
        let samples = [
            Error::Arg("a".into()),
            Error::Busy("b".into()),
            Error::Corrupt("c".into()),
            Error::NotFound("d".into()),
        ];
        for e in samples {
            let code = e.code();
            assert!(Error::code_name(code).is_some());
            let back = Error::from_io(io::Error::from(e));
            assert_eq!(back.code(), code);
        }
        assert_eq!(Error::code_name(14), Some("WHEFS_ERR_BUSY"));
        assert_eq!(Error::code_name(10), None);
    }

    #[test]
    fn enospc_becomes_full() {
        let e = Error::io("write", io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(e.code(), 7);
    }
}
