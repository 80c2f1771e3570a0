"""The Makefile: `make all` end to end on the smoke preset, then nothing left to do; `make test`'s
prerequisites; folder names make refuses before any recipe runs; `make clean` deleting only what the
stages wrote.

Make runs with `VENV` set to a stand-in virtual environment whose `bin/python` is the interpreter
running the tests and whose `.installed` stamp is fresh, so no test skips and none installs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOT_SOURCE, REPO


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


def make(venv: Path, *args: str, check: bool = True, cwd: Path = REPO) -> subprocess.CompletedProcess:
    done = subprocess.run(["make", "--no-print-directory", f"VENV={venv}", *args], cwd=cwd,
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
    for name in ["config.json", "history.json", "checkpoint.pt", "snapshots.npz", "dynamics.npz", "model.onnx",
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
    assert "-m exporter" in ran and "-m analyzer --model" in ran and "-m site_renderer" in ran
    assert "-m trainer" not in ran
    assert make(venv, "-q", "all", *variables, check=False).returncode == 0


@pytest.mark.slow
def test_a_refused_training_keeps_the_folder_make_clean_knows(made, venv, tmp_path):
    """A failing trainer (here: a checkpoint.pt it did not write) leaves config.json and history.json
    as they were: without them `make clean` would refuse the folder as not a run."""
    _, variables = made
    run = tmp_path / "run"
    run.mkdir()
    kept = {"config.json": '{"config": {}}\n', "history.json": "[]\n", "checkpoint.pt": "not a checkpoint"}
    for name, text in kept.items():
        (run / name).write_text(text)
    done = make(venv, "train", *variables[1:], f"RUN={run}", check=False)
    assert done.returncode == 2 and "is not a checkpoint written by" in done.stderr
    assert {p.name: p.read_text() for p in run.iterdir()} == kept


@pytest.mark.parametrize("value", ["0", "1", "yes"])
def test_resume_is_1_or_0(venv, tmp_path, value):
    done = make(venv, "-n", "train", f"RUN={tmp_path / 'run'}", f"RESUME={value}", check=False)
    if value == "yes":
        refused(done, "error: RESUME='yes'; RESUME=1 continues a killed run, RESUME=0 or none starts afresh")
    else:
        assert done.returncode == 0 and ("--resume" in done.stdout) == (value == "1")


def test_make_test_brings_chromium_once(venv):
    install = f"tests/install_browser.sh '{venv / 'bin' / 'python'}'"
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
        ("TRAINER_SRC", {"trainer/train.py", "trainer/data.py", "fmnist_common/artifacts.py", "fmnist_common/idx.py"},
         {"exporter/cli.py", "analyzer/report.py", "site_renderer/render.py"}),
        ("EXPORTER_SRC", {"exporter/parity.py", "trainer/model.py", "trainer/config.py", "fmnist_common/idx.py",
                          "fmnist_common/interface.py"},
         {"trainer/train.py", "trainer/data.py", "analyzer/report.py", "site_renderer/render.py"}),
        ("ANALYZER_SRC", {"analyzer/cli.py", "analyzer/report.py", "analyzer/information.py",
                          "fmnist_common/interface.py"},
         {"site_renderer/render.py", "trainer/model.py"}),
        ("SITE_SRC", {"site_renderer/cli.py", "site_renderer/render.py", "site_templates/index.md.j2"},
         {"analyzer/report.py"}),
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


def refused(done: subprocess.CompletedProcess, message: str) -> None:
    """Make stopped while reading the Makefile with this one line: no recipe ran, none was printed."""
    assert (done.returncode, done.stdout) == (2, "")
    stop = re.fullmatch(r"Makefile:\d+: \*\*\* (.*)\.  Stop\.\n", done.stderr)
    assert stop, done.stderr
    assert stop.group(1) == message


CANNOT = "make cannot name such a folder; choose a name without them"


@pytest.mark.parametrize(
    ("variable", "value", "flaw"),
    [
        ("RUN", "a b", "a space"),
        ("RUN", "a\tb", "a space"),
        ("RUN", "a$b", 'the character "$"'),
        ("RUN", "a;b'c", 'the characters "\'" ";"'),
        ("RUN", "a b#c", 'a space and the character "#"'),
        ("DATA_DIR", "da ta", "a space"),
        ("DATA_DIR", "d:*", 'the characters "*" ":"'),
        ("FASHION_MNIST_DIR", "fm%`x`", 'the characters "`" "%"'),
    ],
)
def test_make_all_refuses_a_folder_name_make_cannot_use(venv, tmp_path, variable, value, flaw):
    done = make(venv, "all", f"RUN={tmp_path / 'run'}", f"{variable}={tmp_path / value}", check=False)
    refused(done, f"error: {variable}='{tmp_path / value}' contains {flaw}; {CANNOT}")
    assert list(tmp_path.iterdir()) == []


def test_make_all_refuses_a_run_with_a_space_before_any_recipe(venv, tmp_path):
    done = make(venv, "all", f"RUN={tmp_path / 'a b'}", "PRESET=smoke", check=False)
    refused(done, f"error: RUN='{tmp_path / 'a b'}' contains a space; {CANNOT}")
    assert "Traceback" not in done.stderr and "unrecognized arguments" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_venv_named_with_a_space_is_refused(tmp_path):
    done = make(tmp_path / "my venv", "install", check=False)
    refused(done, f"error: VENV='{tmp_path / 'my venv'}' contains a space; {CANNOT}")


def test_the_recipes_pass_each_folder_as_one_quoted_word(venv, tmp_path):
    run, data, local = tmp_path / "run", tmp_path / "data", tmp_path / "fm"
    planned = make(venv, "-n", "all", f"RUN={run}", "PRESET=smoke", f"DATA_DIR={data}",
                   f"FASHION_MNIST_DIR={local}").stdout.splitlines()
    python = f"'{venv / 'bin' / 'python'}'"
    assert planned[:2] == [
        f"{python} -m trainer data --data-dir '{data}' --local-dir '{local}'",
        f"{python} -m trainer train --run '{run}' --preset 'smoke' --data-dir '{data}' --local-dir '{local}' ",
    ]
    assert f"{python} -m site_renderer --run '{run}'" in planned


@pytest.mark.parametrize("value", ["", ".", "..", "/", str(REPO), f"{REPO}/", "runs/.."])
def test_clean_refuses_the_repository_and_above_while_reading_the_makefile(venv, value):
    done = make(venv, "-n", "clean", f"RUN={value}", check=False)
    if value:
        refused(done, f"error: RUN='{value}' is the repository or a folder holding it; "
                      "choose a run folder, e.g. runs/default")
    else:
        refused(done, "error: RUN is empty; name a folder, or leave RUN unset for its default")


@pytest.mark.parametrize("value", ["", ".", "..", "{repo}", "{parent}"])
def test_clean_of_the_repository_deletes_nothing(venv, tmp_path, value):
    """Run for real in a throwaway copy of the Makefile beside files named like a run's outputs."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copyfile(REPO / "Makefile", repo / "Makefile")
    project_files(repo)
    project_files(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    assert make(venv, "clean", f"RUN={value.format(repo=repo, parent=tmp_path)}", check=False, cwd=repo).returncode == 2
    assert sorted(tmp_path.rglob("*")) == before


def project_files(run: Path) -> None:
    """What the stages leave in a run folder, a killed run's hidden leftovers included."""
    for name in ["history.json", "checkpoint.pt", "snapshots.npz", "dynamics.npz", "model.onnx", "export_report.json",
                 "analysis/results.json", "docs/index.md", "site/index.html", "mkdocs.yml", "screenshots/index.png",
                 ".analysis.lock", ".site.lock", ".site-build/docs/index.md", ".analysis.new-x1/results.json",
                 ".docs.old/index.md", ".config.json.k3j.json", ".report.lock"]:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("made\n")
    (run / "config.json").write_text(json.dumps({"config": {"epochs": 2}, "torch_version": "2.14.1"}, indent=2))


def test_clean_deletes_only_what_the_stages_wrote(venv, tmp_path):
    run = tmp_path / "run"
    project_files(run)
    (run / "notes.txt").write_text("mine\n")
    (run / "mine").mkdir()
    (run / "mine" / "model.onnx").write_text("mine too\n")
    done = make(venv, "clean", f"RUN={run}")
    assert done.stdout == f"kept {run}: mine/ notes.txt (not written by this project)\n"
    assert sorted(p.relative_to(run).as_posix() for p in run.rglob("*")) == ["mine", "mine/model.onnx", "notes.txt"]
    assert (run / "notes.txt").read_text() == "mine\n"


def test_clean_removes_the_links_of_the_published_report_and_never_follows_them(venv, tmp_path):
    run, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    project_files(run)
    shutil.rmtree(run / "analysis")
    for name in ["docs", "site", "mkdocs.yml"]:
        (run / name).unlink() if (run / name).is_file() else shutil.rmtree(run / name)
        (run / name).symlink_to(f"report/{name}")
    (run / ".analysis-3f2a").mkdir()
    (run / ".report-3f2a" / "site").mkdir(parents=True)
    (run / "report").symlink_to(".report-3f2a")
    elsewhere.mkdir()
    (elsewhere / "results.json").write_text("not the run's\n")
    (run / "analysis").symlink_to(elsewhere)
    done = make(venv, "clean", f"RUN={run}")
    assert done.stdout == "" and not run.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["elsewhere"]
    assert (elsewhere / "results.json").read_text() == "not the run's\n"


def test_clean_removes_a_run_folder_it_empties(venv, tmp_path):
    project_files(tmp_path / "run")
    assert make(venv, "clean", f"RUN={tmp_path / 'run'}").stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_clean_of_a_run_with_a_space_spares_the_folder_beside_it(venv, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("keep\n")
    done = make(venv, "clean", f"RUN={tmp_path / 'x other'}", check=False)
    refused(done, f"error: RUN='{tmp_path / 'x other'}' contains a space; {CANNOT}")
    assert (tmp_path / "other" / "keep.txt").read_text() == "keep\n" and (tmp_path / "x").is_dir()


@pytest.mark.parametrize("config", [None, '{"debug": true}'])
def test_clean_leaves_a_folder_the_trainer_did_not_start(venv, tmp_path, config):
    folder = tmp_path / "home"
    (folder / "docs").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine\n")
    if config:
        (folder / "config.json").write_text(config)
    before = sorted(folder.rglob("*"))
    done = make(venv, "clean", f"RUN={folder}", check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (f"error: RUN='{folder}' holds no config.json written by the trainer, "
                                           "so it is not a run folder; make clean leaves it alone")
    assert sorted(folder.rglob("*")) == before


def test_clean_of_a_missing_run_does_nothing(venv, tmp_path):
    assert make(venv, "clean", f"RUN={tmp_path / 'never'}").stdout == ""


def test_no_stage_depends_on_another_stages_package():
    """What stages share lives in fmnist_common: training and export never read analyzer/ or the
    site's code, and the analysis never the site's."""
    sources = stage_sources(REPO)
    for stage, foreign in (("TRAINER_SRC", ("analyzer/", "exporter/", "site_renderer/")),
                           ("EXPORTER_SRC", ("analyzer/", "site_renderer/")),
                           ("ANALYZER_SRC", ("trainer/", "exporter/", "site_renderer/")),
                           ("SITE_SRC", ("trainer/", "exporter/"))):
        assert not [f for f in sources[stage] if f.startswith(foreign)], stage


@pytest.mark.slow
def test_editing_analysis_or_site_code_never_retrains_or_reexports(made, venv, tmp_path):
    """Touching every file of analyzer/, site_renderer/ and site_templates/ leaves the model current
    (in a copy of the checkout, whose files keep their times, so that the user's runs stay current)."""
    run, variables = made
    copy = tmp_path / "checkout"
    shutil.copytree(REPO, copy, ignore=NOT_SOURCE)
    touched = [p for folder in ("analyzer", "site_renderer", "site_templates") for p in (copy / folder).iterdir()
               if p.is_file()]
    outputs = [run / "model.onnx", run / "checkpoint.pt", run / "analysis/results.json", run / "site/index.html"]
    later = max(p.stat().st_mtime for p in outputs) + 5  # newer than every output
    for path in touched:
        os.utime(path, (later, later))
    assert make(venv, "-q", "export", *variables, check=False, cwd=copy).returncode == 0
    assert make(venv, "-q", "site", *variables, check=False, cwd=copy).returncode == 1  # analysis and site rerun
    assert make(venv, "-q", "site", *variables, check=False).returncode == 0  # the checkout itself untouched


def test_make_test_reads_the_data_make_data_prepared(venv, tmp_path):
    """`make test` as the README writes it: the data step first, then the suite told where it is."""
    (venv / ".browser").touch()
    data = tmp_path / "data"
    planned = make(venv, "-n", "test", f"DATA_DIR={data}").stdout.splitlines()
    assert planned[0] == f"'{venv / 'bin' / 'python'}' -m trainer data --data-dir '{data}' "
    assert planned[1] == f"DATA_DIR='{data}' FASHION_MNIST_DIR='' '{venv / 'bin' / 'python'}' -m pytest -q"
    quick = make(venv, "-n", "test-quick", "DATA_DIR=data").stdout.splitlines()[-1]
    assert quick == f"DATA_DIR='{REPO / 'data'}' FASHION_MNIST_DIR='' '{venv / 'bin' / 'python'}' -m pytest -q " \
                    "-m 'not browser and not slow'"


def serving_checkout(tmp_path: Path, built: list[str]) -> Path:
    """A copy of the checkout whose runs/ holds the named runs, each with a built site."""
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO, checkout, ignore=NOT_SOURCE)
    for name in built:
        (checkout / "runs" / name / "site").mkdir(parents=True)
        (checkout / "runs" / name / "site" / "index.html").write_text("<html></html>\n")
    return checkout


@pytest.mark.parametrize(
    ("built", "fix"),
    [
        ([], "build it first with make all RUN=runs/default"),
        (["fast"], "serve one that has: make serve RUN=runs/fast"),
        (["fast", "w8"], "serve one that has: make serve RUN=runs/fast, make serve RUN=runs/w8"),
    ],
)
def test_make_serve_never_builds_a_run_without_a_site(venv, tmp_path, built, fix):
    checkout = serving_checkout(tmp_path, built)
    refused(make(venv, "serve", check=False, cwd=checkout),
            f"error: RUN='runs/default' has no built site; {fix}")
    assert sorted(p.name for p in (checkout / "runs").iterdir()) == built if built else not (checkout / "runs").exists()


def test_make_serve_serves_a_built_run_and_nothing_else(venv, tmp_path):
    checkout = serving_checkout(tmp_path, ["fast"])
    planned = make(venv, "-n", "serve", "RUN=runs/fast", cwd=checkout).stdout.splitlines()
    assert planned == [f"'{venv / 'bin' / 'python'}' -m mkdocs serve -f 'runs/fast/mkdocs.yml' -a 127.0.0.1:8000"]


def test_make_help_aligns_every_target():
    lines = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    targets = [line for line in lines if line.startswith("  make ")]
    assert {"make test-quick", "make screenshots"} <= {" ".join(line.split()[:2]) for line in targets}
    assert len({len(re.match(r"  make \S+ +", line).group(0)) for line in targets}) == 1
