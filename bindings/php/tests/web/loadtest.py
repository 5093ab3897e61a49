#!/usr/bin/env python3
"""Load test of filedrop on nginx + php-fpm: whefs against a plain
directory and SQLite, the same application, in one run.

For a fixed time, parallel HTTP clients
  - upload different files (each uploader its own names, new versions and
    now and then a delete),
  - overwrite the same files (every overwriter on the same two names),
  - list and download while the writes go on,
and a killer SIGKILLs a php-fpm worker that is in the middle of a write
request, a few times a second.

Then it checks what a user of the application is promised:
  - every download during the run equals one uploaded version of that
    name (whole, never a mix or a part), and every listed size is one;
  - nothing acknowledged is lost: at the end each name holds its last
    acknowledged version, or a version whose request was still unanswered
    (its worker killed) — for the shared names, one that was not
    superseded by an acknowledged upload sent after it was answered;
  - the store is sound: `whefs check` on the container (and the binding's
    check), SQLite's integrity_check, and for the directory the temporary
    files killed workers left behind are counted.
It prints requests per second and p50/p99 latency for each backend.

    python3 loadtest.py [--seconds 6] [--clients 8] [--workers 4]
    WHEFS_LONG_LOAD=1 python3 loadtest.py      # 60 s per backend
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "php" / "examples" / "filedrop"))

from serve import DEFAULT_EXTENSION, Server  # noqa: E402

BACKENDS = ("whefs", "dir", "sqlite")
SHARED = ("shared-0.bin", "shared-1.bin")


@dataclass
class Version:
    """One write request: a put of content `sha` (None: a delete)."""

    name: str
    sha: str | None
    size: int
    start: float
    end: float = float("inf")
    acked: bool = False


@dataclass
class Ledger:
    """Every write sent, by name; what readers saw; timings."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    writes: dict[str, list[Version]] = field(default_factory=dict)
    sizes: dict[str, set[int]] = field(default_factory=dict)
    shas: dict[str, set[str]] = field(default_factory=dict)
    timings: list[tuple[str, float, int]] = field(default_factory=list)  # (op, seconds, status)
    problems: list[str] = field(default_factory=list)
    kills: int = 0

    def sent(self, v: Version) -> None:
        with self.lock:
            self.writes.setdefault(v.name, []).append(v)
            if v.sha is not None:
                self.shas.setdefault(v.name, set()).add(v.sha)
                self.sizes.setdefault(v.name, set()).add(v.size)

    def timed(self, op: str, seconds: float, status: int) -> None:
        with self.lock:
            self.timings.append((op, seconds, status))

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body); status 0 when the connection failed."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt == 1 or method not in ("GET",):
                    return 0, b""
        return 0, b""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def content(name: str, rng: random.Random) -> bytes:
    """A version of `name`: says whose it is, then random bytes (1 KiB - 64 KiB)."""
    head = f"filedrop {name} {rng.getrandbits(64):016x}\n".encode()
    return head + os.urandom(rng.randint(1024, 64 * 1024))


def put(client: Client, ledger: Ledger, name: str, data: bytes, op: str) -> None:
    sha = hashlib.sha256(data).hexdigest()
    v = Version(name, sha, len(data), time.monotonic())
    ledger.sent(v)
    t0 = time.monotonic()
    status, body = client.request("PUT", f"/api/files/{name}", data, {"Content-Type": "application/octet-stream"})
    v.end = time.monotonic()
    ledger.timed(op, v.end - t0, status)
    if status == 200:
        try:
            ack = json.loads(body)
        except ValueError:
            return  # the answer broke off (its worker killed while sending it): not acknowledged
        if ack.get("sha256") != sha or ack.get("size") != len(data):
            ledger.problem(f"PUT {name}: acknowledgment {body[:200]!r} does not match what was sent")
        else:
            v.acked = True
    elif status not in (0, 502, 503):
        ledger.problem(f"PUT {name}: HTTP {status} {body[:200]!r}")


def delete(client: Client, ledger: Ledger, name: str) -> None:
    v = Version(name, None, 0, time.monotonic())
    ledger.sent(v)
    t0 = time.monotonic()
    status, body = client.request("DELETE", f"/api/files/{name}")
    v.end = time.monotonic()
    ledger.timed("delete", v.end - t0, status)
    # 404: there was nothing to delete; either way the name is absent after it.
    v.acked = status in (200, 404)
    if status not in (0, 200, 404, 502, 503):
        ledger.problem(f"DELETE {name}: HTTP {status} {body[:200]!r}")


def download(client: Client, ledger: Ledger, name: str) -> None:
    t0 = time.monotonic()
    status, body = client.request("GET", f"/api/files/{name}")
    ledger.timed("download", time.monotonic() - t0, status)
    if status == 200:
        sha = hashlib.sha256(body).hexdigest()
        with ledger.lock:
            known = sha in ledger.shas.get(name, set())
        if not known:
            ledger.problem(f"GET {name}: {len(body)} bytes that are no uploaded version of it ({body[:60]!r})")
    elif status not in (0, 404, 502, 503):
        ledger.problem(f"GET {name}: HTTP {status} {body[:200]!r}")


