"""The Makefile: `make all` end to end on the smoke preset, then nothing left to do; `make test`'s
prerequisites.

Make runs with `VENV` set to a stand-in virtual environment whose `bin/python` is the interpreter
running the tests and whose `.installed` stamp is fresh, so no test skips and none installs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A folder that make takes for an installed `.venv`: this interpreter behind a fresh stamp."""
    venv = tmp_path_factory.mktemp("venv")
    python = venv / "bin" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    (venv / ".installed").touch()
    return venv


def make(venv: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["make", "--no-print-directory", f"VENV={venv}", *args], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def made(tmp_path_factory, local_dir, venv):
    root = tmp_path_factory.mktemp("make")
    variables = [f"RUN={root / 'run'}", "PRESET=smoke", f"DATA_DIR={root / 'data'}", f"FASHION_MNIST_DIR={local_dir}"]
    make(venv, "all", *variables)
    return root / "run", variables


@pytest.mark.slow
def test_make_all_builds_every_stage(made):
    run, _ = made
    for name in ["config.json", "history.json", "checkpoint.pt", "snapshots.npz", "model.onnx",
                 "export_report.json", "analysis/results.json", "analysis/information_bottleneck.gif",
                 "analysis/confusion_matrix.png", "site/index.html", "site/hard_negatives.html"]:
        assert (run / name).is_file(), name
    results = json.loads((run / "analysis/results.json").read_text())
    report = json.loads((run / "export_report.json").read_text())
    assert results["accuracy"] == report["onnx_accuracy"] == report["trainer_accuracy"]


@pytest.mark.slow
def test_second_make_all_has_nothing_to_do(made, venv):
    _, variables = made
    assert make(venv, "-q", "all", *variables, check=False).returncode == 0


@pytest.mark.slow
def test_touching_the_checkpoint_reruns_only_what_follows(made, venv):
    run, variables = made
    (run / "checkpoint.pt").touch()
    ran = make(venv, "all", *variables).stdout
    assert "-m exporter" in ran and "-m analyzer --model" in ran and "-m analyzer.site" in ran
    assert "-m trainer" not in ran
    assert make(venv, "-q", "all", *variables, check=False).returncode == 0


def test_make_test_brings_chromium_once(venv):
    install = f"tests/install_browser.sh {venv / 'bin' / 'python'}"
    assert install in make(venv, "-n", "test").stdout.splitlines()
    (venv / ".browser").touch()  # what the install leaves once a browser is there
    planned = make(venv, "-n", "test").stdout
    assert "install_browser.sh" not in planned and "-m pytest -q" in planned


def stage_sources(root: Path) -> dict[str, set[str]]:
    """Each stage's code prerequisites, as the Makefile in `root` computes them."""
    variables = ["TRAINER_SRC", "EXPORTER_SRC", "ANALYZER_SRC", "SITE_SRC"]
    rule = "sources: ; @" + "; ".join(f"echo '$({name})'" for name in variables)
    done = subprocess.run(["make", "--no-print-directory", "--eval", rule, "sources"], cwd=root,
                          capture_output=True, text=True, check=True)
    return dict(zip(variables, (set(line.split()) for line in done.stdout.splitlines()), strict=True))


@pytest.mark.parametrize(
    ("stage", "needs", "not_needed"),
    [
        ("TRAINER_SRC", {"trainer/train.py", "trainer/data.py", "analyzer/artifacts.py", "analyzer/idx.py"},
         {"exporter/cli.py", "analyzer/report.py", "analyzer/site.py"}),
        ("EXPORTER_SRC", {"exporter/parity.py", "trainer/model.py", "trainer/config.py", "analyzer/idx.py"},
         {"trainer/train.py", "trainer/data.py", "analyzer/report.py", "analyzer/site.py"}),
        ("ANALYZER_SRC", {"analyzer/cli.py", "analyzer/report.py", "analyzer/information.py"},
         {"analyzer/site.py", "trainer/model.py"}),
        ("SITE_SRC", {"analyzer/site.py", "site_templates/index.md.j2"}, {"analyzer/report.py"}),
    ],
)
def test_each_stage_depends_on_the_code_it_imports(stage, needs, not_needed):
    sources = stage_sources(REPO)[stage]
    assert needs <= sources and not sources & not_needed


def test_a_new_import_becomes_a_prerequisite(tmp_path):
    for name in ["Makefile", "trainer", "exporter", "analyzer", "site_templates"]:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copyfile
        copy(REPO / name, tmp_path / name)
    (tmp_path / "analyzer" / "colours.py").write_text("PALETTE = ()\n")
    with open(tmp_path / "trainer" / "snapshots.py", "a") as module:
        module.write("from analyzer.colours import PALETTE  # noqa: E402\n")
    sources = stage_sources(tmp_path)
    assert "analyzer/colours.py" in sources["TRAINER_SRC"]
    assert "analyzer/colours.py" not in sources["EXPORTER_SRC"] | sources["ANALYZER_SRC"]
