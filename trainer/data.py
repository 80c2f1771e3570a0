"""Fashion-MNIST on disk and in memory.

`prepare(data_dir, local_dir)` makes `data_dir/FashionMNIST/raw/` hold the four official files and
their extracted IDX files: from `local_dir` when given (each `.gz` checked against torchvision's MD5
before it is copied, so no network is needed), else downloaded by torchvision. `load(data_dir)`
returns a split as uint8 tensors with the dataset's own class names.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import FashionMNIST

from fmnist_common.artifacts import atomic_path
from fmnist_common.idx import raw_folder

# Size in bytes of each extracted IDX file: header + payload. A file of another size is a
# half-finished extraction and is removed so that torchvision extracts it again.
EXTRACTED_SIZES = {
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}


class DataError(RuntimeError):
    """The dataset is missing, corrupt or cannot be fetched; the message says how to fix it."""


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # (N, 1, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64
    class_names: list[str]  # index order, from the dataset

    def to(self, device: torch.device) -> Split:
        """The split with its tensors on `device`, moved once so that batches are indexed there
        (on the CPU the same tensors)."""
        return Split(self.images.to(device), self.labels.to(device), self.class_names)

    def head(self, count: int) -> Split:
        """The first `count` images (all of them when `count` is 0)."""
        if not count:
            return self
        return Split(self.images[:count], self.labels[:count], self.class_names)


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def copy_local_files(local_dir: Path, raw: Path) -> None:
    """Verify the four `.gz` files in `local_dir`, then copy them (atomically) into `raw`: a folder
    that fails the check leaves nothing behind, not even `raw`."""
    if not local_dir.is_dir():
        raise DataError(
            f"{local_dir} is not a folder; FASHION_MNIST_DIR must name a folder holding the four "
            "official Fashion-MNIST .gz files"
        )
    for name, expected in FashionMNIST.resources:
        source = local_dir / name
        if not source.is_file():
            raise DataError(f"{source} not found; put the official {name} in {local_dir}")
        found = md5_of(source)
        if found != expected:
            raise DataError(
                f"{source} fails its MD5 check (got {found}, expected {expected}): the file is "
                "corrupt or truncated; replace it with the official file"
            )
    raw.mkdir(parents=True, exist_ok=True)
    for name, expected in FashionMNIST.resources:
        target = raw / name
        if target.is_file() and md5_of(target) == expected:
            continue
        with atomic_path(target) as tmp:
            shutil.copyfile(local_dir / name, tmp)


def remove_partial_extractions(raw: Path) -> None:
    """Delete extracted IDX files of the wrong size, e.g. left by an interrupted extraction."""
    for name, size in EXTRACTED_SIZES.items():
        path = raw / name
        if path.exists() and path.stat().st_size != size:
            path.unlink()


def prepare(data_dir: str | Path, local_dir: str | Path | None = None) -> Path:
    """Make the raw and extracted files present and verified; return the raw folder."""
    raw = raw_folder(data_dir)
    if local_dir:
        copy_local_files(Path(local_dir), raw)
    raw.mkdir(parents=True, exist_ok=True)
    for name, expected in FashionMNIST.resources:
        packed = raw / name
        if packed.is_file() and md5_of(packed) != expected:
            packed.unlink()  # a corrupt earlier download: fetch or copy it again
    remove_partial_extractions(raw)
    try:
        FashionMNIST(str(data_dir), train=True, download=True)
    except (RuntimeError, OSError) as exc:
        raise DataError(
            f"could not download Fashion-MNIST into {raw} ({exc}); without internet, set "
            "FASHION_MNIST_DIR to a folder holding the four official .gz files"
        ) from exc
    return raw


def load(data_dir: str | Path, train: bool) -> Split:
    """One split as in-memory tensors; run `prepare` first."""
    missing = [n for n in EXTRACTED_SIZES if not (raw_folder(data_dir) / n).is_file()]
    if missing:
        raise DataError(
            f"{raw_folder(data_dir)} lacks {', '.join(missing)}; run \"make data\" first"
        )
    dataset = FashionMNIST(str(data_dir), train=train, download=False)
    return Split(dataset.data.unsqueeze(1).contiguous(), dataset.targets.long(), list(dataset.classes))
