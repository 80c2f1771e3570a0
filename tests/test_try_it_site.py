"""The Try it page's files: the run's own model byte for byte, the pinned runtime, the size budget,
and a site built without the runtime (no page, no link, one warning line)."""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx.external_data_helper import uses_external_data

from site_renderer import render, try_it
from site_renderer.cli import main as site_main

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_BYTES = 1_270_734  # model.onnx of the default architecture (widths 32, 64, 128), as exported
SITE_BUDGET = 21_000_000  # the whole default site, in bytes
# without npm (`make install` runs `npm ci` where it is) the site is built without the page
needs_runtime = pytest.mark.skipif(try_it.runtime_missing() is not None,
                                   reason="onnxruntime-web is not installed (npm ci)")


def unpacked(script: Path) -> bytes:
    """The bytes a `window.TRY_IT_* = {...}` script carries, decoded as try_it.js decodes them."""
    blob = json.loads(script.read_text().split("=", 1)[1].rstrip().rstrip(";"))
    squeezed = base64.b85decode(blob["base85"])[: blob["gzipBytes"]]
    data = gzip.decompress(squeezed)
    assert len(data) == blob["bytes"]
    return data


@needs_runtime
def test_the_page_carries_the_runs_own_model_and_the_pinned_runtime(smoke_site):
    folder = smoke_site / "site" / "try_it"
    model = (smoke_site / "model.onnx").read_bytes()
    assert unpacked(folder / "model.js") == model
    proto = onnx.load_from_string(model)
    assert not [t.name for t in proto.graph.initializer if uses_external_data(t)]  # nothing outside the file
    dist = try_it.PACKAGE / "dist"
    assert unpacked(folder / "wasm.js") == (dist / try_it.WASM).read_bytes()
    assert (folder / try_it.BUNDLE).read_bytes() == (dist / try_it.BUNDLE).read_bytes()
    glue = json.loads((folder / "glue.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    assert glue == (dist / try_it.GLUE).read_text()
    lock = json.loads((REPO / "package-lock.json").read_text())["packages"]["node_modules/onnxruntime-web"]
    assert lock["version"] == try_it.runtime_version() == json.loads((REPO / "package.json").read_text())[
        "dependencies"]["onnxruntime-web"]
    assert lock["integrity"].startswith("sha512-")
    assert "/node_modules/" in (REPO / ".gitignore").read_text().splitlines()


@needs_runtime
def test_only_the_try_it_page_loads_the_runtime_and_the_overview_and_explorer_link_it(smoke_site):
    site = smoke_site / "site"
    loading = sorted(p.name for p in site.glob("*.html") if "try_it/" in p.read_text())
    assert loading == ["try_it.html"]
    for name in ("index.html", "explorer.html"):
        assert 'href="try_it.html"' in (site / name).read_text(), name


@needs_runtime
def test_carried_test_images_are_the_test_sets_first(smoke_site, data_dir):
    from fmnist_common.idx import load_test_set

    data = json.loads((smoke_site / "site" / "try_it" / "data.js").read_text().split("=", 1)[1].rstrip().rstrip(";"))
    images, _, _ = load_test_set(data_dir)
    blob = data["images"]
    pixels = gzip.decompress(base64.b85decode(blob["base85"])[: blob["gzipBytes"]])
    assert data["carried"] == try_it.CARRIED
    assert pixels == images[: try_it.CARRIED].tobytes()


@needs_runtime
def test_a_default_sized_model_keeps_the_page_and_the_site_within_budget(smoke_site, tmp_path):
    """An incompressible model of the default architecture's size: the page's files stay within
    BUDGET_BYTES, so the default site (12.8 MB without the page) stays under 21 MB."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.onnx").write_bytes(np.random.default_rng(0).bytes(DEFAULT_MODEL_BYTES))
    results = json.loads((smoke_site / "analysis" / "results.json").read_text())
    sizes = try_it.write(run, (smoke_site / "analysis").resolve(), tmp_path / "docs", results,
                         render.default_templates())
    on_disk = sum(f.stat().st_size for f in (tmp_path / "docs" / "try_it").iterdir())
    assert sizes["total"] == on_disk <= try_it.BUDGET_BYTES
    site = sum(f.stat().st_size for f in (smoke_site / "site").rglob("*") if f.is_file())
    assert site < SITE_BUDGET


def test_without_the_runtime_the_site_has_no_page_no_link_and_one_warning(smoke_site, run_copy, monkeypatch, capsys):
    monkeypatch.setattr(try_it, "PACKAGE", run_copy / "no_node_modules" / "onnxruntime-web")
    assert site_main(["--run", str(run_copy)]) == 0
    err = capsys.readouterr().err.splitlines()
    missing = run_copy / "no_node_modules" / "onnxruntime-web" / "dist" / try_it.BUNDLE
    assert err == [f"warning: the Try it page is left out: onnxruntime-web is not installed ({missing} is missing); "
                   "build the site from a checkout of this project after \"npm ci\" there (\"make install\" does "
                   "when npm is present)"]
    site = run_copy / "site"
    assert not (site / "try_it.html").exists() and not (site / "try_it").exists()
    assert [p.name for p in site.glob("*.html") if "try_it" in p.read_text()] == []
    nav = re.findall(r"^  - .+: (.+)$", (run_copy / "mkdocs.yml").read_text(), flags=re.M)
    assert '"try_it.md"' not in nav


def test_a_model_other_than_the_analysed_one_gets_no_page(smoke_site, run_copy, capsys):
    model = run_copy / "model.onnx"
    model.write_bytes(model.read_bytes() + b"\0")  # re-exported after the analysis, say
    assert site_main(["--run", str(run_copy)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"warning: the Try it page is left out: {model} is not the model the analysis read (its sha256 differs); "
        "run the analysis again"]
    assert not (run_copy / "site" / "try_it.html").exists()
