"""Named snapshots: create, list, delete, read-only views (open_snapshot and
whefs.open(snapshot=...)), restore, diff and the figures in Info."""

from __future__ import annotations

import multiprocessing
import time

import pytest

import whefs


def tree(fs: whefs.Fs) -> dict[str, bytes | None]:
    """Every path in the container: file contents, None for a directory."""
    out: dict[str, bytes | None] = {}
    for top, dirs, files in fs.walk():
        base = "" if top == "/" else top.strip("/") + "/"
        for d in dirs:
            out[base + d] = None
        for f in files:
            out[base + f] = fs.read_bytes(base + f)
    return out


BEFORE = {"a.txt": b"alpha", "b.txt": b"bravo\0", "d": None, "d/c.txt": b"charlie"}


def fill(fs: whefs.Fs) -> None:
    fs.write_bytes("a.txt", b"alpha")
    fs.write_bytes("b.txt", b"bravo\0")
    fs.mkdir("d")
    fs.write_bytes("d/c.txt", b"charlie")


def change_everything(fs: whefs.Fs) -> None:
    fs.write_bytes("a.txt", b"ALPHA, rewritten")
    fs.remove("b.txt")
    fs.rename("d/c.txt", "e.txt")
    with fs.open("new.txt", "w") as f:
        f.write("fresh")


def _child_reads_snapshot(path: str, queue: multiprocessing.Queue[object]) -> None:
    with whefs.open(path, snapshot="before") as view:
        queue.put(tree(view))


# -- isolation -----------------------------------------------------------------

def test_snapshot_keeps_its_state_across_changes_reopen_and_processes(container):
    with whefs.open(container) as fs:
        fill(fs)
        before_gen = fs.info().generation
        snap = fs.create_snapshot("before")
        assert isinstance(snap, whefs.Snapshot)
        assert (snap.name, snap.generation, snap.files, snap.dirs) == ("before", before_gen, 3, 2)
        assert snap.exclusive_pages == 0
        assert abs(snap.created - time.time()) < 600
        change_everything(fs)

        with fs.open_snapshot("before") as view:
            assert view.snapshot == "before" and view.readonly
            assert "snapshot 'before'" in repr(view)
            assert tree(view) == BEFORE
            with view.open("a.txt") as f:
                assert f.read() == "alpha"
            info = view.info()
            assert (info.generation, info.files, info.dirs) == (before_gen, 3, 2)
        assert fs.snapshot is None
        assert fs.read_bytes("a.txt") == b"ALPHA, rewritten"
        assert fs.listdir() == ["a.txt", "d", "e.txt", "new.txt"]

        # Another process, while this one has the container open.
        ctx = multiprocessing.get_context("fork")  # the child opens the container itself
        queue: multiprocessing.Queue[object] = ctx.Queue()
        child = ctx.Process(target=_child_reads_snapshot, args=(str(container), queue))
        child.start()
        seen = queue.get(timeout=60)
        child.join(60)
        assert child.exitcode == 0
        assert seen == BEFORE

    # Across a reopen, by keyword.
    with whefs.open(container, snapshot="before") as view:
        assert view.snapshot == "before" and view.readonly
        assert tree(view) == BEFORE
    with whefs.open(container, "r") as ro:
        assert [s.name for s in ro.snapshots()] == ["before"]


def test_open_with_snapshot_is_read_only(container):
    with whefs.open(container) as fs:
        fs.create_snapshot("s")
    with pytest.raises(PermissionError) as info:
        whefs.open(container, "rw", snapshot="s")
    assert isinstance(info.value, whefs.AccessError)
    with pytest.raises(FileNotFoundError):
        whefs.open(container, snapshot="missing")
    with pytest.raises(TypeError):
        whefs.open(container, snapshot=b"s")  # type: ignore[arg-type]


# -- create, list, delete ---------------------------------------------------------

