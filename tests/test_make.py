"""`make all` end to end on the smoke preset: every stage's file, then nothing left to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def make(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    venv = Path(sys.prefix)
    done = subprocess.run(["make", "--no-print-directory", f"VENV={venv}", *args], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def made(tmp_path_factory, local_dir):
    if not (Path(sys.prefix) / ".installed").is_file():
        pytest.skip("run through `make test`, whose virtual environment `make install` made")
    root = tmp_path_factory.mktemp("make")
    variables = [f"RUN={root / 'run'}", "PRESET=smoke", f"DATA_DIR={root / 'data'}", f"FASHION_MNIST_DIR={local_dir}"]
    make("all", *variables)
    return root / "run", variables


def test_make_all_builds_every_stage(made):
    run, _ = made
    for name in ["config.json", "history.json", "checkpoint.pt", "snapshots.npz", "model.onnx",
                 "export_report.json", "analysis/results.json", "analysis/information_bottleneck.gif",
                 "analysis/confusion_matrix.png", "site/index.html", "site/hard_negatives.html"]:
        assert (run / name).is_file(), name
    results = json.loads((run / "analysis/results.json").read_text())
    report = json.loads((run / "export_report.json").read_text())
    assert results["accuracy"] == report["onnx_accuracy"] == report["trainer_accuracy"]


def test_second_make_all_has_nothing_to_do(made):
    _, variables = made
    assert make("-q", "all", *variables, check=False).returncode == 0


def test_touching_the_checkpoint_reruns_only_what_follows(made):
    run, variables = made
    (run / "checkpoint.pt").touch()
    ran = make("all", *variables).stdout
    assert "-m exporter" in ran and "-m analyzer --model" in ran and "-m analyzer.site" in ran
    assert "-m trainer" not in ran
    assert make("-q", "all", *variables, check=False).returncode == 0
