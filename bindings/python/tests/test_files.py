"""File objects: binary and text modes over io.RawIOBase, positions, commits."""

from __future__ import annotations

import errno
import io
import os
import random

import pytest

import whefs

ALL_BYTES = bytes(range(256)) + b"\0" * 100 + b"tail\0"


def test_binary_round_trip_keeps_nul_bytes(fs):
    assert fs.write_bytes("all.bin", ALL_BYTES) == len(ALL_BYTES)
    assert fs.read_bytes("all.bin") == ALL_BYTES

    with fs.open("file.bin", "wb") as f:
        assert f.write(ALL_BYTES) == len(ALL_BYTES)
    with fs.open("file.bin", "rb") as f:
        assert f.read() == ALL_BYTES


def test_bytes_like_objects_are_accepted_as_data(fs):
    fs.write_bytes("ba", bytearray(b"a\0b"))
    fs.write_bytes("mv", memoryview(b"xx\0yy")[1:4])
    assert fs.read_bytes("ba") == b"a\0b"
    assert fs.read_bytes("mv") == b"x\0y"
    with fs.open("w", "wb") as f:
        f.write(bytearray(b"\0\0"))
        f.write(memoryview(b"\0z"))
    assert fs.read_bytes("w") == b"\0\0\0z"


def test_empty_file_round_trip(fs):
    fs.write_bytes("empty", b"")
    assert fs.read_bytes("empty") == b""
    with fs.open("empty", "rb") as f:
        assert f.read() == b""


def test_large_binary_file_across_buffer_boundaries(fs):
    data = random.Random(7).randbytes(3 * whefs._files.DEFAULT_BUFFER_SIZE + 12345)
    with fs.open("big.bin", "wb") as f:
        for i in range(0, len(data), 10_000):  # odd-sized writes
            f.write(data[i : i + 10_000])
    assert fs.read_bytes("big.bin") == data
    with fs.open("big.bin", "rb") as f:
        parts = []
        while chunk := f.read(7777):
            parts.append(chunk)
    assert b"".join(parts) == data


def test_text_mode_readline_and_iteration(fs):
    with fs.open("poem.txt", "w") as f:
        f.write("first line\nsecond line\n")
        print("third, with print", file=f)
    with fs.open("poem.txt") as f:
        assert f.readline() == "first line\n"
        assert f.readline() == "second line\n"
        assert f.readline() == "third, with print\n"
        assert f.readline() == ""
    with fs.open("poem.txt", "r") as f:
        assert list(f) == ["first line\n", "second line\n", "third, with print\n"]
    with fs.open("poem.txt", "rb") as f:
        assert [line for line in f] == [b"first line\n", b"second line\n", b"third, with print\n"]
        f.seek(0)
        assert f.readlines()[1] == b"second line\n"


def test_text_mode_is_utf8_with_universal_newlines(fs):
    with fs.open("u.txt", "w", newline="\r\n") as f:
        f.write("grüße\nπ ≈ 3.14\n")
    assert fs.read_bytes("u.txt") == "grüße\r\nπ ≈ 3.14\r\n".encode()
    with fs.open("u.txt") as f:
        assert f.read() == "grüße\nπ ≈ 3.14\n"
    assert fs.read_text("u.txt") == "grüße\nπ ≈ 3.14\n"
    with fs.open("latin.txt", "w", encoding="latin-1") as f:
        f.write("café")
    assert fs.read_bytes("latin.txt") == b"caf\xe9"
    assert fs.write_text("t.txt", "a\nb") == 3
    assert fs.read_text("t.txt") == "a\nb"


def test_seek_tell_truncate(fs):
    with fs.open("s.bin", "w+b") as f:
        f.write(b"0123456789")
        assert f.tell() == 10
        assert f.seek(2) == 2
        assert f.read(3) == b"234"
        assert f.tell() == 5
        assert f.seek(-2, os.SEEK_CUR) == 3
        assert f.read(1) == b"3"
        assert f.seek(-3, os.SEEK_END) == 7
        assert f.read() == b"789"
        assert f.truncate(4) == 4
        assert f.tell() == 10  # truncate does not move the position
        f.seek(0)
        assert f.read() == b"0123"
        f.seek(8)  # past the end: the gap reads as zeros
        f.write(b"X")
        f.seek(0)
        assert f.read() == b"0123\0\0\0\0X"
        f.seek(4)
        f.truncate()  # at the position
    assert fs.read_bytes("s.bin") == b"0123"


@pytest.mark.parametrize("buffering", [-1, 0])
def test_seek_before_start_is_os_error_einval_as_for_host_files(fs, buffering):
    fs.write_bytes("s", b"x" * 100)
    with fs.open("s", "rb", buffering=buffering) as f:
        f.seek(10)
        for offset, whence in ((-1, os.SEEK_SET), (-170, os.SEEK_END), (-11, os.SEEK_CUR)):
            with pytest.raises(OSError) as info:
                f.seek(offset, whence)
            assert info.value.errno == errno.EINVAL
            assert isinstance(info.value, whefs.RangeError) and isinstance(info.value, ValueError)
            assert f.tell() == 10  # a failed seek leaves the position
        raw = f if buffering == 0 else f.raw
        with pytest.raises(OSError) as info:
            raw.seek(0, 99)  # no such whence: EINVAL, as lseek()
        assert info.value.errno == errno.EINVAL
        assert f.read() == b"x" * 90


def test_negative_truncate_is_os_error_einval(fs):
    with fs.open("t", "wb", buffering=0) as f:
        with pytest.raises(OSError) as info:
            f.truncate(-1)
        assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize("buffering", [-1, 0])
