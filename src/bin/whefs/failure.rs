//! How the `whefs` command fails: one [`Failure`] type carrying the message
//! for stderr and the exit status. The exit-status table lives here and
//! nowhere else; `whefs --help` prints it from [`EXIT_CODES`].

use std::fmt;
use std::io;

use whefs::Error;

/// An exit status of the `whefs` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Any failure not listed below; for `check`, "the container is corrupt".
    Generic = 1,
    /// Bad arguments: a bad option, path or size (clap uses it too).
    Usage = 2,
    /// No such file, directory or container.
    NotFound = 3,
    /// The file, directory or container already exists.
    Exists = 4,
    /// The path is of the wrong kind: not a directory, is a directory,
    /// directory not empty.
    Kind = 5,
    /// A lock was not granted within `--timeout`; retrying may succeed.
    Busy = 6,
    /// The container is corrupt, or is not a whefs container.
    Corrupt = 7,
    /// Not permitted, e.g. a write under `--read-only`.
    Access = 8,
    /// No space left.
    Full = 9,
    /// The operating system reported an I/O error.
    Io = 10,
}

/// The exit statuses with one line each, for `whefs --help`.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success (for `check`: the container is clean)"),
    (
        Exit::Generic as u8,
        "failure not listed below; for `check`: the container is corrupt",
    ),
    (
        Exit::Usage as u8,
        "usage: bad arguments, a bad path or size",
    ),
    (
        Exit::NotFound as u8,
        "not found: no such file, directory or container",
    ),
    (Exit::Exists as u8, "already exists"),
    (
        Exit::Kind as u8,
        "wrong kind: not a directory, is a directory, directory not empty",
    ),
    (
        Exit::Busy as u8,
        "busy: a lock was not granted within --timeout (retry)",
    ),
    (
        Exit::Corrupt as u8,
        "corrupt container, or not a whefs container",
    ),
    (
        Exit::Access as u8,
        "access denied (e.g. a write with --read-only)",
    ),
    (Exit::Full as u8, "no space left"),
    (Exit::Io as u8, "I/O error from the operating system"),
];

/// The text of [`EXIT_CODES`], as printed by `whefs --help`.
pub fn exit_code_help() -> String {
    let mut text = String::from("Exit status:\n");
    for (code, meaning) in EXIT_CODES {
        text.push_str(&format!("  {code:>3}  {meaning}\n"));
    }
    text
}

/// A failed command: what to print (`whefs: <message>`) and how to exit.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub exit: Exit,
    /// The message for stderr; `None` when it was printed already.
    pub message: Option<String>,
}

impl Failure {
    /// A failure with an explicit exit status.
    pub fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: Some(message.into()),
        }
    }

    /// A usage error: arguments that cannot work together.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Usage, message)
    }

    /// A failure whose messages were already printed (e.g. `cat` of several
    /// paths, which goes on after an error like `cat(1)` does).
    pub fn reported(exit: Exit) -> Failure {
        Failure {
            exit,
            message: None,
        }
    }

    /// A whefs error while doing `what` (e.g. `"stat /a/b"`).
    pub fn fs(what: impl fmt::Display, err: Error) -> Failure {
        Failure::new(exit_for(&err), format!("{what}: {err}"))
    }

    /// An error of the host system (a host file, stdin, stdout) while doing
    /// `what`. An `io::Error` that wraps a whefs error — from the `Read` or
    /// `Write` impl of a [`whefs::File`] — is reported as that error.
    pub fn host(what: impl fmt::Display, err: io::Error) -> Failure {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Failure::fs(what, Error::from_io(err));
        }
        Failure::new(exit_for_io(err.kind()), format!("{what}: {err}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.as_deref().unwrap_or("failed"))
    }
}

/// The exit status for a whefs error.
pub fn exit_for(err: &Error) -> Exit {
    match err {
        Error::Arg(_) | Error::NameTooLong(_) => Exit::Usage,
        Error::NotFound(_) => Exit::NotFound,
        Error::Exists(_) => Exit::Exists,
        Error::NotDir(_) | Error::IsDir(_) | Error::NotEmpty(_) => Exit::Kind,
        Error::Busy(_) => Exit::Busy,
        Error::Corrupt(_) | Error::BadMagic(_) => Exit::Corrupt,
        Error::Access(_) => Exit::Access,
        Error::Full(_) => Exit::Full,
        Error::Io { source, .. } => exit_for_io(source.kind()),
        _ => Exit::Generic,
    }
}

/// The exit status for an operating-system error.
fn exit_for_io(kind: io::ErrorKind) -> Exit {
    use io::ErrorKind as K;
    match kind {
        K::NotFound => Exit::NotFound,
        K::AlreadyExists => Exit::Exists,
        K::NotADirectory | K::IsADirectory | K::DirectoryNotEmpty => Exit::Kind,
        K::PermissionDenied => Exit::Access,
        K::StorageFull => Exit::Full,
        _ => Exit::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_status_is_documented_once() {
        let all = [
            Exit::Generic,
            Exit::Usage,
            Exit::NotFound,
            Exit::Exists,
            Exit::Kind,
            Exit::Busy,
            Exit::Corrupt,
            Exit::Access,
            Exit::Full,
            Exit::Io,
        ];
        for exit in all {
            let n = EXIT_CODES
                .iter()
                .filter(|(code, _)| *code == exit as u8)
                .count();
            assert_eq!(n, 1, "{exit:?}");
        }
    }

    #[test]
    fn a_wrapped_whefs_error_keeps_its_exit_status() {
        let io_err = io::Error::from(Error::NotFound("x".into()));
        assert_eq!(Failure::host("get x", io_err).exit, Exit::NotFound);
        let host = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(Failure::host("open y", host).exit, Exit::Access);
    }
}
