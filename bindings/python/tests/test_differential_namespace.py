"""Differential test of the namespace calls: each case runs once with
``os``/``shutil``/``pathlib`` on a host directory and once with the
matching ``Fs`` method, on the same starting tree, and the outcome (result,
or the builtin exception class and errno) and the tree afterwards must be
the same.

Left out on purpose (see the README, "Differences from builtin files"):
paths with "." or ".." components, which whefs rejects (ValueError) where
the host resolves them.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from typing import Any, Callable

import pytest

import whefs

# The starting tree: d/ (empty), f (a file), full/g (a directory with a file).
TREE = {"d": None, "f": b"x", "full": None, "full/g": b"y", "empty": None}


def host_ops(root: str) -> dict[str, Callable[..., Any]]:
    def p(name: str) -> str:
        return os.path.join(root, name) if name else root

    def open_close(name: str, mode: str) -> str:
        with open(p(name), mode):
            return "opened"

    def read_bytes(name: str) -> bytes:
        with open(p(name), "rb") as f:
            return f.read()

    def write_bytes(name: str, data: bytes) -> int:
        with open(p(name), "wb") as f:  # not pathlib: Path("f/") drops the "/"
            return f.write(data)

    return {
        "remove": lambda a: os.remove(p(a)),
        "rmdir": lambda a: os.rmdir(p(a)),
        "mkdir": lambda a: os.mkdir(p(a)),
        "mkdir_parents": lambda a: pathlib.Path(p(a)).mkdir(parents=True),
        "makedirs": lambda a: os.makedirs(p(a)),
        "makedirs_exist_ok": lambda a: os.makedirs(p(a), exist_ok=True),
        "rename": lambda a, b: os.rename(p(a), p(b)),
        "replace": lambda a, b: os.replace(p(a), p(b)),
        "listdir": lambda a: sorted(os.listdir(p(a))),
        "stat_size": lambda a: os.stat(p(a)).st_size if not os.path.isdir(p(a)) else "dir",
        "exists": lambda a: os.path.exists(p(a)),
        "is_dir": lambda a: os.path.isdir(p(a)),
        "is_file": lambda a: os.path.isfile(p(a)),
        "open": open_close,
        "read_bytes": read_bytes,
        "write_bytes": write_bytes,
        "copy": lambda a, b: shutil.copyfile(p(a), p(b)) and None,
        "rmtree": lambda a: shutil.rmtree(p(a)),
    }


def fs_ops(fs: whefs.Fs, root: str) -> dict[str, Callable[..., Any]]:
    def p(name: str) -> str:
        return f"{root}/{name}" if name else root

    def open_close(name: str, mode: str) -> str:
        with fs.open(p(name), mode):
            return "opened"

    def stat_size(a: str) -> Any:
        st = fs.stat(p(a))
        return "dir" if st.is_dir() else st.st_size

    return {
        "remove": lambda a: fs.remove(p(a)),
        "rmdir": lambda a: fs.rmdir(p(a)),
        "mkdir": lambda a: fs.mkdir(p(a)),
        "mkdir_parents": lambda a: fs.mkdir(p(a), parents=True),
        "makedirs": lambda a: fs.makedirs(p(a)),
        "makedirs_exist_ok": lambda a: fs.makedirs(p(a), exist_ok=True),
        "rename": lambda a, b: fs.rename(p(a), p(b)),
        "replace": lambda a, b: fs.replace(p(a), p(b)),
        "listdir": lambda a: fs.listdir(p(a)),
        "stat_size": stat_size,
        "exists": lambda a: fs.exists(p(a)),
        "is_dir": lambda a: fs.is_dir(p(a)),
        "is_file": lambda a: fs.is_file(p(a)),
        "open": open_close,
        "read_bytes": lambda a: fs.read_bytes(p(a)),
        "write_bytes": lambda a, data: fs.write_bytes(p(a), data),
        "copy": lambda a, b: fs.copy(p(a), p(b)) and None,
        "rmtree": lambda a: fs.rmtree(p(a)),
    }


CASES = [
    ("remove", "f"), ("remove", "d"), ("remove", "none"), ("remove", "f/"), ("remove", "f/x"),
    ("rmdir", "empty"), ("rmdir", "f"), ("rmdir", "full"), ("rmdir", "none"), ("rmdir", "empty/"),
    ("mkdir", "new"), ("mkdir", "d"), ("mkdir", "f"), ("mkdir", "f/x"), ("mkdir", "a/b"), ("mkdir", "new/"),
    ("mkdir_parents", "a/b/c"), ("mkdir_parents", "d"), ("mkdir_parents", "f/x"),
    ("makedirs", "d"), ("makedirs", "a/b"), ("makedirs", "f/x/y"),
    ("makedirs_exist_ok", "d"), ("makedirs_exist_ok", "f"), ("makedirs_exist_ok", "full/g/h"),
    ("rename", "f", "g"), ("rename", "none", "z"), ("rename", "f", "d"), ("rename", "d", "f"),
    ("rename", "d", "full"), ("rename", "d", "empty"), ("rename", "full", "full/sub"), ("rename", "f", "none/f"),
    ("rename", "f", "f"), ("rename", "f", "full/g"), ("rename", "f/", "g"), ("rename", "f", "g/"),
    ("rename", "d/", "e"), ("replace", "f", "full/g"),
    ("listdir", "full"), ("listdir", "f"), ("listdir", "none"), ("listdir", "full/"),
    ("stat_size", "f"), ("stat_size", "d"), ("stat_size", "f/"), ("stat_size", "d/"), ("stat_size", "f/x"),
    ("stat_size", "none"), ("stat_size", ""),
    ("exists", "f"), ("exists", "f/"), ("exists", "f/x"), ("exists", "none"), ("exists", "d/"),
    ("is_dir", "f"), ("is_dir", "d"), ("is_dir", "f/"), ("is_dir", "f/x"),
    ("is_file", "f"), ("is_file", "f/"), ("is_file", "f/x"), ("is_file", "d"),
    ("open", "d", "rb"), ("open", "d", "wb"), ("open", "d", "ab"), ("open", "f/", "rb"), ("open", "new/", "wb"),
    ("open", "d/", "rb"), ("open", "f/x", "wb"), ("open", "none/x", "wb"), ("open", "none", "rb"),
    ("open", "f", "xb"), ("open", "new", "xb"), ("open", "x" * 300, "wb"),
    ("read_bytes", "f"), ("read_bytes", "d"), ("read_bytes", "f/"), ("read_bytes", "none"),
    ("write_bytes", "new", b"n"), ("write_bytes", "d", b"n"), ("write_bytes", "f/", b"n"),
    ("write_bytes", "new/", b"n"), ("write_bytes", "full/g", b"replaced"),
    ("copy", "f", "new"), ("copy", "f", "full/g"), ("copy", "none", "x"), ("copy", "d", "x"), ("copy", "f", "d"),
    ("copy", "f", "f"), ("copy", "f", "none/x"), ("copy", "f/", "x"), ("copy", "f", "new/"),
    ("rmtree", "full"), ("rmtree", "f"), ("rmtree", "none"),
]


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - every exception is compared
        return "raise", e


def same(builtin: tuple[str, Any], ours: tuple[str, Any]) -> bool:
    if builtin[0] != ours[0]:
        return False
    if builtin[0] == "ok":
        return bool(builtin[1] == ours[1])
    want, got = builtin[1], ours[1]
    return isinstance(got, type(want)) and (not isinstance(want, OSError) or want.errno == got.errno)


def show(o: tuple[str, Any]) -> str:
    if o[0] == "ok":
        return repr(o[1])
    return f"{type(o[1]).__name__}(errno={getattr(o[1], 'errno', None)}): {o[1]}"


def host_tree(root: str) -> list[tuple[str, bytes | None]]:
    out: list[tuple[str, bytes | None]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for name in dirnames:
            out.append((os.path.normpath(os.path.join(rel, name)), None))
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                out.append((os.path.normpath(os.path.join(rel, name)), f.read()))
    return sorted(out)


def fs_tree(fs: whefs.Fs, root: str) -> list[tuple[str, bytes | None]]:
    out: list[tuple[str, bytes | None]] = []
    for dirpath, dirnames, filenames in fs.walk(root):
        rel = dirpath[len(root):].lstrip("/")
        for name in dirnames:
            out.append((os.path.join(rel, name), None))
        for name in filenames:
            out.append((os.path.join(rel, name), fs.read_bytes(f"{dirpath}/{name}")))
    return sorted(out)


@pytest.fixture(scope="module")
def both(tmp_path_factory: Any) -> Any:
    tmp = tmp_path_factory.mktemp("namespace")
    with whefs.open(tmp / "ns.whefs", durability="off") as fs:
        yield str(tmp), fs


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(map(str, c))[:60])
def test_namespace_calls_act_like_os_and_shutil(both: Any, case: tuple[Any, ...]) -> None:
    tmp, fs = both
    n = len(os.listdir(tmp))
    host_root, fs_root = os.path.join(tmp, f"case{n}"), f"case{n}"
    os.mkdir(host_root)
    fs.mkdir(fs_root)
    for name, data in TREE.items():
        if data is None:
            os.mkdir(os.path.join(host_root, name))
            fs.mkdir(f"{fs_root}/{name}")
        else:
            with open(os.path.join(host_root, name), "wb") as f:
                f.write(data)
            fs.write_bytes(f"{fs_root}/{name}", data)
    op, *args = case
    b = outcome(lambda: host_ops(host_root)[op](*args))
    w = outcome(lambda: fs_ops(fs, fs_root)[op](*args))
    assert same(b, w), f"{op}{tuple(args)}: builtin {show(b)}, whefs {show(w)}"
    assert fs_tree(fs, fs_root) == host_tree(host_root), f"{op}{tuple(args)}: the trees differ afterwards"


def test_namespace_comparison_can_fail() -> None:
    assert not same(("raise", FileExistsError(17, "x")), ("raise", whefs._errors.error_for(15, "not a dir")))
    assert not same(("ok", True), ("ok", False))
    assert same(("raise", OSError(22, "x")), ("raise", whefs._errors.error_for(1, "into itself")))
