"""Each stage's `--help`: it answers (exit 0) and never sends the reader back to `--help`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("stage", [["analyzer"], ["exporter"], ["site_renderer"], ["trainer", "train"], ["sweep"],
                                   ["exporter.adopt"]])
def test_help_never_points_at_itself(stage):
    done = subprocess.run([sys.executable, "-m", *stage, "--help"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""
    lines = [line for line in done.stdout.splitlines() if "--help" in line]
    assert [line.split() for line in lines] == [["-h,", "--help", "show", "this", "help", "message", "and", "exit"]]
