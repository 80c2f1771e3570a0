"""The rendered report: every value from results.json, every link encoded, the example runnable."""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import jinja2
import numpy as np
import pytest

from site_renderer import render as site
from site_renderer import try_it
from site_renderer.cli import main as site_main
from tests.html_pages import read_page

# the Try it page is built where the runtime is installed (`npm ci`, see tests/test_try_it_site.py)
PAGES = ["index", "bottleneck", "explorer", *(["try_it"] if try_it.runtime_missing() is None else []),
         "information_plane", "confusion", "hard_negatives", "calibration", "training_dynamics", "model"]


def results_of(run: Path) -> dict:
    return json.loads((run / "analysis" / "results.json").read_text())


def test_every_page_is_built_and_no_template_syntax_survives(smoke_site):
    for page in PAGES:
        markdown = (smoke_site / "docs" / f"{page}.md").read_text()
        html = (smoke_site / "site" / f"{page}.html").read_text()
        for text in (markdown, html):
            assert "{{" not in text and "{%" not in text
    assert (smoke_site / "site" / "model.onnx").read_bytes() == (smoke_site / "model.onnx").read_bytes()
    nav = re.findall(r"^  - (.+): (.+)$", (smoke_site / "mkdocs.yml").read_text(), flags=re.M)
    assert [json.loads(file) for _, file in nav] == [f"{page}.md" for page in PAGES]


def test_headline_numbers_come_from_results(smoke_site):
    results = results_of(smoke_site)
    index = read_page(smoke_site / "site" / "index.html")
    assert ["Test accuracy", f"{100 * results['accuracy']:.2f}% ({results['correct']:,} of 10,000)"] in index.tables[0]
    matrix, per_class, confused = read_page(smoke_site / "site" / "confusion.html").tables
    names, counts = results["class_names"], results["confusion"]["matrix"]["counts"]
    assert matrix[0] == ["true \\ predicted", *names, "images"]
    assert matrix[1:] == [[name, *(f"{n:,}" for n in row), f"{sum(row):,}"]
                          for name, row in zip(names, counts, strict=True)]
    assert per_class[1:] == [
        [r["class"], f"{100 * r['precision']:.1f}%", f"{100 * r['recall']:.1f}%", f"{100 * r['f1']:.1f}%",
         f"{r['support']:,}"]
        for r in results["confusion"]["per_class"]
    ]
    assert confused[1:] == [[c["true_class"], c["predicted_class"], f"{c['count']:,}"]
                            for c in results["confusion"]["most_confused"]]
    assert results["figure_font"]["undrawable"] == "" and "Class names in the figures" not in index.text


def test_hard_negative_links_are_encoded_and_exist(smoke_site):
    page = read_page(smoke_site / "site" / "hard_negatives.html")
    items = [i for c in results_of(smoke_site)["hard_negatives"]["classes"] for i in c["items"]]
    images = [src for src in page.sources if src.startswith("hard_neg/")]
    links = [href for href in page.links if href.startswith("hard_neg/")]
    assert len(images) == len(items) and links == []  # an image opens its details, never the bare file
    for target in images + links:
        assert " " not in target and "(" not in target
        assert (smoke_site / "site" / unquote(target)).is_file(), target
    assert "hard_neg/Ankle%20boot/hard_neg_1%28" in " ".join(images)
    for name in ("hard_negatives.html", "training_dynamics.html"):  # no image leaves the report for its bare file
        links = read_page(smoke_site / "site" / name).links
        assert not [h for h in links if h.lower().endswith(".png") and not h.startswith("assets/")], name
    html = (smoke_site / "site" / "hard_negatives.html").read_text()
    for item in items:
        assert f'id="test-{item["test_index"]}"' in html


def test_onnx_example_reproduces_the_accuracy(smoke_site, data_dir, tmp_path):
    markdown = (smoke_site / "docs" / "model.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", markdown, flags=re.S)
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    (tmp_path / "model.onnx").write_bytes((smoke_site / "site" / "model.onnx").read_bytes())
    (tmp_path / "data").symlink_to(data_dir)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"accuracy {results_of(smoke_site)['accuracy']:.4f}; first image: ")


def test_site_is_offline_and_relative(smoke_site):
    pages = list((smoke_site / "site").glob("*.html"))
    assert sorted(p.stem for p in pages) == sorted(PAGES)  # no 404.html: it links from the server root
    for html in pages:
        text = html.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), html.name
        assert not re.search(r'(src|href)="/', text), html.name
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text


def test_site_stays_under_its_size_budget(smoke_site):
    """The issue's 15 MB for the whole site, dark variants included; the theme's source maps are
    not shipped (only a browser's developer tools would fetch them)."""
    files = [path for path in (smoke_site / "site").rglob("*") if path.is_file()]
    assert not [path for path in files if path.name.endswith(".js.map")]
    assert any(path.name.endswith(".dark.gif") for path in files)
    assert sum(path.stat().st_size for path in files) <= 15_000_000


