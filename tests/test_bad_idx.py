"""Hostile IDX test files: one `error:` line naming the file, the value and the fix, decided from
the header before the data is read, so neither a header's claim nor a gzip bomb sizes an allocation;
exit status 2; the files and the output folder untouched."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fmnist_common.idx import MAX_IMAGES, load_test_set
from tests.handmade import write_test_set
from tests.test_bad_input import IMAGES, LABELS, good_model, run, snapshot_of

RAW = Path("FashionMNIST") / "raw"
IMAGES_FILE = "t10k-images-idx3-ubyte"
REPLACE = "replace it with the official file"


def header(magic: int, *shape: int) -> bytes:
    return b"".join(value.to_bytes(4, "big") for value in (magic, *shape))


def images_with_header(*shape: int) -> Callable[[Path], None]:
    """The test images file replaced by a header claiming `shape` over the 12 images' pixels."""
    def write(raw: Path) -> None:
        (raw / IMAGES_FILE).write_bytes(header(2051, *shape) + IMAGES.tobytes())
    return write


def no_images(raw: Path) -> None:
    write_test_set(raw.parent.parent, IMAGES[:0], LABELS[:0])


BAD = {
    "a test set of 0 images": (no_images, f"{IMAGES_FILE}: its header says 0 items; expected 1 to {MAX_IMAGES:,} "
                                          f"(Fashion-MNIST has 10,000 test and 60,000 training images); {REPLACE}"),
    "dimensions whose product overflows int64": (images_with_header(2**31, 2**31, 4),
                                                 f"{IMAGES_FILE}: its header says images of 2147483648 x 4 pixels; "
                                                 f"Fashion-MNIST's are 28 x 28; {REPLACE}"),
    "more images than the limit": (images_with_header(MAX_IMAGES + 1, 28, 28),
                                   f"{IMAGES_FILE}: its header says {MAX_IMAGES + 1:,} items; expected 1 to "
                                   f"{MAX_IMAGES:,} (Fashion-MNIST has 10,000 test and 60,000 training images); "
                                   f"{REPLACE}"),
    "data after the promised end": (lambda raw: (raw / IMAGES_FILE).write_bytes(
                                        header(2051, 11, 28, 28) + IMAGES.tobytes()),
                                    f"{IMAGES_FILE}: more than the 8,640 bytes its header promises; {REPLACE}"),
}


@pytest.mark.parametrize("case", BAD)
def test_hostile_idx_headers_are_refused(tmp_path, capsys, case):
    write, problem = BAD[case]
    raw = tmp_path / "data" / RAW
    write_test_set(tmp_path / "data", IMAGES, LABELS)
    write(raw)
    before = snapshot_of(tmp_path / "data")
    code, out = run(tmp_path, good_model())
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err == f"error: {raw}/{problem}\n"
    assert snapshot_of(tmp_path / "data") == before


def gzip_bomb(path: Path, payload: bytes, zeros: int) -> None:
    """`payload` followed by `zeros` zero bytes, gzipped a megabyte at a time (a few hundred kB on disk)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    chunk = bytes(1 << 20)
    with open(path, "wb") as handle:
        handle.write(compressor.compress(payload))
        for _ in range(zeros // len(chunk)):
            handle.write(compressor.compress(chunk))
        handle.write(compressor.flush())


def test_a_gzip_bomb_is_refused_after_the_promised_bytes(tmp_path):
    """200 MB of zeros after 12 images: the reader stops one byte past what the header promises."""
    raw = tmp_path / "data" / RAW
    write_test_set(tmp_path / "data", IMAGES, LABELS, packed=True)
    gzip_bomb(raw / f"{IMAGES_FILE}.gz", header(2051, 12, 28, 28) + IMAGES.tobytes(), 200 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as refused:
            load_test_set(tmp_path / "data")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(refused.value) == f"{raw / IMAGES_FILE}: more than the 9,424 bytes its header promises; {REPLACE}"
    assert peak < 5 << 20  # bytes: far from the 200 MB the file inflates to


def test_the_official_layout_still_reads(tmp_path):
    write_test_set(tmp_path / "data", IMAGES, LABELS, packed=True)
    images, labels, _ = load_test_set(tmp_path / "data")
    np.testing.assert_array_equal(images, IMAGES)
    np.testing.assert_array_equal(labels, LABELS)
    assert gzip.decompress((tmp_path / "data" / RAW / f"{IMAGES_FILE}.gz").read_bytes())[16:] == IMAGES.tobytes()
