"""README's journey 4 run verbatim: a scikit-learn MLP made, adopted, analysed and published without torch.

The fenced bash block after `<!-- journey: adopt -->` runs with bash, unchanged, in a temporary
folder laid out as the README says: a copy of the checkout as `fmnist-bottleneck/` and
`fashion-mnist/` holding the four official .gz files. The block makes its own virtual environment,
installs the project from the copy (not editable, the `analyze` extra) with scikit-learn and
skl2onnx, trains the MLP, adopts it, analyses it and builds the site; its last line is a comment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FASHION_MNIST_FILES, NOT_SOURCE, REPO
from tests.test_readme import journey_block

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def adopt_journey(tmp_path_factory, local_dir) -> tuple[Path, subprocess.CompletedProcess]:
    work = tmp_path_factory.mktemp("adopt-journey")
    shutil.copytree(REPO, work / "fmnist-bottleneck", ignore=NOT_SOURCE)
    (work / "fashion-mnist").mkdir()
    for name in FASHION_MNIST_FILES:
        (work / "fashion-mnist" / name).symlink_to(local_dir / name)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # python3 >= 3.11
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", journey_block("adopt")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"README journey 4 failed\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return work, done


def test_the_adopt_journey_builds_the_site_of_the_adopted_mlp(adopt_journey):
    work, done = adopt_journey
    assert (work / "my-mlp" / "site" / "index.html").is_file()
    report = json.loads((work / "my-mlp" / "adopt_report.json").read_text())
    assert (report["passed"], report["predictions_equal"], report["predictions_differ"]) == (True, 10_000, 0)
    assert report["adopted_from"]["producer"].startswith("skl2onnx ")
    assert report["adopted_from"]["bottleneck"]["dim"] == 16
    assert f"wrote {Path('my-mlp/model.onnx')} and {Path('my-mlp/adopt_report.json')}" in done.stdout
    assert f"open {Path('my-mlp/site/index.html')} in a browser" in done.stdout


def test_the_adopt_journey_has_no_torch(adopt_journey):
    work, _ = adopt_journey
    python = work / "fmnist-venv" / "bin" / "python"
    done = subprocess.run([str(python), "-c", "import importlib.util; print(importlib.util.find_spec('torch'))"],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert done.stdout == "None\n", done.stderr


def test_the_serve_line_is_a_comment():
    last = [line for line in journey_block("adopt").splitlines() if line.strip()][-1]
    assert last.startswith("#") and "python -m http.server --directory my-mlp/site 8000" in last