def list_files(client: Client, ledger: Ledger) -> list[str]:
    t0 = time.monotonic()
    status, body = client.request("GET", "/api/files")
    ledger.timed("list", time.monotonic() - t0, status)
    if status != 200:
        if status not in (0, 502, 503):
            ledger.problem(f"GET /api/files: HTTP {status} {body[:200]!r}")
        return []
    names = []
    for f in json.loads(body)["files"]:
        with ledger.lock:
            ok = f["size"] in ledger.sizes.get(f["name"], set())
        if not ok:
            ledger.problem(f"list: {f['name']} has size {f['size']}, which no uploaded version has")
        names.append(f["name"])
    return names


def uploader(port: int, ledger: Ledger, me: int, until: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(port)
    names = [f"u{me}-{i:02d}.bin" for i in range(12)]
    while time.monotonic() < until:
        name = rng.choice(names)
        if rng.random() < 0.1:
            delete(client, ledger, name)
        else:
            put(client, ledger, name, content(name, rng), "upload")
    client.close()


def overwriter(port: int, ledger: Ledger, until: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(port)
    while time.monotonic() < until:
        name = rng.choice(SHARED)
        put(client, ledger, name, content(name, rng), "overwrite")
    client.close()


def reader(port: int, ledger: Ledger, until: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(port)
    names: list[str] = list(SHARED)
    while time.monotonic() < until:
        if rng.random() < 0.2:
            names = list_files(client, ledger) or names
        else:
            download(client, ledger, rng.choice(names + list(SHARED)))
    client.close()


def killer(server: Server, ledger: Ledger, until: float, interval: float, seed: int) -> None:
    """SIGKILLs a php-fpm worker in the middle of a write request."""
    rng = random.Random(seed)
    while time.monotonic() < until - 0.5:
        time.sleep(rng.uniform(0.5, 1.5) * interval)
        try:
            busy = server.busy_workers()
        except OSError:
            continue
        writing = [p for p in busy if p.get("request method") in ("PUT", "POST", "DELETE")]
        if not writing:
            continue
        pid = int(rng.choice(writing)["pid"])
        if pid in server.worker_pids():  # one of this server's own workers
            try:
                os.kill(pid, signal.SIGKILL)
                ledger.kills += 1
            except ProcessLookupError:
                pass


def allowed_final(versions: list[Version], shared: bool) -> set[str | None]:
    """What a name may hold at the end (a sha, or None for absent)."""
    if shared:
        acked = [v for v in versions if v.acked]
        latest_acked_start = max((v.start for v in acked), default=float("-inf"))
        # Linearizable: a version answered before an acknowledged one was
        # sent cannot be the last.
        allowed: set[str | None] = {v.sha for v in versions if v.end >= latest_acked_start}
        if not acked:
            allowed.add(None)
        return allowed
    # One writer, in order: the last acknowledged state, or any later
    # unanswered write (it may or may not have happened).
    state: str | None = None
    allowed = {None}
    for v in versions:
        if v.acked:
            state = v.sha
            allowed = {state}
        else:
            allowed.add(v.sha)
    return allowed


def final_check(server: Server, ledger: Ledger) -> None:
    client = Client(server.port)
    status, body = client.request("GET", "/api/files")
    if status != 200:
        ledger.problem(f"final list: HTTP {status}")
        return
    present = {f["name"] for f in json.loads(body)["files"]}
    for name, versions in sorted(ledger.writes.items()):
        allowed = allowed_final(versions, name in SHARED)
        status, data = client.request("GET", f"/api/files/{name}")
        got = hashlib.sha256(data).hexdigest() if status == 200 else None
        if status not in (200, 404):
            ledger.problem(f"final GET {name}: HTTP {status}")
        elif got not in allowed:
            acked = sum(v.acked for v in versions)
            ledger.problem(f"final {name}: holds {got and got[:12]}, expected one of "
                           f"{sorted(str(a)[:12] for a in allowed)} ({len(versions)} writes, {acked} acknowledged)")
        if (name in present) != (got is not None):
            ledger.problem(f"final {name}: listed {name in present}, downloadable {got is not None}")
    client.close()


def check_store(server: Server) -> str:
    """The backend's own soundness check, after the server stopped."""
    store = server.store
    if server.backend == "whefs":
        php = subprocess.run(
            ["php", "-n", "-d", f"extension={server.extension}", "-r",
             'require $argv[1]; $fs = Whefs\\Fs::open($argv[2], "r"); $fs->check(); '
             'echo $fs->info()->files, " files";',
             str(ROOT / "bindings" / "php" / "src" / "Whefs.php"), str(store)],
            capture_output=True, text=True)
        if php.returncode != 0:
            raise AssertionError(f"whefs check (PHP binding) failed: {php.stdout}{php.stderr}")
        result = f"check clean ({php.stdout.strip()})"
        tool = ROOT / "target" / "debug" / "whefs"
        if tool.is_file():
            cli = subprocess.run([str(tool), "check", str(store)], capture_output=True, text=True)
            if cli.returncode != 0:
                raise AssertionError(f"whefs check {store} failed: {cli.stdout}{cli.stderr}")
            result += ", whefs check clean"
        return result
    if server.backend == "sqlite":
        with sqlite3.connect(store) as db:
            (verdict,) = db.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise AssertionError(f"SQLite integrity_check: {verdict}")
        return "integrity_check ok"
    leftovers = len(list((store / "tmp").iterdir()))
    return f"{leftovers} temporary files left by killed workers"


@dataclass
class Result:
    backend: str
    seconds: float
    timings: list[tuple[str, float, int]]
    kills: int
    problems: list[str]
    check: str


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_backend(backend: str, workdir: Path, seconds: float, clients: int, workers: int,
                kill_interval: float, seed: int, extension: Path) -> Result:
    run_dir = workdir / backend
    server = Server(run_dir, backend=backend, workers=workers, extension=extension)
    # A fresh store each run.
    subprocess.run(["rm", "-rf", str(server.store), f"{server.store}-wal", f"{server.store}-shm",
                    str(run_dir / "tmp" / "uploads")], check=True)
    ledger = Ledger()
    with server:
        uploaders = max(1, clients * 3 // 8)
        overwriters = max(1, clients * 2 // 8)
        readers = max(1, clients - uploaders - overwriters)
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=uploader, args=(server.port, ledger, i, until, seed + i))
                   for i in range(uploaders)]
        threads += [threading.Thread(target=overwriter, args=(server.port, ledger, until, seed + 100 + i))
                    for i in range(overwriters)]
        threads += [threading.Thread(target=reader, args=(server.port, ledger, until, seed + 200 + i))
                    for i in range(readers)]
        threads.append(threading.Thread(target=killer, args=(server, ledger, until, kill_interval, seed + 300)))
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        final_check(server, ledger)
    check = check_store(server)
    return Result(backend, elapsed, ledger.timings, ledger.kills, ledger.problems, check)


def table(results: list[Result]) -> str:
    rows = [("backend", "requests", "req/s", "p50 ms", "p99 ms", "write p50/p99", "read p50/p99",
             "list p50/p99", "killed", "unanswered", "store")]
    for r in results:
        ok = [t for t in r.timings if t[2] in (200, 404)]

        def ms(ops: tuple[str, ...], p: float) -> str:
            return f"{percentile([t[1] for t in ok if t[0] in ops], p) * 1000:.1f}"

        everything = tuple({t[0] for t in r.timings})
        writes, reads = ("upload", "overwrite", "delete"), ("download",)
        rows.append((
            r.backend, str(len(r.timings)), f"{len(ok) / r.seconds:.0f}",
            ms(everything, 50), ms(everything, 99),
            f"{ms(writes, 50)}/{ms(writes, 99)}", f"{ms(reads, 50)}/{ms(reads, 99)}",
            f"{ms(('list',), 50)}/{ms(('list',), 99)}",
            str(r.kills), str(len(r.timings) - len(ok)), r.check,
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i in (0, 10) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     for row in rows)


def main(argv: list[str] | None = None) -> int:
    long = os.environ.get("WHEFS_LONG_LOAD") == "1"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0 if long else 6.0, help="per backend")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4, help="php-fpm workers")
    ap.add_argument("--kill-interval", type=float, default=0.7, help="mean seconds between SIGKILLs")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--workdir", default=str(ROOT / "build" / "php-load"))
    ap.add_argument("--extension", default=str(DEFAULT_EXTENSION))
    args = ap.parse_args(argv)
    print(f"filedrop load test: {args.seconds:g} s per backend, {args.clients} clients, "
          f"{args.workers} php-fpm workers, a SIGKILL every ~{args.kill_interval:g} s, seed {args.seed}", flush=True)
    results = []
    for backend in args.backends.split(","):
        r = run_backend(backend, Path(args.workdir), args.seconds, args.clients, args.workers,
                        args.kill_interval, args.seed, Path(args.extension))
        print(f"  {backend}: {len(r.timings)} requests, {r.kills} workers killed, {len(r.problems)} problems; {r.check}",
              flush=True)
        results.append(r)
    print(table(results))
    print("(durability: each write synced before its answer — whefs \"full\", SQLite WAL with synchronous=FULL, "
          "the directory fsync()s each file before rename(); times are client-side, over HTTP)")
    failed = False
    for r in results:
        for p in r.problems:
            print(f"PROBLEM {r.backend}: {p}")
            failed = True
    if failed:
        print(f"replay with: --seed {args.seed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
