"""Fs: an open container, with the ``os``/``pathlib``-shaped calls on it.

Invariant: the container handle is closed only after every file, listing and
transaction opened from it (``close()`` closes them first, committing open
writers and aborting open transactions), and only when no call on it is
running (see ``_handle``). Files and transactions keep their ``Fs`` alive,
so dropping the ``Fs`` object never closes it under them.
"""

from __future__ import annotations

import io
import os
import stat as _stat
import threading
import warnings
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, TypeVar

from . import whefs_c as _c
from ._errors import (
    ExistsError,
    IsADirError,
    NotADirError,
    NotFoundError,
    SameFileError,
    closed_error,
    error_for,
)
from ._files import RawFile, open_file
from ._handle import Handle

if TYPE_CHECKING:
    from ._txn import Transaction

_R = TypeVar("_R")

_DURABILITY = {
    "full": _c.WHEFS_DURABLE_FULL,
    "normal": _c.WHEFS_DURABLE_NORMAL,
    "off": _c.WHEFS_DURABLE_OFF,
}


def _path(path: Any) -> str:
    """A container path from str, bytes (UTF-8) or os.PathLike."""
    p: str | bytes = os.fspath(path)
    return p.decode("utf-8") if isinstance(p, bytes) else p


def _timeout_ms(seconds: float) -> int:
    if seconds < 0:
        raise ValueError(f"busy_timeout must be >= 0, not {seconds!r}")
    return min(int(round(seconds * 1000)), 0xFFFF_FFFF)


@dataclass(frozen=True)
class StatResult:
    """What ``Fs.stat()`` reports, named like ``os.stat_result``."""

    st_mode: int  #: file type and permission bits (``stat.S_ISDIR(st.st_mode)`` works)
    st_ino: int  #: inode number, stable for the file's life
    st_size: int  #: size in bytes (0 for directories)
    st_mtime_ns: int  #: last modification, ns since the epoch
    st_ctime_ns: int  #: last status change, ns since the epoch
    st_atime_ns: int = 0  #: last access as recorded (creation, ``utime``), ns
    st_nlink: int = 1  #: link count (names of a file; 2 + subdirectories of a directory)
    st_uid: int = 0  #: owner's user id
    st_gid: int = 0  #: owner's group id

    @property
    def st_mtime(self) -> float:
        return self.st_mtime_ns / 1e9

    @property
    def st_ctime(self) -> float:
        return self.st_ctime_ns / 1e9

    def is_dir(self) -> bool:
        return _stat.S_ISDIR(self.st_mode)

    def is_file(self) -> bool:
        return _stat.S_ISREG(self.st_mode)

    def is_symlink(self) -> bool:
        return _stat.S_ISLNK(self.st_mode)

    @classmethod
    def _from_c(cls, st: Any) -> StatResult:
        kind = {
            _c.WHEFS_KIND_DIR: _stat.S_IFDIR,
            _c.WHEFS_KIND_SYMLINK: _stat.S_IFLNK,
        }.get(st.kind, _stat.S_IFREG)
        return cls(
            st_mode=kind | _stat.S_IMODE(st.mode),
            st_ino=st.ino,
            st_size=st.size,
            st_mtime_ns=st.mtime_ns,
            st_ctime_ns=st.ctime_ns,
            st_atime_ns=st.atime_ns,
            st_nlink=st.nlink,
            st_uid=st.uid,
            st_gid=st.gid,
        )


@dataclass(frozen=True)
class Info:
    """Container-wide figures as of the latest commit (``Fs.info()``)."""

    page_size: int  #: bytes per page
    generation: int  #: number of the latest commit
    pages_total: int  #: pages in the container file
    pages_used: int  #: pages holding live data or metadata
    pages_free: int  #: pages free for reuse now
    pages_pending: int  #: pages freed recently, reusable once no reader needs them
    files: int  #: number of pseudofiles
    dirs: int  #: number of directories, the root included
    snapshots: int = 0  #: number of named snapshots
    pages_snapshot: int = 0  #: pages only snapshots reference (not in ``pages_used``)
    pages_reclaimable: int = 0  #: pages ``compact()`` could give back at most


