"""Render the static report: `python -m analyzer.site --run RUN [--templates DIR]`.

Reads `RUN/analysis/results.json`, `RUN/config.json`, `RUN/export_report.json` and the figures;
fills the Jinja2 templates of `site_templates/` (autoescaped, StrictUndefined) into Markdown pages
under `RUN/docs/` and `RUN/mkdocs.yml`, copies the figures, thumbnails and `model.onnx` beside
them, and runs `mkdocs build --strict` into `RUN/site/`. The site loads nothing from the internet.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "site_templates"
PAGES = (
    "index.md", "bottleneck.md", "explorer.md", "information_plane.md", "confusion.md", "hard_negatives.md",
    "calibration.md", "model.md",
)
EXPLORER_ASSETS = ("explorer.js", "explorer.css")  # static files of the explorer page, from the templates


class SiteError(RuntimeError):
    """An input of the site is missing or the build failed."""


def url(path: str) -> str:
    """A relative path as a URL: spaces, parentheses and other specials percent-encoded."""
    return quote(path, safe="/")


def percent(value: float, digits: int = 2) -> str:
    return f"{100 * value:.{digits}f}%"


def environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(url=url, percent=percent)
    return env


def read_json(path: Path) -> dict:
    if not path.is_file():
        raise SiteError(f"{path} not found; run \"make analyze\" (or the stage that writes it) first")
    return json.loads(path.read_text(encoding="utf-8"))


def copy_assets(analysis: Path, run: Path, docs: Path, results: dict, templates: Path) -> None:
    """Figures, thumbnails, the explorer's data and script, and the model, beside their pages."""
    for name in results["figures"].values():
        shutil.copy2(analysis / name, docs / name)
    shutil.copytree(analysis / "hard_neg", docs / "hard_neg")
    shutil.copytree(analysis / "explorer", docs / "explorer")
    for name in EXPLORER_ASSETS:
        shutil.copy2(templates / name, docs / "explorer" / name)
    shutil.copy2(run / "model.onnx", docs / "model.onnx")


def context(run: Path) -> dict:
    results = read_json(run / "analysis" / "results.json")
    return {
        "results": results,
        "config": read_json(run / "config.json"),
        "export": read_json(run / "export_report.json"),
        "history": results["history"] or [],
        "run": run.name,
    }


def render(run: Path, templates: Path = TEMPLATES) -> Path:
    """Write RUN/docs and RUN/mkdocs.yml, build RUN/site; return the site folder."""
    values = context(run)
    docs, site = run / "docs", run / "site"
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir(parents=True)
    copy_assets(run / "analysis", run, docs, values["results"], templates)
    env = environment(templates)
    for page in PAGES:
        (docs / page).write_text(env.get_template(f"{page}.j2").render(values), encoding="utf-8")
    (run / "mkdocs.yml").write_text(env.get_template("mkdocs.yml.j2").render(values), encoding="utf-8")
    staging = run / ".site.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(run / "mkdocs.yml"),
         "-d", str(staging.resolve())],
        capture_output=True, text=True,
    )
    if build.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise SiteError(f"mkdocs build --strict failed:\n{build.stderr.strip()}")
    shutil.rmtree(site, ignore_errors=True)
    staging.rename(site)
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyzer.site", description=__doc__)
    parser.add_argument("--run", default="runs/default", help="run folder (default: %(default)s)")
    parser.add_argument("--templates", default=str(TEMPLATES), help="template folder (default: site_templates/)")
    args = parser.parse_args(argv)
    try:
        site = render(Path(args.run), Path(args.templates))
    except SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"built {site} ({size / 1e6:.1f} MB); open {site / 'index.html'} or run \"make serve\"")
    return 0


if __name__ == "__main__":
    sys.exit(main())