def test_model_page_shows_metadata_as_text(smoke_site):
    results = results_of(smoke_site)
    (interface, metadata, parity) = read_page(smoke_site / "site" / "model.html").tables
    assert metadata[1:] == [[key, value] for key, value in sorted(results["model"]["metadata"].items())]
    assert ["class_names", json.dumps(results["class_names"], ensure_ascii=False)] in metadata
    assert interface[1] == ["input", "image", "[batch, 1, 28, 28]", "tensor(float)"]
    export = json.loads((smoke_site / "export_report.json").read_text())
    assert parity[1] == ["largest difference of a logit", f"{export['max_abs_diff_logits']:.2e}",
                         str(export["tolerance"])]
    assert "≥ 17" not in str(parity)
    assert [row[2] for row in parity if row[0].startswith("outputs across batch sizes")] == [
        str(export["consistency_tolerance"])]  # the limit comes from the report


def test_export_limits_come_from_the_export_report(smoke_site, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    export = json.loads((smoke_site / "export_report.json").read_text())
    (run / "export_report.json").write_text(json.dumps({**export, "consistency_tolerance": 3e-6,
                                                        "tie_tolerance": 2e-4}))
    assert site_main(["--run", str(run)]) == 0
    parity = read_page(run / "site" / "model.html").tables[2]
    sizes = ", ".join(str(b) for b in export["batch_sizes"])
    assert [f"outputs across batch sizes {sizes}", f"{export['max_abs_diff_across_batch_sizes']:.2e}", "3e-06"] \
        in parity
    assert ["images whose predicted class differs", str(len(export["prediction_disagreements"])),
            "0, except near-ties (top two logits within 0.0002)"] in parity


def test_templates_refuse_undefined_values(tmp_path):
    (tmp_path / "page.md.j2").write_text("{{ results.nowhere }}")
    env = site.environment(tmp_path)
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("page.md.j2").render(results={})


def test_missing_analysis_is_a_clear_error(tmp_path, capsys):
    assert site_main(["--run", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'analysis'} not found; analyse the model into it first (python -m analyzer --model M "
        f"--data D --out {tmp_path / 'analysis'}, or make analyze)\n"
    )


def test_a_failed_build_leaves_the_previous_report(smoke_site, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    assert site_main(["--run", str(run)]) == 0
    before = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and "analysis" not in p.parts}
    results = results_of(run)
    results["accuracy"] = None  # a value the templates must not show as "None"
    (run / "analysis" / "results.json").write_text(json.dumps(results))
    capsys.readouterr()
    assert site_main(["--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {run / 'analysis' / 'results.json'} does not fit the page templates (")
    assert err.count("\n") == 1
    after = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file() and "analysis" not in p.parts}
    assert after == before


def test_a_second_build_into_the_same_run_is_refused(smoke_site, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(smoke_site / "analysis", run / "analysis")
    with open(run / ".site.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert site_main(["--run", str(run)]) == 2
    assert capsys.readouterr().err == (
        f"error: {run / 'site'} is being written by another run (it holds {run / '.site.lock'}); wait for it to "
        "finish or choose another output folder\n"
    )
    assert not (run / "docs").exists() and not (run / "site").exists()


def test_information_plane_page_reports_the_estimates(smoke_site):
    plane = results_of(smoke_site)["information_plane"]
    page = read_page(smoke_site / "site" / "information_plane.html").text
    assert plane["images"] == 1000 and plane["bins"] == 30 and plane["noise_variance"] == 0.1
    ceiling = min(np.log2(1000), 2 * np.log2(30))  # D = 2: the 900 cells, not the 1,000 images, bound it
    assert f"min(log2 1,000, 2 × log2 30) = {ceiling:.2f} bits" in page
    assert "KDE (pairwise-distance bounds)" in page and "KDE upper bound" not in page
    for key in ("binning", "kde"):
        estimate = plane[key]
        assert f"to {estimate['i_ty'][-1]:.2f} bits at the end" in " ".join(page.split())
        assert estimate["verdict"] in " ".join(page.split())
    assert all(0 <= v <= ceiling + 1e-9 for v in plane["binning"]["i_tx"])
    assert all(v <= plane["h_y_bits"] + 1e-9 for v in plane["binning"]["i_ty"])


def test_counts_written_by_hand_are_gone(smoke_site):
    snap = results_of(smoke_site)["bottleneck"]["animation"]
    for name in ("bottleneck", "explorer", "information_plane"):
        text = read_page(smoke_site / "site" / f"{name}.html").text
        assert "first 10" not in text and "first 100" not in text
    bottleneck = " ".join(read_page(smoke_site / "site" / "bottleneck.html").text.split())
    assert f"The same {snap['probe_images']:,} test images in every frame" in bottleneck
