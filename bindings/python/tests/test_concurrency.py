"""Threads and processes: one Fs shared by threads (the GIL is released in
the library), forked processes each opening the container, snapshots and
the one-writer-per-file rule."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

import whefs

THREADS = 6
ROUNDS = 20


def stamped(who: str, round_: int) -> bytes:
    """Content that tells who wrote it, with NUL bytes, of varying size."""
    return (f"{who}:{round_}:".encode() + b"\0" + who.encode() * (round_ * 37 % 500)) * 3


def test_threads_write_different_files_and_read_concurrently(fs):
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(i: int) -> None:
        try:
            name = f"t{i}.bin"
            start.wait()
            for r in range(ROUNDS):
                with fs.open(name, "wb") as f:
                    f.write(stamped(name, r))
                assert fs.read_bytes(name) == stamped(name, r)
                other = f"t{(i + 1) % THREADS}.bin"  # read another thread's file meanwhile
                if fs.exists(other):  # created empty at its first open, then whole versions
                    data = fs.read_bytes(other)
                    versions = [b""] + [stamped(other, k) for k in range(ROUNDS)]
                    assert data in versions, f"torn read of {other}: {data[:40]!r}"
        except BaseException as e:  # reported below, with the thread's traceback
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    for i in range(THREADS):
        assert fs.read_bytes(f"t{i}.bin") == stamped(f"t{i}.bin", ROUNDS - 1)
    fs.check()


def test_threads_share_one_file_handle_with_positional_reads(fs):
    data = bytes(range(256)) * 64
    fs.write_bytes("shared", data)
    raw = fs.open("shared", "rb", buffering=0)
    results: dict[int, bytes] = {}

    def reader(k: int) -> None:
        results[k] = raw.pread(256, k * 256)

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert raw.tell() == 0  # positional reads leave the position alone
    raw.close()
    assert all(results[k] == bytes(range(256)) for k in range(64))


def test_library_calls_release_the_gil(fs, container):
    """A call waiting inside the library (a second writer waiting for the
    file lock) lets other Python threads run meanwhile: with the GIL held,
    this thread would stall for the whole wait."""
    holder = fs.open("locked", "wb")
    holder.write(b"first")
    holder.flush()
    done = threading.Event()

    def second_writer() -> None:
        with whefs.open(container, busy_timeout=10.0) as other:
            with other.open("locked", "ab") as f:  # waits until the holder closes
                f.write(b"+second")
        done.set()

    t = threading.Thread(target=second_writer)
    t.start()
    ticks, longest_stall = 0, 0.0
    last = began = time.monotonic()
    while last - began < 1.0:  # pure Python work while the other thread waits
        now = time.monotonic()
        longest_stall = max(longest_stall, now - last)
        last = now
        ticks += 1
    assert not done.is_set()  # it was waiting all along
    holder.close()
    t.join(20)
    assert done.is_set()
    assert longest_stall < 0.5 and ticks > 1000
    assert fs.read_bytes("locked") == b"first+second"


def test_close_waits_for_calls_running_in_other_threads(container):
    fs = whefs.open(container)
    fs.write_bytes("f", b"x" * 100_000)
    outcomes: list[str] = []
    started = threading.Barrier(5)

    def hammer() -> None:
        started.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                assert fs.read_bytes("f") == b"x" * 100_000
            except ValueError:  # closed: the only acceptable failure
                outcomes.append("closed")
                return
        outcomes.append("never closed")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.1)
    fs.close()  # waits for the reads in progress; later calls raise ValueError
    for t in threads:
        t.join()
    assert outcomes == ["closed"] * 4


def test_reader_keeps_its_snapshot_while_another_handle_rewrites(fs, container):
    fs.write_bytes("doc", b"version 1\0" * 1000)
    reader = fs.open("doc", "rb")
    assert reader.read(10) == b"version 1\0"
    with whefs.open(container) as other:
        with other.open("doc", "r+b") as w:  # another handle rewrites it
            w.write(b"VERSION 2\0" * 2000)
        other.write_bytes("doc", b"version 3")  # and replaces it whole
        assert other.read_bytes("doc") == b"version 3"
    reader.seek(0)
    assert reader.read() == b"version 1\0" * 1000  # still the snapshot it opened
    reader.close()
    with fs.open("doc", "rb") as fresh:
        assert fresh.read() == b"version 3"


def test_second_writer_of_a_file_gets_timeout_error(fs, container):
    first = fs.open("one-writer", "wb")
    first.write(b"mine")
    with whefs.open(container, busy_timeout=0.2) as other:
        began = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            other.open("one-writer", "ab")
        waited = time.monotonic() - began
        assert isinstance(info.value, whefs.BusyError)
        assert 0.15 <= waited < 3
        assert other.read_bytes("one-writer") == b""  # readers are never blocked
        with other.open("another-file", "wb") as f:  # other files are free
            f.write(b"fine")
    fs.busy_timeout = 0.1  # a second writer through the same Fs: the same rule
    with pytest.raises(TimeoutError):
        fs.open("one-writer", "r+b")
    first.close()
    with fs.open("one-writer", "ab") as again:  # free once the first closes
        again.write(b"+yours")
    assert fs.read_bytes("one-writer") == b"mine+yours"


def _process_worker(path: str, i: int) -> None:
    with whefs.open(path, busy_timeout=10.0) as fs:
        with fs.open(f"proc/{i}.bin", "wb") as f:
            f.write(stamped(f"proc{i}", i) * 10)
        fs.write_bytes(f"proc/{i}.txt", f"worker {i}\n".encode())


def test_forked_processes_each_open_the_container_and_write_their_files(fs, container):
    fs.mkdir("proc")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_process_worker, args=(str(container), i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    assert fs.listdir("proc") == sorted(f"{i}.{ext}" for i in range(4) for ext in ("bin", "txt"))
    for i in range(4):
        assert fs.read_bytes(f"proc/{i}.bin") == stamped(f"proc{i}", i) * 10
        assert fs.read_text(f"proc/{i}.txt") == f"worker {i}\n"
    fs.check()


def _use_inherited(fs: whefs.Fs, queue: multiprocessing.Queue) -> None:
    try:
        fs.read_bytes("x")
        queue.put("no error")
    except ValueError as e:  # ClosedError: the handle belongs to the parent
        queue.put(type(e).__name__)


def test_forked_child_cannot_use_the_parents_fs(fs):
    fs.write_bytes("x", b"parent's")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_use_inherited, args=(fs, queue))
    p.start()
    outcome = queue.get(timeout=30)
    p.join(30)
    assert outcome == "ClosedError"
    assert fs.read_bytes("x") == b"parent's"  # the parent's handle still works
