"""Benchmarks behind the figures in docs/benchmarks.md: `make bench` (or `python bench/run.py`).

Every training run is a fresh, timed process on 2 threads: the presets with several seeds; the
usual recipe (`bench/baseline.py`) for a few epochs, projected to the 100 its users train; the
squeeze controls (`bench/controls.py`). On each preset's first seed it evaluates the model
without and with flip averaging, and times the export, the analysis and the site as `make all`
runs them, so that each preset's `make all` is set against the usual recipe of the same run; on
the first run of the first preset (default) it compares onnxruntime with eager PyTorch. The fp32
and bf16 matmul peaks are measured in the same run. `--parts` runs some of these alone; their
results replace the same parts (and the same training runs) in `bench/results.json` and keep the
rest.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
from pathlib import Path

import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.controls import VARIANTS  # noqa: E402
from bench.measure import (  # noqa: E402
    evaluation_candidates,
    inference_speed,
    matmul_peak_gflops,
    stage_times,
    timed,
)
from fmnist_common.artifacts import write_json  # noqa: E402
from trainer.config import THREADS, TrainConfig  # noqa: E402
from trainer.model import multiply_accumulates  # noqa: E402

PARTS = ("peaks", "presets", "baseline", "controls", "candidates", "stages")
PROJECTED_EPOCHS = 100  # how long the usual recipe is trained


def trained(run: Path, variant: str, seconds: float) -> dict:
    """One training run's record, from its history and the configuration it saved (preset, seed)."""
    history = json.loads((run / "history.json").read_text())
    config = TrainConfig.from_json(json.loads((run / "config.json").read_text())["config"])
    images_per_second = statistics.median(r["images_per_second"] for r in history)
    macs = multiply_accumulates(config.widths, config.bottleneck_dim, config.squeeze_hidden)
    # forward + backward of a conv net costs about 3x the forward multiply-accumulates, 2 FLOPs each
    gflops = 3 * 2 * macs * images_per_second / 1e9
    return {
        "preset": config.preset, "variant": variant, "seed": config.seed, "epochs": len(history),
        "test_accuracy": history[-1]["test_accuracy"], "wall_seconds": seconds,
        "train_images_per_second_median": images_per_second, "train_gflops": gflops,
        "run": os.path.relpath(run, REPO), "date": datetime.date.today().isoformat(),
    }


def fresh(run: Path) -> Path:
    """An empty run folder: a benchmark run never resumes or refuses an old one."""
    shutil.rmtree(run, ignore_errors=True)
    return run


def preset_runs(presets: list[str], seeds: list[int], data_dir: str, runs: Path) -> list[dict]:
    rows = []
    for preset in presets:
        for seed in seeds:
            run = fresh(runs / f"{preset}-seed{seed}")
            seconds = timed([sys.executable, "-m", "trainer", "train", "--run", str(run), "--preset", preset,
                             "--seed", str(seed), "--data-dir", data_dir])
            rows.append(trained(run, "2-units", seconds))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def control_runs(preset: str, seed: int, data_dir: str, runs: Path, extra: list[str]) -> list[dict]:
    """The squeeze controls with `preset`'s recipe; `extra` flags (e.g. a subset) go to each run."""
    rows = []
    for variant in VARIANTS:
        run = fresh(runs / f"{preset}-{variant}-seed{seed}")
        seconds = timed([sys.executable, str(REPO / "bench" / "controls.py"), "--variant", variant, "--run",
                         str(run), "--preset", preset, "--seed", str(seed), "--data-dir", data_dir, *extra])
        rows.append(trained(run, variant, seconds))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def baseline_run(data_dir: str, epochs: int, workers: int, runs: Path) -> dict:
    """The usual recipe for `epochs`, projected from its last (steady) epoch to 100 epochs."""
    out = fresh(runs / "baseline") / "result.json"
    out.parent.mkdir(parents=True)
    seconds = timed([sys.executable, str(REPO / "bench" / "baseline.py"), "--data-dir", data_dir,
                     "--epochs", str(epochs), "--workers", str(workers), "--out", str(out)])
    result = json.loads(out.read_text())
    return {
        "preset": "usual-recipe", "variant": "usual-recipe", "seed": result["seed"], "epochs": epochs,
        "test_accuracy": result["test_accuracy"], "wall_seconds": seconds, "workers": workers,
        "epoch_seconds": result["epoch_seconds"],
        "projected_seconds": PROJECTED_EPOCHS * result["epoch_seconds"][-1],
        "date": datetime.date.today().isoformat(),
    }


