"""The analyzer and the site renderer run where torch cannot be imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BLOCK_TORCH = (
    "import sys\n"
    "for name in ('torch', 'torchvision', 'trainer', 'exporter'):\n"
    "    sys.modules[name] = None  # any import of them now raises ImportError\n"
)


def test_analyzer_runs_without_torch(smoke_run, data_dir, tmp_path):
    out = tmp_path / "analysis"
    argv = ["--model", str(smoke_run / "model.onnx"), "--data", str(data_dir), "--out", str(out),
            "--snapshots", str(smoke_run / "snapshots.npz"), "--history", str(smoke_run / "history.json")]
    code = BLOCK_TORCH + f"from analyzer.cli import main\nsys.exit(main({argv!r}))\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / "results.json").is_file() and (out / "information_bottleneck.gif").is_file()


def test_blocking_really_blocks():
    code = BLOCK_TORCH + "import torch\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.endswith("ModuleNotFoundError: import of torch halted; None in sys.modules\n")


@pytest.mark.parametrize(("stage", "instead"), [("exporter", "python -m exporter.adopt"),
                                               ("trainer", "python -m analyzer")])
def test_the_stages_that_need_torch_say_so_in_one_line(stage, instead):
    code = ("import runpy, sys\nsys.modules['torch'] = None\nsys.argv = ['-m', '--help']\n"
            f"runpy.run_module({stage!r}, run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: python -m {stage} needs torch, ") and done.stderr.count("\n") == 1
    assert instead in done.stderr


def test_no_module_of_the_analyzer_imports_torch_or_the_trainer():
    for path in Path(REPO, "analyzer").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in {"torch", "torchvision", "trainer", "exporter"}, (path, name)
