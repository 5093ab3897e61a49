"""POSIX metadata: chmod, chown, utime (ns), symlink/readlink/lstat, hard
links and link counts, truncate, sync."""

from __future__ import annotations

import stat

import pytest

import whefs


def test_chmod_chown_and_utime_with_nanoseconds(container):
    with whefs.open(container) as fs:
        fs.write_bytes("f", b"data")
        fs.chmod("f", 0o600)
        fs.chown("f", 1000, -1)
        fs.chown("f", -1, 50)
        fs.utime("f", ns=(1_000_000_001, 1_700_000_000_123_456_789))
    with whefs.open(container, "r") as fs:
        st = fs.stat("f")
        assert stat.S_IMODE(st.st_mode) == 0o600 and stat.S_ISREG(st.st_mode)
        assert (st.st_uid, st.st_gid, st.st_nlink) == (1000, 50, 1)
        assert (st.st_atime_ns, st.st_mtime_ns) == (1_000_000_001, 1_700_000_000_123_456_789)
        with pytest.raises(PermissionError):
            fs.chmod("f", 0o644)
    with whefs.open(container) as fs:
        fs.utime("f")  # now
        assert fs.stat("f").st_mtime_ns > 1_700_000_000_123_456_789
        with pytest.raises(ValueError):
            fs.utime("f", (1, 2), ns=(1, 2))


def test_symlinks_are_followed_and_lstat_and_readlink_see_them(container):
    with whefs.open(container) as fs:
        fs.mkdir("d")
        fs.write_bytes("d/target", b"pointed at")
        fs.symlink("d/target", "link")
        assert fs.read_bytes("link") == b"pointed at"
        assert fs.readlink("link") == "d/target"
        assert fs.lstat("link").is_symlink() and fs.lstat("link").st_size == 8
        assert fs.stat("link").is_file()
        entries = {e.name: e for e in fs.scandir("/")}
        assert entries["link"].is_symlink() and not entries["link"].is_file()
        with pytest.raises(ValueError):
            fs.readlink("d/target")
        fs.symlink("missing", "dangling")
        with pytest.raises(FileNotFoundError):
            fs.stat("dangling")
        with pytest.raises(FileExistsError):
            fs.symlink("x", "link")
        fs.check()


def test_hard_links_share_content_and_count_names(container):
    with whefs.open(container) as fs:
        fs.write_bytes("a", b"one inode")
        fs.link("a", "b")
        assert fs.stat("a").st_ino == fs.stat("b").st_ino
        assert fs.stat("a").st_nlink == 2
        fs.remove("a")
        assert fs.stat("b").st_nlink == 1 and fs.read_bytes("b") == b"one inode"
        fs.mkdir("d")
        assert fs.stat("/").st_nlink == 3
        with pytest.raises(IsADirectoryError):
            fs.link("d", "d2")
        fs.truncate("b", 3)
        assert fs.read_bytes("b") == b"one"
        fs.sync()
        fs.check()
