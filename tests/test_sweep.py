"""A sweep on the local engine: one run folder per point built by make all's stages, the comparison
computed from their files, a rerun that builds nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.sweep_runs import POINTS, comparison, run_tiny

pytestmark = pytest.mark.slow


def test_every_point_is_a_run_folder_like_make_alls(local_sweep):
    status, sweep = local_sweep
    assert status == 0
    assert sorted(p.name for p in sweep.iterdir() if not p.name.startswith(".")) == sorted(
        [*POINTS, "comparison.json", "site", "sweep.json"])
    for seed, name in enumerate(POINTS):
        run = sweep / name
        config = json.loads((run / "config.json").read_text())["config"]
        assert (config["preset"], config["seed"], config["epochs"], config["train_subset"]) == ("smoke", seed, 1, 500)
        assert (run / "model.onnx").is_file() and (run / "analysis/results.json").is_file()
        assert (run / "site/index.html").is_file()
        record = json.loads((run / "sweep_point.json").read_text())
        assert (record["status"], record["engine"], record["slurm_job_id"]) == ("finished", "local", None)


def test_comparison_is_computed_from_the_run_folders(local_sweep):
    _, sweep = local_sweep
    data = comparison(sweep)
    assert (data["planned"], data["finished"], data["failed"], data["missing"]) == (2, 2, 0, 0)
    assert data["varying"] == ["seed"] and data["configuration_fields"] == []
    accuracies = []
    for row in data["points"]:
        results = json.loads((sweep / row["run"] / "analysis/results.json").read_text())
        accuracies.append(results["accuracy"])
        plane = results["information_plane"]["binning"]["i_tx"]
        assert row["test_accuracy"] == results["accuracy"] and row["ece"] == results["calibration"]["ece"]
        assert row["information"]["binning"] == {"peak_i_tx": max(plane), "last_i_tx": plane[-1],
                                                 "compression": max(plane) - plane[-1]}
    (config,) = data["configurations"]
    assert config["test_accuracy"]["mean"] == pytest.approx(sum(accuracies) / 2)
    assert (config["test_accuracy"]["min"], config["test_accuracy"]["max"]) == (min(accuracies), max(accuracies))
    page = (sweep / "site/index.html").read_text()
    assert "{{" not in page and "{%" not in page
    for name in POINTS:
        assert f'href="../{name}/site/index.html"' in page
    assert {"accuracy.png", "accuracy.dark.png", "maps.png", "information.png", "sweep.css"} <= {
        p.name for p in (sweep / "site").iterdir()}


def test_rerun_skips_finished_points(local_sweep, data_dir, capsys):
    _, sweep = local_sweep
    stamps = {name: (sweep / name / "model.onnx").stat().st_mtime_ns for name in POINTS}
    assert run_tiny(sweep.parent.parent, data_dir)[0] == 0
    out = capsys.readouterr().out
    assert out.startswith("sweep tiny: 2 points, 2 already finished, 0 to build on local (")
    assert out.splitlines()[0].endswith(f" at once); runs in {sweep}")
    assert {name: (sweep / name / "model.onnx").stat().st_mtime_ns for name in POINTS} == stamps


@pytest.mark.browser
@pytest.mark.parametrize("scheme, figure_suffix, background", [("light", ".png", "rgb(255, 255, 255)"),
                                                                ("dark", ".dark.png", "rgb(30, 33, 41)")])
def test_comparison_page_reads_in_both_schemes_and_sorts(local_sweep, scheme, figure_suffix, background):
    from tests.browser_tools import CLEAN, broken_images, chromium, serve

    _, sweep = local_sweep
    with chromium() as browser, serve(sweep) as base:
        page = browser.new_page(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        problems = {"console": [], "failed": [], "outside": [], "dialogs": []}
        page.on("console", lambda m: m.type == "error" and problems["console"].append(m.text))
        page.on("requestfailed", lambda r: problems["failed"].append(r.url))
        page.goto(f"{base}site/index.html", wait_until="networkidle")
        assert problems == CLEAN and broken_images(page) == []
        sources = page.eval_on_selector_all("picture img", "els => els.map(e => e.currentSrc)")
        assert len(sources) == 4 and all(s.endswith(figure_suffix) for s in sources)
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
        counts = page.locator("#counts")
        assert [counts.get_attribute(f"data-{k}") for k in ("planned", "finished", "failed")] == ["2", "2", "0"]
        accuracy = "#points tbody td:nth-child(3)"
        for order in ("ascending", "descending"):
            page.click("#points th:nth-child(3)")
            values = [float(v) for v in page.eval_on_selector_all(accuracy, "els => els.map(e => e.dataset.value)")]
            assert values == sorted(values, reverse=order == "descending")
        for href in page.eval_on_selector_all("#points a", "els => els.map(e => e.href)"):
            assert page.request.get(href).status == 200, href


def test_a_sweep_killed_mid_training_resumes_from_the_checkpoint(tmp_path, data_dir, capsys):
    """Killed (the sweep and its stages) after a point's first epoch of two: the rerun continues
    that training with --resume and finishes the point."""
    grid = tmp_path / "two.toml"
    grid.write_text('preset = "smoke"\n[set]\nepochs = 2\ntrain_subset = 500\n[vary]\nseed = [3]\n')
    run = tmp_path / "sweeps/two/seed-3"
    sweep = subprocess.Popen([sys.executable, "-m", "sweep", "--grid", str(grid), "--out", str(tmp_path / "sweeps"),
                              "--data-dir", str(data_dir)], cwd=REPO, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (run / "checkpoint.pt").is_file() and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.02)
    os.killpg(sweep.pid, signal.SIGKILL)
    sweep.wait()
    assert (run / "checkpoint.pt").is_file() and not (run / "snapshots.npz").exists(), "not killed mid-training"
    from sweep.cli import main

    assert main(["--grid", str(grid), "--out", str(tmp_path / "sweeps"), "--data-dir", str(data_dir)]) == 0
    assert "sweep two: 1 point, 0 already finished, 1 to build" in capsys.readouterr().out
    trainings = [line for line in (run / "sweep.log").read_text().splitlines() if line.startswith("== train")]
    assert len(trainings) == 2 and trainings[1].endswith(" --resume") and not trainings[0].endswith(" --resume")
    assert [row["epoch"] for row in json.loads((run / "history.json").read_text())] == [1, 2]
    assert json.loads((run / "sweep_point.json").read_text())["status"] == "finished"
