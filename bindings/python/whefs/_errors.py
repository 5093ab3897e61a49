"""The exceptions: one class per ``WHEFS_ERR_*`` code.

Each class is a :class:`whefs.Error` (with ``.code`` and ``.name``) and also
the builtin exception Python code already catches for that failure:
``FileNotFoundError`` for a missing path, ``TimeoutError`` for a busy lock,
``ValueError`` for a bad argument or a closed handle, and so on. The
OSError-based ones carry a matching ``errno`` too.

The low-level module raises them: its status typemap calls
:func:`error_for` with the code and ``whefs_errmsg()`` of the failed call.
"""

from __future__ import annotations

import errno as _errno
import shutil

from . import whefs_c as _c

__all__ = [
    "Error",
    "ArgumentError",
    "InputOutputError",
    "OutOfMemoryError",
    "BadMagicError",
    "InternalError",
    "RangeError",
    "FullError",
    "AccessError",
    "CorruptError",
    "UnsupportedError",
    "NotFoundError",
    "ExistsError",
    "BusyError",
    "NotADirError",
    "IsADirError",
    "NotEmptyError",
    "ClosedError",
    "NameTooLongError",
    "SameFileError",
]


class Error(Exception):
    """Base class of every whefs error.

    ``code`` is the ``WHEFS_ERR_*`` number, ``name`` its name
    (``"WHEFS_ERR_BUSY"``); ``str(err)`` is the library's message.
    """

    code: int = -1
    name: str = "WHEFS_ERR_UNKNOWN"
    #: errno of the OSError-based classes (None for the others).
    _errno: int | None = None


class ArgumentError(Error, OSError, ValueError):
    """Bad argument: bad flags, malformed path, a directory moved into
    itself (WHEFS_ERR_ARG).

    An ``OSError`` with errno EINVAL, as ``os.rename`` raises for a
    directory moved into itself, and a ``ValueError``, as Python raises for
    a bad argument."""

    code, name, _errno = _c.WHEFS_ERR_ARG, _c.whefs_rc_name(_c.WHEFS_ERR_ARG), _errno.EINVAL


class InputOutputError(Error, OSError):
    """The operating system reported an I/O error (WHEFS_ERR_IO)."""

    code, name, _errno = _c.WHEFS_ERR_IO, _c.whefs_rc_name(_c.WHEFS_ERR_IO), _errno.EIO


class OutOfMemoryError(Error, MemoryError):
    """Out of memory (WHEFS_ERR_NOMEM)."""

    code, name = _c.WHEFS_ERR_NOMEM, _c.whefs_rc_name(_c.WHEFS_ERR_NOMEM)


class BadMagicError(Error, OSError):
    """Not a whefs container, or an unsupported format version (WHEFS_ERR_BAD_MAGIC)."""

    code, name, _errno = _c.WHEFS_ERR_BAD_MAGIC, _c.whefs_rc_name(_c.WHEFS_ERR_BAD_MAGIC), _errno.EINVAL


class InternalError(Error, RuntimeError):
    """A bug in whefs, a caught panic included (WHEFS_ERR_INTERNAL)."""

    code, name = _c.WHEFS_ERR_INTERNAL, _c.whefs_rc_name(_c.WHEFS_ERR_INTERNAL)


class RangeError(Error, OSError, ValueError):
    """Value out of range: a seek before 0, a size too large (WHEFS_ERR_RANGE).

    An ``OSError`` with errno EINVAL, as the builtin files raise for a seek
    before 0 or a negative truncate, and a ``ValueError`` as well (like
    ``io.UnsupportedOperation``), for code that caught it as one."""

    code, name, _errno = _c.WHEFS_ERR_RANGE, _c.whefs_rc_name(_c.WHEFS_ERR_RANGE), _errno.EINVAL


class FullError(Error, OSError):
    """No space: disk full or a configured size limit (WHEFS_ERR_FULL)."""

    code, name, _errno = _c.WHEFS_ERR_FULL, _c.whefs_rc_name(_c.WHEFS_ERR_FULL), _errno.ENOSPC


class AccessError(Error, PermissionError):
    """Not permitted, e.g. a write through a read-only open (WHEFS_ERR_ACCESS)."""

    code, name, _errno = _c.WHEFS_ERR_ACCESS, _c.whefs_rc_name(_c.WHEFS_ERR_ACCESS), _errno.EACCES


