"""Differential test: whefs file objects against builtin files.

Hypothesis draws a mode (``r r+ w w+ a a+ x x+``), a layer (binary
buffered, binary with a tiny buffer, binary ``buffering=0``, text), the
file's state before the open (missing, or some content) and a sequence of
operations. The same sequence runs on ``open()`` of a host file and on
``fs.open()`` of a pseudofile; every result, position and exception type
(and errno) must match, and so must the file's content after ``close()``.
A failure prints the shortest sequence that differs.

Left out on purpose (see the README, "Differences from builtin files"):
``fileno()`` (a pseudofile has no descriptor), ``SEEK_DATA``/``SEEK_HOLE``
(their answers depend on the host filesystem's holes), and offsets of
terabytes (the host filesystem's size limit decides there).

``WHEFS_DIFF_EXAMPLES`` sets the number of sequences per mode and layer (default 60).
"""

from __future__ import annotations

import io
import itertools
import os
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import whefs

EXAMPLES = int(os.environ.get("WHEFS_DIFF_EXAMPLES", "60"))
MODES = ["r", "r+", "w", "w+", "a", "a+", "x", "x+"]
# (mode suffix, buffering): each way a program opens a file.
LAYERS = {
    "binary": ("b", -1),
    "binary-small-buffer": ("b", 7),
    "binary-unbuffered": ("b", 0),
    "text": ("", -1),
    "text-line-buffered": ("", 1),
}
TEXT_ALPHABET = "ab\n\r\xe9\u20ac\U0001f600"

diff_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Op:
    name: str
    args: tuple[Any, ...]

    def __repr__(self) -> str:
        return f"{self.name}{self.args!r}"


offsets = st.integers(min_value=-300, max_value=600)
whences = st.sampled_from([os.SEEK_SET, os.SEEK_CUR, os.SEEK_END])
sizes = st.one_of(st.none(), st.integers(min_value=-1, max_value=200))


def binary_ops() -> st.SearchStrategy[Op]:
    return st.one_of(
        st.builds(lambda n: Op("read", (n,)), sizes),
        st.builds(lambda n: Op("read1", (n,)), st.integers(min_value=-1, max_value=100)),
        st.builds(lambda n: Op("readinto", (n,)), st.integers(min_value=0, max_value=100)),
        st.builds(lambda n: Op("readline", (n,)), sizes),
        st.just(Op("readlines", ())),
        st.builds(lambda d: Op("write", (d,)), st.binary(max_size=60)),
        st.builds(lambda d: Op("writelines", (d,)), st.lists(st.binary(max_size=10), max_size=3)),
        st.builds(lambda o, w: Op("seek", (o, w)), offsets, whences),
        st.just(Op("tell", ())),
        st.builds(lambda n: Op("truncate", (n,)), st.one_of(st.none(), st.integers(-5, 400))),
        st.just(Op("flush", ())),
        st.just(Op("readable", ())),
        st.just(Op("writable", ())),
        st.just(Op("seekable", ())),
        st.just(Op("closed", ())),
        st.just(Op("close", ())),
    )


def text_ops() -> st.SearchStrategy[Op]:
    return st.one_of(
        st.builds(lambda n: Op("read", (n,)), sizes),
        st.builds(lambda n: Op("readline", (n,)), sizes),
        st.just(Op("readlines", ())),
        st.builds(lambda d: Op("write", (d,)), st.text(TEXT_ALPHABET, max_size=20)),
        # Text seeks take 0 or a cookie from tell(): an index into the
        # cookies seen so far (whence SEEK_SET), or 0 with any whence.
        st.builds(lambda i: Op("seek_cookie", (i,)), st.integers(min_value=0, max_value=5)),
        st.builds(lambda w: Op("seek", (0, w)), whences),
        st.builds(lambda o, w: Op("seek", (o, w)), st.integers(-3, 3), whences),
        st.just(Op("tell", ())),
        st.builds(lambda n: Op("truncate", (n,)), st.one_of(st.none(), st.integers(-2, 40))),
        st.just(Op("flush", ())),
        st.just(Op("readable", ())),
        st.just(Op("writable", ())),
        st.just(Op("closed", ())),
        st.just(Op("close", ())),
    )


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", result) or ("raise", the exception)."""
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - every exception is compared
        return "raise", e


def same(builtin: tuple[str, Any], ours: tuple[str, Any]) -> bool:
    """Equal results; or the builtin's exception class (and errno) raised by whefs too."""
    if builtin[0] != ours[0]:
        return False
    if builtin[0] == "ok":
        return bool(builtin[1] == ours[1])
    want, got = builtin[1], ours[1]
    if not isinstance(got, type(want)):
        return False
    return not isinstance(want, OSError) or want.errno == got.errno


def show(o: tuple[str, Any]) -> str:
    if o[0] == "ok":
        return repr(o[1])
    e = o[1]
    return f"{type(e).__name__}(errno={getattr(e, 'errno', None)}): {e}"


