"""The rendered report: every value from results.json, every link encoded, the example runnable."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import jinja2
import numpy as np
import pytest

from analyzer import site

PAGES = ["index", "bottleneck", "explorer", "information_plane", "confusion", "hard_negatives", "calibration", "model"]


def results_of(run: Path) -> dict:
    return json.loads((run / "analysis" / "results.json").read_text())


def test_every_page_is_built_and_no_template_syntax_survives(smoke_site):
    for page in PAGES:
        markdown = (smoke_site / "docs" / f"{page}.md").read_text()
        html = (smoke_site / "site" / f"{page}.html").read_text()
        for text in (markdown, html):
            assert "{{" not in text and "{%" not in text
    assert (smoke_site / "site" / "model.onnx").read_bytes() == (smoke_site / "model.onnx").read_bytes()


def test_headline_numbers_come_from_results(smoke_site):
    results = results_of(smoke_site)
    index = (smoke_site / "docs" / "index.md").read_text()
    assert f"**{100 * results['accuracy']:.2f}%** ({results['correct']:,} of 10,000)" in index
    confusion = (smoke_site / "docs" / "confusion.md").read_text()
    for row in results["per_class"]:
        assert f"| {row['class']} | {100 * row['precision']:.1f}% | {100 * row['recall']:.1f}% |" in confusion
    top = results["most_confused"][0]
    assert f"| {top['true_class']} | {top['predicted_class']} | {top['count']} |" in confusion


def test_hard_negative_links_are_encoded_and_exist(smoke_site):
    markdown = (smoke_site / "docs" / "hard_negatives.md").read_text()
    targets = re.findall(r"\]\((hard_neg/[^)\s]+)\)", markdown)
    items = [i for c in results_of(smoke_site)["hard_negatives"]["classes"] for i in c["items"]]
    assert len(targets) == 3 * len(items)  # image, its link, and the details line
    for target in targets:
        assert " " not in target and "(" not in target
        assert (smoke_site / "site" / unquote(target)).is_file(), target
    assert "hard_neg/Ankle%20boot/hard_neg_1%28" in markdown
    for item in items:
        assert f'id="test-{item["test_index"]}"' in markdown


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
    pages = [p for p in (smoke_site / "site").glob("*.html") if p.name != "404.html"]  # 404: absolute by design
    assert len(pages) == len(PAGES)
    for html in pages:
        text = html.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text), html.name
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text


def test_templates_refuse_undefined_values(tmp_path):
    (tmp_path / "page.md.j2").write_text("{{ results.nowhere }}")
    env = site.environment(tmp_path)
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("page.md.j2").render(results={})


def test_values_are_escaped(tmp_path):
    (tmp_path / "page.md.j2").write_text("{{ name }}")
    assert site.environment(tmp_path).get_template("page.md.j2").render(name="<b>&") == "&lt;b&gt;&amp;"


def test_url_encoding():
    encoded = site.url("hard_neg/Ankle boot/hard_neg_1(Sneaker).png")
    assert encoded == "hard_neg/Ankle%20boot/hard_neg_1%28Sneaker%29.png"


def test_missing_analysis_is_a_clear_error(tmp_path, capsys):
    assert site.main(["--run", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f'error: {tmp_path / "analysis" / "results.json"} not found; run "make analyze" '
        "(or the stage that writes it) first\n"
    )


def test_information_plane_page_reports_the_estimates(smoke_site):
    plane = results_of(smoke_site)["snapshots"]["information_plane"]
    page = (smoke_site / "docs" / "information_plane.md").read_text()
    assert plane["images"] == 1000 and plane["bins"] == 30 and plane["noise_variance"] == 0.1
    for key in ("binning", "kde"):
        estimate = plane[key]
        assert f"to\n  {estimate['i_ty'][-1]:.2f} bits at the end" in page
        if estimate["compression"]:
            verdict = "a compression phase appears in this estimate."
        elif estimate["fall_after_peak"] > plane["compression_threshold"]:
            verdict = "phases do not appear in this estimate."
        else:
            verdict = "No compression phase in this estimate"
        assert verdict in page
    assert all(0 <= v <= np.log2(1000) + 1e-9 for v in plane["binning"]["i_tx"])
    assert all(v <= plane["h_y_bits"] + 1e-9 for v in plane["binning"]["i_ty"])
