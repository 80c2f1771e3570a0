#!/usr/bin/env bash
# Bring up the Chromium that tests/test_browser.py drives, so that `make test` needs no manual step.
# Usage: tests/install_browser.sh PYTHON   (the virtual environment's python, which has playwright)
#
# In order: a `chromium` on PATH or Playwright's own browser already there -> nothing to do;
# root with apt-get -> Debian's chromium (what CI machines have); otherwise Playwright's own
# browser (needs the internet); otherwise one line saying what to install, and exit status 1.
set -euo pipefail
python="${1:?usage: tests/install_browser.sh PYTHON}"

has_playwright_browser() {
  "$python" -c 'import pathlib, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p:
    sys.exit(0 if pathlib.Path(p.chromium.executable_path).is_file() else 1)' 2>/dev/null
}

if command -v chromium >/dev/null 2>&1 || has_playwright_browser; then
  exit 0
fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1 \
  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
  exit 0
fi
if "$python" -m playwright install chromium; then
  exit 0
fi
echo "error: no Chromium for the browser tests; install Debian's (as root: apt-get install chromium)" \
  "or Playwright's ($python -m playwright install chromium, needs the internet)" >&2
exit 1
