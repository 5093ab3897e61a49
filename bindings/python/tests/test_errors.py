"""Exceptions: every WHEFS_ERR_* code is a whefs.Error and the builtin
exception Python code catches for it."""

from __future__ import annotations

import errno
import pickle

import pytest

import whefs
from whefs import whefs_c as c

BUILTIN_FOR_CODE = [
    (c.WHEFS_ERR_ARG, whefs.ArgumentError, OSError, errno.EINVAL),  # and a ValueError
    (c.WHEFS_ERR_IO, whefs.InputOutputError, OSError, errno.EIO),
    (c.WHEFS_ERR_NOMEM, whefs.OutOfMemoryError, MemoryError, None),
    (c.WHEFS_ERR_BAD_MAGIC, whefs.BadMagicError, OSError, errno.EINVAL),
    (c.WHEFS_ERR_INTERNAL, whefs.InternalError, RuntimeError, None),
    (c.WHEFS_ERR_RANGE, whefs.RangeError, OSError, errno.EINVAL),  # and a ValueError
    (c.WHEFS_ERR_FULL, whefs.FullError, OSError, errno.ENOSPC),
    (c.WHEFS_ERR_ACCESS, whefs.AccessError, PermissionError, errno.EACCES),
    (c.WHEFS_ERR_CORRUPT, whefs.CorruptError, OSError, errno.EIO),
    (c.WHEFS_ERR_UNSUPPORTED, whefs.UnsupportedError, OSError, errno.EOPNOTSUPP),
    (c.WHEFS_ERR_NOT_FOUND, whefs.NotFoundError, FileNotFoundError, errno.ENOENT),
    (c.WHEFS_ERR_EXISTS, whefs.ExistsError, FileExistsError, errno.EEXIST),
    (c.WHEFS_ERR_BUSY, whefs.BusyError, TimeoutError, errno.ETIMEDOUT),
    (c.WHEFS_ERR_NOT_DIR, whefs.NotADirError, NotADirectoryError, errno.ENOTDIR),
    (c.WHEFS_ERR_IS_DIR, whefs.IsADirError, IsADirectoryError, errno.EISDIR),
    (c.WHEFS_ERR_NOT_EMPTY, whefs.NotEmptyError, OSError, errno.ENOTEMPTY),
    (c.WHEFS_ERR_CLOSED, whefs.ClosedError, ValueError, None),
    (c.WHEFS_ERR_NAME_TOO_LONG, whefs.NameTooLongError, OSError, errno.ENAMETOOLONG),
]


@pytest.mark.parametrize("code, cls, builtin, err", BUILTIN_FOR_CODE, ids=lambda v: getattr(v, "__name__", None))
def test_every_code_maps_to_a_builtin_exception(code, cls, builtin, err):
    exc = whefs._errors.error_for(code, "the message")
    assert type(exc) is cls
    assert isinstance(exc, whefs.Error) and isinstance(exc, builtin)
    assert exc.code == code
    assert exc.name == c.whefs_rc_name(code) and exc.name.startswith("WHEFS_ERR_")
    if err is not None:
        assert exc.errno == err and exc.strerror == "the message"
    else:
        assert str(exc) == "the message"
    again = pickle.loads(pickle.dumps(exc))  # crosses multiprocessing
    assert type(again) is cls and str(again) == str(exc)


@pytest.mark.parametrize("code", [c.WHEFS_ERR_RANGE, c.WHEFS_ERR_ARG])
def test_range_and_argument_errors_are_also_value_errors(code):
    exc = whefs._errors.error_for(code, "seek before 0")
    assert isinstance(exc, ValueError) and isinstance(exc, OSError) and exc.errno == errno.EINVAL


def test_unknown_code_is_a_plain_error():
    exc = whefs._errors.error_for(99, "future")
    assert type(exc) is whefs.Error and exc.code == 99 and exc.name == "WHEFS_ERR_UNKNOWN"


def test_operations_raise_builtin_exceptions_with_the_library_message(fs):
    with pytest.raises(FileNotFoundError) as info:
        fs.read_bytes("no/such/file")
    e = info.value
    assert isinstance(e, whefs.NotFoundError)
    assert e.code == c.WHEFS_ERR_NOT_FOUND and e.name == "WHEFS_ERR_NOT_FOUND"
    assert e.errno == errno.ENOENT and "no/such/file" in str(e)

    fs.mkdir("d")
    fs.write_bytes("f", b"")
    with pytest.raises(FileExistsError):
        fs.mkdir("d")
    with pytest.raises(IsADirectoryError):
        fs.open("d", "w")
    with pytest.raises(NotADirectoryError):
        fs.write_bytes("f/x", b"")
    with pytest.raises(FileNotFoundError):
        fs.open("missing", "r")
    with pytest.raises(ValueError) as bad:
        fs.write_bytes("a//b/../c", b"")
    assert isinstance(bad.value, whefs.ArgumentError)
    with pytest.raises(OSError) as long:
        fs.write_bytes("n" * 256, b"")
    assert long.value.errno == errno.ENAMETOOLONG


def test_catching_whefs_error_catches_them_all(fs):
    for call in (lambda: fs.read_bytes("x"), lambda: fs.rmdir("/"), lambda: fs.glob("")):
        with pytest.raises(whefs.Error):
            call()


def test_panic_in_the_library_is_runtime_error_not_a_crash():
    with pytest.raises(RuntimeError) as info:
        c.whefs_test_panic()
    assert isinstance(info.value, whefs.InternalError)
    assert "panic" in str(info.value)


def test_wrong_argument_types_are_type_errors(fs):
    with pytest.raises(TypeError):
        fs.write_bytes("s", "text is not bytes")
    with pytest.raises(TypeError):
        fs.write_text("s", b"bytes are not text")
    with fs.open("b", "wb") as f:
        with pytest.raises(TypeError):
            f.write("text")
