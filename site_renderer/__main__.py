import sys

from site_renderer.cli import main

sys.exit(main())
