"""Atomic file writing shared by every stage: a reader never sees a half-written artefact.

Each writer gets a temporary path in the destination folder and the file is renamed over the
destination only when the writer returns without an exception; a whole output folder is built
aside and swapped in the same way, under a lock that keeps two runs out of one folder.
Torch-free, so the analyzer can use it where torch is not installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.chmod(0o666 & ~current_umask())  # mkstemp makes 0600 files; use the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, value: object) -> None:
    """Write `value` as indented UTF-8 JSON, atomically; NaN or infinity is an error, not output
    that strict JSON readers reject."""
    text = json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write raw bytes atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


class FolderBusy(RuntimeError):
    """Another run holds the lock on the output folder."""


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on `folder` for this process, or refuse at once.

    The lock is `flock` on a hidden file beside the folder, so the kernel releases it when the
    holder exits or is killed: a killed run never leaves a stale lock behind.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = folder.parent / f".{folder.name}.lock"
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(
                f"{folder} is being written by another run (it holds {lock}); wait for it to finish "
                "or choose another output folder"
            ) from None
        yield


@contextlib.contextmanager
def replaced_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty folder beside `folder`; when the block succeeds it replaces `folder` whole.

    A rerun therefore never mixes its files with an earlier run's, and a failed or killed run
    leaves the previous folder as it was. Call it under `folder_lock`, which also makes it safe to
    sweep away what killed runs left beside the folder.
    """
    folder = Path(folder)
    for stale in folder.parent.glob(f".{folder.name}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    staging.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700 folders; use the usual mode
    try:
        yield staging
        if folder.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-old-", dir=folder.parent))
            os.replace(folder, retired)  # an empty folder can be replaced by rename
            os.replace(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