class CorruptError(Error, OSError):
    """A checksum or consistency failure in the container (WHEFS_ERR_CORRUPT)."""

    code, name, _errno = _c.WHEFS_ERR_CORRUPT, _c.whefs_rc_name(_c.WHEFS_ERR_CORRUPT), _errno.EIO


class UnsupportedError(Error, OSError):
    """Not supported here, e.g. OFD locks unavailable (WHEFS_ERR_UNSUPPORTED)."""

    code, name, _errno = (
        _c.WHEFS_ERR_UNSUPPORTED,
        _c.whefs_rc_name(_c.WHEFS_ERR_UNSUPPORTED),
        _errno.EOPNOTSUPP,
    )


class NotFoundError(Error, FileNotFoundError):
    """No such file or directory (WHEFS_ERR_NOT_FOUND)."""

    code, name, _errno = _c.WHEFS_ERR_NOT_FOUND, _c.whefs_rc_name(_c.WHEFS_ERR_NOT_FOUND), _errno.ENOENT


class ExistsError(Error, FileExistsError):
    """Already exists (WHEFS_ERR_EXISTS)."""

    code, name, _errno = _c.WHEFS_ERR_EXISTS, _c.whefs_rc_name(_c.WHEFS_ERR_EXISTS), _errno.EEXIST


class BusyError(Error, TimeoutError):
    """A lock could not be had within the busy timeout (WHEFS_ERR_BUSY)."""

    code, name, _errno = _c.WHEFS_ERR_BUSY, _c.whefs_rc_name(_c.WHEFS_ERR_BUSY), _errno.ETIMEDOUT


class NotADirError(Error, NotADirectoryError):
    """A path component is not a directory (WHEFS_ERR_NOT_DIR)."""

    code, name, _errno = _c.WHEFS_ERR_NOT_DIR, _c.whefs_rc_name(_c.WHEFS_ERR_NOT_DIR), _errno.ENOTDIR


class IsADirError(Error, IsADirectoryError):
    """Is a directory (WHEFS_ERR_IS_DIR)."""

    code, name, _errno = _c.WHEFS_ERR_IS_DIR, _c.whefs_rc_name(_c.WHEFS_ERR_IS_DIR), _errno.EISDIR


class NotEmptyError(Error, OSError):
    """Directory not empty (WHEFS_ERR_NOT_EMPTY)."""

    code, name, _errno = _c.WHEFS_ERR_NOT_EMPTY, _c.whefs_rc_name(_c.WHEFS_ERR_NOT_EMPTY), _errno.ENOTEMPTY


class SameFileError(Error, shutil.SameFileError):
    """``Fs.copy`` of a file onto itself, as ``shutil.copyfile`` (WHEFS_ERR_ARG)."""

    code, name = _c.WHEFS_ERR_ARG, _c.whefs_rc_name(_c.WHEFS_ERR_ARG)


class ClosedError(Error, ValueError):
    """Handle already closed, or inherited across fork() (WHEFS_ERR_CLOSED)."""

    code, name = _c.WHEFS_ERR_CLOSED, _c.whefs_rc_name(_c.WHEFS_ERR_CLOSED)


class NameTooLongError(Error, OSError):
    """A path component is longer than 255 bytes (WHEFS_ERR_NAME_TOO_LONG)."""

    code, name, _errno = (
        _c.WHEFS_ERR_NAME_TOO_LONG,
        _c.whefs_rc_name(_c.WHEFS_ERR_NAME_TOO_LONG),
        _errno.ENAMETOOLONG,
    )


_BY_CODE: dict[int, type[Error]] = {
    cls.code: cls
    for cls in (
        ArgumentError,
        InputOutputError,
        OutOfMemoryError,
        BadMagicError,
        InternalError,
        RangeError,
        FullError,
        AccessError,
        CorruptError,
        UnsupportedError,
        NotFoundError,
        ExistsError,
        BusyError,
        NotADirError,
        IsADirError,
        NotEmptyError,
        ClosedError,
        NameTooLongError,
    )
}


def error_for(code: int, message: str) -> Error:
    """The exception for status ``code`` with the library's ``message``."""
    cls = _BY_CODE.get(code)
    if cls is None:
        err = Error(message)
        err.code, err.name = code, _c.whefs_rc_name(code)
        return err
    if cls._errno is not None:
        return cls(cls._errno, message)
    return cls(message)


def closed_error(what: str) -> ClosedError:
    """The ValueError for an operation on a closed handle."""
    return ClosedError(f"I/O operation on closed {what}")
