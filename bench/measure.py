"""Measurements behind the benchmark's figures: matmul peaks, stage times, inference speed.

Each function measures one thing in the calling process (2 threads) or times a fresh process;
`bench/run.py` calls them and writes `bench/results.json`.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from fmnist_common.artifacts import builds_of  # noqa: E402
from fmnist_common.idx import load_test_set  # noqa: E402
from fmnist_common.interface import as_input, run_batches  # noqa: E402
from trainer import data  # noqa: E402
from trainer.config import THREADS, TrainConfig  # noqa: E402
from trainer.model import build_model  # noqa: E402
from trainer.train import evaluate  # noqa: E402


def timed(command: list[str]) -> float:
    """Run a command from the repository root; its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def matmul_peak_gflops(dtype: torch.dtype, size: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of a large matmul in `dtype` on THREADS threads (median of `repeats`)."""
    a, b = torch.rand(size, size, dtype=dtype), torch.rand(size, size, dtype=dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - started)
    return 2 * size**3 / statistics.median(times) / 1e9


def inference_speed(run: Path, data_dir: str, repeats: int = 3) -> dict:
    """Images/s over the 10,000 test images: onnxruntime vs eager fp32 PyTorch, same batches."""
    images, _, _ = load_test_set(data_dir)
    x = torch.from_numpy(as_input(images))
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(str(run / "model.onnx"), options, providers=["CPUExecutionProvider"])
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    model = build_model(TrainConfig.from_json(checkpoint["config"]), len(checkpoint["class_names"])).eval()
    model.load_state_dict(checkpoint["model"])

    def onnx_pass():
        run_batches(session, images, 500)

    @torch.no_grad()
    def torch_pass():
        for i in range(0, len(x), 500):
            model(x[i : i + 500])

    speeds = {}
    for name, fn in (("onnxruntime", onnx_pass), ("torch_eager_fp32", torch_pass)):
        fn()
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        speeds[name] = len(x) / statistics.median(times)
    speeds["onnxruntime_speedup"] = speeds["onnxruntime"] / speeds["torch_eager_fp32"]
    return speeds


def remove_published(folder: Path) -> None:
    """Remove a published folder, its link and every hidden build beside it: an analysis that finds
    only the link gone publishes the newest build again and reuses its training points, so the
    "first" analysis would not be one (`shutil.rmtree` refuses a link, silently with ignore_errors)."""
    if folder.is_symlink():
        folder.unlink()
    shutil.rmtree(folder, ignore_errors=True)
    for build in builds_of(folder):
        shutil.rmtree(build)


def stage_times(run: Path, data_dir: str, repeats: int = 3) -> dict:
    """Wall time of export, analysis and site build on a trained run.

    The analysis is timed first into a fresh folder, as `make all` runs it (the model goes over the
    training images too), then `repeats` times into the same folder, as a rerun that reuses those
    points.
    """
    python = sys.executable
    analyse = [python, "-m", "analyzer", "--model", str(run / "model.onnx"), "--data", data_dir,
               "--snapshots", str(run / "snapshots.npz"), "--history", str(run / "history.json"),
               "--dynamics", str(run / "dynamics.npz"), "--out", str(run / "analysis")]
    export_seconds = timed([python, "-m", "exporter", "--run", str(run), "--data-dir", data_dir])
    remove_published(run / "analysis")
    first = timed(analyse)
    reruns = [timed(analyse) for _ in range(repeats)]
    site_seconds = timed([python, "-m", "site_renderer", "--run", str(run)])
    site_bytes = sum(f.stat().st_size for f in (run / "site").rglob("*") if f.is_file())
    results = json.loads((run / "analysis" / "results.json").read_text())
    return {
        "export_seconds": export_seconds,
        "analysis_first_seconds": first,
        "analysis_rerun_seconds_median": statistics.median(reruns),
        "analysis_rerun_seconds_all": reruns,
        "site_seconds": site_seconds,
        "site_megabytes": site_bytes / 1e6,
        "gif_megabytes": results["bottleneck"]["animation"]["bytes"] / 1e6,
        "gif_frames": results["bottleneck"]["animation"]["frames"],
        "onnx_accuracy": results["accuracy"],
    }


def evaluation_candidates(run: Path, data_dir: str) -> dict[str, float]:
    """fp32 test accuracy of one trained run without and with flip averaging."""
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    config = TrainConfig.from_json(checkpoint["config"])
    test = data.load(data_dir, train=False)
    accuracies = {}
    for name, flip in (("trained", False), ("trained+flip", True)):
        model = build_model(dataclasses.replace(config, tta_flip=flip), len(test.class_names))
        model.load_state_dict(checkpoint["model"])
        accuracies[name] = evaluate(model, test, torch.device("cpu"), bf16=False)[1]
    return accuracies