def summarise(runs: list[dict], peaks: dict) -> dict:
    """Per preset and variant: accuracies, medians and the share of the bf16 peak."""
    summary = {}
    for key in sorted({(r["preset"], r["variant"]) for r in runs if "train_gflops" in r}):
        rows = [r for r in runs if (r["preset"], r["variant"]) == key]
        gflops = statistics.median(r["train_gflops"] for r in rows)
        summary["/".join(key)] = {
            "seeds": [r["seed"] for r in rows],
            "test_accuracy": [r["test_accuracy"] for r in rows],
            "test_accuracy_median": statistics.median(r["test_accuracy"] for r in rows),
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in rows),
            "train_gflops_median": gflops,
            "share_of_bf16_peak": gflops / peaks["bf16_matmul_peak_gflops"] if peaks else None,
        }
    return summary


def ratios(summary: dict, runs: list[dict], stages: dict) -> dict:
    """The usual recipe's projected 100 epochs over each preset's `make all`: the median training
    time plus the export, analysis and site times of `stages[preset]`, measured on its first run."""
    baseline = next((r for r in runs if r["preset"] == "usual-recipe"), None)
    if baseline is None:
        return {}
    result = {"baseline_projected_seconds": baseline["projected_seconds"]}
    for preset, times in stages.items():
        if f"{preset}/2-units" in summary:
            make_all = summary[f"{preset}/2-units"]["wall_seconds_median"] + times["after_training_seconds"]
            result[f"{preset}_make_all_seconds"] = make_all
            result[f"over_{preset}_make_all"] = baseline["projected_seconds"] / make_all
    return result


def run_key(record: dict) -> tuple[str, str, int]:
    return record["preset"], record["variant"], record["seed"]


def merge(previous: list[dict], new: list[dict]) -> list[dict]:
    """Previous runs, with those repeated now (same preset, variant and seed) replaced."""
    replaced = {run_key(r) for r in new}
    return [r for r in previous if run_key(r) not in replaced] + new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data", help="dataset root (default: %(default)s)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="default: all")
    parser.add_argument("--presets", nargs="+", default=["default", "fast"], help="default: %(default)s")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="default: %(default)s")
    parser.add_argument("--baseline-epochs", type=int, default=2, help="default: %(default)s")
    parser.add_argument("--workers", type=int, default=2, help="the usual recipe's DataLoader workers "
                        "(default: %(default)s)")
    parser.add_argument("--control-preset", default="default", help="recipe of the squeeze controls "
                        "(default: %(default)s)")
    parser.add_argument("--control-args", nargs=argparse.REMAINDER, default=[],
                        help="flags passed on to bench/controls.py, e.g. --train-subset 500 (last option)")
    parser.add_argument("--runs", default=str(REPO / "bench" / "runs"), help="default: bench/runs")
    parser.add_argument("--out", default=str(REPO / "bench" / "results.json"), help="default: %(default)s")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    runs, out = Path(args.runs), Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    new = []
    if "peaks" in args.parts:
        results["peaks"] = {"fp32_matmul_peak_gflops": matmul_peak_gflops(torch.float32),
                            "bf16_matmul_peak_gflops": matmul_peak_gflops(torch.bfloat16)}
    if "baseline" in args.parts:
        new.append(baseline_run(args.data_dir, args.baseline_epochs, args.workers, runs))
        print(json.dumps(new[-1]), flush=True)
    if "presets" in args.parts:
        new += preset_runs(args.presets, args.seeds, args.data_dir, runs)
    if "controls" in args.parts:
        new += control_runs(args.control_preset, args.seeds[0], args.data_dir, runs, args.control_args)
    if "candidates" in args.parts:
        for preset in args.presets:
            run = runs / f"{preset}-seed{args.seeds[0]}"
            results.setdefault("evaluation_candidates", {})[run.name] = evaluation_candidates(run, args.data_dir)
    if "stages" in args.parts:
        results["stages"] = {}
        for preset in args.presets:
            first = runs / f"{preset}-seed{args.seeds[0]}"
            stages = stage_times(first, args.data_dir)
            stages["after_training_seconds"] = (stages["export_seconds"] + stages["analysis_first_seconds"]
                                                + stages["site_seconds"])
            results["stages"][preset] = {"run": first.name, **stages}
        results["inference_images_per_second"] = inference_speed(runs / f"{args.presets[0]}-seed{args.seeds[0]}",
                                                                 args.data_dir)
    results["training_runs"] = merge(results.get("training_runs", []), new)
    results["machine"] = {"processor": platform.processor() or platform.machine(), "threads": THREADS,
                          "torch": torch.__version__, "onnxruntime": ort.__version__,
                          "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    results["summary"] = summarise(results["training_runs"], results.get("peaks"))
    results["ratios"] = ratios(results["summary"], results["training_runs"], results.get("stages", {}))
    write_json(out, results)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
