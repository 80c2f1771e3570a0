#!/usr/bin/env bash
# One-shot run of the whole pipeline on an NVIDIA GPU: bash bench/gpu.sh
#
# From a checkout on a machine with an NVIDIA GPU: checks the GPU first (before installing
# anything), makes .venv (or reuses it) with `pip install -e '.[all]'` (torch from the registry),
# prepares the data from $FASHION_MNIST_DIR (default ../shared/data/fashion-mnist; downloaded when
# that folder does not exist), trains the default preset with --device cuda into bench/runs/gpu,
# exports, analyses and builds the site, timing each stage, and writes bench/gpu.json: the GPU's
# name, the torch and CUDA versions, the seconds of each stage and the test accuracy.
#
# Settings (environment): PYTHON (the interpreter that makes .venv, default python3),
# FASHION_MNIST_DIR, DATA_DIR (default data), NVIDIA_SMI (default nvidia-smi).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
NVIDIA_SMI=${NVIDIA_SMI:-nvidia-smi}
FASHION_MNIST_DIR=${FASHION_MNIST_DIR:-../shared/data/fashion-mnist}
DATA_DIR=${DATA_DIR:-data}
RUN=bench/runs/gpu
PY=.venv/bin/python

fail() {
    echo "error: $*" >&2
    exit 1
}

# The GPU first: a machine without one is refused before anything is installed or written.
command -v "$NVIDIA_SMI" >/dev/null 2>&1 ||
    fail "no NVIDIA GPU here: $NVIDIA_SMI not found; run this on a machine with an NVIDIA GPU and its driver (on the CPU: make all)"
gpu_name=$("$NVIDIA_SMI" --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1) || gpu_name=
[[ -n $gpu_name ]] ||
    fail "no NVIDIA GPU here: $NVIDIA_SMI --query-gpu=name lists none; run this on a machine with an NVIDIA GPU and its driver (on the CPU: make all)"

stages=()
# stage NAME COMMAND...: run COMMAND, add "NAME=seconds" to stages
stage() {
    local name=$1 start end
    shift
    echo "== $name: $*"
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    stages+=("$name=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')")
}

make_venv() {
    [[ -x $PY ]] || "$PYTHON" -m venv .venv
    "$PY" -m pip install -q -e '.[all]'
}

stage install make_venv
"$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    fail "torch $("$PY" -c 'import torch; print(torch.__version__)') in .venv sees no CUDA device (torch.cuda.is_available() is False) though $NVIDIA_SMI lists $gpu_name; install a CUDA build of torch into .venv"

local_dir=()
if [[ -d $FASHION_MNIST_DIR ]]; then
    local_dir=(--local-dir "$FASHION_MNIST_DIR")
fi
rm -rf "$RUN"  # a benchmark run never resumes an old one
stage data "$PY" -m trainer data --data-dir "$DATA_DIR" "${local_dir[@]}"
stage train "$PY" -m trainer train --run "$RUN" --preset default --device cuda --data-dir "$DATA_DIR"
stage export "$PY" -m exporter --run "$RUN" --data-dir "$DATA_DIR"
stage analyze "$PY" -m analyzer --model "$RUN/model.onnx" --data "$DATA_DIR" --snapshots "$RUN/snapshots.npz" \
    --history "$RUN/history.json" --out "$RUN/analysis"
stage site "$PY" -m analyzer.site --run "$RUN"

"$PY" - "$RUN" "$gpu_name" "${stages[@]}" <<'EOF'
"""Write bench/gpu.json from the run folder and the stage times given as NAME=SECONDS."""
import datetime
import json
import statistics
import sys
from pathlib import Path

import torch

from fmnist_common.artifacts import write_json

run, gpu_name, *stages = sys.argv[1:]
history = json.loads((Path(run) / "history.json").read_text())
report = json.loads((Path(run) / "export_report.json").read_text())
config = json.loads((Path(run) / "config.json").read_text())["config"]
seconds = {name: float(value) for name, value in (item.split("=") for item in stages)}
write_json(Path("bench/gpu.json"), {
    "device_name": gpu_name,
    "torch_version": torch.__version__,
    "cuda_version": torch.version.cuda,
    "preset": config["preset"],
    "epochs": len(history),
    "run": run,
    "seconds": seconds,
    "total_seconds": round(sum(seconds.values()), 1),
    "test_accuracy": history[-1]["test_accuracy"],
    "onnx_accuracy": report["onnx_accuracy"],
    "train_images_per_second_median": statistics.median(row["images_per_second"] for row in history),
    "date": datetime.date.today().isoformat(),
})
print(f"bench/gpu.json: {gpu_name}, test accuracy {history[-1]['test_accuracy']:.4f}, {seconds}")
EOF
