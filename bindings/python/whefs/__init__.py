"""whefs: a whole filesystem in one container file.

    import whefs

    with whefs.open("app.whefs") as fs:           # created if missing
        fs.mkdir("logs", exist_ok=True)
        with fs.open("logs/app.log", "a") as log:  # a real file object
            log.write("started\\n")                # committed at close
        print(fs.listdir("logs"), fs.stat("logs/app.log").st_size)

:func:`open` returns an :class:`Fs`; its ``open()`` returns file objects
built on ``io.RawIOBase`` (buffered, text mode, ``readline``, iteration).
Errors are :class:`Error` subclasses that are also the builtin exceptions
(``FileNotFoundError``, ``TimeoutError`` for a busy lock, ``ValueError``
after close, ...). The low-level SWIG module is ``whefs.whefs_c``.
"""

from __future__ import annotations

import os
from typing import Any

from . import whefs_c
from ._errors import (
    AccessError,
    ArgumentError,
    BadMagicError,
    BusyError,
    ClosedError,
    CorruptError,
    Error,
    ExistsError,
    FullError,
    InputOutputError,
    InternalError,
    IsADirError,
    NameTooLongError,
    NotADirError,
    NotEmptyError,
    NotFoundError,
    OutOfMemoryError,
    RangeError,
    SameFileError,
    UnsupportedError,
    error_for,
)
from ._files import BufferedRandom, BufferedReader, BufferedWriter, RawFile
from ._fs import (
    _DURABILITY,
    BackupReport,
    Change,
    ChangeKind,
    CompactReport,
    DirEntry,
    Fs,
    Info,
    ScandirIterator,
    Snapshot,
    StatResult,
    _timeout_ms,
)
from ._txn import Transaction

__version__ = whefs_c.whefs_version()

__all__ = [
    "open",
    "open_image",
    "Fs",
    "Transaction",
    "RawFile",
    "BufferedReader",
    "BufferedWriter",
    "BufferedRandom",
    "DirEntry",
    "ScandirIterator",
    "StatResult",
    "Info",
    "Snapshot",
    "Change",
    "ChangeKind",
    "BackupReport",
    "CompactReport",
    "Error",
    "AccessError",
    "ArgumentError",
    "BadMagicError",
    "BusyError",
    "ClosedError",
    "CorruptError",
    "ExistsError",
    "FullError",
    "InputOutputError",
    "InternalError",
    "IsADirError",
    "NameTooLongError",
    "NotADirError",
    "NotEmptyError",
    "NotFoundError",
    "OutOfMemoryError",
    "RangeError",
    "SameFileError",
    "UnsupportedError",
]

#: The default busy timeout, in seconds.
DEFAULT_BUSY_TIMEOUT = whefs_c.WHEFS_DEFAULT_BUSY_TIMEOUT_MS / 1000


def open(  # noqa: A001 - whefs.open, like dbm.open and sqlite3.connect
    path: Any,
    mode: str | None = None,
    *,
    create: bool | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    durability: str = "full",
    container_lock: bool = False,
    page_size: int | None = None,
    label: str | None = None,
    snapshot: str | None = None,
) -> Fs:
    """Opens the container file at ``path`` (``":memory:"``: a new one in RAM).

    ``mode``: ``"rw"`` (read-write, the default) or ``"r"`` (read-only).
    ``create``: make the container if it is missing — the default for
    ``"rw"``; with ``create=False`` a missing container is
    FileNotFoundError. ``busy_timeout``: seconds to wait for a lock held by
    another handle or process (also while opening) before TimeoutError.
    ``durability``: ``"full"`` (every commit survives power loss),
    ``"normal"`` or ``"off"``. ``container_lock``: the 2009 library's mode,
    a read-write open excludes every other. ``page_size`` (4096..65536, a
    power of two) and ``label`` apply only when this call creates the
    container. ``snapshot``: open that named snapshot instead of the latest
    state, read-only (the mode defaults to ``"r"``; ``"rw"`` is
    PermissionError), as :meth:`Fs.open_snapshot` does.
    """
    host_path = os.fspath(path)
    if mode is None:
        mode = "r" if snapshot is not None else "rw"
    if snapshot is not None:
        if mode == "rw":
            raise error_for(whefs_c.WHEFS_ERR_ACCESS, "a snapshot is read-only; open it with mode 'r'")
        if not isinstance(snapshot, str):
            raise TypeError(f"snapshot must be str, not {type(snapshot).__name__}")
    if mode not in ("rw", "r"):
        raise ValueError(f"mode must be 'rw' or 'r', not {mode!r}")
    if create is None:
        create = mode == "rw"
    if create and mode == "r":
        raise ValueError("create=True needs mode 'rw'")
    if durability not in _DURABILITY:
        raise ValueError(f"durability must be 'full', 'normal' or 'off', not {durability!r}")
    flags = whefs_c.WHEFS_OPEN_READWRITE if mode == "rw" else whefs_c.WHEFS_OPEN_READONLY
    if create:
        flags |= whefs_c.WHEFS_OPEN_CREATE
    if container_lock:
        flags |= whefs_c.WHEFS_OPEN_CONTAINER_LOCK
    ptr = whefs_c.whefs_fs_open_ex(host_path, flags, _timeout_ms(busy_timeout), page_size or 0, label)
    fs = Fs(ptr, host_path if isinstance(host_path, str) else os.fsdecode(host_path),
            readonly=mode == "r", busy_timeout=busy_timeout, durability="full")
    if snapshot is not None:
        # The view holds what it needs of the open it came from.
        with fs:
            return fs.open_snapshot(snapshot)
    if durability != "full":
        try:
            fs.durability = durability
        except BaseException:
            fs.close()
            raise
    return fs


def open_image(data: Any) -> Fs:
    """Opens a container image held in memory (any bytes-like object),
    read-only. The bytes are copied once unless ``data`` is ``bytes``."""
    image = bytes(data)  # immutable, and kept alive by the Fs: the library borrows it
    ptr = whefs_c.whefs_fs_open_image(image)
    return Fs(ptr, ":image:", readonly=True, busy_timeout=DEFAULT_BUSY_TIMEOUT,
              durability="full", image=image)
