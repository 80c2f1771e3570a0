"""Atomic file writing shared by every stage: a reader never sees a half-written artefact.

Each writer gets a temporary path in the destination folder and the file is renamed over the
destination only when the writer returns without an exception; a whole output folder is built
aside and swapped in the same way, under a lock that keeps two runs out of one folder.
Torch-free, so the analyzer can use it where torch is not installed.
"""

from __future__ import annotations

import contextlib
import errno
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


# a write that failed for want of space: the disk is full, or the user's quota is used up
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def no_space(exc: OSError, folder: str | os.PathLike, what: str) -> str:
    """The one-line refusal of a stage whose build ran out of space; the build is deleted by
    `published_folder` on the way out, so the previous `what` in `folder` is whole."""
    return (f"no space left on the device holding {folder} ({exc.strerror}); free some space there and run "
            f"again; the previous {what} in {folder} is left as it was")


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


MARKER = ".fmnist-bottleneck.json"  # inside every folder a stage publishes whole: what wrote it, and its files
MARKER_FORMAT = 2  # 1 named only the kind; 2 also lists the files, so files added later are not lost
# What a desktop's file browser leaves in every folder it shows (macOS Finder, Windows Explorer):
# replaced with the folder, or a report once opened in Finder could never be rebuilt.
DESKTOP_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


class NotReplaceable(RuntimeError):
    """A folder a stage would replace whole holds something that stage did not write."""


def builds_of(folder: Path) -> list[Path]:
    """The hidden build folders beside `folder` (`.NAME-<random>`), published or not."""
    return sorted(folder.parent.glob(f".{folder.name}-*"))


def marker(folder: Path) -> dict:
    """What `folder`'s marker records ({} without a readable one)."""
    try:
        record = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def marker_kind(folder: Path) -> str | None:
    """The kind of output `folder` holds according to its marker, or None without a readable one."""
    return marker(folder).get("kind")


def files_in(folder: Path) -> list[str]:
    """Every file and symbolic link under `folder` (links not followed) but the marker, as sorted
    relative paths: what the marker records, and what a later run compares with it."""
    found = []
    for root, folders, files in os.walk(folder):
        here = Path(root)
        found += [(here / name).relative_to(folder).as_posix() for name in files]
        found += [(here / name).relative_to(folder).as_posix() for name in folders if (here / name).is_symlink()]
    return sorted(name for name in found if name != MARKER)


def foreign_files(folder: Path) -> list[str]:
    """The files under a published `folder` that its stage did not write (none when its marker
    predates the file list): the user's own, which replacing the folder would delete."""
    written = marker(folder).get("files")
    if not isinstance(written, list):
        return []
    written = set(written)
    return [name for name in files_in(folder) if name not in written and Path(name).name not in DESKTOP_LITTER]


def is_own_link(folder: Path) -> bool:
    """Whether `folder` is a symlink a publication made: to `.NAME-<random>` beside it."""
    if not folder.is_symlink():
        return False
    target = os.readlink(folder)
    return "/" not in target and target.startswith(f".{folder.name}-")


def check_replaceable(folder: str | os.PathLike, kind: str, hint: str) -> None:
    """Refuse, before any work, to replace `folder` unless it is absent, empty, or a `kind` folder
    this project published (a symlink to a marked build, or a folder holding the marker).

    `hint` ends the message: the likely fix for a user who pointed the stage at the wrong folder.
    """
    folder = Path(folder)
    described = ("an " if kind[0] in "aeiou" else "a ") + f"{kind} folder"
    if folder.is_symlink():
        if not (is_own_link(folder) and (not folder.exists() or marker_kind(folder) == kind)):
            raise NotReplaceable(f"{folder} is a symbolic link to {os.readlink(folder)}, not {described} this "
                                 f"project wrote, so it is left as it is. {hint}")
    elif folder.exists():
        if not folder.is_dir():
            raise NotReplaceable(f"{folder} is a file, not {described}, so it is left as it is. {hint}")
        entries = sorted(p.name for p in folder.iterdir())
        if entries and marker_kind(folder) != kind:
            raise NotReplaceable(f"{folder} is not {described} this project wrote (it holds {listed(entries)}); "
                                 f"it would be replaced whole, so it is left as it is. {hint}")
    foreign = foreign_files(folder)
    if foreign:
        raise NotReplaceable(f"{folder} holds {listed(foreign)}, which this project did not write; the {kind} is "
                             "replaced whole, so it is left as it is. Move those files out of it, then run again.")


def listed(names: list[str]) -> str:
    """The first six names, and how many more."""
    return ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def link(path: Path, target: str) -> None:
    """Make `path` a symlink to `target` with one rename, whatever symlink was there before."""
    temporary = path.parent / f".{path.name}.link-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    except OSError:  # a full disk, say: nothing half-made stays (a kill's leftover is swept next time)
        temporary.unlink()
        raise


def sweep(folder: Path, kind: str) -> None:
    """Clear what killed publications left beside `folder`: half-made links, and every build it
    does not point to. Should `folder` be missing (a kill in the middle of moving an older real
    folder aside), the newest complete build of `kind` is published instead of deleted.
    Safe only under `folder_lock`."""
    for stale in folder.parent.glob(f".{folder.name}.link-*"):
        stale.unlink()
    builds = builds_of(folder)
    if not folder.exists() and not folder.is_symlink():
        complete = [b for b in builds if marker_kind(b) == kind]
        if complete:
            link(folder, max(complete, key=lambda b: (b / MARKER).stat().st_mtime).name)
    current = os.readlink(folder) if folder.is_symlink() else None
    for build in builds:
        if build.name == current:
            continue
        if build.is_dir() and not build.is_symlink():
            shutil.rmtree(build)
        else:
            build.unlink()


@contextlib.contextmanager
def published_folder(folder: str | os.PathLike, kind: str) -> Iterator[Path]:
    """Yield a new empty build folder beside `folder`; when the block succeeds, publish it as
    `folder` with one rename and delete the previous build.

    `folder` becomes a relative symlink to `.NAME-<random>`, its build beside it, and publishing
    is `rename(2)` of a new symlink over the old one: a reader, or a kill at any instant, finds the
    previous complete folder or the new complete one, never a mix and never none. The marker
    (written last) says which kind of output it holds, so `check_replaceable` can tell it from a
    folder the user pointed at by mistake. Call it under `folder_lock`, which makes the sweep of
    what killed runs left safe. A real folder (empty, or marked by an older version) is moved
    into the sweep's reach first, the one moment the name is briefly absent.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    sweep(folder, kind)
    build = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    build.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700 folders; use the usual mode
    try:
        yield build
        write_json(build / MARKER, {"kind": kind, "format": MARKER_FORMAT, "files": files_in(build)})
        previous = folder.parent / os.readlink(folder) if folder.is_symlink() else None
        if folder.is_dir() and not folder.is_symlink():
            previous = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
            os.replace(folder, previous)
        link(folder, build.name)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
