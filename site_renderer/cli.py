"""Command line of the site stage: `python -m site_renderer --run RUN [--templates DIR]`.

Renders `RUN/analysis/` (required) and the training files beside it into `RUN/site/` (see
`site_renderer.render`). Expected failures print one `error: ...` line and exit with status 2,
leaving the previous report as it was. `python -m analyzer.site` runs the same command.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from fmnist_common.artifacts import NO_SPACE, FolderBusy, NotReplaceable, no_space
from site_renderer import markup
from site_renderer.render import SiteError, render


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m site_renderer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/default", help="run folder (default: %(default)s)")
    parser.add_argument("--templates", help="template folder (default: the installed site_templates)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.templates and not (Path(args.templates) / "index.md.j2").is_file():
        print(f"error: --templates {args.templates} holds no index.md.j2; pass the site_templates folder",
              file=sys.stderr)
        return 2
    try:
        with warnings.catch_warnings(record=True) as caught:  # what the report leaves out, one line each
            warnings.simplefilter("always")
            site = render(Path(args.run), Path(args.templates) if args.templates else None)
        for caught_warning in caught:
            print(f"warning: {caught_warning.message}", file=sys.stderr)
    except (SiteError, FolderBusy, NotReplaceable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in NO_SPACE:
            raise
        print(f"error: {no_space(exc, args.run, 'report')}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    print(f"built {site} ({size / 1e6:.1f} MB); open {site / 'index.html'} in a browser, or serve it with: "
          f"python -m http.server --directory {markup.shell(str(site))} 8000")
    return 0
