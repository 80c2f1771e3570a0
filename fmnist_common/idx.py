"""Reading the Fashion-MNIST IDX files with numpy alone, and fingerprinting the test set.

The analyzer reads the test split (and, for the nearest training images, the training split) from
a folder holding the four files, or from `DATA_DIR/FashionMNIST/raw/` where torchvision and
`make data` keep them; either the extracted IDX files or the official `.gz` files.
`fingerprint` hashes the *decompressed* bytes, so a model exported from extracted files
recognises the same data given as `.gz` files and the other way round.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
IMAGES_MAGIC = 2051  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # unsigned bytes, 1 dimension


class IdxError(ValueError):
    """An IDX file is missing, truncated or not the kind of file expected."""


def raw_folder(data_dir: str | Path) -> Path:
    """Where torchvision keeps Fashion-MNIST's files under a data root."""
    return Path(data_dir) / "FashionMNIST" / "raw"


def files_folder(data: str | Path) -> Path:
    """The folder to read the IDX files from: `data` itself when it holds the test images
    (extracted or `.gz`), as a download of the four official files does, else its torchvision
    layout `data/FashionMNIST/raw/`."""
    data = Path(data)
    if (data / TEST_IMAGES).is_file() or (data / f"{TEST_IMAGES}.gz").is_file():
        return data
    return raw_folder(data)


def read_raw_bytes(folder: Path, name: str) -> bytes:
    """The decompressed bytes of `name` in `folder`, from the IDX file or else its `.gz`."""
    plain, packed = folder / name, folder / f"{name}.gz"
    if plain.is_file():
        return plain.read_bytes()
    if packed.is_file():
        try:
            return gzip.decompress(packed.read_bytes())
        except (OSError, EOFError) as exc:
            raise IdxError(f"{packed} is not a valid gzip file ({exc}); replace it") from exc
    raise IdxError(f"{plain} not found (nor {packed.name}); pass as --data a folder holding the four Fashion-MNIST "
                   "files (or the data root where \"make data\" put them under FashionMNIST/raw/)")


def parse_idx(data: bytes, magic: int, source: str) -> np.ndarray:
    """Decode IDX bytes, checking the magic number and that the size matches the header."""
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxError(f"{source}: {len(data)} bytes is too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise IdxError(f"{source}: magic number {found}, expected {magic}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise IdxError(f"{source}: {len(data)} bytes, header promises {expected}; file truncated?")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_split(data_dir: str | Path, images_name: str, labels_name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Images (N, 28, 28) uint8, labels (N,) int64 and the sha256 of both decompressed files."""
    folder = files_folder(data_dir)
    image_bytes = read_raw_bytes(folder, images_name)
    label_bytes = read_raw_bytes(folder, labels_name)
    images = parse_idx(image_bytes, IMAGES_MAGIC, str(folder / images_name))
    labels = parse_idx(label_bytes, LABELS_MAGIC, str(folder / labels_name))
    if images.shape[1:] != (28, 28) or images.shape[0] != labels.shape[0]:
        raise IdxError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    return images, labels.astype(np.int64), fingerprint(image_bytes, label_bytes)


def load_test_set(data_dir: str | Path) -> tuple[np.ndarray, np.ndarray, str]:
    """The test split and its fingerprint, which the model's `dataset_sha256` must match."""
    return load_split(data_dir, TEST_IMAGES, TEST_LABELS)


def has_train_set(data_dir: str | Path) -> bool:
    """Whether the training files are there (extracted or `.gz`); they are optional for the analysis."""
    folder = files_folder(data_dir)
    return all((folder / n).is_file() or (folder / f"{n}.gz").is_file() for n in (TRAIN_IMAGES, TRAIN_LABELS))


def load_train_set(data_dir: str | Path) -> tuple[np.ndarray, np.ndarray, str]:
    """The training split (images, labels) and its fingerprint, checked like the test split."""
    return load_split(data_dir, TRAIN_IMAGES, TRAIN_LABELS)


def fingerprint(image_bytes: bytes, label_bytes: bytes) -> str:
    """sha256 of a split's decompressed images followed by its decompressed labels."""
    digest = hashlib.sha256()
    digest.update(image_bytes)
    digest.update(label_bytes)
    return digest.hexdigest()
