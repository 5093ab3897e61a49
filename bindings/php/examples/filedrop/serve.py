#!/usr/bin/env python3
"""Serves filedrop with nginx and php-fpm (or php-cgi), from Debian's
packages, as a PHP developer would deploy it — but from a directory of its
own: every config file, pid file, socket and log is under --workdir, the
server listens on 127.0.0.1 only, and the system's /etc/nginx and /etc/php
are not read.

    python3 serve.py --workdir build/php-demo --port 8080            # whefs
    python3 serve.py --workdir build/php-demo --sapi cgi              # php-cgi
    python3 serve.py --workdir build/php-demo --backend sqlite        # the same app on SQLite

It prints the URL and serves until Ctrl-C. The load and browser tests use
the Server class here.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PUBLIC = HERE / "public"
ROOT = HERE.parents[3]  # the whefs checkout
DEFAULT_EXTENSION = ROOT / "build" / "php" / "whefs.so"


def php_version() -> str:
    """The PHP the extension is built for (php-config's), as "8.2"."""
    out = subprocess.run(["php-config", "--version"], capture_output=True, text=True, check=True)
    return ".".join(out.stdout.strip().split(".")[:2])


def find_program(*names: str) -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    for name in names:
        path = shutil.which(name, path=search)
        if path:
            return path
    raise SystemExit(f"serve.py: none of {', '.join(names)} found (Debian: apt-get install nginx php-fpm php-cgi)")


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started it
    dies (prctl PR_SET_PDEATHSIG), so that no server outlives serve.py or
    a test killed halfway."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """nginx in front of php-fpm (or php-cgi) serving filedrop, configured
    and run from ``workdir``. A context manager: started on entry, stopped
    (both, and only the processes it started) on exit."""

    def __init__(self, workdir: Path | str, *, backend: str = "whefs", store: Path | str | None = None,
                 sapi: str = "fpm", port: int | None = None, workers: int = 4,
                 extension: Path | str = DEFAULT_EXTENSION) -> None:
        if backend not in ("whefs", "dir", "sqlite"):
            raise ValueError(f"backend must be whefs, dir or sqlite, not {backend!r}")
        if sapi not in ("fpm", "cgi"):
            raise ValueError(f"sapi must be fpm or cgi, not {sapi!r}")
        self.workdir = Path(workdir).resolve()
        self.backend = backend
        default_store = {"whefs": "filedrop.whefs", "dir": "filedrop-files", "sqlite": "filedrop.sqlite"}[backend]
        self.store = Path(store).resolve() if store else self.workdir / default_store
        self.sapi = sapi
        self.port = port or free_port()
        self.workers = workers
        self.extension = Path(extension).resolve()
        self.url = f"http://127.0.0.1:{self.port}"
        self.php: subprocess.Popen[bytes] | None = None
        self.nginx: subprocess.Popen[bytes] | None = None

    # -- configuration -----------------------------------------------------
    def _paths(self) -> dict[str, Path]:
        w = self.workdir
        return {"run": w / "run", "logs": w / "logs", "tmp": w / "tmp", "conf": w / "conf"}

    def write_config(self) -> None:
        if not self.extension.is_file():
            raise SystemExit(f"serve.py: {self.extension} not found (run: make php-ext)")
        p = self._paths()
        for d in (*p.values(), p["tmp"] / "uploads", p["tmp"] / "nginx"):
            d.mkdir(parents=True, exist_ok=True)
        self.socket = p["run"] / "php.sock"
        as_root = os.geteuid() == 0
        (p["conf"] / "php.ini").write_text(f"""\
; filedrop's PHP settings: only these (PHP_INI_SCAN_DIR is emptied)
extension={self.extension}
extension=pdo
extension=pdo_sqlite
zend_extension=opcache
opcache.enable=1
opcache.validate_timestamps=1
memory_limit=256M
output_buffering=4096
upload_max_filesize=16M
post_max_size=20M
upload_tmp_dir={p['tmp'] / 'uploads'}
sys_temp_dir={p['tmp']}
display_errors=0
log_errors=1
error_log={p['logs'] / 'php-errors.log'}
error_reporting=E_ALL
cgi.fix_pathinfo=0
""")
        user = "user = root\ngroup = root\n" if as_root else ""
        (p["conf"] / "php-fpm.conf").write_text(f"""\
[global]
pid = {p['run'] / 'php-fpm.pid'}
error_log = {p['logs'] / 'php-fpm.log'}
daemonize = no

[filedrop]
{user}listen = {self.socket}
listen.mode = 0600
pm = static
pm.max_children = {self.workers}
pm.status_path = /fpm-status
request_terminate_timeout = 60s
catch_workers_output = yes
""")
        nginx_user = "user root;\n" if as_root else ""
        fastcgi = f"""
            fastcgi_pass unix:{self.socket};
            fastcgi_param SCRIPT_FILENAME {PUBLIC / 'index.php'};
            fastcgi_param SCRIPT_NAME $filedrop_script;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param DOCUMENT_URI $document_uri;
            fastcgi_param DOCUMENT_ROOT {PUBLIC};
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param SERVER_SOFTWARE nginx;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param REMOTE_PORT $remote_port;
            fastcgi_param SERVER_ADDR $server_addr;
            fastcgi_param SERVER_PORT $server_port;
            fastcgi_param SERVER_NAME $server_name;
            fastcgi_param REDIRECT_STATUS 200;
            fastcgi_param FILEDROP_BACKEND {self.backend};
            fastcgi_param FILEDROP_STORE {self.store};
            fastcgi_read_timeout 60s;"""
        tmp = p["tmp"] / "nginx"
        (p["conf"] / "nginx.conf").write_text(f"""\
# filedrop's nginx: 127.0.0.1 only, everything under {self.workdir}
{nginx_user}worker_processes 1;
pid {p['run'] / 'nginx.pid'};
error_log {p['logs'] / 'nginx-error.log'} warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 20m;
    client_body_buffer_size 1m;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        server_name localhost;
        # php-fpm answers its status page itself, by SCRIPT_NAME
        location = /fpm-status {{ allow 127.0.0.1; deny all; set $filedrop_script /fpm-status;{fastcgi}
        }}
        location / {{ set $filedrop_script /index.php;{fastcgi}
        }}
    }}
}}
""")

    # -- processes -----------------------------------------------------------
    def start(self) -> Server:
        self.write_config()
        p = self._paths()
        env = dict(os.environ, PHP_INI_SCAN_DIR="")
        if self.backend == "dir":
            self.store.mkdir(parents=True, exist_ok=True)
        if self.socket.exists():
            self.socket.unlink()
        logs = open(p["logs"] / f"{self.sapi}.out", "ab")
        if self.sapi == "fpm":
            fpm = find_program(f"php-fpm{php_version()}", "php-fpm")
            cmd = [fpm, "--nodaemonize", "-y", str(p["conf"] / "php-fpm.conf"), "-c", str(p["conf"] / "php.ini")]
            if os.geteuid() == 0:
                cmd.append("--allow-to-run-as-root")
        else:
            # php-cgi as its own FastCGI server: PHP_FCGI_CHILDREN workers.
            cgi = find_program(f"php-cgi{php_version()}", "php-cgi")
            cmd = [cgi, "-b", str(self.socket), "-c", str(p["conf"] / "php.ini")]
            env.update(PHP_FCGI_CHILDREN=str(self.workers), PHP_FCGI_MAX_REQUESTS="0")
        self.php = subprocess.Popen(cmd, env=env, stdout=logs, stderr=subprocess.STDOUT,
                                    preexec_fn=_die_with_parent)
        self._wait_for(lambda: self.socket.exists(), "the PHP socket", self.php)
        nginx = find_program("nginx")
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(self.workdir), "-c", str(p["conf"] / "nginx.conf"), "-g", "daemon off;"],
            stdout=logs, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        self._wait_for(self._answers, f"{self.url}/", self.nginx)
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/api/files", timeout=5) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def _wait_for(self, ready: Any, what: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"serve.py: {Path(proc.args[0]).name} exited ({proc.returncode}) before "
                                   f"{what} was ready; see {self._paths()['logs']}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"serve.py: {what} not ready after {timeout}s; see {self._paths()['logs']}")
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in (self.nginx, self.php):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGQUIT if proc is self.nginx else signal.SIGTERM)
        for proc in (self.nginx, self.php):
            if proc is None:
                continue
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.nginx = self.php = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- php-fpm workers -------------------------------------------------------
    def worker_pids(self) -> list[int]:
        """The php-fpm (or php-cgi) worker processes: the children of the
        process this Server started."""
        if self.php is None:
            return []
        parent = self.php.pid
        pids = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(stat.split("/")[2]))
        return sorted(pids)

    def busy_workers(self) -> list[dict[str, Any]]:
        """php-fpm's status of the workers running a request now (not
        this status request): pid, request method and URI."""
        with urllib.request.urlopen(self.url + "/fpm-status?json&full", timeout=5) as r:
            status = json.load(r)
        return [p for p in status.get("processes", [])
                if p.get("state") == "Running" and not str(p.get("request uri", "")).startswith("/fpm-status")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=str(ROOT / "build" / "php-demo"))
    ap.add_argument("--backend", choices=["whefs", "dir", "sqlite"], default="whefs")
    ap.add_argument("--store", help="the container file, directory or database (default: in --workdir)")
    ap.add_argument("--sapi", choices=["fpm", "cgi"], default="fpm")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--extension", default=str(DEFAULT_EXTENSION))
    args = ap.parse_args()
    server = Server(Path(args.workdir) / f"{args.backend}-{args.sapi}", backend=args.backend,
                    store=args.store, sapi=args.sapi, port=args.port, workers=args.workers,
                    extension=args.extension)
    stop = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        kind = "php-fpm" if args.sapi == "fpm" else "php-cgi"
        print(f"filedrop ({args.backend} storage: {server.store}) on nginx + {kind}:", flush=True)
        print(f"    {server.url}/", flush=True)
        print(f"configs and logs in {server.workdir}; Ctrl-C stops it.", flush=True)
        while not stop:
            time.sleep(0.2)
    print("stopped.")


if __name__ == "__main__":
    sys.exit(main())
