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
import math
from pathlib import Path
from typing import BinaryIO

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


# Fashion-MNIST has 60,000 training and 10,000 test images. A split may hold up to 100,000 (78 MB of
# pixels): the analysis keeps float copies of a split (4 bytes a pixel) and compares every test image
# with every training image, so a larger one, or a header claiming one, is refused before it is read.
MAX_IMAGES = 100_000
IMAGE_SHAPE = (28, 28)


# How a message on missing data ends; the stages name their data folder by different flags.
WHERE = ("pass the folder holding the Fashion-MNIST files (the two t10k files; the two train files add the "
         "nearest training images), or the data root where \"make data\" put them under FashionMNIST/raw/")


def open_idx(folder: Path, name: str) -> tuple[BinaryIO, Path]:
    """A binary stream of `name` in `folder`, from the IDX file or else its `.gz`, and that file."""
    plain, packed = folder / name, folder / f"{name}.gz"
    if plain.is_file():
        return open(plain, "rb"), plain
    if packed.is_file():
        return gzip.open(packed, "rb"), packed
    raise IdxError(f"{plain} not found (nor {packed.name}); {WHERE}")


def expected_shape(shape: tuple[int, ...], magic: int, source: str) -> None:
    """Refuse, from the header alone, a shape the analysis cannot use: images other than 28 x 28,
    no item, or more than MAX_IMAGES (so a hostile header never sizes an allocation)."""
    if magic == IMAGES_MAGIC and shape[1:] != IMAGE_SHAPE:
        raise IdxError(f"{source}: its header says images of {shape[1]} x {shape[2]} pixels; Fashion-MNIST's are "
                       "28 x 28; replace it with the official file")
    if not 1 <= shape[0] <= MAX_IMAGES:
        raise IdxError(f"{source}: its header says {shape[0]:,} items; expected 1 to {MAX_IMAGES:,} (Fashion-MNIST "
                       "has 10,000 test and 60,000 training images); replace it with the official file")


def read_idx(folder: Path, name: str, magic: int) -> tuple[np.ndarray, bytes]:
    """The array of `name` in `folder` and its decompressed bytes (for the fingerprint), read from
    the header on: the magic number and the shape are checked before the data is read, and exactly
    the bytes the header promises are read, so a truncated file, trailing data or a gzip bomb fails
    after reading at most the promised size plus one byte."""
    stream, path = open_idx(folder, name)
    source = str(folder / name)
    ndim = magic & 0xFF
    try:
        with stream:
            header = stream.read(4 + 4 * ndim)
            if len(header) < 4 + 4 * ndim:
                raise IdxError(f"{source}: {len(header)} bytes is too short for an IDX header")
            found = int.from_bytes(header[:4], "big")
            if found != magic:
                raise IdxError(f"{source}: magic number {found}, expected {magic}")
            shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
            expected_shape(shape, magic, source)
            size = math.prod(shape)
            data = stream.read(size)
            extra = len(stream.read(1))
    except (OSError, EOFError) as exc:
        problem = "is not a valid gzip file" if path.suffix == ".gz" else "cannot be read"
        raise IdxError(f"{path} {problem} ({exc}); replace it") from exc
    if len(data) != size:
        raise IdxError(f"{source}: {len(header) + len(data)} bytes, header promises {len(header) + size}; "
                       "file truncated?")
    if extra:
        raise IdxError(f"{source}: more than the {len(header) + size:,} bytes its header promises; replace it with "
                       "the official file")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape), header + data


def load_split(data_dir: str | Path, images_name: str, labels_name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """Images (N, 28, 28) uint8, labels (N,) int64 and the sha256 of both decompressed files."""
    if not Path(data_dir).is_dir():
        raise IdxError(f"{data_dir} {'is not a folder' if Path(data_dir).exists() else 'not found'}; {WHERE}")
    folder = files_folder(data_dir)
    images, image_bytes = read_idx(folder, images_name, IMAGES_MAGIC)
    labels, label_bytes = read_idx(folder, labels_name, LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
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
