"""filedrop, the PHP example application, served as it would be deployed:
nginx and php-fpm (or php-cgi) from Debian's packages, from a directory of
its own under build/ (see examples/filedrop/serve.py).

- a browser (headless Chromium, through selenium and chromium-driver)
  uploads a file through the form, sees it listed, downloads it and gets
  the same bytes; a screenshot is kept in build/php-web/;
- the php-cgi variant serves the same application;
- the load test (loadtest.py) runs whefs, a plain directory and SQLite
  side by side with workers killed mid-request, and prints the figures.

``make test-php-web`` runs this file; WHEFS_PHP_EXTENSION names the
extension to load (default build/php-release/whefs.so).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "php" / "examples" / "filedrop"))
sys.path.insert(0, str(HERE))

import loadtest  # noqa: E402
from serve import Server  # noqa: E402

EXTENSION = Path(os.environ.get("WHEFS_PHP_EXTENSION") or ROOT / "build" / "php-release" / "whefs.so")
ARTIFACTS = ROOT / "build" / "php-web"


def fresh_server(name: str, **kwargs: Any) -> Server:
    workdir = ARTIFACTS / name
    shutil.rmtree(workdir, ignore_errors=True)
    return Server(workdir, extension=EXTENSION, **kwargs)


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def whefs_server() -> Iterator[Server]:
    with fresh_server("browser", backend="whefs") as server:
        yield server


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,760", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    })
    driver = webdriver.Chrome(options=options,
                              service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_download(folder: Path, name: str, timeout: float = 20) -> bytes:
    deadline = time.monotonic() + timeout
    target = folder / name
    while time.monotonic() < deadline:
        if target.is_file() and not list(folder.glob("*.crdownload")):
            return target.read_bytes()
        time.sleep(0.1)
    raise AssertionError(f"{name} not downloaded within {timeout}s; the folder has {sorted(os.listdir(folder))}")


def test_browser_uploads_through_the_form_sees_it_listed_and_downloads_the_same_bytes(
        whefs_server: Server, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    def arrives_at(url: str) -> None:
        WebDriverWait(browser, 20).until(ec.url_to_be(url))

    browser.get(whefs_server.url + "/")
    assert browser.title == "Files · filedrop"
    assert browser.find_element(By.ID, "empty").text == "No files yet."

    upload = tmp_path / "holiday photo.bin"
    data = bytes(range(256)) * 40 + os.urandom(30000) + b"\0end"
    upload.write_bytes(data)
    browser.find_element(By.ID, "file").send_keys(str(upload))
    browser.find_element(By.ID, "upload").click()
    arrives_at(whefs_server.url + "/view/holiday_photo.bin")  # the name made safe
    assert "Binary file" in browser.page_source

    browser.get(whefs_server.url + "/")
    browser.find_element(By.NAME, "text").send_keys("hello from the browser\n<b>not bold</b>\n")
    browser.find_elements(By.NAME, "name")[1].send_keys("note.txt")
    browser.find_element(By.ID, "paste").click()
    arrives_at(whefs_server.url + "/view/note.txt")
    assert browser.find_element(By.ID, "content").text == "hello from the browser\n<b>not bold</b>"

    browser.get(whefs_server.url + "/")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#files tbody tr")]
    assert len(rows) == 2, rows
    assert rows[0].startswith(f"holiday_photo.bin {len(data) / 1024:.1f} KiB"), rows
    assert rows[1].startswith("note.txt 41 B"), rows  # the text as pasted, newlines and all
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "filedrop.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    link = browser.find_element(By.CSS_SELECTOR, "#files a[href='/files/holiday_photo.bin']")
    link.click()
    assert wait_for_download(browser.downloads, "holiday_photo.bin") == data

    browser.find_element(By.CSS_SELECTOR, "form[action='/delete/note.txt'] button").click()
    WebDriverWait(browser, 20).until(ec.staleness_of(link))  # the list page again
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#files tbody tr")]
    assert len(rows) == 1 and rows[0].startswith("holiday_photo.bin"), rows

    # All of it is in the one container file.
    assert sorted(p.name for p in whefs_server.store.parent.iterdir() if p.is_file()) == ["filedrop.whefs"]


@pytest.mark.parametrize("sapi", ["fpm", "cgi"])
@pytest.mark.parametrize("backend", ["whefs", "dir", "sqlite"])
def test_the_api_works_on_every_backend_under_php_fpm_and_php_cgi(sapi: str, backend: str) -> None:
    with fresh_server(f"api-{backend}-{sapi}", backend=backend, sapi=sapi, workers=2) as server:
        body = b"\0binary\xff" * 1000
        status, ack = http("PUT", server.url + "/api/files/a.bin", body)
        assert status == 200 and json.loads(ack) == {
            "name": "a.bin", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
        assert http("GET", server.url + "/api/files/a.bin") == (200, body)
        status, listing = http("GET", server.url + "/api/files")
        files = json.loads(listing)
        assert files["backend"] == backend and [(f["name"], f["size"]) for f in files["files"]] == [("a.bin", len(body))]
        assert http("PUT", server.url + "/api/files/a.bin", b"new")[0] == 200
        assert http("GET", server.url + "/api/files/a.bin") == (200, b"new")
        assert http("PUT", server.url + "/api/files/..hidden", b"x")[0] == 400
        assert http("GET", server.url + "/api/files/none")[0] == 404
        assert http("DELETE", server.url + "/api/files/a.bin")[0] == 200
        assert http("DELETE", server.url + "/api/files/a.bin")[0] == 404
        status, page = http("GET", server.url + "/")
        assert status == 200 and f"Storage: <b>{backend}</b>".encode() in page


def test_load_whefs_against_a_directory_and_sqlite_with_workers_killed(capsys: pytest.CaptureFixture[str]) -> None:
    seconds = os.environ.get("WHEFS_LOAD_SECONDS") or ("60" if os.environ.get("WHEFS_LONG_LOAD") == "1" else "5")
    with tempfile.TemporaryDirectory():
        code = loadtest.main(["--seconds", seconds, "--extension", str(EXTENSION),
                              "--workdir", str(ARTIFACTS / "load")])
    out = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + out, end="")
    (ARTIFACTS / "load.txt").write_text(out)
    assert code == 0, out
    for backend in loadtest.BACKENDS:
        assert f"\n{backend} " in out
    assert "check clean" in out


def test_load_test_verdicts_reject_a_lost_acknowledged_write() -> None:
    """The load test's rule for what a name may hold at the end can fail."""
    V = loadtest.Version
    # One writer: put a (acked), put b (unanswered), delete (acked), put c (unanswered).
    own = [V("n", "a", 1, 0, 1, True), V("n", "b", 1, 2, 3, False), V("n", None, 0, 4, 5, True),
           V("n", "c", 1, 6, 7, False)]
    assert loadtest.allowed_final(own, shared=False) == {None, "c"}
    assert loadtest.allowed_final(own[:2], shared=False) == {"a", "b"}
    # Shared: x answered at 2, then y sent at 3 and acknowledged: x is lost if it is last.
    shared = [V("s", "x", 1, 0, 2, True), V("s", "y", 1, 3, 4, True), V("s", "z", 1, 1, 5, False)]
    assert loadtest.allowed_final(shared, shared=True) == {"y", "z"}
    assert loadtest.allowed_final([V("s", "w", 1, 0, 1, False)], shared=True) == {"w", None}
