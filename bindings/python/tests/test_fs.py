"""The container: open modes, namespace calls, listings, paths, close."""

from __future__ import annotations

import pathlib
import stat
import time

import pytest

import whefs


def test_open_creates_then_reopens(container):
    with whefs.open(container) as fs:
        fs.write_bytes("keep", b"1")
    assert container.exists()
    with whefs.open(container, "r") as fs:
        assert fs.readonly
        assert fs.read_bytes("keep") == b"1"


def test_missing_container_without_create_is_file_not_found(container):
    with pytest.raises(FileNotFoundError):
        whefs.open(container, create=False)
    with pytest.raises(FileNotFoundError):
        whefs.open(container, "r")
    assert not container.exists()


def test_not_a_container_is_os_error(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a container" * 1000)
    with pytest.raises(OSError) as info:
        whefs.open(junk)
    assert isinstance(info.value, whefs.BadMagicError)


def test_open_argument_checks(container):
    with pytest.raises(ValueError):
        whefs.open(container, "w")
    with pytest.raises(ValueError):
        whefs.open(container, "r", create=True)
    with pytest.raises(ValueError):
        whefs.open(container, durability="sometimes")
    with pytest.raises(ValueError):
        whefs.open(container, busy_timeout=-1)
    with pytest.raises(TypeError):
        whefs.open(42)
    assert not container.exists()


def test_read_only_container_refuses_writes_with_permission_error(container):
    with whefs.open(container) as fs:
        fs.write_bytes("f", b"x")
    with whefs.open(container, "r") as ro:
        with pytest.raises(PermissionError):
            ro.write_bytes("f", b"y")
        with pytest.raises(PermissionError):
            ro.open("f", "w")
        with pytest.raises(PermissionError):
            ro.mkdir("d")
        assert ro.read_bytes("f") == b"x"


def test_memory_container_and_image(container):
    with whefs.open(":memory:") as mem:
        mem.write_bytes("m", b"in RAM")
        assert mem.read_bytes("m") == b"in RAM"
    with whefs.open(container) as fs:
        fs.mkdir("img")
        fs.write_bytes("img/x.bin", b"\0image\0")
    with whefs.open_image(bytearray(container.read_bytes())) as img:
        assert img.readonly
        assert img.read_bytes("img/x.bin") == b"\0image\0"
        with pytest.raises(PermissionError):
            img.write_bytes("y", b"")


def test_page_size_and_label_at_creation(container):
    with whefs.open(container, page_size=8192, label="photos 2026") as fs:
        assert fs.info().page_size == 8192
        assert fs.label == "photos 2026"
    with whefs.open(container, page_size=16384, label="ignored") as fs:
        assert fs.info().page_size == 8192
        assert fs.label == "photos 2026"


def test_settings_can_be_changed(fs):
    assert fs.busy_timeout == 2.0 and fs.durability == "full"
    fs.busy_timeout = 0.5
    fs.durability = "off"
    assert fs.busy_timeout == 0.5 and fs.durability == "off"
    fs.write_bytes("x", b"1")
    with pytest.raises(ValueError):
        fs.durability = "maybe"


def test_stat_fields(fs):
    before = time.time_ns()
    fs.mkdir("dir")
    fs.write_bytes("dir/f.bin", b"12345")
    st = fs.stat("dir/f.bin")
    assert st.st_size == 5
    assert stat.S_ISREG(st.st_mode) and st.is_file() and not st.is_dir()
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert st.st_ino > 0
    assert before - 10**9 <= st.st_mtime_ns <= time.time_ns() + 10**9
    assert abs(st.st_mtime - st.st_mtime_ns / 1e9) < 1e-3
    d = fs.stat("dir")
    assert d.is_dir() and stat.S_ISDIR(d.st_mode) and d.st_size == 0
    assert fs.stat("/").is_dir()


def test_exists_is_dir_is_file(fs):
    fs.mkdir("d")
    fs.write_bytes("d/f", b"")
    assert fs.exists("d") and fs.exists("d/f") and fs.exists("/")
    assert not fs.exists("nope") and not fs.exists("d/nope")
    assert fs.is_dir("d") and not fs.is_dir("d/f") and not fs.is_dir("nope")
    assert fs.is_file("d/f") and not fs.is_file("d") and not fs.is_file("nope")


def test_mkdir_parents_and_exist_ok(fs):
    fs.mkdir("a")
    with pytest.raises(FileExistsError):
        fs.mkdir("a")
    fs.mkdir("a", exist_ok=True)
    with pytest.raises(FileNotFoundError):
        fs.mkdir("x/y/z")
    fs.mkdir("x/y/z", parents=True)
    assert fs.is_dir("x/y/z")
    with pytest.raises(FileExistsError):
        fs.mkdir("x/y/z", parents=True)
    fs.mkdir("x/y/z", parents=True, exist_ok=True)
    fs.makedirs("p/q/r")
    fs.makedirs("p/q/r", exist_ok=True)
    fs.write_bytes("file", b"")
    with pytest.raises(FileExistsError):
        fs.mkdir("file", exist_ok=True)  # exists, but not as a directory


def test_listdir_and_scandir_entries(fs):
    fs.mkdir("top")
    fs.mkdir("top/sub")
    fs.write_bytes("top/b.bin", b"12345")
    fs.write_bytes("top/a.txt", b"abc")
    assert fs.listdir("top") == ["a.txt", "b.bin", "sub"]
    assert fs.listdir() == ["top"]
    with fs.scandir("top") as it:
        entries = {e.name: e for e in it}
    assert entries["a.txt"].size == 3 and entries["a.txt"].is_file()
    assert entries["b.bin"].size == 5 and not entries["b.bin"].is_dir()
    assert entries["sub"].is_dir() and not entries["sub"].is_file()
    assert entries["a.txt"].path == "top/a.txt"
    assert entries["a.txt"].ino == fs.stat("top/a.txt").st_ino == entries["a.txt"].inode()
    assert len({e.ino for e in entries.values()}) == 3
    # an entry is os.PathLike: it can be handed back to the Fs
    assert fs.read_bytes(entries["b.bin"]) == b"12345"
    assert [e.name for e in fs.scandir("/")] == ["top"]
    with pytest.raises(FileNotFoundError):
        fs.listdir("missing")
    with pytest.raises(NotADirectoryError):
        fs.listdir("top/a.txt")


def test_walk_is_top_down(fs):
    fs.makedirs("a/b")
    fs.write_bytes("a/1", b"")
    fs.write_bytes("a/b/2", b"")
    assert list(fs.walk("a")) == [("a", ["b"], ["1"]), ("a/b", [], ["2"])]


def test_remove_rmdir_rename(fs):
    fs.mkdir("d")
    fs.write_bytes("d/f", b"data")
    with pytest.raises(IsADirectoryError):
        fs.remove("d")
    with pytest.raises(OSError) as info:
        fs.rmdir("d")
    assert isinstance(info.value, whefs.NotEmptyError)
    fs.rename("d/f", "g")
    assert fs.read_bytes("g") == b"data" and not fs.exists("d/f")
    fs.write_bytes("h", b"old")
    fs.rename("g", "h")  # replaces a file
    assert fs.read_bytes("h") == b"data"
    fs.remove("h")
    fs.rmdir("d")
    assert fs.listdir() == []
    with pytest.raises(FileNotFoundError):
        fs.remove("h")
    with pytest.raises(FileNotFoundError):
        fs.rmdir("d")


def test_glob(fs):
    fs.makedirs("logs/2024-01")
    fs.makedirs("logs/2024-02")
    fs.makedirs("src/deep/er")
    for p in ("logs/2024-01/a.log", "logs/2024-02/b.log", "logs/x.txt",
              "src/m.c", "src/deep/n.c", "src/deep/er/o.c", "src/deep/er/p.h"):
        fs.write_bytes(p, b"")
    assert fs.glob("logs/2024-0?/*.log") == ["logs/2024-01/a.log", "logs/2024-02/b.log"]
    assert sorted(fs.glob("src/**/*.c")) == ["src/deep/er/o.c", "src/deep/n.c", "src/m.c"]
    assert fs.glob("logs/*.txt") == ["logs/x.txt"]
    assert fs.glob("nothing/*") == []
    with pytest.raises(ValueError):
        fs.glob("")


def test_check_and_info(fs):
    fs.mkdir("d")
    fs.write_bytes("d/f", b"x" * 10_000)
    fs.check()
    info = fs.info()
    assert isinstance(info, whefs.Info)
    assert info.files == 1 and info.dirs == 2 and info.page_size == 4096
    assert info.pages_total >= info.pages_used > 0
    gen = info.generation
    fs.write_bytes("d/g", b"")
    assert fs.info().generation > gen


def test_pathlike_paths(fs, tmp_path):
    p = pathlib.PurePosixPath("dir") / "file.bin"
    fs.mkdir(pathlib.PurePosixPath("dir"))
    fs.write_bytes(p, b"\0pathlike\0")
    assert fs.read_bytes(p) == b"\0pathlike\0"
    assert fs.exists(p) and fs.stat(p).st_size == 10
    with fs.open(p, "rb") as f:
        assert f.read() == b"\0pathlike\0"
    fs.rename(p, pathlib.PurePosixPath("dir/renamed"))
    assert fs.listdir(pathlib.PurePosixPath("dir")) == ["renamed"]
    assert fs.read_bytes(b"dir/renamed") == b"\0pathlike\0"  # bytes paths are UTF-8
    with whefs.open(pathlib.Path(tmp_path) / "other.whefs") as other:  # host path too
        other.write_bytes("x", b"")
    with pytest.raises(TypeError):
        fs.read_bytes(3)
    with pytest.raises(ValueError):
        fs.read_bytes("with\0nul")


def test_fs_raises_value_error_after_close(container):
    fs = whefs.open(container)
    fs.write_bytes("f", b"")
    fs.close()
    fs.close()  # twice is fine
    assert fs.closed
    for call in (
        lambda: fs.read_bytes("f"),
        lambda: fs.write_bytes("f", b""),
        lambda: fs.open("f"),
        lambda: fs.stat("f"),
        lambda: fs.exists("f"),
        lambda: fs.listdir(),
        lambda: fs.glob("*"),
        lambda: fs.mkdir("d"),
        lambda: fs.info(),
        lambda: fs.check(),
    ):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(ValueError):
        with fs:
            pass


def test_closing_fs_commits_and_closes_its_open_files(container):
    fs = whefs.open(container)
    f = fs.open("pending.txt", "w")
    f.write("written, not yet flushed")
    it = fs.scandir("/")
    fs.close()
    assert f.closed
    with pytest.raises(ValueError):
        f.write("more")
    assert list(it) == []  # a closed listing is exhausted, as os.scandir's
    with whefs.open(container, "r") as again:
        assert again.read_text("pending.txt") == "written, not yet flushed"


def test_low_level_module_maps_out_parameters_and_errors(container):
    c = whefs.whefs_c
    fs = c.whefs_fs_open(str(container), c.WHEFS_OPEN_READWRITE | c.WHEFS_OPEN_CREATE)
    try:
        c.whefs_write_file(fs, "f", b"a\0b")
        f = c.whefs_file_open(fs, "f", "r+")
        try:
            assert c.whefs_file_size(f) == 3
            buf = bytearray(8)
            assert c.whefs_file_pread(f, buf, 0) == 3 and buf[:3] == b"a\0b"
            assert c.whefs_file_pread_bytes(f, 100, 1) == b"\0b"
            assert c.whefs_file_read_bytes(f, 2) == b"a\0"
            assert c.whefs_file_tell(f) == 2
            assert c.whefs_file_seek(f, 0, 2) == 3
            assert c.whefs_file_write(f, b"\0\0") == 2
            c.whefs_file_flush(f)
        finally:
            c.whefs_file_close(f)
        assert c.whefs_read_file(fs, "f") == b"a\0b\0\0"
        assert c.whefs_exists(fs, "f") is True
        st = c.whefs_stat(fs, "f")
        assert st.size == 5 and st.kind == c.WHEFS_KIND_FILE
        d = c.whefs_dir_open(fs, "/")
        try:
            name, kind, ino, size = c.whefs_dir_next(d)
            assert (name, kind, size) == ("f", c.WHEFS_KIND_FILE, 5) and ino == st.ino
            assert c.whefs_dir_next(d) is None
        finally:
            c.whefs_dir_close(d)
        assert c.whefs_ls(fs, "*") == [("f", c.WHEFS_KIND_FILE, st.ino, 5)]
        with pytest.raises(FileNotFoundError) as info:
            c.whefs_stat(fs, "missing")
        assert "missing" in str(info.value)
        assert c.whefs_errmsg() == info.value.strerror
    finally:
        c.whefs_fs_close(fs)
