"""File objects over pseudofiles: :class:`RawFile` (an ``io.RawIOBase``)
and the buffered and text layers ``io`` puts on top of it.

The raw file keeps its own position and reads and writes with the
library's positional calls (``whefs_file_pread``/``pwrite``), so the
``io`` machinery — ``BufferedReader``, ``BufferedWriter``,
``BufferedRandom``, ``TextIOWrapper`` — gives ``readline``, iteration and
text mode as for any Python file.

``flush()`` commits: the raw file's ``flush`` is ``whefs_file_flush``, and
the buffered classes here pass ``flush()`` on to it (the stock
``io.BufferedWriter.flush()`` does not call the raw ``flush()``). ``close()``
commits too, and its error (say ``TimeoutError``, ``OSError``) is raised.
"""

from __future__ import annotations

import errno
import io
import os
import weakref
from typing import TYPE_CHECKING, Any, cast

from . import whefs_c as _c
from ._errors import RangeError, closed_error
from ._handle import Handle

if TYPE_CHECKING:
    from ._fs import Fs, StatResult

_SEEK_DATA = getattr(os, "SEEK_DATA", 3)
_SEEK_DATA_HOLE = (_SEEK_DATA, getattr(os, "SEEK_HOLE", 4))

#: The buffer size of buffered files (``buffering=-1``).
DEFAULT_BUFFER_SIZE = 64 * 1024


