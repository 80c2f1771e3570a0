"""Benchmarks behind the figures in the README: `make bench` (or `python bench/run.py`).

Trains each preset with several seeds (each a fresh `python -m trainer train` process, timed
wall-clock), then, on the first default run, times the export, the analysis and the site, and
compares onnxruntime with eager PyTorch on the test set in one process. The fp32 peak of this
machine is a large matmul timed in the same run. Everything lands in `bench/results.json`;
figures are medians of repeated measurements where a stage is repeated.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from analyzer.artifacts import write_json  # noqa: E402
from analyzer.idx import load_test_set  # noqa: E402
from trainer.config import resolve  # noqa: E402
from trainer.model import BottleneckCNN, multiply_accumulates  # noqa: E402

THREADS = 2


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


def train_runs(presets: list[str], seeds: list[int], data_dir: str, runs: Path) -> list[dict]:
    rows = []
    for preset in presets:
        for seed in seeds:
            run = runs / f"{preset}-seed{seed}"
            seconds = timed([sys.executable, "-m", "trainer", "train", "--run", str(run), "--preset", preset,
                             "--seed", str(seed), "--data-dir", data_dir])
            history = json.loads((run / "history.json").read_text())
            config = resolve(preset)
            images_per_second = statistics.median(r["images_per_second"] for r in history)
            # forward + backward of a conv net costs about 3x the forward multiply-accumulates, 2 FLOPs each
            gflops = 3 * 2 * multiply_accumulates(config.widths, config.bottleneck_dim) * images_per_second / 1e9
            rows.append({
                "preset": preset, "seed": seed, "epochs": len(history),
                "test_accuracy": history[-1]["test_accuracy"], "wall_seconds": seconds,
                "train_images_per_second_median": images_per_second, "train_gflops": gflops,
                "run": str(run.relative_to(REPO)),
            })
            print(json.dumps(rows[-1]), flush=True)
    return rows


def inference_speed(run: Path, data_dir: str, repeats: int = 3) -> dict:
    """Images/s over the 10,000 test images: onnxruntime vs eager fp32 PyTorch, same batches."""
    images, _, _ = load_test_set(data_dir)
    x = images[:, None].astype(np.float32) / 255
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    session = ort.InferenceSession(str(run / "model.onnx"), options, providers=["CPUExecutionProvider"])
    checkpoint = torch.load(run / "checkpoint.pt", weights_only=True)
    config = checkpoint["config"]
    model = BottleneckCNN(tuple(config["widths"]), config["bottleneck_dim"]).eval()
    model.load_state_dict(checkpoint["model"])

    def onnx_pass():
        for i in range(0, len(x), 500):
            session.run(None, {"image": x[i : i + 500]})

    @torch.no_grad()
    def torch_pass():
        for i in range(0, len(x), 500):
            model(torch.from_numpy(x[i : i + 500]))

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


def stage_times(run: Path, data_dir: str, repeats: int = 3) -> dict:
    """Wall time of export, analysis (median of `repeats`) and site build on a trained run."""
    python = sys.executable
    analyse = [python, "-m", "analyzer", "--model", str(run / "model.onnx"), "--data", data_dir,
               "--snapshots", str(run / "snapshots.npz"), "--history", str(run / "history.json"),
               "--out", str(run / "analysis")]
    export_seconds = timed([python, "-m", "exporter", "--run", str(run), "--data-dir", data_dir])
    analysis = [timed(analyse) for _ in range(repeats)]
    site_seconds = timed([python, "-m", "analyzer.site", "--run", str(run)])
    site_bytes = sum(f.stat().st_size for f in (run / "site").rglob("*") if f.is_file())
    results = json.loads((run / "analysis" / "results.json").read_text())
    return {
        "export_seconds": export_seconds,
        "analysis_seconds_median": statistics.median(analysis),
        "analysis_seconds_all": analysis,
        "site_seconds": site_seconds,
        "site_megabytes": site_bytes / 1e6,
        "gif_megabytes": results["snapshots"]["bytes"] / 1e6,
        "gif_frames": results["snapshots"]["frames"],
        "onnx_accuracy": results["accuracy"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--presets", nargs="+", default=["default", "fast"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    runs = REPO / "bench" / "runs"
    peak = matmul_peak_gflops(torch.float32)
    bf16_peak = matmul_peak_gflops(torch.bfloat16)
    training = train_runs(args.presets, args.seeds, args.data_dir, runs)
    first = REPO / training[0]["run"]
    stages = stage_times(first, args.data_dir)
    speed = inference_speed(first, args.data_dir)
    summary = {}
    for preset in args.presets:
        rows = [r for r in training if r["preset"] == preset]
        summary[preset] = {
            "test_accuracy": [r["test_accuracy"] for r in rows],
            "test_accuracy_median": statistics.median(r["test_accuracy"] for r in rows),
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in rows),
            "train_gflops_median": statistics.median(r["train_gflops"] for r in rows),
            "share_of_fp32_peak": statistics.median(r["train_gflops"] for r in rows) / peak,
        }
    default_wall = next(r["wall_seconds"] for r in training if r["run"] == training[0]["run"])
    write_json(args.out, {
        "machine": {"processor": platform.processor() or platform.machine(), "threads": THREADS,
                    "torch": torch.__version__, "onnxruntime": ort.__version__, "gpu": None},
        "fp32_matmul_peak_gflops": peak,
        "bf16_matmul_peak_gflops": bf16_peak,
        "gpu_note": "no GPU was lent to the session that ran this benchmark: not measured",
        "summary": summary,
        "training_runs": training,
        "stages_on_first_run": {**stages, "train_seconds": default_wall,
                                "total_seconds": default_wall + stages["export_seconds"]
                                + stages["analysis_seconds_median"] + stages["site_seconds"]},
        "inference_images_per_second": speed,
    })
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
