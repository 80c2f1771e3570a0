"""Full-page screenshots of every page of a built site, light and dark: `make screenshots RUN=runs/fast`.

Serves `RUN/site/` on 127.0.0.1, opens each page in headless Chromium at each mode of MODES (1280 px
light, 1280 px dark, 420 px light) and writes `RUN/screenshots/<page>-<mode>.png`, e.g.
`explorer-dark-1280.png`. Dark pages open with mkdocs-material's palette choice stored as the
palette toggle stores it, so they load the way a reader who chose dark mode sees them. Needs
Playwright (the `dev` extra) and a Chromium (`tests/install_browser.sh` brings one).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import shutil
import sys
import threading
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# name -> (viewport width in CSS pixels, colour scheme of mkdocs-material)
MODES = {"light-1280": (1280, "default"), "dark-1280": (1280, "slate"), "light-420": (420, "default")}
HEIGHT = 900  # viewport height; a full-page screenshot takes the whole page anyway
SETTLE_MS = 400  # canvases draw after load (the explorer's sprite, the replay's first frame)
# the Try it page answers once its runtime started (or failed, saying why)
READY = "!document.getElementById('try-it-page') || !!document.getElementById('try-it-page').dataset.state"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


def scheme_script(scheme: str) -> str:
    """JavaScript run before each page's own: store `scheme` as mkdocs-material's palette toggle does
    (localStorage key "<site path>.__palette"; the site is served at "/")."""
    palette = {"index": 0 if scheme == "default" else 1,
               "color": {"media": "", "scheme": scheme, "primary": "indigo", "accent": "indigo"}}
    return f"localStorage.setItem('/.__palette', {json.dumps(json.dumps(palette))});"


def site_pages(site: Path) -> list[str]:
    """The site's pages (its top-level .html files but the 404 page), in name order."""
    return sorted(p.stem for p in site.glob("*.html") if p.stem != "404")


def take(browser, base: str, out: Path, pages: list[str], modes=MODES) -> list[Path]:
    """Screenshot each of `pages` (names without .html) of the site at `base` in each mode into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for mode, (width, scheme) in modes.items():
        context = browser.new_context(viewport={"width": width, "height": HEIGHT}, device_scale_factor=1)
        context.add_init_script(scheme_script(scheme))
        for name in pages:
            page = context.new_page()
            page.goto(f"{base}{name}.html", wait_until="networkidle")
            page.wait_for_function(READY, timeout=120_000)
            page.wait_for_timeout(SETTLE_MS)
            path = out / f"{name}-{mode}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
            page.close()
        context.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/screenshots.py", description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/fast"),
                        help="a run folder with site/ (default: runs/fast)")
    parser.add_argument("--out", type=Path, help="folder to write (default: RUN/screenshots)")
    args = parser.parse_args(argv)
    site, out = args.run / "site", args.out or args.run / "screenshots"
    if not (site / "index.html").is_file():
        print(f"error: {site / 'index.html'} not found; build the site first: make site RUN={args.run}",
              file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(args=FLAGS, **({"executable_path": executable} if executable else {}))
        written = take(browser, base, out, site_pages(site))
        browser.close()
    print(f"wrote {len(written)} screenshots of {site} into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
