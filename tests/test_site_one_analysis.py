"""The report is built from one analysis, never a mix: RUN/analysis is resolved once and held under
its lock while the renderer reads it, so an analysis that tries to publish in the middle of a render
(injected there, where the renderer copies its first figure) waits its turn, and every page,
figure and data file of the report is one model's. And when mkdocs fails, the renderer's one
line quotes mkdocs' own error lines, not the theme's banner."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest

from analyzer.cli import main as analyse_main
from fmnist_common.artifacts import folder_lock
from site_renderer import render as site
from site_renderer.cli import main as site_main
from tests.test_bad_input import good_model, run, snapshot_of

# names no theme file holds, so finding one in the report can only mean that model's analysis
FIRST = ["Qzalpha0", "Qzalpha1", "Qzalpha2", "Qzalpha3"]
SECOND = ["Qzbeta0", "Qzbeta1", "Qzbeta2", "Qzbeta3"]


def models_in(site_folder: Path) -> set[str]:
    """Which of the two models' class names the report's text files hold (pages, data scripts), and
    the names of its hard-negative folders."""
    found = set()
    for path in site_folder.rglob("*"):
        text = path.name
        if path.is_file() and path.suffix in (".html", ".js", ".json"):
            text += path.read_text(encoding="utf-8", errors="replace")
        found |= {"first" for name in FIRST if name in text} | {"second" for name in SECOND if name in text}
    return found


def broken_images(site_folder: Path) -> list[str]:
    """Figures and thumbnails a page of the report names that are not in the report."""
    missing = []
    for page in site_folder.glob("*.html"):
        for source in page.read_text(encoding="utf-8").split('src="')[1:]:
            name = unquote(source.split('"', 1)[0])
            if name.endswith((".png", ".gif")) and not (site_folder / name).is_file():
                missing.append(f"{page.name}: {name}")
    return missing


def analyse_second(tmp_path: Path, run_folder: Path) -> int:
    good_model_path = tmp_path / "second.onnx"
    good_model_path.write_bytes(good_model(SECOND).SerializeToString())
    return analyse_main(["--model", str(good_model_path), "--data", str(tmp_path / "data"),
                         "--out", str(run_folder / "analysis")])


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_an_analysis_published_during_a_render_waits_and_the_report_is_one_models(tmp_path, capsys, monkeypatch):
    code, analysis = run(tmp_path, good_model(FIRST), out=tmp_path / "run" / "analysis")
    assert code == 0
    run_folder = analysis.parent
    attempts = []
    real_source = site.figure_source

    def slow_copy(folder: Path, name: object) -> Path:
        if not attempts:  # in the middle of the copy: another analysis tries to publish
            attempts.append(analyse_second(tmp_path, run_folder))
        return real_source(folder, name)

    monkeypatch.setattr(site, "figure_source", slow_copy)
    capsys.readouterr()
    assert site_main(["--run", str(run_folder)]) == 0
    assert attempts == [2]
    assert capsys.readouterr().err == (f"error: {run_folder / 'analysis'} is being written by another run (it holds "
                                       f"{run_folder / '.analysis.lock'}); wait for it to finish or choose another "
                                       "output folder\n")
    assert models_in(run_folder / "site") == {"first"}
    assert broken_images(run_folder / "site") == []
    monkeypatch.undo()
    assert analyse_second(tmp_path, run_folder) == 0  # the render done, the analysis goes ahead
    assert site_main(["--run", str(run_folder)]) == 0
    assert models_in(run_folder / "site") == {"second"}
    assert broken_images(run_folder / "site") == []


def test_a_render_during_an_analysis_is_refused_and_keeps_the_report(tmp_path, capsys):
    code, analysis = run(tmp_path, good_model(FIRST), out=tmp_path / "run" / "analysis")
    run_folder = analysis.parent
    assert code == 0 and site_main(["--run", str(run_folder)]) == 0
    before = snapshot_of(run_folder / "report")
    capsys.readouterr()
    with folder_lock(analysis):  # an analysis at work
        assert site_main(["--run", str(run_folder)]) == 2
    assert capsys.readouterr().err == (f"error: {analysis} is being written by an analysis (it holds "
                                       f"{run_folder / '.analysis.lock'}); wait for it to finish, then build the "
                                       "report again\n")
    assert snapshot_of(run_folder / "report") == before
    assert models_in(run_folder / "site") == {"first"}


def test_a_failed_mkdocs_build_is_quoted_without_the_themes_banner(tmp_path, capsys):
    code, analysis = run(tmp_path, good_model(FIRST), out=tmp_path / "run" / "analysis")
    assert code == 0
    templates = tmp_path / "templates"
    shutil.copytree(site.default_templates(), templates)
    with open(templates / "index.md.j2", "a", encoding="utf-8") as page:
        page.write("\n[a page that is not there](nowhere.md)\n")
    capsys.readouterr()
    assert site_main(["--run", str(analysis.parent), "--templates", str(templates)]) == 2
    assert capsys.readouterr().err == (
        "error: mkdocs build --strict failed: WARNING - Doc file 'index.md' contains a link 'nowhere.md', but the "
        "target is not found among documentation files.; Aborted with 1 warnings in strict mode!\n")
    assert not (analysis.parent / "site").exists()


def test_mkdocs_errors_keep_its_own_lines_only():
    banner = ("\n\x1b[33m │  \x1b[1mMaterial for MkDocs reaches end of life on May 5, 2027.\x1b[0m\n"
              "\x1b[33m │\x1b[0m  Critical fixes and security updates continue until that date.\n")
    output = (banner + "INFO    -  Cleaning site directory\nERROR   -  Config value 'theme': Unrecognised theme name\n"
              "\nAborted with a configuration error!\n")
    assert site.mkdocs_errors(output) == ("ERROR - Config value 'theme': Unrecognised theme name; Aborted with a "
                                          "configuration error!")
    assert site.mkdocs_errors(banner + "Traceback (most recent call last):\nKeyError: 'x'\n") == "KeyError: 'x'"
