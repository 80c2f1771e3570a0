"""The built site in headless Chromium (Debian's, never a downloaded one): every page loads clean.

For each page: no failed request, no console error, no request leaving localhost, every <img>
decoded with a non-zero natural size, every internal link (and its #anchor) resolving. A
screenshot of each page is saved under RUN/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import urllib.request
from urllib.parse import urldefrag, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PAGES = ["index.html", "bottleneck.html", "confusion.html", "hard_negatives.html", "model.html"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_site(smoke_site):
    handler = functools.partial(QuietHandler, directory=str(smoke_site / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", smoke_site
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.fail("Chromium not found: apt-get install chromium (the CI script does)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def visit(browser, url):
    """Load `url`; return the page and what went wrong while loading it."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = {"console": [], "failed": [], "outside": []}
    page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
    page.on("pageerror", lambda e: problems["console"].append(str(e)))
    page.on("requestfailed", lambda r: problems["failed"].append(r.url))
    page.on("request", lambda r: urlparse(r.url).hostname not in ("127.0.0.1", None)
            and not r.url.startswith("data:") and problems["outside"].append(r.url))
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, url
    return page, problems


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_clean(browser, served_site, name):
    base, run = served_site
    page, problems = visit(browser, base + name)
    assert problems == {"console": [], "failed": [], "outside": []}
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete, e.naturalWidth])")
    if name != "model.html":
        assert images, "every page but the model's shows figures"
    broken = [src for src, complete, width in images if not complete or width == 0]
    assert broken == []
    shots = run / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / name.replace(".html", ".png")), full_page=True)
    assert (shots / name.replace(".html", ".png")).stat().st_size > 10_000
    page.close()


def test_every_internal_link_resolves(browser, served_site):
    base, _ = served_site
    links, ids = {}, {}
    for name in PAGES:
        page, _ = visit(browser, base + name)
        links[name] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        ids[base + name] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        page.close()
    checked = 0
    for name, hrefs in links.items():
        for link in {h for h in hrefs if h.startswith(base)}:
            target, anchor = urldefrag(link)
            if target.endswith(".html") and target in ids:
                assert not anchor or anchor in ids[target], f"{name} links to {link}: no such anchor"
            else:
                with urllib.request.urlopen(target) as response:
                    assert response.status == 200, f"{name} links to {link}: HTTP {response.status}"
            checked += 1
    assert checked > 60


def test_hard_negative_table_holds_every_image(browser, served_site):
    base, run = served_site
    results = json.loads((run / "analysis" / "results.json").read_text())
    expected = sum(len(c["items"]) for c in results["hard_negatives"]["classes"])
    page, _ = visit(browser, base + "hard_negatives.html")
    cells = page.eval_on_selector_all("table img", "els => els.map(e => e.naturalWidth)")
    assert len(cells) == expected and all(width == 112 for width in cells)
    page.close()
