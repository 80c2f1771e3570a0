"""The comparison page: one static HTML file, its figures (light and dark), a stylesheet and the
table-sorting script, published whole into `SWEEP/site/` (a kill leaves the old page or the new).

The page follows the reader's light or dark scheme (`prefers-color-scheme`), needs no server and
fetches nothing; every run's own report is one link away.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from fmnist_common.artifacts import check_replaceable, folder_lock, published_folder
from fmnist_common.figure_files import dark_variant
from sweep import figures
from sweep.compare import ESTIMATORS
from sweep.grid import FIELDS

KIND = "sweep-site"
TEMPLATES = Path(str(resources.files("sweep") / "templates"))
STATIC = ("sweep.css", "sort_table.js")
ALTS = {"accuracy": "Test accuracy against the bottleneck width, one line per configuration",
        "ece": "Expected calibration error against the bottleneck width, one line per configuration"}


def plus_minus(stat: dict | None, scale: float, unit: str) -> str:
    """`92.31 ± 0.12%` of a stats block scaled (100 for percentages); empty when nothing finished."""
    if stat is None:
        return ""
    return f"{stat['mean'] * scale:.2f} ± {stat['sd'] * scale:.2f}{unit}"


def render(data: dict, drawn: dict[str, str]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["dark"] = lambda name: dark_variant(Path(name)).name
    numeric = {name for name, spec in FIELDS.items() if spec.type in ("int", "float")}
    problems = [row for row in data["points"] if row["status"] != "finished"]
    return env.get_template("index.html.j2").render(
        data=data, figures=drawn, alts=ALTS, numeric=numeric, estimators=ESTIMATORS, problems=problems,
        pm=plus_minus)


def publish(folder: Path, data: dict) -> Path:
    """Draw the figures and write the page into a new build, then publish it as `folder/site`."""
    site = folder / "site"
    check_replaceable(site, KIND, "Move it away, then run the sweep again.")
    with folder_lock(site), published_folder(site, KIND) as build:
        drawn = {}
        if data["finished"]:
            figures.metric_figure(data, "test_accuracy", "test accuracy", build / "accuracy.png")
            figures.metric_figure(data, "ece", "expected calibration error", build / "ece.png")
            drawn.update(accuracy="accuracy.png", ece="ece.png")
        if figures.maps_figure(data, folder, build / "maps.png"):
            drawn["maps"] = "maps.png"
        if figures.information_figure(data, folder, build / "information.png"):
            drawn["information"] = "information.png"
        (build / "index.html").write_text(render(data, drawn), encoding="utf-8")
        for name in STATIC:
            shutil.copyfile(TEMPLATES / name, build / name)
    return site
