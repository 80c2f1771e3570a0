"""Kill a process at its k-th file-system change, as `kill -9` would: no `finally`, no cleanup.

`python -m tests.fault_injection K MODULE:FUNCTION ARG...` arms the counter once FUNCTION's own
code calls `arm()` (or at once with no call), then runs FUNCTION(*ARG); at the K-th call of a
patched `os` function the process ends with `os._exit(KILLED)` before that call happens. A run
that finishes before the K-th call exits 0 and prints the number of calls it made, so a test can
walk K = 1, 2, … until the function completes and so stop it at every step.
"""

from __future__ import annotations

import importlib
import os
import sys

KILLED = 137  # the exit status a shell reports for SIGKILL
PATCHED = ("replace", "rename", "symlink", "unlink", "rmdir", "mkdir", "remove")
state = {"armed": False, "calls": 0, "kill_at": 0}


def arm() -> None:
    state["armed"] = True


def counting(name: str):
    real = getattr(os, name)

    def call(*args, **kwargs):
        if state["armed"]:
            state["calls"] += 1
            if state["calls"] == state["kill_at"]:
                os._exit(KILLED)
        return real(*args, **kwargs)

    return call


def main(argv: list[str]) -> int:
    kill_at, target, *args = argv
    sys.modules.setdefault("tests.fault_injection", sys.modules[__name__])  # one `state` for `arm()` too
    state["kill_at"] = int(kill_at)
    module, function = target.split(":")
    function = getattr(importlib.import_module(module), function)
    for name in PATCHED:
        setattr(os, name, counting(name))
    function(*args)
    print(state["calls"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
