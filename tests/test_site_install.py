"""A model trained elsewhere, analysed and published from a plain install of the `analyze` extra.

In the fresh virtual environment of README's reuse journey (not editable, no torch), for
handmade models with D = 1, 2 and 16 runs `python -m analyzer` and `python -m site_renderer` with
that environment's Python from a folder outside the checkout. The templates must come with the
package, the pages needing training artefacts must be left out, and the built site must load clean
in the browser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.browser_tools import clean_pages
from tests.conftest import REPO
from tests.handmade import FMNIST, linear_pixel_model, write_test_set
from tests.html_pages import read_page

PAGES = ["index", "bottleneck", "explorer", "confusion", "hard_negatives", "calibration", "model"]

pytestmark = pytest.mark.slow


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(reuse_journey) -> tuple[Path, Path]:
    """(python of the README journey's fresh venv, holding `pip install '.[analyze]'`, a folder outside the repo)."""
    work, _ = reuse_journey
    return work / "fmnist-venv" / "bin" / "python", work


@pytest.fixture(scope="module", params=[1, 2, 16], ids=["D1", "D2", "D16"])
def foreign_site(request, installed) -> tuple[Path, int]:
    """A run folder holding only analysis/ (and, for D = 16, model.onnx), with its site built."""
    python, work = installed
    dim = request.param
    root = work / f"d{dim}"
    rng = np.random.default_rng(dim)
    labels = np.repeat(np.arange(10), 20)
    write_test_set(root / "data", rng.integers(0, 256, size=(len(labels), 28, 28)), labels)
    model = root / "model.onnx"
    onnx.save(linear_pixel_model(rng.normal(size=(dim, 10)), rng.normal(size=10), FMNIST), model)
    folder = root / "run"
    if dim == 16:
        folder.mkdir(parents=True)
        shutil.copy2(model, folder / "model.onnx")
    run([str(python), "-m", "analyzer", "--model", str(model), "--data", str(root / "data"),
         "--out", str(folder / "analysis")], work)
    run([str(python), "-m", "site_renderer", "--run", str(folder)], work)
    return folder, dim


def test_the_install_has_no_torch_and_its_own_templates(installed):
    python, work = installed
    code = ("import importlib.util, analyzer, site_templates; "
            "print(importlib.util.find_spec('torch') is None, analyzer.__file__, site_templates.__file__)")
    no_torch, *files = run([str(python), "-c", code], work).stdout.split()
    assert no_torch == "True"
    assert all("site-packages" in f and not f.startswith(str(REPO)) for f in files)


def test_foreign_model_site_has_the_pages_it_can_fill(foreign_site):
    folder, dim = foreign_site
    site = folder / "site"
    nav = re.findall(r"^  - .+: (.+)$", (folder / "mkdocs.yml").read_text(), flags=re.M)
    assert [json.loads(file) for file in nav] == [f"{page}.md" for page in PAGES]
    assert sorted(p.stem for p in site.glob("*.html")) == sorted(PAGES)
    for page in PAGES:
        html = (site / f"{page}.html").read_text()
        text = read_page(site / f"{page}.html").text
        assert "{{" not in html and "{%" not in html, page
        assert not re.search(r"\b(None|nan|NaN)\b", text), page
    index = read_page(site / "index.html").text
    assert f"Fashion-MNIST through a {dim}-unit bottleneck" in index
    assert "Information plane: the whole page" in index
    assert (site / "model.onnx").is_file() == (dim == 16)
    explorer = " ".join(read_page(site / "explorer.html").text.split())
    assert ("first two principal axes" in explorer) == (dim == 16)
    assert ("up, a row per true class" in explorer) == (dim == 1)


@pytest.mark.browser
def test_foreign_model_site_loads_clean(foreign_site):
    folder, _ = foreign_site
    assert [name for name, _ in clean_pages(folder / "site", PAGES)] == list(PAGES)
