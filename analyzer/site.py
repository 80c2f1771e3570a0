"""`python -m analyzer.site`, the site stage's earlier name, kept so that existing commands and
scripts go on working: it is `python -m site_renderer`."""

import sys

from site_renderer.cli import main

if __name__ == "__main__":
    sys.exit(main())
