"""Headless Chromium (Debian's, else Playwright's own) over a built site served on 127.0.0.1.

`chromium()` starts the browser; `serve(folder)` serves a folder for the length of a `with`;
`visit(browser, url)` loads a page and records what went wrong: console errors, failed requests,
requests leaving 127.0.0.1, and dialogs (an `alert` from injected script).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
CLEAN = {"console": [], "failed": [], "outside": [], "dialogs": []}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on a free port of 127.0.0.1; yield its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


def chromium_to_launch(chromium) -> dict:
    """Debian's Chromium when one is on PATH, else Playwright's own if `make test` downloaded it."""
    system = shutil.which("chromium")
    if system:
        return {"executable_path": system}
    if Path(chromium.executable_path).is_file():
        return {}
    pytest.fail("Chromium not found: run `make test`, which installs it (tests/install_browser.sh)")


@contextlib.contextmanager
def chromium():
    """A headless Chromium for a test module's `browser` fixture."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(**chromium_to_launch(p.chromium), args=FLAGS)
        yield browser
        browser.close()


def visit(browser, url):
    """Load `url`; return the page and what went wrong while loading it (CLEAN when nothing did)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = {key: [] for key in CLEAN}
    page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
    page.on("pageerror", lambda e: problems["console"].append(str(e)))
    # a reload or navigation cancels what is still loading (net::ERR_ABORTED): not a missing file
    page.on("requestfailed", lambda r: r.failure != "net::ERR_ABORTED" and problems["failed"].append(r.url))
    page.on("request", lambda r: urlparse(r.url).hostname not in ("127.0.0.1", None)
            and not r.url.startswith("data:") and problems["outside"].append(r.url))
    page.on("dialog", lambda d: (problems["dialogs"].append(d.message), d.dismiss()))
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, url
    return page, problems


def broken_images(page) -> list[str]:
    """Sources of the page's <img> elements that did not load and decode."""
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete, e.naturalWidth])")
    return [src for src, complete, width in images if not complete or width == 0]


def clean_pages(site: Path, names) -> Iterator[tuple[str, object]]:
    """Open each named page of `site` (served over HTTP) in a fresh Chromium, assert that it loaded
    clean and that every image decoded; yield (name, page) for further checks."""
    with chromium() as browser, serve(site) as base:
        for name in names:
            page, problems = visit(browser, f"{base}{name}.html")
            assert problems == CLEAN, name
            assert broken_images(page) == [], name
            yield name, page
            page.close()