def test_snapshots_are_listed_in_name_order_and_deleted(fs):
    assert fs.snapshots() == []
    fs.write_bytes("f", b"1")
    fs.create_snapshot("one")
    fs.write_bytes("f", b"x" * 20000)  # "one" alone holds the old f now
    fs.create_snapshot("two")
    fs.create_snapshot("Zero")
    snaps = fs.snapshots()
    assert [s.name for s in snaps] == ["Zero", "one", "two"]
    one = snaps[1]
    assert one.files == 1 and one.exclusive_pages >= 1
    assert fs.info().snapshots == 3

    with pytest.raises(FileExistsError) as exists:
        fs.create_snapshot("one")
    assert isinstance(exists.value, whefs.ExistsError)
    for bad in ["", "a/b", ".."]:
        with pytest.raises(ValueError):
            fs.create_snapshot(bad)
    with pytest.raises(TypeError):
        fs.create_snapshot(None)  # type: ignore[arg-type]

    assert fs.delete_snapshot("one") == one.exclusive_pages
    assert [s.name for s in fs.snapshots()] == ["Zero", "two"]
    with pytest.raises(FileNotFoundError):
        fs.delete_snapshot("one")
    fs.delete_snapshot("two")
    fs.delete_snapshot("Zero")
    assert fs.snapshots() == []
    info = fs.info()
    assert info.snapshots == 0 and info.pages_snapshot == 0
    fs.check()


def test_info_counts_the_pages_snapshots_hold(fs):
    fs.write_bytes("big", b"z" * 200_000)
    info = fs.info()
    assert info.snapshots == 0 and info.pages_snapshot == 0
    assert info.pages_reclaimable == info.pages_free + info.pages_pending
    fs.create_snapshot("s")
    fs.remove("big")
    info = fs.info()
    assert info.snapshots == 1 and info.files == 0
    assert info.pages_snapshot * info.page_size >= 200_000
    freed = fs.delete_snapshot("s")
    assert freed == info.pages_snapshot
    assert fs.info().pages_reclaimable >= freed


# -- views ---------------------------------------------------------------------------

def test_view_refuses_every_write_with_permission_error(fs):
    fs.write_bytes("keep.txt", b"kept")
    fs.mkdir("dir")
    fs.create_snapshot("s")
    with fs.open_snapshot("s") as view:
        writes = [
            lambda: view.write_bytes("keep.txt", b"x"),
            lambda: view.write_text("new.txt", "x"),
            lambda: view.mkdir("new"),
            lambda: view.rmdir("dir"),
            lambda: view.rmtree("dir"),
            lambda: view.remove("keep.txt"),
            lambda: view.rename("keep.txt", "moved.txt"),
            lambda: view.copy("keep.txt", "copy.txt"),
            lambda: view.open("keep.txt", "w"),
            lambda: view.open("keep.txt", "r+b"),
            lambda: view.open("keep.txt", "a"),
            lambda: view.set_label("label"),
            lambda: view.chmod("keep.txt", 0o600),
            lambda: view.truncate("keep.txt", 0),
            lambda: view.symlink("keep.txt", "link"),
            lambda: view.transaction(),
            lambda: view.create_snapshot("s2"),
            lambda: view.delete_snapshot("s"),
            lambda: view.restore("s"),
        ]
        for write in writes:
            with pytest.raises(PermissionError) as info:
                write()
            assert isinstance(info.value, whefs.AccessError)
            assert info.value.name == "WHEFS_ERR_ACCESS"
        # Reading works, and nothing was written.
        assert view.read_bytes("keep.txt") == b"kept"
        assert view.is_dir("dir")
        assert [s.name for s in view.snapshots()] == ["s"]
        view.check()
        with view.open_snapshot("s") as inner:  # a view of a view: the same container
            assert inner.read_bytes("keep.txt") == b"kept"
    assert fs.listdir() == ["dir", "keep.txt"]
    with pytest.raises(FileNotFoundError):
        fs.open_snapshot("missing")
    with pytest.raises(ValueError):
        fs.open_snapshot("")


