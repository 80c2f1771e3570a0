"""Nothing lost, nothing mixed: a folder is replaced only by its own kind, and a kill at any step of
a publication leaves the previous complete output or the new one, never a mix, never none.

The kills are injected (tests/fault_injection.py ends the process at its k-th file-system change,
for every k until the run completes), not timed, so every step of every swap is covered.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from analyzer.cli import main as analyse_main
from fmnist_common.artifacts import MARKER, NotReplaceable, check_replaceable
from site_renderer import render as site
from site_renderer.cli import main as site_main
from tests.conftest import REPO
from tests.fault_injection import KILLED
from tests.handmade import images_with_pixels, linear_pixel_model, write_test_set
from tests.publish_scenarios import publish_payload, render_stub

NAMES = ["a", "b", "c", "d"]


def killed_at(k: int, scenario: str, *args: object) -> int | None:
    """Run `scenario` killed at its k-th file-system change: None if killed, else its change count."""
    done = subprocess.run([sys.executable, "-m", "tests.fault_injection", str(k), f"tests.publish_scenarios:{scenario}",
                           *map(str, args)], cwd=REPO, capture_output=True, text=True)
    if done.returncode == KILLED:
        return None
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def every_kill(scenario: str, args: tuple, check) -> int:
    """Kill `scenario` at each of its steps in turn, calling `check(k)` after each kill; return
    how many steps it has."""
    k = 1
    while killed_at(k, scenario, *args) is None:
        check(k)
        k += 1
    return k - 1


# --- the generic publication ------------------------------------------------------------------------

def version_of(folder: Path) -> str:
    """The one version every file of a published payload holds (fails on a mix or on none)."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == [MARKER, "one.txt", "sub/three.txt", "two.txt"], files
    versions = {(folder / f).read_text() for f in files if f != MARKER}
    assert len(versions) == 1, versions
    return versions.pop()


def test_a_kill_at_any_step_of_a_publication_leaves_the_old_or_the_new_folder(tmp_path):
    base = tmp_path / "base"
    publish_payload(str(base / "out"), "old")
    seen = set()

    def check(k: int) -> None:
        seen.add(version_of(trial / "out"))
        publish_payload(str(trial / "out"), "third")  # the next run needs no cleanup ...
        assert version_of(trial / "out") == "third"
        hidden = sorted(p.name for p in trial.iterdir() if p.name != "out")
        assert hidden == sorted([os.readlink(trial / "out"), ".out.lock"]), (k, hidden)  # ... and leaves none

    trial = tmp_path / "trial"
    k = 1
    while True:
        subprocess.run(["rm", "-rf", str(trial)], check=True)
        subprocess.run(["cp", "-a", str(base), str(trial)], check=True)
        if killed_at(k, "publish_payload", trial / "out", "new") is not None:
            break
        check(k)
        k += 1
    assert k > 5 and seen == {"old", "new"}  # killed before and after the rename that decides


def test_a_publication_into_a_missing_folder_needs_no_earlier_one(tmp_path):
    publish_payload(str(tmp_path / "out"), "first")
    assert version_of(tmp_path / "out") == "first"
    assert (tmp_path / "out").is_symlink() and os.readlink(tmp_path / "out").startswith(".out-")


def test_files_added_to_a_published_folder_are_never_replaced(tmp_path):
    """The marker lists what the stage wrote; a file the user put in since stops the next run."""
    out = tmp_path / "out"
    publish_payload(str(out), "first")
    (out / "mine.txt").write_text("mine")
    (out / "sub" / "notes.md").write_text("mine too")
    (out / ".DS_Store").write_bytes(b"\0")  # what a desktop's file browser leaves: replaced with the folder
    with pytest.raises(NotReplaceable, match=rf"^{out} holds mine.txt, sub/notes.md, which this project did not "
                                             r"write; the payload is replaced whole, so it is left as it is\. "):
        check_replaceable(out, "payload", "")
    assert (out / "mine.txt").read_text() == "mine" and (out / "one.txt").read_text() == "first"
    (out / "mine.txt").unlink()
    (out / "sub" / "notes.md").unlink()
    check_replaceable(out, "payload", "")
    publish_payload(str(out), "second")
    assert version_of(out) == "second"


# --- the site renderer ------------------------------------------------------------------------------

