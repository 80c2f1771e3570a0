import sys

from fmnist_common.needs_torch import exit_without_torch

exit_without_torch("python -m exporter", "a model exported elsewhere is adopted without torch by python -m "
                   "exporter.adopt (docs/model-interface.md)")

from exporter.cli import main  # noqa: E402  (after the check: it imports torch)

sys.exit(main())
