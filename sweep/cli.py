"""Command line of the sweep: `python -m sweep --grid NAME-OR-PATH [...]` (make sweep SWEEP=...).

Builds one run folder per point of the grid under OUT/NAME/ with the stages `make all` runs, then
the comparison (OUT/NAME/comparison.json and OUT/NAME/site/). Bad input (an unknown field or value,
an empty or too large grid, a name clash, no SLURM) is one `error: ...` line on stderr and exit
status 2 before any run starts; failed points are one line each, the others go on, and the exit
status is then 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from fmnist_common.artifacts import FolderBusy, NotReplaceable
from fmnist_common.flags import add_flags
from sweep.config import SweepConfig
from sweep.engines import EngineError
from sweep.grid import GridError
from sweep.runner import SweepError, run_sweep

EXPECTED = (GridError, EngineError, SweepError, FolderBusy, NotReplaceable)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_flags(parser, dataclasses.fields(SweepConfig), None, keep_unset=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    values = vars(build_parser().parse_args(argv))
    values["local_dir"] = values["local_dir"] or os.environ.get("FASHION_MNIST_DIR") or None
    try:
        outcomes = run_sweep(SweepConfig(**values))
    except EXPECTED as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(o.status == "finished" for o in outcomes) else 1