def report_version(run: Path) -> str:
    """The version of the published report; docs, site and configuration must agree."""
    versions = {(run / "site" / "index.html").read_text(), (run / "docs" / "index.md").read_text(),
                (run / "mkdocs.yml").read_text()}
    assert len(versions) == 1, versions
    return versions.pop()


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_a_kill_at_any_step_of_a_site_build_leaves_one_whole_report(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    render_stub(str(base), "old")
    trial = tmp_path / "trial"
    seen = set()
    k = 1
    while True:
        subprocess.run(["rm", "-rf", str(trial)], check=True)
        subprocess.run(["cp", "-a", str(base), str(trial)], check=True)
        if killed_at(k, "render_stub", trial, "new") is not None:
            break
        seen.add(report_version(trial))
        render_stub(str(trial), "third")
        assert report_version(trial) == "third"
        leftovers = sorted(p.name for p in trial.iterdir())
        assert leftovers == sorted([".site.lock", os.readlink(trial / "report"), "analysis", "docs", "mkdocs.yml",
                                    "report", "site"]), (k, leftovers)
        k += 1
    assert k > 5 and seen == {"old", "new"}


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_a_report_of_the_older_layout_is_taken_over_even_after_a_kill(tmp_path):
    """Real docs/, site/ and mkdocs.yml of an earlier version: replaced, whatever step is killed."""
    base = tmp_path / "base"
    for name in ("docs", "site"):
        (base / name).mkdir(parents=True)
    (base / "site" / "index.html").write_text("legacy")
    (base / "mkdocs.yml").write_text(site.LEGACY_HEADER + " from site_templates/mkdocs.yml.j2\n")
    trial = tmp_path / "trial"

    def check(k: int) -> None:
        render_stub(str(trial), "new")
        assert report_version(trial) == "new", k

    steps = 0
    while True:
        subprocess.run(["rm", "-rf", str(trial)], check=True)
        subprocess.run(["cp", "-a", str(base), str(trial)], check=True)
        if killed_at(steps + 1, "render_stub", trial, "new") is not None:
            break
        check(steps + 1)
        steps += 1
    assert steps > 5 and report_version(trial) == "new"


@pytest.mark.parametrize("name", ["site", "docs", "mkdocs.yml", "report"])
def test_the_site_never_replaces_what_it_did_not_write(tmp_path, capsys, name):
    run = tmp_path / "run"
    (run / "analysis").mkdir(parents=True)
    mine = run / name
    if name == "mkdocs.yml":
        mine.write_text("site_name: my own project\n")
    else:
        mine.mkdir()
        (mine / "notes.txt").write_text("mine")
    assert site_main(["--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {mine} ") and err.count("\n") == 1
    assert "left as it is" in err and "pass another --run" in err
    assert (mine / "notes.txt").read_text() == "mine" if mine.is_dir() else mine.read_text().startswith("site_name")


def test_a_file_added_to_a_built_report_is_kept(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    render_stub(str(run), "first")
    (run / "site" / "CNAME").write_text("report.example.org\n")  # what a GitHub Pages site keeps beside its pages
    assert site_main(["--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {run / 'report'} holds site/CNAME, which this project did not write; the report is "
                   "replaced whole, so it is left as it is. Move those files out of it, then run again.\n")
    assert (run / "site" / "CNAME").read_text() == "report.example.org\n" and report_version(run) == "first"


def test_the_mkdocs_child_dies_with_a_killed_build(smoke_site, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    parent = subprocess.Popen([sys.executable, "-m", "site_renderer", "--run", str(run)], cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child = None
    deadline = time.monotonic() + 60
    while child is None and time.monotonic() < deadline and parent.poll() is None:
        child = next((pid for pid in children(parent.pid) if b"mkdocs" in cmdline(pid)), None)
        time.sleep(0.02)
    assert child is not None, "mkdocs never started"
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not alive(child):
            break
        time.sleep(0.02)
    assert not alive(child)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- the analyzer -----------------------------------------------------------------------------------

@pytest.fixture
def handmade(tmp_path) -> tuple[Path, Path]:
    """A tiny model whose answers are known, and its test set."""
    model = tmp_path / "model.onnx"
    model.write_bytes(linear_pixel_model(np.eye(2, 4) * 0.05, np.zeros(4), NAMES).SerializeToString())
    data = tmp_path / "data"
    pixels = [(10 * i % 250, 7 * i % 250) for i in range(24)]
    write_test_set(data, images_with_pixels(pixels), np.arange(24) % 4)
    return model, data


def analyse(model: Path, data: Path, out: Path) -> int:
    return analyse_main(["--model", str(model), "--data", str(data), "--out", str(out)])


def test_out_that_is_a_run_folder_is_refused_before_any_work(handmade, tmp_path, capsys):
    model, data = handmade
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.onnx", "checkpoint.pt", "snapshots.npz", "history.json", "config.json"):
        (run / name).write_bytes(b"precious " + name.encode())
    code = analyse(model, data, run)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err == (f"error: {run} is not an analysis folder this project wrote (it holds checkpoint.pt, config.json, "
                   "history.json, model.onnx, snapshots.npz); it would be replaced whole, so it is left as it is. "
                   f"Did you mean --out {run / 'analysis'}?\n")
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.json", "history.json", "model.onnx",
                                                     "snapshots.npz"]
    assert (run / "checkpoint.pt").read_bytes() == b"precious checkpoint.pt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "model.onnx", "run"]  # no lock, no build


def test_out_that_is_a_run_folder_of_an_analysis_alone_gets_the_same_hint(handmade, tmp_path, capsys):
    model, data = handmade
    run = tmp_path / "my-run"
    assert analyse(model, data, run / "analysis") == 0
    assert analyse(model, data, run) == 2
    assert capsys.readouterr().err.endswith(f"Did you mean --out {run / 'analysis'}?\n")


def test_out_that_is_the_dataset_is_refused(handmade, tmp_path, capsys):
    model, data = handmade
    raw = data / "FashionMNIST" / "raw"
    before = sorted(p.name for p in raw.iterdir())
    assert analyse(model, data, raw) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {raw} is not an analysis folder") and "Choose a new or empty folder" in err
    assert sorted(p.name for p in raw.iterdir()) == before


@pytest.mark.parametrize("kind", ["empty folder", "own analysis", "missing"])
def test_out_is_replaced_when_it_is_empty_missing_or_an_analysis(handmade, tmp_path, kind):
    model, data = handmade
    out = tmp_path / "out"
    if kind == "empty folder":
        out.mkdir()
    if kind == "own analysis":
        assert analyse(model, data, out) == 0
    assert analyse(model, data, out) == 0
    marker = json.loads((out / MARKER).read_text())
    assert out.is_symlink() and (marker["kind"], marker["format"]) == ("analysis", 2)
    assert marker["files"] == sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                                     if p.is_file() and p.name != MARKER)
    assert json.loads((out / "results.json").read_text())["total"] == 24


def test_a_note_the_user_put_in_an_analysis_is_kept(handmade, tmp_path, capsys):
    model, data = handmade
    out = tmp_path / "out"
    assert analyse(model, data, out) == 0
    before = (out / "results.json").read_text()
    (out / "my_note.txt").write_text("mine")
    assert analyse(model, data, out) == 2
    assert capsys.readouterr().err.startswith(f"error: {out} holds my_note.txt, which this project did not write")
    assert (out / "my_note.txt").read_text() == "mine" and (out / "results.json").read_text() == before


def test_a_symlink_the_user_made_is_not_followed_into_replacement(handmade, tmp_path, capsys):
    model, data = handmade
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "thesis.tex").write_text("mine")
    (tmp_path / "out").symlink_to(elsewhere)
    assert analyse(model, data, tmp_path / "out") == 2
    assert "is a symbolic link to" in capsys.readouterr().err
    assert (elsewhere / "thesis.tex").read_text() == "mine"


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_a_kill_at_any_step_of_the_analysis_publication_leaves_a_whole_analysis(handmade, tmp_path):
    model, data = handmade
    base = tmp_path / "base"
    assert analyse(model, data, base / "out") == 0
    old = json.loads((base / "out" / "results.json").read_text())["model"]["sha256"]
    other = tmp_path / "other.onnx"  # the second run's model answers differently
    other.write_bytes(linear_pixel_model(np.eye(2, 4)[::-1] * 0.05, np.zeros(4), NAMES).SerializeToString())
    trial = tmp_path / "trial"
    seen = set()

    def published(k: int) -> str:
        results = json.loads((trial / "out" / "results.json").read_text())
        files = {p.relative_to(trial / "out").as_posix() for p in (trial / "out").rglob("*") if p.is_file()}
        assert {"results.json", "embeddings.npz", MARKER} <= files, k
        return results["model"]["sha256"]

    # Every step up to the rename that decides, and two after it; the steps after those delete the
    # old build file by file, which the payload test above covers at every step.
    seen: list[str] = []
    k = 1
    while len(seen) < 3 or seen[-1] == old or len(set(seen[-3:])) > 1:
        subprocess.run(["rm", "-rf", str(trial)], check=True)
        subprocess.run(["cp", "-a", str(base), str(trial)], check=True)
        assert killed_at(k, "analyse_armed", other, data, trial / "out") is None, "finished before the rename"
        seen.append(published(k))
        assert analyse(model, data, trial / "out") == 0  # the next run needs no cleanup
        k += 1
    assert seen[0] == old and set(seen) == {old, seen[-1]}  # the old analysis, then the new one, nothing else