@dataclass(frozen=True)
class Snapshot:
    """A named snapshot (``Fs.snapshots()``, ``Fs.create_snapshot()``)."""

    name: str  #: its name
    generation: int  #: the commit whose state it keeps
    created_ns: int  #: when it was taken, ns since the epoch
    files: int  #: files and symbolic links in it
    dirs: int  #: directories in it, the root included
    exclusive_pages: int  #: pages only it references: what deleting it gives back

    @property
    def created(self) -> float:
        """When it was taken, seconds since the epoch (as ``time.time()``)."""
        return self.created_ns / 1e9

    @classmethod
    def _from_c(cls, t: tuple[str, int, int, int, int, int]) -> Snapshot:
        return cls(*t)


@dataclass(frozen=True)
class BackupReport:
    """What ``Fs.backup()`` wrote."""

    generation: int  #: the commit copied (of the container, or of a view's snapshot)
    pages: int  #: pages in the copy, page 0 included
    bytes: int  #: bytes in the copy: the size of the new file
    files: int  #: files and symbolic links copied
    dirs: int  #: directories copied, the root included


@dataclass(frozen=True)
class CompactReport:
    """What ``Fs.compact()`` did."""

    pages_before: int  #: pages in the container before
    pages_after: int  #: pages after: the file is now this many pages long
    data_pages_moved: int  #: data pages moved from the tail into free space
    commits: int  #: commits made


ChangeKind = Literal["added", "removed", "changed"]

_CHANGE_KINDS: dict[int, ChangeKind] = {
    _c.WHEFS_CHANGE_ADDED: "added",
    _c.WHEFS_CHANGE_REMOVED: "removed",
    _c.WHEFS_CHANGE_CHANGED: "changed",
}


@dataclass(frozen=True)
class Change:
    """One difference found by ``Fs.diff()``."""

    kind: ChangeKind  #: "added" (only in the newer state), "removed" or "changed"
    path: str  #: the absolute path ("/dir/file")


class DirEntry:
    """One entry of ``Fs.scandir()``, shaped like ``os.DirEntry``."""

    __slots__ = ("name", "path", "ino", "size", "_kind")

    def __init__(self, name: str, path: str, kind: int, ino: int, size: int) -> None:
        self.name = name  #: the entry's name
        self.path = path  #: its path in the container
        self.ino = ino  #: inode number
        self.size = size  #: size in bytes (0 for directories)
        self._kind = kind

    def is_dir(self) -> bool:
        return self._kind == _c.WHEFS_KIND_DIR

    def is_file(self) -> bool:
        return self._kind == _c.WHEFS_KIND_FILE

    def is_symlink(self) -> bool:
        return self._kind == _c.WHEFS_KIND_SYMLINK

    def inode(self) -> int:
        return self.ino

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"<whefs.DirEntry {self.name!r}>"


class ScandirIterator:
    """The listing of one directory as of the commit it was opened at; a
    context manager like ``os.scandir()``'s, closed at the end anyway."""

    def __init__(self, fs: Fs, ptr: Any, path: str) -> None:
        self._fs = fs
        self._h = Handle(ptr, "directory listing")
        self._prefix = "" if path.strip("/") == "" else path.rstrip("/") + "/"

    def __iter__(self) -> ScandirIterator:
        return self

    def __next__(self) -> DirEntry:
        if self._h.closed:
            raise StopIteration
        item = self._h.call(_c.whefs_dir_next)
        if item is None:
            self.close()
            raise StopIteration
        name, kind, ino, size = item
        return DirEntry(name, self._prefix + name, kind, ino, size)

    def close(self) -> None:
        ptr = self._h.detach()
        if ptr is not None:
            try:
                _c.whefs_dir_close(ptr)
            finally:
                self._fs._forget(self)

    _close_from_fs = close

    def __enter__(self) -> ScandirIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_h", None) is not None:
            self.close()


