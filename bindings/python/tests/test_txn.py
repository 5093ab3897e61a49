"""Transactions (all or nothing), copy, rmtree and the label setter."""

from __future__ import annotations

import gc
import pathlib
import threading
import warnings

import pytest

import whefs


def snapshot(fs: whefs.Fs) -> dict[str, bytes | None]:
    """Every path in the container: file contents, None for a directory."""
    out: dict[str, bytes | None] = {}
    for top, dirs, files in fs.walk():
        base = "" if top == "/" else top.strip("/") + "/"
        for d in dirs:
            out[base + d] = None
        for f in files:
            out[base + f] = fs.read_bytes(base + f)
    return out


# -- transactions ------------------------------------------------------------

def test_transaction_is_invisible_until_commit_then_all_visible(container):
    with whefs.open(container) as fs, whefs.open(container) as reader:
        fs.mkdir("old")
        fs.write_bytes("old/keep", b"keep")
        fs.write_bytes("gone", b"x")
        before = snapshot(reader)
        label_before = reader.label

        t = fs.transaction()
        t.mkdir("site/v2", parents=True)
        t.write_bytes("site/v2/index.html", b"<h1>\0new</h1>")
        t.write_text("site/v2/notes.txt", "a\nb\n")
        t.rename("site/v2/notes.txt", "site/notes.txt")  # sees its own write
        t.remove("gone")
        t.rmtree("old")
        t.set_label("v2")
        # Nothing recorded is visible: not to another handle, not via fs.
        assert snapshot(reader) == before
        assert snapshot(fs) == before
        assert reader.label == label_before == ""
        t.commit()
        assert t.closed

        after = snapshot(reader)
        assert after == {
            "site": None,
            "site/v2": None,
            "site/v2/index.html": b"<h1>\0new</h1>",
            "site/notes.txt": b"a\nb\n",
        }
        assert snapshot(fs) == after
        assert reader.label == "v2"
        fs.check()


def test_with_block_commits_at_its_end(fs):
    with fs.transaction() as t:
        assert isinstance(t, whefs.Transaction)
        assert t.write_bytes("a", bytearray(b"1\0")) == 2
        assert t.write_text(pathlib.PurePosixPath("b"), "zwei") == 4
        t.mkdir("d")
        assert not fs.exists("a")
    assert t.closed
    assert fs.read_bytes("a") == b"1\0"
    assert fs.read_text("b") == "zwei"
    assert fs.is_dir("d")


def test_exception_in_with_block_aborts_and_propagates(fs):
    fs.write_bytes("x", b"old")
    with pytest.raises(KeyError):
        with fs.transaction() as t:
            t.write_bytes("x", b"new")
            t.write_bytes("y", b"new")
            raise KeyError("boom")
    assert t.closed
    assert fs.read_bytes("x") == b"old"
    assert not fs.exists("y")
    fs.check()


def test_failing_operation_at_commit_commits_nothing(fs):
    fs.write_bytes("keep", b"1")
    with pytest.raises(FileNotFoundError) as info:
        with fs.transaction() as t:
            t.write_bytes("new", b"data")
            t.mkdir("dir")
            t.remove("keep")
            t.rename("missing", "elsewhere")  # recorded fine: checked at commit
    assert isinstance(info.value, whefs.NotFoundError)
    assert t.closed
    assert snapshot(fs) == {"keep": b"1"}
    fs.check()


@pytest.mark.parametrize("op, exc", [
    (lambda t: t.mkdir("no/parent"), FileNotFoundError),
    (lambda t: t.mkdir("dir"), FileExistsError),
    (lambda t: t.remove("dir"), IsADirectoryError),
    (lambda t: t.rmdir("file"), NotADirectoryError),
    (lambda t: t.rmtree("file"), NotADirectoryError),
    (lambda t: t.write_bytes("dir", b""), IsADirectoryError),
])
def test_commit_errors_are_the_builtin_exceptions(fs, op, exc):
    fs.mkdir("dir")
    fs.write_bytes("dir/inner", b"")
    fs.write_bytes("file", b"")
    t = fs.transaction()
    t.write_bytes("first", b"1")
    op(t)
    with pytest.raises(exc):
        t.commit()
    assert not fs.exists("first")


def test_explicit_commit_and_abort(fs):
    t = fs.transaction()
    t.write_bytes("a", b"1")
    t.abort()
    assert t.closed and not fs.exists("a")

    t = fs.transaction()
    t.write_bytes("a", b"2")
    t.commit()
    assert fs.read_bytes("a") == b"2"

    # ended inside the with block: the block's end does nothing more
    with fs.transaction() as t:
        t.write_bytes("b", b"3")
        t.abort()
    assert not fs.exists("b")
    with fs.transaction() as t:
        t.write_bytes("b", b"4")
        t.commit()
    assert fs.read_bytes("b") == b"4"


