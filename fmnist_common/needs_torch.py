"""The one line a stage that trains or exports gives where torch is not installed (the torch-free
`pip install '.[analyze]'` of the README's journeys 2 and 4), instead of an import traceback."""

from __future__ import annotations

import importlib.util
import sys


def exit_without_torch(command: str, instead: str) -> None:
    """Exit with status 2 and one `error:` line when torch cannot be imported; `instead` ends it
    with what this environment can do."""
    try:
        found = importlib.util.find_spec("torch") is not None
    except ValueError:  # sys.modules["torch"] is None: imports of it are blocked
        found = False
    if not found:
        print(f"error: {command} needs torch, which this Python environment lacks; install it with the "
              f"project's 'train' extra (pip install '.[train]', or make install in the checkout); {instead}",
              file=sys.stderr)
        sys.exit(2)
