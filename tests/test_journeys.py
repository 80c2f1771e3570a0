"""README's journey 2 run verbatim: a model reused, analysed and published where torch is absent.

The fenced bash block after `<!-- journey: reuse -->` runs with bash, unchanged, in a temporary
folder laid out as the README says: a copy of the checkout as `fmnist-bottleneck/`, the smoke run's
`model.onnx`, and `fashion-mnist/` holding the four official .gz files. The block makes its own
virtual environment and installs the project from the copy (not editable, the `analyze` extra). Its
last line, serving the site, is a comment, so the block ends once the site is built. The run itself
is the session fixture `reuse_journey` (tests/conftest.py), whose environment test_site_install.py
reuses, so the project is installed once per session.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.test_readme import journey_block

pytestmark = pytest.mark.slow


def test_the_reuse_journey_builds_the_site(reuse_journey):
    work, done = reuse_journey
    site = work / "my-run" / "site"
    assert (site / "index.html").is_file()
    assert (work / "my-run" / "analysis" / "results.json").is_file()
    assert f"open {Path('my-run/site/index.html')} in a browser" in done.stdout


def test_the_reuse_journey_has_no_torch_and_runs_the_installed_package(reuse_journey):
    work, _ = reuse_journey
    python = work / "fmnist-venv" / "bin" / "python"
    code = ("import importlib.util, analyzer, site_renderer; "
            "print(importlib.util.find_spec('torch') is None, analyzer.__file__, site_renderer.__file__)")
    done = subprocess.run([str(python), "-c", code], cwd=work, capture_output=True, text=True, timeout=60)
    no_torch, *files = done.stdout.split()
    assert no_torch == "True", done.stderr
    assert all("site-packages" in f for f in files), files


def test_the_install_prints_no_deprecation(reuse_journey):
    """pyproject.toml follows the current packaging standard (`license = "MIT"`, an SPDX string)."""
    _, done = reuse_journey
    assert "deprecated" not in done.stdout + done.stderr


def test_the_serve_line_is_a_comment():
    last = [line for line in journey_block("reuse").splitlines() if line.strip()][-1]
    assert last.startswith("#") and "python -m http.server --directory my-run/site 8000" in last