def test_use_after_commit_or_abort_is_value_error(fs):
    committed = fs.transaction()
    committed.commit()  # an empty transaction commits nothing
    aborted = fs.transaction()
    aborted.abort()
    for t in (committed, aborted):
        for call in (
            lambda: t.write_bytes("x", b""),
            lambda: t.write_text("x", ""),
            lambda: t.mkdir("x"),
            lambda: t.remove("x"),
            lambda: t.rmdir("x"),
            lambda: t.rmtree("x"),
            lambda: t.rename("x", "y"),
            lambda: t.set_label("x"),
            t.commit,
            t.abort,
            t.__enter__,
        ):
            with pytest.raises(ValueError) as info:
                call()
            assert isinstance(info.value, whefs.ClosedError)
    # a failed commit ends the transaction too
    t = fs.transaction()
    t.rmdir("missing")
    with pytest.raises(FileNotFoundError):
        t.commit()
    with pytest.raises(ValueError):
        t.write_bytes("x", b"")
    assert fs.listdir() == []


def test_bad_argument_fails_at_once_and_keeps_the_transaction(fs):
    with fs.transaction() as t:
        t.write_bytes("ok", b"1")
        with pytest.raises(ValueError):
            t.set_label("l" * 65)
        with pytest.raises(ValueError):
            t.write_bytes("/", b"root")
        with pytest.raises(ValueError):
            t.mkdir("nul\0byte")
        with pytest.raises(TypeError):
            t.write_bytes("s", "not bytes")
        with pytest.raises(TypeError):
            t.write_text("s", b"not str")
        t.write_bytes("ok2", b"2")
    assert fs.listdir() == ["ok", "ok2"]
    assert fs.label == ""


def test_read_only_container_refuses_a_transaction(container):
    with whefs.open(container) as fs:
        fs.write_bytes("f", b"")
    with whefs.open(container, "r") as ro:
        with pytest.raises(PermissionError):
            ro.transaction()


def test_close_aborts_open_transactions_and_dropping_one_aborts_it(container):
    with whefs.open(container) as fs:
        t = fs.transaction()
        t.write_bytes("never", b"x")
    assert t.closed
    with pytest.raises(ValueError):
        t.commit()
    with whefs.open(container) as fs:
        assert not fs.exists("never")
        t = fs.transaction()
        t.write_bytes("dropped", b"x")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del t
            gc.collect()
        assert any(issubclass(w.category, ResourceWarning) for w in caught)
        assert not fs.exists("dropped")
        fs.check()


def test_threads_record_into_one_transaction(fs):
    t = fs.transaction()
    t.mkdir("out")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                t.write_bytes(f"out/{n}-{i}", bytes([n, i]) * 100)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert not fs.exists("out")
    t.commit()
    assert len(fs.listdir("out")) == 80
    assert fs.read_bytes("out/3-7") == bytes([3, 7]) * 100
    fs.check()


# -- copy, rmtree, label ---------------------------------------------------------

def test_copy_returns_the_byte_count(fs):
    data = bytes(range(256)) * 100 + b"\0"
    fs.write_bytes("src", data)
    fs.write_bytes("dst", b"old, longer than nothing")
    assert fs.copy("src", "dst") == len(data)
    assert fs.read_bytes("dst") == data
    fs.write_bytes("empty", b"")
    assert fs.copy(pathlib.PurePosixPath("empty"), "empty2") == 0
    assert fs.read_bytes("empty2") == b""
    fs.mkdir("d")
    with pytest.raises(FileNotFoundError):
        fs.copy("missing", "x")
    with pytest.raises(FileNotFoundError):
        fs.copy("src", "no/parent")
    with pytest.raises(IsADirectoryError):
        fs.copy("d", "x")
    with pytest.raises(IsADirectoryError):
        fs.copy("src", "d")


def test_rmtree_removes_a_whole_tree(fs):
    fs.makedirs("t/a/b")
    fs.write_bytes("t/a/b/f", b"1")
    fs.write_bytes("t/g", b"2")
    fs.write_bytes("file", b"3")
    fs.rmtree("t")
    assert fs.listdir() == ["file"]
    with pytest.raises(FileNotFoundError):
        fs.rmtree("t")
    with pytest.raises(NotADirectoryError):
        fs.rmtree("file")
    with pytest.raises(ValueError):
        fs.rmtree("/")
    fs.check()


def test_set_label(container):
    with whefs.open(container, label="first") as fs:
        assert fs.label == "first"
        fs.set_label("zweite Étiquette")
        assert fs.label == "zweite Étiquette"
        fs.label = "third"
        with pytest.raises(ValueError):
            fs.set_label("x" * 65)
        with pytest.raises(TypeError):
            fs.set_label(None)
        assert fs.label == "third"
    with whefs.open(container, "r") as ro:
        assert ro.label == "third"
        with pytest.raises(PermissionError):
            ro.set_label("nope")
    with whefs.open(container) as fs:
        fs.label = ""
        assert fs.label == ""
