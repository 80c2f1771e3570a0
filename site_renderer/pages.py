"""The pages of the report, and which of its parts this run folder has the inputs for.

Only `analysis/results.json` (and the files beside it) is required: a model trained elsewhere and
analysed on its own still gets a report. The training artefacts (`config.json`, the exporter's
`export_report.json`, the history, snapshots and dynamics the analyzer was given, `model.onnx`) each add
parts; a part whose input is absent is left out, and the overview says which and why. `PAGES` is
the one list of pages: the renderer, the navigation and the overview's contents all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from site_renderer import try_it


@dataclass(frozen=True)
class Page:
    file: str  # Markdown page under docs/, rendered from site_templates/<file>.j2
    title: str  # its name in the navigation and the overview
    summary: str  # one line for the overview's list of contents: what the page always shows
    needs: str | None = None  # key of PARTS without which the page is left out
    extras: tuple[tuple[str, str], ...] = ()  # (key of PARTS, what the summary adds when the run has it)


@dataclass(frozen=True)
class Part:
    what: str  # what the report leaves out without the input, as the overview names it
    pages: tuple[str, ...]  # files of the pages that hold it


PAGES = (
    Page("index.md", "Overview", "the headline figures, the training run and how to reproduce it."),
    Page("bottleneck.md", "Information bottleneck",
         "where every test image lands in the bottleneck, an atlas of which images lie where",
         extras=(("snapshots", "how the points moved during training"),)),
    Page("explorer.md", "Explorer", "every test image in the bottleneck, to hover, filter and zoom",
         extras=(("snapshots", "a replay of the points over training"),)),
    Page("try_it.md", "Try it", "draw a garment or drop a photo and the model itself answers in the page, "
         "offline (onnxruntime-web), with where the image lands in the bottleneck.", needs="try_it"),
    Page("information_plane.md", "Information plane",
         "how much the bottleneck knows about the image and the label at each snapshot, by two estimators.",
         needs="information_plane"),
    Page("confusion.md", "Confusion matrix",
         "which classes the model mistakes for which, with per-class precision, recall and F1."),
    Page("hard_negatives.md", "Hard negatives",
         "for each class, the test images the model gets wrong with the most confidence."),
    Page("calibration.md", "Calibration",
         "how far the model's confidence can be trusted (reliability diagram, expected calibration error)."),
    Page("training_dynamics.md", "Training dynamics",
         "which training images the model learned easily, never learned or forgot, and the test images over training.",
         needs="dynamics"),
    Page("model.md", "Model", "the ONNX model's interface and metadata",
         extras=(("model_file", "the file to download"), ("export", "how it was checked against the trained network"))),
)

PARTS = {
    "config": Part("the training configuration and the commands that retrain the model", ("index.md",)),
    "history": Part("the training curves and the training time", ("index.md",)),
    "snapshots": Part("the GIF of training and the replay", ("bottleneck.md", "explorer.md")),
    "information_plane": Part("the whole page", ("information_plane.md",)),
    "dynamics": Part("the whole Training dynamics page (data map, forgetting) and, in the Confusion matrix's "
                     "gallery, each test image's history over training", ("training_dynamics.md", "confusion.md")),
    "export": Part("the export parity checks", ("model.md",)),
    "model_file": Part("the model download and the Try it page, which runs it", ("model.md", "try_it.md")),
}


def missing(run: Path, results: dict, config: dict | None, export: dict | None) -> dict[str, str | None]:
    """For each key of PARTS: why its input is absent, or None when the run has it."""
    no_snapshots = "the analysis was given no snapshots.npz (--snapshots)"
    animation = results["bottleneck"]["animation"]
    if results["information_plane"]:
        plane = None
    elif animation:
        plane = "the snapshots.npz given to the analysis holds no information subset (info_coords)"
    else:
        plane = no_snapshots
    return {
        "config": None if config is not None else "the run folder holds no config.json (the trainer writes it)",
        "history": None if results["training_curves"] else "the analysis was given no history.json (--history)",
        "snapshots": None if animation else no_snapshots,
        "information_plane": plane,
        "dynamics": None if results.get("dynamics") else "the analysis was given no dynamics.npz (--dynamics)",
        "export": None if export is not None else "the run folder holds no export_report.json (the exporter writes it)",
        "model_file": None if (run / "model.onnx").is_file() else "the run folder holds no model.onnx",
        # not a part of PARTS: with the model there, the page is an extra whose absence the renderer
        # prints as a warning (without it, the model_file part says so)
        "try_it": try_it.left_out(run, results),
    }


def summary(page: Page, reasons: dict[str, str | None]) -> str:
    """The page's summary with the extras whose inputs the run has: it promises only what is shown."""
    phrases = [page.summary.rstrip(".")] + [phrase for key, phrase in page.extras if reasons[key] is None]
    return (phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + ", and " + phrases[-1]) + "."


def page_plan(reasons: dict[str, str | None]) -> tuple[list[Page], list[dict]]:
    """The pages to build, their summaries fitted to the run, and what is left out:
    [{what, pages, why}] in the order of PARTS."""
    pages = [replace(page, summary=summary(page, reasons)) for page in PAGES
             if page.needs is None or reasons[page.needs] is None]
    titles = {page.file: page.title for page in PAGES}
    left_out = [
        {"what": part.what, "pages": [titles[f] for f in part.pages], "why": reasons[key]}
        for key, part in PARTS.items() if reasons[key] is not None
    ]
    return pages, left_out
