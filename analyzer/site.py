"""Render the static report: `python -m analyzer.site --run RUN [--templates DIR]`.

Reads `RUN/analysis/` (required) and, when present, `RUN/config.json`, `RUN/export_report.json`
and `RUN/model.onnx`; fills the Jinja2 templates of the `site_templates` package (or of
`--templates DIR`) into Markdown pages and `mkdocs.yml`, copies the figures, thumbnails and model
beside them, and runs `mkdocs build --strict`. Everything is built in `RUN/.site-build/` and then
swapped in whole as `RUN/docs/`, `RUN/site/` and `RUN/mkdocs.yml`, so a failed build leaves the
previous report. The site loads nothing from the internet.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import math
import shutil
import subprocess
import sys
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2

from analyzer import markup
from analyzer.artifacts import FolderBusy, folder_lock, write_bytes
from analyzer.site_pages import missing, page_plan

# static files from the templates: (file, folder under docs/ it goes to)
STATIC_ASSETS = (("explorer.js", "explorer"), ("explorer.css", "explorer"), ("confusion.js", "confusion"),
                 ("report.css", "."))
ANALYSIS_FOLDERS = ("hard_neg", "explorer", "confusion", "neighbours")  # copied when the analysis made them
BUILD = ".site-build"  # folder in RUN where the next docs/, site/ and mkdocs.yml are made
OUTPUTS = ("docs", "site")  # folders swapped in from BUILD after a successful build


class SiteError(RuntimeError):
    """An input of the site is missing or the build failed."""


def default_templates() -> Traversable:
    """The templates installed with the package (also in a non-editable install)."""
    return importlib.resources.files("site_templates")


def environment(templates: Traversable) -> jinja2.Environment:
    """Jinja2 for Markdown pages: every value is written as literal text by `markup.finalize`.

    Jinja's autoescape stays off: it would mark the output of filters such as `join` as safe
    markup after escaping only HTML, and so let Markdown syntax through; `finalize` escapes both.
    """
    def load(name: str) -> str | None:
        source = templates.joinpath(name)
        return source.read_text(encoding="utf-8") if source.is_file() else None

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=False,
        finalize=markup.finalize,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(url=markup.url, shell=markup.shell, percent=markup.percent, thousands=markup.thousands,
                       sentence=markup.sentence, plain=markup.plain,
                       format=markup.format_numbers)
    env.globals["log2"] = math.log2
    return env


def read_json(path: Path, required: bool = True) -> dict | None:
    if not path.is_file():
        if required:
            raise SiteError(f"{path} not found; run \"make analyze\" (or the stage that writes it) first")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SiteError(f"{path} is not valid JSON ({exc}); run the stage that writes it again") from exc


def context(run: Path) -> dict:
    """Everything the templates see: the run's files and which parts of the report they allow."""
    results = read_json(run / "analysis" / "results.json")
    config = read_json(run / "config.json", required=False)
    export = read_json(run / "export_report.json", required=False)
    reasons = missing(run, results, config, export)
    pages, left_out = page_plan(reasons)
    return {
        "results": results,
        "config": config,
        "export": export,
        "has": {key: why is None for key, why in reasons.items()},
        "pages": pages,
        "left_out": left_out,
        "run": run.resolve().name,
    }


def copy_assets(run: Path, docs: Path, values: dict, templates: Traversable) -> None:
    """Figures, thumbnails, the explorer's and the confusion gallery's data and scripts, the
    report's style sheet, and the model, beside their pages."""
    analysis = run / "analysis"
    for name in values["results"]["figures"].values():
        shutil.copy2(analysis / name, docs / name)
    for folder in ANALYSIS_FOLDERS:
        if (analysis / folder).is_dir():
            shutil.copytree(analysis / folder, docs / folder)
    for name, folder in STATIC_ASSETS:
        (docs / folder / name).write_bytes(templates.joinpath(name).read_bytes())
    if values["has"]["model_file"]:
        shutil.copy2(run / "model.onnx", docs / "model.onnx")


def build(run: Path, staging: Path, templates: Traversable) -> None:
    """Render docs/ and mkdocs.yml into `staging` and build staging/site."""
    values = context(run)
    docs = staging / "docs"
    docs.mkdir(parents=True)
    copy_assets(run, docs, values, templates)
    env = environment(templates)
    try:
        for page in values["pages"]:
            (docs / page.file).write_text(env.get_template(f"{page.file}.j2").render(values), encoding="utf-8")
        (staging / "mkdocs.yml").write_text(env.get_template("mkdocs.yml.j2").render(values), encoding="utf-8")
    except (markup.MissingValue, jinja2.UndefinedError) as exc:
        raise SiteError(f"{run / 'analysis' / 'results.json'} does not fit the page templates ({exc})") from exc
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(staging / "mkdocs.yml")],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise SiteError("mkdocs build --strict failed: " + "; ".join(filter(str.strip, done.stderr.splitlines())))
    # mkdocs-material's 404 page links /assets/ and /index.html from the server root, which breaks
    # under a sub-path; without it a server shows its own "not found" page.
    (staging / "site" / "404.html").unlink(missing_ok=True)


def render(run: Path, templates: Traversable | None = None) -> Path:
    """Build RUN/docs, RUN/site and RUN/mkdocs.yml from RUN's files; return the site folder."""
    templates = templates or default_templates()
    if not run.is_dir():
        raise SiteError(f"{run} is not a folder; pass the run folder that holds analysis/ as --run")
    with folder_lock(run / "site"):  # RUN/.site.lock: two renders into one run folder would mix their files
        staging = run / BUILD
        shutil.rmtree(staging, ignore_errors=True)
        try:
            build(run, staging, templates)
            for name in OUTPUTS:
                old = run / f".{name}.old"
                shutil.rmtree(old, ignore_errors=True)
                if (run / name).exists():
                    (run / name).rename(old)
                (staging / name).rename(run / name)
                shutil.rmtree(old, ignore_errors=True)
            write_bytes(run / "mkdocs.yml", (staging / "mkdocs.yml").read_bytes())
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return run / "site"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyzer.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/default", help="run folder (default: %(default)s)")
    parser.add_argument("--templates", help="template folder (default: the installed site_templates)")
    args = parser.parse_args(argv)
    if args.templates and not (Path(args.templates) / "index.md.j2").is_file():
        print(f"error: --templates {args.templates} holds no index.md.j2; pass the site_templates folder",
              file=sys.stderr)
        return 2
    try:
        site = render(Path(args.run), Path(args.templates) if args.templates else None)
    except (SiteError, FolderBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"built {site} ({size / 1e6:.1f} MB); open {site / 'index.html'} or run \"make serve\"")
    return 0


if __name__ == "__main__":
    sys.exit(main())
