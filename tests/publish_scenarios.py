"""Publications that tests/test_publish.py kills at every step, in a child process run by
tests/fault_injection.py; each calls `arm()` where the counting of file-system changes starts.
Imports stay inside the functions, so a child imports only what its scenario runs."""

from __future__ import annotations

import contextlib
from pathlib import Path

from fmnist_common.artifacts import folder_lock, published_folder
from tests.fault_injection import arm


def publish_payload(folder: str, version: str) -> None:
    """Publish a folder of several files and a subfolder, all holding `version`."""
    folder = Path(folder)
    arm()
    with folder_lock(folder), published_folder(folder, "payload") as build:
        for name in ("one.txt", "two.txt"):
            (build / name).write_text(version)
        (build / "sub").mkdir()
        (build / "sub" / "three.txt").write_text(version)


def render_stub(run: str, version: str) -> None:
    """The site renderer with its mkdocs build replaced by three files holding `version`."""
    def build(_run: Path, staging: Path, _templates) -> None:
        for name in ("docs", "site"):
            (staging / name).mkdir()
        (staging / "docs" / "index.md").write_text(version)
        (staging / "site" / "index.html").write_text(version)
        (staging / "mkdocs.yml").write_text(version)

    from site_renderer import render as site

    real, site.build = site.build, build
    (Path(run) / "analysis").mkdir(parents=True, exist_ok=True)  # what the renderer checks first
    try:  # called in the test's own process too, where the real build must come back
        arm()
        site.render(Path(run))
    finally:
        site.build = real


def analyse_armed(model: str, data: str, out: str) -> None:
    """The analysis, counting from the end of its work: every step of its publication."""
    from analyzer import report
    from analyzer.cli import main as analyse_main

    real = report.published_folder

    def armed_at_publication(folder, kind):
        with real(folder, kind) as build:
            yield build
            arm()

    report.published_folder = contextlib.contextmanager(armed_at_publication)
    assert analyse_main(["--model", model, "--data", data, "--out", out]) == 0