def test_seek_data_and_hole_treat_the_whole_file_as_data(fs, buffering):
    """lseek's SEEK_DATA / SEEK_HOLE, as on a filesystem without holes."""
    fs.write_bytes("h", b"0123456789")
    with fs.open("h", "rb", buffering=buffering) as f:
        assert f.seek(3, os.SEEK_DATA) == 3 and f.read(2) == b"34"
        assert f.seek(3, os.SEEK_HOLE) == 10 and f.read() == b""
        for whence in (os.SEEK_DATA, os.SEEK_HOLE):
            for offset in (10, 11, -1):
                with pytest.raises(OSError) as info:
                    f.seek(offset, whence)
                assert info.value.errno == errno.ENXIO


def test_modes_r_plus_append_and_exclusive(fs):
    fs.write_bytes("f", b"hello world")
    with fs.open("f", "r+b") as f:  # no truncation
        f.seek(6)
        f.write(b"WORLD")
    assert fs.read_bytes("f") == b"hello WORLD"
    with fs.open("f", "ab") as f:
        assert f.tell() == 11
        f.write(b"!")
    with fs.open("f", "a+") as f:
        f.write("?")
        f.seek(0)
        assert f.read() == "hello WORLD!?"
    with fs.open("f", "w") as f:  # truncates
        f.write("new")
    assert fs.read_bytes("f") == b"new"
    with pytest.raises(FileExistsError):
        fs.open("f", "x")
    with fs.open("fresh", "xb") as f:
        f.write(b"1")
    assert fs.read_bytes("fresh") == b"1"


def test_with_block_commits_at_exit(fs, container):
    fs.write_bytes("c.txt", b"old")
    with whefs.open(container) as other:
        with fs.open("c.txt", "w") as f:
            f.write("committed at close")
            assert other.read_text("c.txt") == "old"
        assert other.read_text("c.txt") == "committed at close"
        with fs.open("c.bin", "wb", buffering=0) as raw:  # unbuffered: the same
            raw.write(b"raw\0")
            assert other.read_bytes("c.bin") == b""
        assert other.read_bytes("c.bin") == b"raw\0"


def test_flush_commits_buffered_writes(fs, container):
    with whefs.open(container) as other:
        f = fs.open("log", "wb")
        try:
            f.write(b"line 1\n")
            assert other.read_bytes("log") == b""  # still in the buffer
            f.flush()
            assert other.read_bytes("log") == b"line 1\n"
            f.write(b"line 2\n")
            f.flush()
            assert other.read_bytes("log") == b"line 1\nline 2\n"
        finally:
            f.close()
        t = fs.open("log.txt", "w")
        t.write("text\n")
        t.flush()  # TextIOWrapper -> buffer -> raw: commits
        assert other.read_text("log.txt") == "text\n"
        t.close()


def test_file_objects_are_io_classes(fs):
    fs.write_bytes("x", b"data")
    with fs.open("x", "rb", buffering=0) as raw:
        assert isinstance(raw, io.RawIOBase)
        buf = bytearray(10)
        assert raw.readinto(buf) == 4
        assert bytes(buf[:4]) == b"data"
        assert raw.readinto(buf) == 0
    with fs.open("x", "rb") as f:
        assert isinstance(f, io.BufferedReader)
        assert isinstance(f.raw, io.RawIOBase)
        assert f.name == "x" and f.raw.mode == "rb"
        assert f.readable() and f.seekable() and not f.writable()
    with fs.open("x", "wb") as f:
        assert isinstance(f, io.BufferedWriter)
    with fs.open("x", "r+b") as f:
        assert isinstance(f, io.BufferedRandom)
    with fs.open("x", "r") as f:
        assert isinstance(f, io.TextIOWrapper)
        assert f.mode == "r" and f.encoding == "utf-8"
    with fs.open("x", "rb") as f:
        with pytest.raises(io.UnsupportedOperation):
            f.fileno()  # no host descriptor behind a pseudofile


def test_read_only_file_refuses_writes(fs):
    fs.write_bytes("ro", b"keep")
    with fs.open("ro", "rb") as f:
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"no")
    with fs.open("ro", "wb", buffering=0) as f:
        with pytest.raises(io.UnsupportedOperation):
            f.read()


def test_file_raises_value_error_after_close(fs):
    f = fs.open("closed.bin", "w+b")
    f.write(b"x")
    f.close()
    f.close()  # twice is fine
    for call in (f.read, f.tell, f.flush, lambda: f.write(b"y"), lambda: f.seek(0)):
        with pytest.raises(ValueError):
            call()
    raw = fs.open("closed.bin", "rb", buffering=0)
    raw.close()
    for call in (raw.read, raw.tell, raw.flush, lambda: raw.readinto(bytearray(1)), raw.stat):
        with pytest.raises(ValueError):
            call()


def test_bad_open_arguments_raise_value_error(fs):
    for mode in ("", "rw", "q", "rr", "rbt", "wa"):
        with pytest.raises(ValueError):
            fs.open("f", mode)
    with pytest.raises(ValueError):
        fs.open("f", "w", buffering=0)  # unbuffered text
    with pytest.raises(ValueError):
        fs.open("f", "wb", encoding="utf-8")
    assert not fs.exists("f")


def test_file_stat_is_this_handles_view(fs):
    with fs.open("v", "wb", buffering=0) as f:
        f.write(b"12345")
        st = f.stat()
        assert st.st_size == 5 and st.is_file()
        assert fs.stat("v").st_size == 0  # not committed yet


def test_sync_commits_durably(fs, container):
    with fs.open("d", "wb") as f:
        f.write(b"durable")
        f.sync()
        with whefs.open(container, "r") as ro:
            assert ro.read_bytes("d") == b"durable"
