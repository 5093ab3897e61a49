"""Handle: one library handle (``whefs_fs *``, ``whefs_file *``, ``whefs_dir *``)
shared by Python threads.

Invariant: the pointer is passed to the library only between ``enter()`` and
``leave()``, and ``detach()`` — the only way to get it for closing — waits
until no call is in progress and makes every later ``enter()`` raise
``ValueError``. So a handle is never closed under a running call (the C API
forbids it) and never used after it was closed, whatever the threads do.
Calls themselves run in parallel: the library serializes what it must.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

from ._errors import closed_error

_R = TypeVar("_R")


class Handle:
    __slots__ = ("_ptr", "_users", "_cond", "_what")

    def __init__(self, ptr: Any, what: str) -> None:
        self._ptr = ptr
        self._users = 0
        self._cond = threading.Condition(threading.Lock())
        self._what = what

    @property
    def closed(self) -> bool:
        return self._ptr is None

    def enter(self) -> Any:
        with self._cond:
            if self._ptr is None:
                raise closed_error(self._what)
            self._users += 1
            return self._ptr

    def leave(self) -> None:
        with self._cond:
            self._users -= 1
            if self._users == 0:
                self._cond.notify_all()

    def call(self, fn: Callable[..., _R], *args: Any) -> _R:
        """``fn(ptr, *args)`` with the pointer held open for the call."""
        ptr = self.enter()
        try:
            return fn(ptr, *args)
        finally:
            self.leave()

    def detach(self) -> Any:
        """The pointer, for closing: None if already detached. Waits for the
        calls in progress; later calls raise ValueError."""
        with self._cond:
            ptr, self._ptr = self._ptr, None
            while self._users:
                self._cond.wait()
            return ptr
