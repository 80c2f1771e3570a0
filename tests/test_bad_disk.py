"""A full disk (ENOSPC, injected by tests/fault_injection.no_space_at) during the analysis or the
site build, and a run folder the site cannot write: one `error:` line, exit status 2, and the
previous analysis or report left exactly as it was, with no build left beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.cli import main as analyse_main
from site_renderer.cli import main as site_main
from tests.fault_injection import no_space_at
from tests.test_bad_input import good_model, run, snapshot_of

NO_SPACE = os.strerror(28)  # "No space left on device"


def hidden_builds(folder: Path) -> list[str]:
    """What lies beside `folder` under its hidden name: its lock and its published build only."""
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}"))


@pytest.fixture
def analysed_run(tmp_path) -> tuple[Path, int]:
    """A run folder with an analysis, and how many `os.replace` calls that analysis made."""
    with no_space_at(0) as calls:
        code, out = run(tmp_path, good_model(), out=tmp_path / "run" / "analysis")
    assert code == 0
    return out.parent, calls[0]


@pytest.mark.parametrize("when", ["first file", "halfway", "publication"])
def test_a_full_disk_during_the_analysis_loses_nothing(analysed_run, capsys, when):
    run_folder, calls = analysed_run
    analysis = run_folder / "analysis"
    before, builds = snapshot_of(analysis), hidden_builds(analysis)
    capsys.readouterr()
    k = {"first file": 1, "halfway": calls // 2, "publication": calls}[when]  # the last is the link's rename
    with no_space_at(k):
        code = analyse_main(["--model", str(run_folder.parent / "model.onnx"), "--data",
                             str(run_folder.parent / "data"), "--out", str(analysis)])
    assert code == 2
    assert capsys.readouterr().err == (f"error: no space left on the device holding {analysis} ({NO_SPACE}); free "
                                       f"some space there and run again; the previous analysis in {analysis} is left "
                                       "as it was\n")
    assert snapshot_of(analysis) == before and hidden_builds(analysis) == builds


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_a_full_disk_during_the_site_build_loses_nothing(analysed_run, capsys):
    run_folder, _ = analysed_run
    assert site_main(["--run", str(run_folder)]) == 0
    before, builds = snapshot_of(run_folder / "report"), hidden_builds(run_folder / "report")
    with no_space_at(0) as calls:
        assert site_main(["--run", str(run_folder)]) == 0
    capsys.readouterr()
    for k in range(1, calls[0] + 1):
        before = snapshot_of(run_folder / "report")
        builds = hidden_builds(run_folder / "report")
        with no_space_at(k):
            assert site_main(["--run", str(run_folder)]) == 2
        assert capsys.readouterr().err == (f"error: no space left on the device holding {run_folder} ({NO_SPACE}); "
                                           f"free some space there and run again; the previous report in "
                                           f"{run_folder} is left as it was\n"), k
        assert snapshot_of(run_folder / "report") == before and hidden_builds(run_folder / "report") == builds, k


def test_a_read_only_run_folder_is_one_line_before_any_work(analysed_run, capsys, monkeypatch):
    """Simulated with os.access, since root (the test's user here) writes into read-only folders."""
    run_folder, _ = analysed_run
    before = snapshot_of(run_folder)
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == run_folder else real(path, mode))
    capsys.readouterr()
    assert site_main(["--run", str(run_folder)]) == 2
    assert capsys.readouterr().err == (f"error: cannot write into {run_folder}, where the report is built "
                                       "(RUN/report, RUN/site); make it writable, or copy the run folder and pass "
                                       "the copy as --run\n")
    assert snapshot_of(run_folder) == before and not (run_folder / ".site.lock").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_run_folder_is_refused(analysed_run, capsys):
    run_folder, _ = analysed_run
    run_folder.chmod(0o555)
    try:
        assert site_main(["--run", str(run_folder)]) == 2
    finally:
        run_folder.chmod(0o755)
    assert capsys.readouterr().err.startswith(f"error: cannot write into {run_folder}, where the report is built")