class Runner:
    """One file object, and what each operation on it returns."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.cookies: list[int] = []

    def run(self, op: Op) -> Any:
        f = self.f
        if op.name == "readinto":
            buf = bytearray(op.args[0])
            n = f.readinto(buf)
            return n, bytes(buf)
        if op.name == "seek_cookie":
            cookie = self.cookies[op.args[0] % len(self.cookies)] if self.cookies else 0
            return f.seek(cookie)
        if op.name == "closed":
            return f.closed
        result = getattr(f, op.name)(*op.args)
        if op.name == "tell":
            self.cookies.append(result)
        return result


names = itertools.count()


def run_both(tmp: Any, fs: whefs.Fs, mode: str, layer: str, initial: bytes | None,
             ops: list[Op]) -> None:
    suffix, buffering = LAYERS[layer]
    full_mode = mode + suffix
    name = f"f{next(names)}"
    host = os.path.join(tmp, name)
    if initial is not None:
        with open(host, "wb") as f:
            f.write(initial)
        fs.write_bytes(name, initial)
    kwargs: dict[str, Any] = {"buffering": buffering}
    if not suffix:
        kwargs["encoding"] = "utf-8"
    log: list[str] = [f"open({full_mode!r}, buffering={buffering}) on {'missing' if initial is None else repr(initial)}"]

    def fail(what: str, b: tuple[str, Any], w: tuple[str, Any]) -> None:
        trail = "\n  ".join(log)
        pytest.fail(f"{what}: builtin {show(b)}, whefs {show(w)}\n  {trail}")

    opened_b = outcome(lambda: open(host, full_mode, **kwargs))
    opened_w = outcome(lambda: fs.open(name, full_mode, **kwargs))
    if opened_b[0] != "ok" or opened_w[0] != "ok":
        if opened_b[0] == "ok":
            opened_b[1].close()
        if opened_w[0] == "ok":
            opened_w[1].close()
        if not same(opened_b, opened_w):
            fail("open", opened_b, opened_w)
        return
    fb, fw = opened_b[1], opened_w[1]
    try:
        if fb.mode != fw.mode:
            fail("mode", ("ok", fb.mode), ("ok", fw.mode))
        # CPython's FileIO learns seekable() from its first lseek, and a
        # failed seek(-1) before any seekable() call makes it False for
        # good (a quirk of the host file, not a property to copy): ask first.
        if fb.seekable() != fw.seekable():
            fail("seekable", ("ok", fb.seekable()), ("ok", fw.seekable()))
        rb, rw = Runner(fb), Runner(fw)
        for op in ops:
            b = outcome(lambda: rb.run(op))
            w = outcome(lambda: rw.run(op))
            log.append(f"{op!r} -> {show(b)}")
            if not same(b, w):
                fail(repr(op), b, w)
        b, w = outcome(fb.close), outcome(fw.close)
        log.append(f"close() -> {show(b)}")
        if not same(b, w):
            fail("close", b, w)
    finally:
        fb.close()
        fw.close()
    with open(host, "rb") as f:
        content_b = f.read()
    content_w = fs.read_bytes(name)
    if content_b != content_w:
        fail("content after close", ("ok", content_b), ("ok", content_w))


@pytest.fixture(scope="module")
def diff_fs(tmp_path_factory: Any) -> Any:
    tmp = tmp_path_factory.mktemp("differential")
    with whefs.open(tmp / "diff.whefs", durability="off") as fs:
        yield str(tmp), fs


initial_content = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.text(TEXT_ALPHABET, max_size=60).map(lambda s: s.encode("utf-8")),
)


@pytest.mark.parametrize("layer", ["binary", "binary-small-buffer", "binary-unbuffered"])
@pytest.mark.parametrize("mode", MODES)
@diff_settings
@given(initial=initial_content, ops=st.lists(binary_ops(), max_size=25))
def test_binary_file_objects_act_like_builtin_files(diff_fs: Any, mode: str, layer: str,
                                                     initial: bytes | None, ops: list[Op]) -> None:
    tmp, fs = diff_fs
    run_both(tmp, fs, mode, layer, initial, ops)


@pytest.mark.parametrize("layer", ["text", "text-line-buffered"])
@pytest.mark.parametrize("mode", MODES)
@diff_settings
@given(initial=initial_content, ops=st.lists(text_ops(), max_size=25))
def test_text_file_objects_act_like_builtin_files(diff_fs: Any, mode: str, layer: str,
                                                   initial: bytes | None, ops: list[Op]) -> None:
    tmp, fs = diff_fs
    run_both(tmp, fs, mode, layer, initial, ops)


class _HostFs:
    """A stand-in for an Fs over a host directory whose files raise
    ValueError for a seek before 0, as whefs once did."""

    def __init__(self, root: str) -> None:
        self.root = root

    def write_bytes(self, name: str, data: bytes) -> None:
        with open(os.path.join(self.root, name), "wb") as f:
            f.write(data)

    def read_bytes(self, name: str) -> bytes:
        with open(os.path.join(self.root, name), "rb") as f:
            return f.read()

    def open(self, name: str, mode: str, **kwargs: Any) -> Any:
        f = open(os.path.join(self.root, name), mode, **kwargs)
        seek = f.seek

        def checked_seek(offset: int, whence: int = 0) -> int:
            if whence == os.SEEK_SET and offset < 0:
                raise ValueError("seek before 0")
            return seek(offset, whence)

        f.seek = checked_seek
        return f


def test_differential_runner_reports_a_difference(tmp_path: Any) -> None:
    """The comparison can fail: a file object that raises ValueError where
    the builtin raises OSError(EINVAL) is reported, with the operations."""
    (tmp_path / "other").mkdir()
    fake: Any = _HostFs(str(tmp_path / "other"))
    run_both(str(tmp_path), fake, "r", "binary", b"abc", [Op("read", (1,)), Op("seek", (2, 0))])
    with pytest.raises(pytest.fail.Exception, match=r"seek\(-1, 0\).*builtin OSError\(errno=22\)"):
        run_both(str(tmp_path), fake, "r", "binary", b"abc", [Op("read", (1,)), Op("seek", (-1, 0))])
