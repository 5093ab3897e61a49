"""Online backup (Fs.backup: one committed state, compact, clean, with
progress) and compaction in place (Fs.compact: smaller file, every file and
snapshot kept, TimeoutError while others have the container open)."""

from __future__ import annotations

import pytest

import whefs


def pattern(n: int, seed: int) -> bytes:
    return bytes(((i * 2654435761 + seed) >> 3) & 0xFF for i in range(n))


def files(fs: whefs.Fs) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for top, dirs, names in fs.walk():
        base = "" if top == "/" else top.strip("/") + "/"
        for d in dirs:
            out[base + d] = None
        for f in names:
            out[base + f] = fs.read_bytes(base + f)
    return out


def test_backup_is_one_state_compact_and_clean_while_a_writer_commits(tmp_path):
    src, dest = tmp_path / "src.whefs", tmp_path / "copy.whefs"
    with whefs.open(src) as fs, whefs.open(src) as writer:
        fs.mkdir("f")
        for i in range(120):
            fs.write_bytes(f"f/{i}", pattern(i * 977 % 30_000, i))
        for i in range(0, 120, 2):
            fs.remove(f"f/{i}")
        fs.create_snapshot("s")
        expected = files(fs)
        info = fs.info()
        calls: list[tuple[int, int]] = []

        def progress(done: int, total: int) -> None:
            if not calls:  # a writer commits while the backup runs
                writer.write_bytes("during", b"not in the copy")
                writer.remove("f/3")
            calls.append((done, total))

        report = fs.backup(dest, progress=progress)
        assert isinstance(report, whefs.BackupReport)
        assert calls and all(d <= t for d, t in calls) and calls[-1][0] == calls[-1][1]
        assert [d for d, _ in calls] == sorted(d for d, _ in calls)
        assert report.generation == info.generation
        assert (report.files, report.dirs) == (info.files, info.dirs)
        assert report.bytes == report.pages * info.page_size == dest.stat().st_size
        assert report.bytes < src.stat().st_size
        assert fs.exists("during") and not fs.exists("f/3")

    with whefs.open(dest, "r") as copy:
        copy.check()
        assert files(copy) == expected
        ci = copy.info()
        assert ci.snapshots == 0 and ci.pages_free == 0 and ci.pages_pending == 0


def test_backup_refuses_an_existing_destination_and_takes_path_likes(tmp_path, fs):
    fs.write_text("a", "a")
    dest = tmp_path / "copy.whefs"
    fs.backup(dest)  # pathlib.Path; no progress
    size = dest.stat().st_size
    with pytest.raises(FileExistsError) as info:
        fs.backup(dest)
    assert isinstance(info.value, whefs.ExistsError)
    assert dest.stat().st_size == size
    fs.backup(str(tmp_path / "as-str.whefs"))
    fs.backup(bytes(tmp_path / "as-bytes.whefs"))
    with pytest.raises(FileNotFoundError):
        fs.backup(tmp_path / "no-such-dir" / "copy.whefs")
    with pytest.raises(TypeError):
        fs.backup(tmp_path / "x.whefs", progress=42)  # type: ignore[arg-type]
    assert not (tmp_path / "x.whefs").exists()


def test_backup_of_a_view_copies_its_snapshot(tmp_path, fs):
    fs.write_text("doc", "version 1")
    snap = fs.create_snapshot("v1")
    fs.write_text("doc", "version 2")
    fs.write_text("later", "after v1")
    with fs.open_snapshot("v1") as view:
        report = view.backup(tmp_path / "v1.whefs")
    assert report.generation == snap.generation and report.files == 1
    with whefs.open(tmp_path / "v1.whefs", "r") as copy:
        assert copy.read_text("doc") == "version 1"
        assert not copy.exists("later")


def test_an_exception_in_progress_is_raised_after_the_backup(tmp_path, fs):
    for i in range(60):
        fs.write_bytes(f"f{i}", pattern(20_000, i))
    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        raise KeyError("stop")

    with pytest.raises(KeyError):
        fs.backup(tmp_path / "copy.whefs", progress)
    assert calls == 1  # not called again
    # The backup itself completed: the library cannot stop it half-way.
    with whefs.open(tmp_path / "copy.whefs", "r") as copy:
        copy.check()
        assert copy.read_bytes("f7") == pattern(20_000, 7)


# 48 and 49 files once ended the copy's tree with two nodes packed wrongly.
@pytest.mark.parametrize("count", [47, 48, 49, 50, 51])
def test_backup_of_a_few_dozen_files_checks_clean(tmp_path, fs, count):
    for i in range(count):
        fs.write_bytes(f"f{i}", b"x" * 20_000)
    fs.backup(tmp_path / "copy.whefs")
    with whefs.open(tmp_path / "copy.whefs", "r") as copy:
        copy.check()
        assert len(copy.listdir()) == count


def test_compact_shrinks_the_file_and_keeps_files_and_snapshots(container):
    with whefs.open(container, durability="off") as fs:
        fs.mkdir("d")
        for i in range(400):
            fs.write_bytes(f"d/{i}", pattern(3000 + i * 7, i))
        fs.write_text("kept", "old")
        fs.create_snapshot("s")
        fs.write_text("kept", "new")
        for i in range(400):
            if i % 4:
                fs.remove(f"d/{i}")
        size_before = container.stat().st_size
        page = fs.info().page_size
        report = fs.compact()
        assert isinstance(report, whefs.CompactReport)
        assert report.pages_before * page == size_before
        assert report.pages_after < report.pages_before
        assert container.stat().st_size == report.pages_after * page
        fs.check()
        for i in range(0, 400, 4):
            assert fs.read_bytes(f"d/{i}") == pattern(3000 + i * 7, i)
        assert fs.read_text("kept") == "new"
        with fs.open_snapshot("s") as view:
            assert view.read_text("kept") == "old"
            assert view.read_bytes("d/1") == pattern(3007, 1)
        assert fs.info().pages_total == report.pages_after
    with whefs.open(container, "r") as fs:
        fs.check()
        assert fs.read_bytes("d/396") == pattern(3000 + 396 * 7, 396)


def test_compact_needs_the_container_to_itself(container):
    with whefs.open(container, busy_timeout=0.05) as fs:
        fs.write_text("a", "a")
        fs.create_snapshot("s")
        with whefs.open(container, "r"):
            with pytest.raises(TimeoutError) as info:
                fs.compact()
            assert isinstance(info.value, whefs.BusyError)
            assert "compaction" in str(info.value)
        with fs.open("a") as f:
            with pytest.raises(TimeoutError):
                fs.compact()
            f.read()
        it = fs.scandir()
        with pytest.raises(TimeoutError):
            fs.compact()
        it.close()
        with fs.open_snapshot("s") as view:
            with pytest.raises(TimeoutError):
                fs.compact()
            with pytest.raises(PermissionError):
                view.compact()
        fs.compact()  # alone now
    with whefs.open(container, "r") as ro:
        with pytest.raises(PermissionError):
            ro.compact()
