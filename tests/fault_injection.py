"""Kill a process at its k-th file-system change, as `kill -9` would: no `finally`, no cleanup.

`python -m tests.fault_injection K MODULE:FUNCTION ARG...` arms the counter once FUNCTION's own
code calls `arm()` (or at once with no call), then runs FUNCTION(*ARG); at the K-th call of a
patched `os` function the process ends with `os._exit(KILLED)` before that call happens. A run
that finishes before the K-th call exits 0 and prints the number of calls it made, so a test can
walk K = 1, 2, … until the function completes and so stop it at every step.

`no_space_at(K)` is the in-process variant for a full disk: the K-th `os.replace` (an atomic file
landing in its place, or a publication's rename) fails with ENOSPC, and the stage must report it
in one line and leave its previous output as it was.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from collections.abc import Iterator

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


@contextlib.contextmanager
def no_space_at(k: int) -> Iterator[list[int]]:
    """Within the block, the k-th call of `os.replace` raises ENOSPC instead of renaming; yields a
    list holding the number of calls so far (k = 0 never fails: it only counts)."""
    real, calls = os.replace, [0]

    def replace(*args, **kwargs):
        calls[0] += 1
        if calls[0] == k:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[1]))
        return real(*args, **kwargs)

    os.replace = replace
    try:
        yield calls
    finally:
        os.replace = real


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