class Fs:
    """An open container. Make one with :func:`whefs.open`.

    Any thread may use it, and calls from several threads run in parallel
    (the GIL is released inside the library). Use it as a context manager,
    or call :meth:`close`.
    """

    def __init__(self, ptr: Any, path: str, *, readonly: bool, busy_timeout: float,
                 durability: str, image: bytes | None = None,
                 snapshot: str | None = None) -> None:
        self._h = Handle(ptr, "container")
        self._children: weakref.WeakSet[Any] = weakref.WeakSet()
        self._children_lock = threading.Lock()
        self._image = image  # an image container (and its views) borrow these bytes
        self.path = path  #: the container's host path (or ":memory:")
        self.readonly = readonly  #: opened with mode "r", or a snapshot view
        self.snapshot = snapshot  #: the snapshot a view reads; None for the latest state
        self._busy_timeout = busy_timeout
        self._durability = durability

    # -- life --------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._h.closed

    def close(self) -> None:
        """Closes every file (committing it) and listing still open from this
        container and aborts its open transactions, then closes the container. Closing twice is fine. Errors of the
        files' commits are raised after everything is closed."""
        # No call runs on the container after detach(), so no file or
        # listing can be opened from it while the ones open are closed.
        ptr = self._h.detach()
        if ptr is None:
            return
        first_error: BaseException | None = None
        with self._children_lock:
            children = list(self._children)
            self._children.clear()
        for child in children:
            try:
                child._close_from_fs()
            except BaseException as e:  # close the rest; report the first
                first_error = first_error or e
        _c.whefs_fs_close(ptr)
        self._image = None
        if first_error is not None:
            raise first_error

    def __enter__(self) -> Fs:
        if self.closed:
            raise closed_error("container")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_h", None) is None or self._h.closed:
            return
        warnings.warn(f"unclosed whefs container {self.path!r}", ResourceWarning, source=self)
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.readonly else "read-write")
        if self.snapshot is not None:
            state = f"snapshot {self.snapshot!r} {state}"
        return f"<whefs.Fs {self.path!r} {state}>"

    def _call(self, fn: Callable[..., _R], *args: Any) -> _R:
        return self._h.call(fn, *args)

    def _adopt(self, child: Any) -> None:
        with self._children_lock:
            self._children.add(child)

    def _forget(self, child: Any) -> None:
        with self._children_lock:
            self._children.discard(child)

    # -- settings --------------------------------------------------------
    @property
    def busy_timeout(self) -> float:
        """Seconds a call waits for a lock (a second writer of a file, ...)
        before it raises TimeoutError."""
        return self._busy_timeout

    @busy_timeout.setter
    def busy_timeout(self, seconds: float) -> None:
        self._call(_c.whefs_fs_set_busy_timeout, _timeout_ms(seconds))
        self._busy_timeout = seconds

    @property
    def durability(self) -> str:
        """"full" (every commit survives power loss), "normal" (a crash may
        lose the latest commits) or "off" (no syncs)."""
        return self._durability

    @durability.setter
    def durability(self, value: str) -> None:
        if value not in _DURABILITY:
            raise ValueError(f"durability must be 'full', 'normal' or 'off', not {value!r}")
        self._call(_c.whefs_fs_set_durability, _DURABILITY[value])
        self._durability = value

    @property
    def label(self) -> str:
        """The container's label ("" if none): given at creation, changed
        with :meth:`set_label` (or by assigning to this property)."""
        return self._call(_c.whefs_fs_label_get)

    @label.setter
    def label(self, label: str) -> None:
        self.set_label(label)

    def set_label(self, label: str) -> None:
        """Sets the container's label in one commit: at most 64 bytes of
        UTF-8 (ValueError if longer); "" removes it."""
        if not isinstance(label, str):
            raise TypeError(f"label must be str, not {type(label).__name__}")
        self._call(_c.whefs_fs_label_set, label)

    # -- files -------------------------------------------------------------
    def open(self, path: Any, mode: str = "r", buffering: int = -1, encoding: str | None = None,
             errors: str | None = None, newline: str | None = None) -> Any:
        """Opens a pseudofile like the builtin ``open()``: modes ``r w a x``,
        ``+``, ``b``/``t``; text mode decodes UTF-8 unless told otherwise.
        ``flush()`` and ``close()`` commit."""
        creating = isinstance(mode, str) and any(c in mode for c in "wax")
        return open_file(self, self._file_path(path, creating=creating), mode, buffering, encoding, errors, newline)

    def _open_raw(self, path: str, c_mode: str, raw_mode: str, *, readable: bool,
                  writable: bool, append: bool) -> RawFile:
        fs_ptr = self._h.enter()  # adopted before close() can start closing children
        try:
            ptr = _c.whefs_file_open(fs_ptr, path, c_mode)
            try:
                pos = _c.whefs_file_size(ptr) if append else 0  # "a" starts at the end
            except BaseException:
                _c.whefs_file_close(ptr)
                raise
            raw = RawFile(self, ptr, path, raw_mode, readable=readable, writable=writable,
                          append=append, pos=pos)
            self._adopt(raw)
            return raw
        finally:
            self._h.leave()

    def read_bytes(self, path: Any) -> bytes:
        """The whole file, as of the latest commit."""
        return self._call(_c.whefs_read_file, self._file_path(path))

    def write_bytes(self, path: Any, data: Any) -> int:
        """Creates or replaces the file with ``data`` (any bytes-like object)
        in one atomic commit; returns the number of bytes."""
        view = memoryview(data)
        self._call(_c.whefs_write_file, self._file_path(path, creating=True), view)
        return view.nbytes

    def read_text(self, path: Any, encoding: str = "utf-8", errors: str | None = None) -> str:
        """The whole file decoded, newlines translated as in text mode."""
        data = self.read_bytes(path)
        with io.TextIOWrapper(io.BytesIO(data), encoding, errors) as text:
            return text.read()

    def write_text(self, path: Any, data: str, encoding: str = "utf-8",
                   errors: str | None = None, newline: str | None = None) -> int:
        """Creates or replaces the file with ``data`` encoded, in one commit;
        returns the number of characters."""
        if not isinstance(data, str):
            raise TypeError(f"data must be str, not {type(data).__name__}")
        text = data if newline in (None, "", "\n") else data.replace("\n", newline)
        self.write_bytes(path, text.encode(encoding, errors or "strict"))
        return len(data)

    # -- namespace ---------------------------------------------------------
    def stat(self, path: Any) -> StatResult:
        """``os.stat``: follows symbolic links."""
        return StatResult._from_c(self._call(_c.whefs_statx, self._file_path(path), 0))

    def lstat(self, path: Any) -> StatResult:
        """``os.lstat``: a symbolic link at the end of ``path`` is described itself."""
        return StatResult._from_c(
            self._call(_c.whefs_statx, self._file_path(path), _c.WHEFS_STAT_NOFOLLOW)
        )

    # -- POSIX metadata (each change is one commit) ---------------------------
    def chmod(self, path: Any, mode: int) -> None:
        """``os.chmod``: sets the permission bits (``0o7777``); kept, not
        enforced by the library (a mount lets the kernel enforce them)."""
        self._call(_c.whefs_chmod, _path(path), mode & 0o7777)

    def chown(self, path: Any, uid: int = -1, gid: int = -1) -> None:
        """``os.chown``: -1 leaves an id as it is."""
        keep = 0xFFFF_FFFF  # WHEFS_ID_KEEP (SWIG makes the macro a signed int)
        self._call(_c.whefs_chown, _path(path), keep if uid == -1 else uid,
                   keep if gid == -1 else gid)

    def utime(self, path: Any, times: tuple[float, float] | None = None, *,
              ns: tuple[int, int] | None = None) -> None:
        """``os.utime``: (atime, mtime) in seconds, or ``ns=`` in
        nanoseconds; neither sets both to now."""
        if times is not None and ns is not None:
            raise ValueError("utime: give times or ns, not both")
        if ns is None:
            now = 0x7FFF_FFFF_FFFF_FFFE  # WHEFS_TIME_NOW
            ns = ((now, now) if times is None
                  else (int(times[0] * 1e9), int(times[1] * 1e9)))
        self._call(_c.whefs_utimens, _path(path), ns[0], ns[1])

    def symlink(self, target: Any, link: Any) -> None:
        """``os.symlink(target, link)``: ``target`` is kept as given and
        resolved when followed (relative to the link's directory, or from
        the container's root if it starts with ``/``)."""
        self._call(_c.whefs_symlink, _path(target), _path(link))

    def readlink(self, path: Any) -> str:
        """``os.readlink``: the target of a symbolic link (ArgumentError, a
        ValueError, if ``path`` is not one)."""
        return self._call(_c.whefs_readlink, _path(path))

    def link(self, src: Any, dst: Any) -> None:
        """``os.link``: a second name for a file (IsADirectoryError for a
        directory); both names share content and link count."""
        self._call(_c.whefs_link, _path(src), _path(dst))

    def truncate(self, path: Any, length: int) -> None:
        """``os.truncate``: cuts or extends (with a hole) in one commit."""
        self._call(_c.whefs_truncate, _path(path), length)

    def sync(self) -> None:
        """Makes every commit so far durable (one fdatasync of the container)."""
        self._call(_c.whefs_fs_sync)

    def exists(self, path: Any) -> bool:
        """As ``os.path.exists``: False also when a component is a file."""
        try:
            return self._call(_c.whefs_exists, self._file_path(path))
        except NotADirError:
            return False

    def is_dir(self, path: Any) -> bool:
        try:
            return self.stat(path).is_dir()
        except (NotFoundError, NotADirError):
            return False

    def is_file(self, path: Any) -> bool:
        try:
            return self.stat(path).is_file()
        except (NotFoundError, NotADirError):
            return False

    def _file_path(self, path: Any, *, creating: bool = False) -> str:
        """A path checked as the host checks a trailing "/" (the library
        itself reads "f/" as "f"): it names a directory, so creating a file
        there is IsADirectoryError, and for a file it is NotADirectoryError
        (open(2)'s EISDIR and ENOTDIR)."""
        p = _path(path)
        if p.endswith("/") and p.strip("/"):
            if creating:
                raise error_for(_c.WHEFS_ERR_IS_DIR, f"is a directory: {p}")
            try:
                is_file = self._call(_c.whefs_stat, p).kind == _c.WHEFS_KIND_FILE
            except NotFoundError:
                is_file = False
            if is_file:
                raise error_for(_c.WHEFS_ERR_NOT_DIR, f"not a directory: {p}")
        return p

    def mkdir(self, path: Any, parents: bool = False, exist_ok: bool = False) -> None:
        """Creates a directory, as ``pathlib.Path.mkdir``: with ``parents``
        the missing parents too; with ``exist_ok`` an existing directory is
        fine."""
        p = _path(path)
        try:
            if parents and exist_ok:
                try:
                    self._call(_c.whefs_mkdir_all, p)
                except NotADirError:
                    if self.is_file(p.rstrip("/")):  # os.makedirs: the file is in the way
                        raise error_for(_c.WHEFS_ERR_EXISTS, f"already exists, not a directory: {p}") from None
                    raise
                return
            try:
                self._call(_c.whefs_mkdir, p)
            except NotFoundError:
                parent = p.rstrip("/").rpartition("/")[0]
                if not parents or not parent:
                    raise
                self._call(_c.whefs_mkdir_all, parent)
                self._call(_c.whefs_mkdir, p)
        except ExistsError:
            if not exist_ok or not self.is_dir(p):
                raise

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        """``os.makedirs``: ``mkdir(path, parents=True, exist_ok=exist_ok)``."""
        self.mkdir(path, parents=True, exist_ok=exist_ok)

    def remove(self, path: Any) -> None:
        """Removes a file (IsADirectoryError for a directory). Open handles
        keep their snapshot."""
        self._call(_c.whefs_unlink, self._file_path(path))

    unlink = remove

    def rmdir(self, path: Any) -> None:
        """Removes an empty directory (OSError ENOTEMPTY otherwise)."""
        self._call(_c.whefs_rmdir, _path(path))

    def rename(self, src: Any, dst: Any) -> None:
        """Renames atomically; replaces a file (not a directory) at ``dst``."""
        s, d = self._file_path(src), self._file_path(dst)
        if d.endswith("/") and d.strip("/") and self.is_file(s):  # rename(2): a file cannot become "g/"
            raise error_for(_c.WHEFS_ERR_NOT_DIR, f"not a directory: {d}")
        self._call(_c.whefs_rename, s, d)

    replace = rename

    def copy(self, src: Any, dst: Any) -> int:
        """Copies the file ``src`` to ``dst`` (replacing a file there) in one
        commit, as ``shutil.copyfile``; returns the number of bytes copied.
        Readers of ``dst`` see the old file or the whole copy."""
        s = self._file_path(src)
        try:
            d = self._file_path(dst, creating=True)
        except IsADirError:
            if not self.exists(dst):  # as shutil.copyfile says for "new/"
                raise NotFoundError(f"directory does not exist: {dst}") from None
            raise
        if s.strip("/") == d.strip("/"):
            raise SameFileError(f"{s!r} and {d!r} are the same file")
        return self._call(_c.whefs_copy, s, d)

    def rmtree(self, path: Any) -> None:
        """Removes a directory and everything below it in one commit, as
        ``shutil.rmtree``: others see the whole tree or none of it.
        NotADirectoryError for a file."""
        self._call(_c.whefs_remove_all, _path(path))

    # -- transactions --------------------------------------------------------
    def transaction(self) -> Transaction:
        """Starts a :class:`Transaction`: operations recorded on it become
        visible together at its commit, or never::

            with fs.transaction() as t:       # commits at the end of the block,
                t.write_bytes("a", b"1")      # aborts if an exception leaves it
                t.rename("b", "c")

        PermissionError on a read-only container."""
        from ._txn import Transaction

        fs_ptr = self._h.enter()  # adopted before close() can start closing children
        try:
            txn = Transaction(self, _c.whefs_txn_begin(fs_ptr))
            self._adopt(txn)
            return txn
        finally:
            self._h.leave()

    # -- listings ----------------------------------------------------------
    def scandir(self, path: Any = "/") -> ScandirIterator:
        """Entries of a directory in name order, as ``os.scandir()``."""
        p = _path(path)
        fs_ptr = self._h.enter()  # adopted before close() can start closing children
        try:
            it = ScandirIterator(self, _c.whefs_dir_open(fs_ptr, p), p)
            self._adopt(it)
            return it
        finally:
            self._h.leave()

    def listdir(self, path: Any = "/") -> list[str]:
        """Names in a directory, in name order."""
        with self.scandir(path) as it:
            return [entry.name for entry in it]

    def walk(self, top: Any = "/") -> Iterator[tuple[str, list[str], list[str]]]:
        """``os.walk`` top-down: (dirpath, dirnames, filenames); prune
        ``dirnames`` in place to skip subtrees."""
        top = _path(top)
        dirs: list[str] = []
        files: list[str] = []
        with self.scandir(top) as it:
            for entry in it:
                (dirs if entry.is_dir() else files).append(entry.name)
        yield top, dirs, files
        base = "" if top.strip("/") == "" else top.rstrip("/") + "/"
        for name in dirs:
            yield from self.walk(base + name)

    def glob(self, pattern: Any) -> list[str]:
        """Paths matching a glob pattern, depth first and in name order
        within a directory: ``*``, ``?``,
        ``[a-z]``, ``[!a-z]``, and ``**`` for any number of directories
        (``"logs/**/*.txt"``). Paths have no leading ``/``."""
        return [m[0] for m in self._call(_c.whefs_ls, _path(pattern))]

    # -- the whole container -------------------------------------------------
    def check(self) -> None:
        """Checks every page checksum, the tree and the allocator (fsck);
        raises CorruptError (an OSError) with the finding."""
        self._call(_c.whefs_fs_check)

    def info(self) -> Info:
        """Container-wide figures as of the latest commit (of a snapshot
        view: the snapshot's generation and counts, the container's pages)."""
        i = self._call(_c.whefs_fs_info_v2)
        return Info(
            page_size=i.page_size,
            generation=i.generation,
            pages_total=i.pages_total,
            pages_used=i.pages_used,
            pages_free=i.pages_free,
            pages_pending=i.pages_pending,
            files=i.files,
            dirs=i.dirs,
            snapshots=i.snapshots,
            pages_snapshot=i.pages_snapshot,
            pages_reclaimable=i.pages_reclaimable,
        )

    def backup(self, dest: Any, progress: Callable[[int, int], object] | None = None) -> BackupReport:
        """Copies the state this Fs reads (the latest commit, or a view's
        snapshot) into a new container file at ``dest`` (a host path) while
        other handles and processes go on writing: they are never blocked,
        and what they commit meanwhile is not in the copy. The copy holds
        only live pages: no snapshots, no free space. ``dest`` must not
        exist (FileExistsError); it appears only complete and synced.

        ``progress``, if given, is called as ``progress(done_pages,
        total_pages)`` on this thread while the copy proceeds. If it raises,
        it is not called again and its exception is raised once the backup
        has ended (a backup cannot be stopped half-way; it completes)."""
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable or None, not {type(progress).__name__}")
        generation, pages, size, files, dirs = self._call(
            _c.whefs_fs_backup, os.fspath(dest), progress
        )
        return BackupReport(generation, pages, size, files, dirs)

    def compact(self) -> CompactReport:
        """Shrinks the container file in place: moves live pages from its end
        into free space, commits and truncates; crash-safe at every step.
        Pages that snapshots hold are not moved. It needs the container to
        itself: it waits up to ``busy_timeout`` for other opens to close,
        and this Fs must have no file, listing, transaction or snapshot view
        open; otherwise TimeoutError (a BusyError) says why.
        PermissionError on a read-only container or a view."""
        r = self._call(_c.whefs_fs_compact)
        return CompactReport(r.pages_before, r.pages_after, r.data_pages_moved, r.commits)

    # -- named snapshots ------------------------------------------------------
    def create_snapshot(self, name: str) -> Snapshot:
        """Takes a snapshot named ``name`` of the latest committed state, in
        one commit: a read-only copy that costs no space until files change,
        kept (its pages never reused) until :meth:`delete_snapshot`. The name
        follows the rules of a file name. FileExistsError if it is taken;
        PermissionError on a read-only container or a view."""
        return Snapshot._from_c(self._call(_c.whefs_snapshot_create, _snapshot_name(name)))

    def snapshots(self) -> list[Snapshot]:
        """The named snapshots, in name order (of a view: its container's)."""
        ptr = self._call(_c.whefs_snapshot_list_open)
        try:
            out = []
            while (item := _c.whefs_snapshot_list_next(ptr)) is not None:
                out.append(Snapshot._from_c(item))
            return out
        finally:
            _c.whefs_snapshot_list_close(ptr)

    def delete_snapshot(self, name: str) -> int:
        """Deletes a snapshot in one commit; returns how many pages it gave
        back (reused once no reader needs them: an open view of it keeps
        reading). FileNotFoundError if there is none of that name."""
        return self._call(_c.whefs_snapshot_delete, _snapshot_name(name))

    def open_snapshot(self, name: str) -> Fs:
        """A read-only view of the snapshot ``name``: an :class:`Fs` on which
        every reading call sees the container as it was then, and every
        writing call raises PermissionError. Close it like any Fs (a
        ``with`` block); it may outlive this one. FileNotFoundError if there
        is no such snapshot."""
        ptr = self._call(_c.whefs_fs_open_snapshot, _snapshot_name(name))
        return Fs(ptr, self.path, readonly=True, busy_timeout=self._busy_timeout,
                  durability=self._durability, image=self._image, snapshot=name)

    def restore(self, snapshot: str, path: Any = "/") -> None:
        """Brings ``path`` (a file, link or subtree; ``"/"``, the default, for
        everything) back to its content in ``snapshot``, in one commit:
        what is there now is removed, the snapshot's entries are written
        again with their metadata and hard links. A path the snapshot does
        not have is removed."""
        self._call(_c.whefs_fs_restore, _snapshot_name(snapshot), _path(path))

    def diff(self, newer: Fs) -> list[Change]:
        """The paths that differ from this state (the older: typically a
        view from :meth:`open_snapshot`) to ``newer``'s (another view, or
        the container itself), sorted by path. A directory added or removed
        comes with everything below it."""
        if not isinstance(newer, Fs):
            raise TypeError(f"newer must be a whefs.Fs, not {type(newer).__name__}")
        mine = self._h.enter()
        try:
            changes = newer._call(lambda theirs: _c.whefs_diff(mine, theirs))
        finally:
            self._h.leave()
        return [Change(_CHANGE_KINDS[kind], path) for kind, path in changes]


def _snapshot_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a snapshot name must be str, not {type(name).__name__}")
    return name
