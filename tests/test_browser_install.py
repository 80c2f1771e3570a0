"""`tests/install_browser.sh`, which `make test` runs for its browser tests: which Chromium it brings.

The script runs with a PATH holding only fakes of `id`, `apt-get` and `chromium`, and a fake
python standing for the virtual environment's, so every branch is taken without touching the
machine; each fake appends the command it received to a log.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.browser_tools import chromium_to_launch
from tests.conftest import REPO

SCRIPT = REPO / "tests" / "install_browser.sh"
CHECK = "python -c"  # the question whether Playwright's own browser is already there
APT = ["apt-get update -qq", "apt-get install -y -qq chromium"]
PLAYWRIGHT = "python -m playwright install chromium"


def fake(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def provision(tmp_path: Path, *, chromium: bool = False, own: bool = False, uid: int = 1000,
              apt: int | None = None, playwright: int = 1) -> tuple[subprocess.CompletedProcess, list[str], Path]:
    """Run the script against fakes; `apt` is apt-get's exit status (None: no apt-get at all)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    log.touch()
    fake(bin_dir / "id", f"echo {uid}")
    if chromium:
        fake(bin_dir / "chromium", "exit 0")
    if apt is not None:
        fake(bin_dir / "apt-get", f'echo "apt-get $*" >> {log}; exit {apt}')
    python = tmp_path / "python"
    fake(python, f'if [ "$1" = -c ]; then echo "python -c" >> {log}; exit {0 if own else 1}; fi\n'
                 f'echo "python $*" >> {log}; exit {playwright}')
    done = subprocess.run([shutil.which("bash"), str(SCRIPT), str(python)], env={"PATH": str(bin_dir)},
                          capture_output=True, text=True)
    return done, log.read_text().splitlines(), python


@pytest.mark.parametrize(
    ("machine", "expected_log"),
    [
        ({"chromium": True, "uid": 0, "apt": 0}, []),
        ({"own": True, "uid": 0, "apt": 0}, [CHECK]),
        ({"uid": 0, "apt": 0}, [CHECK, *APT]),
        ({"uid": 0, "apt": 100, "playwright": 0}, [CHECK, APT[0], PLAYWRIGHT]),
        ({"uid": 0, "playwright": 0}, [CHECK, PLAYWRIGHT]),
        ({"uid": 1000, "apt": 0, "playwright": 0}, [CHECK, PLAYWRIGHT]),
    ],
    ids=["chromium-on-path", "playwright-browser-there", "root-with-apt", "apt-fails-then-playwright",
         "root-without-apt", "not-root"],
)
def test_the_first_browser_that_can_be_had_is_brought(tmp_path, machine, expected_log):
    done, log, _ = provision(tmp_path, **machine)
    assert (done.returncode, done.stderr) == (0, "")
    assert log == expected_log


def test_no_way_to_a_browser_fails_with_one_line_saying_what_to_install(tmp_path):
    done, log, python = provision(tmp_path, uid=1000, apt=0, playwright=1)
    assert done.returncode == 1
    assert log == [CHECK, PLAYWRIGHT]
    assert done.stderr == (
        "error: no Chromium for the browser tests; install Debian's (as root: apt-get install chromium) "
        f"or Playwright's ({python} -m playwright install chromium, needs the internet)\n"
    )


def test_browser_tests_launch_debians_chromium_else_playwrights_own(tmp_path, monkeypatch):
    own = tmp_path / "chrome"
    playwright_chromium = SimpleNamespace(executable_path=str(own))
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/chromium" if name == "chromium" else None)
    assert chromium_to_launch(playwright_chromium) == {"executable_path": "/usr/bin/chromium"}
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"Chromium not found: run `make test`, which installs it"):
        chromium_to_launch(playwright_chromium)
    own.touch()
    assert chromium_to_launch(playwright_chromium) == {}  # Playwright launches its own
