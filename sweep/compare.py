"""The comparison of a sweep's points, computed only from their run folders' files.

Reads `sweep.json` (the grid) and, per point, `sweep_point.json`, `analysis/results.json` and
`analysis/embeddings.npz`; never retrains or re-analyses. Writes `comparison.json` (one row per point,
the per-configuration means and standard deviations, the sentence on compression) and publishes the
page into `site/` (sweep/page.py). Run it alone with `python -m sweep --grid ...` on a finished sweep:
every point is skipped and the comparison rebuilt.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from fmnist_common.artifacts import write_json
from sweep.point import POINT_FILE

ESTIMATORS = ("binning", "kde")
COMPARISON_FILE = "comparison.json"


def stats(values: list[float]) -> dict | None:
    """Mean, sample standard deviation (0 for one value), min and max; None for no values."""
    if not values:
        return None
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "sd": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
            "min": float(array.min()), "max": float(array.max()), "n": len(array)}


def read_point(folder: Path, name: str, values: dict) -> dict:
    """One row: the point's varied values, status (finished, failed or missing, and why) and numbers."""
    run = folder / name
    row = {**values, "name": name, "run": name, "status": "missing", "reason": "not built yet (or killed)",
           "seconds": None, "engine": None, "slurm_job_id": None, "slurm_array_index": None,
           "test_accuracy": None, "ece": None, "dim": None, "report": None, "information": {}}
    record_file, results_file = run / POINT_FILE, run / "analysis/results.json"
    if record_file.is_file():
        record = json.loads(record_file.read_text(encoding="utf-8"))
        row.update({key: record.get(key) for key in ("seconds", "engine", "slurm_job_id", "slurm_array_index")})
        if record["status"] == "failed":
            row.update(status="failed", reason=f"{record['stage']}: {record['error']}")
    if row["status"] != "failed" and record_file.is_file() and results_file.is_file():
        results = json.loads(results_file.read_text(encoding="utf-8"))
        plane = results.get("information_plane") or {}
        row.update(status="finished", reason=None, test_accuracy=results["accuracy"],
                   ece=results["calibration"]["ece"], dim=results["bottleneck"]["dim"],
                   report=f"{name}/site/index.html")
        row["information"] = {key: {"peak_i_tx": max(plane[key]["i_tx"]), "last_i_tx": plane[key]["i_tx"][-1],
                                    "compression": max(plane[key]["i_tx"]) - plane[key]["i_tx"][-1]}
                              for key in ESTIMATORS if key in plane}
    return row


def configurations(rows: list[dict], fields: list[str]) -> list[dict]:
    """Per configuration (the varied fields but the seed): seeds finished, and mean, sd, min, max of
    the test accuracy, ECE and each estimator's compression over them."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[f] for f in fields)].append(row)
    result = []
    for key, members in groups.items():
        done = [r for r in members if r["status"] == "finished"]
        result.append({**dict(zip(fields, key, strict=True)), "points": len(members), "finished": len(done),
                       "test_accuracy": stats([r["test_accuracy"] for r in done]),
                       "ece": stats([r["ece"] for r in done]),
                       "compression": {e: stats([r["information"][e]["compression"] for r in done
                                                 if e in r["information"]]) for e in ESTIMATORS}})
    return result


def compression_sentence(configs: list[dict]) -> str:
    """Whether tanh compressed more than ReLU, by how much, against the seeds' spread; from the table."""
    by_activation = defaultdict(lambda: defaultdict(list))
    for config in configs:
        for estimator in ESTIMATORS:
            value = config["compression"][estimator]
            if value is not None and "squeeze_activation" in config:
                by_activation[estimator][config["squeeze_activation"]].append(value)
    parts = []
    for estimator in ESTIMATORS:
        groups = by_activation[estimator]
        if not (groups.get("tanh") and groups.get("relu")):
            continue
        tanh, relu = (float(np.mean([s["mean"] for s in groups[a]])) for a in ("tanh", "relu"))
        spread = float(np.mean([s["sd"] for s in groups["tanh"] + groups["relu"]]))
        difference = tanh - relu
        verb = "more" if difference > 0 else "less"
        against = (f"{abs(difference) / spread:.1f} times the seeds' spread (mean standard deviation {spread:.2f} bits)"
                   if spread > 0 else "with no spread over seeds to compare it with")
        judged = "more than" if spread > 0 and abs(difference) > spread else "within"
        parts.append(f"With {estimator}, tanh compressed {abs(difference):.2f} bits {verb} than ReLU on average "
                     f"({tanh:.2f} against {relu:.2f} bits of peak minus last I(T;X)): {against}, so {judged} "
                     "what the seed alone changes.")
    if parts:
        return " ".join(parts)
    ranked = [(c["compression"][e]["mean"], e, c) for c in configs for e in ESTIMATORS if c["compression"][e]]
    if not ranked:
        return "No finished point has an information plane, so there is no compression to compare."
    value, estimator, config = max(ranked, key=lambda item: item[0])
    return (f"The largest mean compression is {value:.2f} bits ({estimator}, {label(config)}); this grid does "
            "not vary squeeze_activation, so it cannot compare tanh with ReLU.")


def label(values: dict, fields: list[str] | None = None) -> str:
    """`bottleneck_dim 2, squeeze_activation tanh`: a configuration as the page names it."""
    keys = fields if fields is not None else [k for k in values if k not in STAT_KEYS]
    return ", ".join(f"{key} {values[key]}" for key in keys) or "all points"


STAT_KEYS = {"points", "finished", "test_accuracy", "ece", "compression"}


def comparison(folder: Path) -> dict:
    """Everything the page shows, as written to comparison.json."""
    sweep = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    vary = sweep["vary"]
    fields = [f for f in vary if f != "seed"]
    names = sweep["points"]
    values = [dict(zip(vary, combo, strict=True)) for combo in itertools.product(*vary.values())]
    rows = [read_point(folder, name, v) for name, v in zip(names, values, strict=True)]
    counts = {status: sum(r["status"] == status for r in rows) for status in ("finished", "failed", "missing")}
    configs = configurations(rows, fields)
    return {"grid": {key: sweep[key] for key in ("grid", "grid_path", "preset", "set", "vary")},
            "engine": sweep["engine"], "commit": sweep["commit"], "planned": len(rows), **counts,
            "seconds_per_run": stats([r["seconds"] for r in rows if r["status"] == "finished"]),
            "varying": list(vary), "configuration_fields": fields, "points": rows, "configurations": configs,
            "compression_sentence": compression_sentence(configs)}


def publish(folder: Path) -> Path:
    """comparison.json and the page in `folder/site`; returns the site folder."""
    from sweep import page

    data = comparison(folder)
    write_json(folder / COMPARISON_FILE, data)
    return page.publish(folder, data)