def test_view_outlives_its_container_and_its_snapshot(container):
    fs = whefs.open(container)
    fs.write_bytes("big", b"q" * 50_000)
    fs.create_snapshot("s")
    view = fs.open_snapshot("s")
    fs.remove("big")
    fs.delete_snapshot("s")
    fs.write_bytes("other", b"reuses whatever pages are free")
    fs.close()
    assert view.read_bytes("big") == b"q" * 50_000
    assert not view.exists("other")
    view.close()
    view.close()  # twice is fine
    with pytest.raises(ValueError):
        view.read_bytes("big")


def test_view_of_an_image_container(tmp_path):
    path = tmp_path / "img.whefs"
    with whefs.open(path) as fs:
        fs.write_bytes("f", b"v1")
        fs.create_snapshot("v1")
        fs.write_bytes("f", b"v2")
    image = whefs.open_image(path.read_bytes())
    view = image.open_snapshot("v1")
    image.close()  # the view keeps the bytes the library borrows
    del image
    assert view.read_bytes("f") == b"v1"
    view.close()


# -- restore and diff -------------------------------------------------------------------

def test_restore_brings_back_exactly_the_snapshot(fs):
    data = bytes(i * 7 % 256 for i in range(70_000))
    fs.mkdir("site/img", parents=True)
    fs.write_bytes("site/img/logo.bin", data)
    fs.write_text("site/index.html", "<h1>v1</h1>")
    fs.chmod("site/index.html", 0o640)
    fs.link("site/index.html", "site/home.html")
    fs.write_text("notes.txt", "v1 notes")
    fs.create_snapshot("v1")
    v1 = tree(fs)

    fs.write_text("site/index.html", "<h1>v2</h1>")
    fs.remove("site/home.html")
    fs.rmtree("site/img")
    fs.write_text("site/extra.html", "only in v2")
    fs.write_text("notes.txt", "v2 notes")
    fs.write_text("added.txt", "only in v2")

    fs.restore("v1", "site")  # a subtree
    assert fs.listdir("site") == ["home.html", "img", "index.html"]
    assert fs.read_bytes("site/img/logo.bin") == data
    st = fs.stat("site/index.html")
    assert st.st_mode & 0o7777 == 0o640 and st.st_nlink == 2
    assert fs.read_text("notes.txt") == "v2 notes"

    fs.restore("v1", "added.txt")  # not in the snapshot: removed
    assert not fs.exists("added.txt")

    fs.write_text("added.txt", "again")
    fs.restore("v1")  # everything
    assert tree(fs) == v1
    with fs.open_snapshot("v1") as view:
        assert view.diff(fs) == []
    assert [s.name for s in fs.snapshots()] == ["v1"]
    fs.check()
    with pytest.raises(FileNotFoundError):
        fs.restore("nope")


def test_diff_lists_added_removed_and_changed_paths(fs):
    fs.write_text("same.txt", "same")
    fs.write_text("edit.txt", "before")
    fs.write_text("gone.txt", "bye")
    fs.mkdir("tree/sub", parents=True)
    fs.write_text("tree/sub/leaf", "leaf")
    fs.create_snapshot("old")
    fs.write_text("edit.txt", "after!")
    fs.remove("gone.txt")
    fs.rmtree("tree")
    fs.mkdir("fresh")
    fs.write_text("fresh/new.txt", "hi")
    fs.create_snapshot("mid")
    fs.write_text("late.txt", "after mid")

    with fs.open_snapshot("old") as old, fs.open_snapshot("mid") as mid:
        assert old.diff(mid) == [
            whefs.Change("changed", "/edit.txt"),
            whefs.Change("added", "/fresh"),
            whefs.Change("added", "/fresh/new.txt"),
            whefs.Change("removed", "/gone.txt"),
            whefs.Change("removed", "/tree"),
            whefs.Change("removed", "/tree/sub"),
            whefs.Change("removed", "/tree/sub/leaf"),
        ]
        assert mid.diff(fs) == [whefs.Change("added", "/late.txt")]
        assert fs.diff(mid) == [whefs.Change("removed", "/late.txt")]
        assert fs.diff(fs) == []
        with pytest.raises(TypeError):
            old.diff("mid")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        old.diff(fs)  # closed
