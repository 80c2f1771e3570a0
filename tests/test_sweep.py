"""A sweep on the local engine: one run folder per point built by make all's stages, the comparison
computed from their files, a rerun that builds nothing."""

from __future__ import annotations

import json

import pytest

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
