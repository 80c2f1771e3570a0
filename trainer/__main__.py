import sys

from fmnist_common.needs_torch import exit_without_torch

exit_without_torch("python -m trainer", "a model trained elsewhere is analysed without torch by python -m "
                   "analyzer (README, journey 2)")

from trainer.cli import main  # noqa: E402  (after the check: it imports torch)

sys.exit(main())
