"""Command line of the analysis stage: `python -m analyzer --model M --data DIR --out DIR [...]`.

Every flag below is a field of `AnalyzeConfig` (analyzer/config.py). Needs onnxruntime,
numpy, matplotlib and Pillow, never torch. Expected failures (a bad model, missing or corrupt data,
an output that cannot be written, a full disk, a folder another run holds) print one `error: ...` line, exit
with status 2 and leave the output folder as it was. What the analysis can do but the user should
know (other test files than the model's, characters the figures cannot draw) is one `warning: ...`
line.
"""

from __future__ import annotations

import sys
import warnings

from analyzer.config import ConfigError, parse
from analyzer.inputs import RunFileError
from analyzer.onnx_model import ModelError
from analyzer.report import OutputError, analyse
from fmnist_common.artifacts import NO_SPACE, FolderBusy, NotReplaceable, no_space
from fmnist_common.idx import IdxError

EXPECTED = (ConfigError, ModelError, IdxError, RunFileError, OutputError, FolderBusy, NotReplaceable)


def warning_line(message: Warning | str, *_) -> str:
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = warning_line
    try:
        config = parse(argv, __doc__)
        results = analyse(config)
    except EXPECTED as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        print(f"error: {no_space(exc, config.out, 'analysis')}", file=sys.stderr)
        return 2
    timing = results["timing"]
    print(
        f"analysed {results['total']:,} test images: accuracy {results['accuracy']:.4f}, "
        f"{timing['images_per_second']:,.0f} img/s inference, {timing['total_seconds']:.1f} s in all; "
        f"results in {config.out}"
    )
    return 0
