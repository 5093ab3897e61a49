"""Transaction: operations recorded now, published in one commit (all or
nothing) — ``whefs_txn_*`` of the C API.

Invariant: the ``whefs_txn *`` is ended (committed or aborted, which frees
it) exactly once, and only when no recording call on it is running (see
``_handle``). The transaction keeps its ``Fs`` alive; ``Fs.close()`` aborts
the transactions still open from it before it closes the container, as the
C API requires.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from . import whefs_c as _c
from ._errors import ClosedError
from ._fs import _path
from ._handle import Handle

if TYPE_CHECKING:
    from ._fs import Fs


class Transaction:
    """Operations on one container that become visible together, at
    :meth:`commit`, to every reader in any process — or not at all.

    Make one with :meth:`Fs.transaction`, best as a context manager: the
    ``with`` block commits at its end, or aborts if an exception leaves it.
    Nothing recorded is visible before the commit, not even through the
    ``Fs`` it came from. A recording call checks only its arguments (a bad
    one raises at once and records nothing); the commit checks every
    operation in the order recorded, each seeing the ones before, and if one
    cannot be done raises its error (``FileNotFoundError`` for a rename of a
    missing file) and commits nothing. After :meth:`commit` or
    :meth:`abort` — whatever the outcome — every call raises ``ValueError``.
    Keep transactions short: an open one holds the pages it wrote.
    """

    def __init__(self, fs: Fs, ptr: Any) -> None:
        self._fs = fs  # kept alive while the transaction is
        self._h = Handle(ptr, "transaction")

    # -- life --------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once committed or aborted."""
        return self._h.closed

    def _end(self, fn: Any) -> None:
        ptr = self._h.detach()  # waits for the recording calls in progress
        if ptr is None:
            raise self._closed()
        try:
            fn(ptr)  # frees the handle whatever it returns
        finally:
            self._fs._forget(self)

    @staticmethod
    def _closed() -> ClosedError:
        return ClosedError("transaction already committed or aborted")

    def commit(self) -> None:
        """Publishes every recorded operation in one commit. If one cannot
        be done its error is raised and nothing is committed; the
        transaction is over either way."""
        self._end(_c.whefs_txn_commit)

    def abort(self) -> None:
        """Discards every recorded operation; nothing of them is ever
        visible."""
        self._end(_c.whefs_txn_abort)

    def _close_from_fs(self) -> None:
        # Fs.close(): a transaction still open is aborted, never committed.
        ptr = self._h.detach()
        if ptr is not None:
            _c.whefs_txn_abort(ptr)

    def __enter__(self) -> Transaction:
        if self.closed:
            raise self._closed()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.closed:  # ended explicitly inside the block
            return
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def __del__(self) -> None:
        if getattr(self, "_h", None) is None or self._h.closed:
            return
        warnings.warn("unfinished whefs transaction aborted", ResourceWarning, source=self)
        try:
            self.abort()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "ended" if self.closed else "open"
        return f"<whefs.Transaction on {self._fs.path!r} {state}>"

    # -- recording ---------------------------------------------------------
    def _call(self, fn: Any, *args: Any) -> None:
        self._h.call(fn, *args)

    def write_bytes(self, path: Any, data: Any) -> int:
        """Records creating or replacing the file with ``data`` (any
        bytes-like object, taken now); returns the number of bytes."""
        view = memoryview(data)
        self._call(_c.whefs_txn_write, _path(path), view)
        return view.nbytes

    def write_text(self, path: Any, data: str, encoding: str = "utf-8",
                   errors: str | None = None, newline: str | None = None) -> int:
        """Records :meth:`write_bytes` of ``data`` encoded; returns the
        number of characters."""
        if not isinstance(data, str):
            raise TypeError(f"data must be str, not {type(data).__name__}")
        text = data if newline in (None, "", "\n") else data.replace("\n", newline)
        self.write_bytes(path, text.encode(encoding, errors or "strict"))
        return len(data)

    def mkdir(self, path: Any, parents: bool = False) -> None:
        """Records creating a directory. Without ``parents`` the parent
        must exist at the commit (or be made earlier in the transaction)
        and the path must not; with ``parents`` it is ``mkdir -p``: missing
        parents are made and an existing directory is fine."""
        self._call(_c.whefs_txn_mkdir_all if parents else _c.whefs_txn_mkdir, _path(path))

    def remove(self, path: Any) -> None:
        """Records removing a file."""
        self._call(_c.whefs_txn_unlink, _path(path))

    unlink = remove

    def rmdir(self, path: Any) -> None:
        """Records removing an empty directory."""
        self._call(_c.whefs_txn_rmdir, _path(path))

    def rmtree(self, path: Any) -> None:
        """Records removing a directory and everything below it."""
        self._call(_c.whefs_txn_remove_all, _path(path))

    def rename(self, src: Any, dst: Any) -> None:
        """Records a rename; it may rename what the transaction wrote."""
        self._call(_c.whefs_txn_rename, _path(src), _path(dst))

    replace = rename

    def set_label(self, label: str) -> None:
        """Records setting the container's label (at most 64 bytes of
        UTF-8; "" removes it)."""
        if not isinstance(label, str):
            raise TypeError(f"label must be str, not {type(label).__name__}")
        self._call(_c.whefs_txn_label_set, label)
