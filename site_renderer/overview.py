"""The overview's findings, chosen from results.json: the most confused pair of classes, the best
and worst class, and how far the classes separated in the bottleneck.

Only the choices are made here (which pair, which class, which ratios); `index.md.j2` writes the
sentences, and every value it shows goes through `markup.finalize` like any other.
"""

from __future__ import annotations


def confused_pair(results: dict) -> dict | None:
    """The unordered pair of classes with the most test images of one predicted as the other:
    {classes, count, each_way: [a predicted as b, b predicted as a]}; None when nothing is wrong."""
    pairs = results["confusion"]["overlapping_pairs"]
    if not pairs:
        return None
    names, counts = results["class_names"], results["confusion"]["matrix"]["counts"]
    a, b = (names.index(name) for name in pairs[0]["classes"])
    return {"classes": pairs[0]["classes"], "count": pairs[0]["count"], "each_way": [counts[a][b], counts[b][a]]}


def best_and_worst(results: dict) -> dict | None:
    """The classes with the highest and lowest F1 score among those with test images (ties: the
    lower class index), or None when no class has any."""
    rows = [row for row in results["confusion"]["per_class"] if row["support"] > 0]
    if not rows:
        return None
    best = max(rows, key=lambda row: row["f1"])  # max and min keep the first of equal values
    worst = min(rows, key=lambda row: row["f1"])
    return {"best": best, "worst": worst, "equal": best["f1"] == worst["f1"]}


def separation(results: dict) -> dict:
    """How the classes separated: {state, ratio, first, last, first_step, grew}.

    state: "collapsed" (every test image on one point), "points" (each class on one point of its
    own, the ratio is infinite) or "ratio" (the between- over within-class spread of all test
    images). first/last: the probe images' ratio at the first and last snapshot, when the analysis
    had snapshots and both are finite.
    """
    block = results["bottleneck"]
    found = {"state": "ratio", "ratio": block["fisher_ratio"], "first": None, "last": None, "first_step": None,
             "grew": None}
    if block.get("collapsed"):
        found["state"] = "collapsed"
    elif block["fisher_ratio"] is None:
        found["state"] = "points"
    animation = block["animation"]
    if animation and animation["fisher_ratio"][0] is not None and animation["fisher_ratio"][-1] is not None:
        first, last = animation["fisher_ratio"][0], animation["fisher_ratio"][-1]
        found.update(first=first, last=last, first_step=animation["steps"][0], grew=last > first,
                     probes=animation["probe_images"])
    return found


def findings(results: dict) -> dict:
    return {"pair": confused_pair(results), "classes": best_and_worst(results), "separation": separation(results)}