class RawFile(io.RawIOBase):
    """An open pseudofile, unbuffered (``fs.open(path, "rb", buffering=0)``).

    Reads see the file as committed when it was opened plus this handle's
    own writes; writes become visible to others at ``flush()`` or
    ``close()``.
    """

    def __init__(self, fs: Fs, ptr: Any, path: str, mode: str, *, readable: bool,
                 writable: bool, append: bool, pos: int) -> None:
        super().__init__()
        self._fs = fs  # keeps the Fs object alive; Fs.close() closes this file first
        self._h = Handle(ptr, "file")
        self._readable = readable
        self._writable = writable
        self._append = append
        self.name = path
        self.mode = mode
        #: The object fs.open() returned (a buffered or text file over this
        #: one), so that Fs.close() can close from the top and lose no
        #: buffered data.
        self._outer: weakref.ref[Any] | None = None
        self._pos = pos

    # -- what it can do --------------------------------------------------
    def readable(self) -> bool:
        self._check_open()
        return self._readable

    def writable(self) -> bool:
        self._check_open()
        return self._writable

    def seekable(self) -> bool:
        self._check_open()
        return True

    def _check_open(self) -> None:
        if self.closed:
            raise closed_error("file")

    def _check(self, ok: bool, what: str) -> None:
        self._check_open()
        if not ok:
            raise io.UnsupportedOperation(f"File not open for {what}")

    # -- reading ---------------------------------------------------------
    def readinto(self, buffer: Any) -> int:
        self._check(self._readable, "reading")
        n = self._h.call(_c.whefs_file_pread, buffer, self._pos)
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        self._check(self._readable, "reading")
        if size is None or size < 0:
            return self.readall()
        data = self._h.call(_c.whefs_file_pread_bytes, size, self._pos)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        self._check(self._readable, "reading")
        chunks = []
        while True:  # the size is this handle's view: one round, unless another thread writes
            left = self._h.call(_c.whefs_file_size) - self._pos
            if left <= 0:
                break
            data = self._h.call(_c.whefs_file_pread_bytes, left, self._pos)
            if not data:
                break
            self._pos += len(data)
            chunks.append(data)
        return b"".join(chunks)

    def pread(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (``os.pread``); the position
        stays. Threads may share one handle this way."""
        self._check(self._readable, "reading")
        return self._h.call(_c.whefs_file_pread_bytes, size, offset)

    # -- writing ---------------------------------------------------------
    def write(self, data: Any) -> int:
        self._check(self._writable, "writing")
        n = self._h.call(_c.whefs_file_pwrite, data, self._pos)
        if self._append:
            # The library wrote at the end, wherever we were; as write(2)
            # with O_APPEND, an empty write leaves the position.
            if n:
                self._pos = self._h.call(_c.whefs_file_size)
        else:
            self._pos += n
        return n

    def pwrite(self, data: Any, offset: int) -> int:
        """Writes ``data`` at ``offset`` (``os.pwrite``; at the end in append
        mode); the position stays. Returns the number of bytes."""
        self._check(self._writable, "writing")
        return self._h.call(_c.whefs_file_pwrite, data, offset)

    def truncate(self, size: int | None = None) -> int:
        self._check(self._writable, "writing")
        if size is None:
            size = self._pos
        size = size.__index__()
        if size < 0:  # OSError(EINVAL), as os.truncate
            raise RangeError(errno.EINVAL, f"negative size value {size}")
        self._h.call(_c.whefs_file_truncate, size)
        return size

    def flush(self) -> None:
        """Commits this handle's writes: afterwards every other handle and
        process sees them."""
        self._check_open()
        if self._writable and not self._h.closed:
            self._h.call(_c.whefs_file_flush)

    def sync(self) -> None:
        """Commits durably, whatever the container's durability setting."""
        self._check_open()
        if self._writable:
            self._h.call(_c.whefs_file_sync)

    # -- position --------------------------------------------------------
    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._check_open()
        offset = offset.__index__()
        if whence == os.SEEK_SET:
            target, whence = offset, os.SEEK_SET
        elif whence == os.SEEK_CUR:
            target, whence = self._pos + offset, os.SEEK_SET
        elif whence == os.SEEK_END:
            target = offset  # the library knows this handle's size
        elif whence in _SEEK_DATA_HOLE:
            self._pos = self._seek_data_hole(offset, whence)
            return self._pos
        else:  # OSError(EINVAL) as lseek(); also a ValueError, as the buffered layers raise
            raise RangeError(errno.EINVAL, f"invalid whence ({whence}, should be 0, 1, 2, 3 or 4)")
        # The library checks the result (before 0: RangeError, an OSError(EINVAL)).
        self._pos = self._h.call(_c.whefs_file_seek, target, whence)
        return self._pos

    def _seek_data_hole(self, offset: int, whence: int) -> int:
        """SEEK_DATA / SEEK_HOLE as lseek() on a filesystem that keeps no
        holes: all of the file is data, and the only hole is at its end."""
        size = self._h.call(_c.whefs_file_size)
        if offset < 0 or offset >= size:
            raise RangeError(errno.ENXIO, f"{'SEEK_DATA' if whence == _SEEK_DATA else 'SEEK_HOLE'}"
                             f" from {offset}: no data there (size {size})")
        return offset if whence == _SEEK_DATA else size

    def tell(self) -> int:
        self._check_open()
        return self._pos

    # -- the rest ----------------------------------------------------------
    def stat(self) -> StatResult:
        """``stat`` of this handle's view of the file."""
        from ._fs import StatResult

        self._check_open()
        return StatResult._from_c(self._h.call(_c.whefs_file_statx))

    def _close_from_fs(self) -> None:
        outer = self._outer() if self._outer is not None else None
        (outer if outer is not None else self).close()

    def close(self) -> None:
        """Commits (like ``flush()``) and closes; the commit's error is raised,
        and the file is closed either way."""
        if self.closed or getattr(self, "_h", None) is None:
            return
        try:
            ptr = self._h.detach()
            if ptr is not None:
                _c.whefs_file_close(ptr)  # commits; frees the handle whatever the result
        finally:
            self._fs._forget(self)
            super().close()  # its flush() finds the handle gone: nothing more to commit

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<whefs.RawFile{state} name={self.name!r} mode={self.mode!r}>"


class _CommitOnFlush:
    """Makes ``flush()`` of a buffered file commit: write out the buffer,
    then ``raw.flush()``."""

    def flush(self) -> None:
        super().flush()  # type: ignore[misc]
        _raw_of(self).flush()

    def sync(self) -> None:
        """Writes out the buffer and commits durably."""
        super().flush()  # type: ignore[misc]
        _raw_of(self).sync()


def _raw_of(buffered: object) -> RawFile:
    """The RawFile under one of the buffered classes here."""
    return cast(RawFile, buffered.raw)  # type: ignore[attr-defined]


class BufferedWriter(_CommitOnFlush, io.BufferedWriter):
    """A buffered pseudofile open for writing; ``flush()`` commits."""


class BufferedRandom(_CommitOnFlush, io.BufferedRandom):
    """A buffered pseudofile open for reading and writing; ``flush()`` commits."""


class BufferedReader(io.BufferedReader):
    """A buffered pseudofile open for reading."""


def parse_mode(mode: str) -> tuple[str, str, bool, bool, bool, bool]:
    """Checks a Python ``open()`` mode; returns (library mode, raw mode,
    readable, writable, append, text)."""
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    chars = set(mode)
    if len(chars) != len(mode) or not chars <= set("rwaxbt+"):
        raise ValueError(f"invalid mode: {mode!r}")
    kind = [c for c in "rwax" if c in chars]
    if len(kind) != 1:
        raise ValueError("must have exactly one of create/read/write/append mode")
    if "b" in chars and "t" in chars:
        raise ValueError("can't have text and binary mode at once")
    first = kind[0]
    plus = "+" in chars
    c_mode = first + ("+" if plus else "")
    # As io.FileIO names its mode: "w+" reads back as "rb+".
    raw_mode = {"r": "rb", "w": "rb" if plus else "wb", "a": "ab", "x": "xb"}[first] + ("+" if plus else "")
    readable = first == "r" or plus
    writable = first != "r" or plus
    return c_mode, raw_mode, readable, writable, first == "a", "b" not in chars


def open_file(fs: Fs, path: str, mode: str, buffering: int, encoding: str | None,
              errors: str | None, newline: str | None) -> Any:
    """``Fs.open``: the raw file, wrapped as ``open()`` would wrap it."""
    c_mode, raw_mode, readable, writable, append, text = parse_mode(mode)
    if not isinstance(buffering, int):
        raise TypeError(f"buffering must be int, not {type(buffering).__name__}")
    if not text:
        if encoding is not None:
            raise ValueError("binary mode doesn't take an encoding argument")
        if errors is not None:
            raise ValueError("binary mode doesn't take an errors argument")
        if newline is not None:
            raise ValueError("binary mode doesn't take a newline argument")
    if text and buffering == 0:
        raise ValueError("can't have unbuffered text I/O")

    raw = fs._open_raw(path, c_mode, raw_mode, readable=readable, writable=writable, append=append)
    try:
        if buffering == 0:
            return raw
        line_buffering = text and buffering == 1
        size = buffering if buffering > 1 else DEFAULT_BUFFER_SIZE
        if readable and writable:
            buffer: BufferedRandom | BufferedWriter | BufferedReader = BufferedRandom(raw, size)
        elif writable:
            buffer = BufferedWriter(raw, size)
        else:
            buffer = BufferedReader(raw, size)
        if not text:
            raw._outer = weakref.ref(buffer)
            return buffer
        wrapper = io.TextIOWrapper(buffer, encoding or "utf-8", errors, newline, line_buffering)
        wrapper.mode = mode  # type: ignore[misc]
        raw._outer = weakref.ref(wrapper)
        return wrapper
    except BaseException:
        raw.close()
        raise
