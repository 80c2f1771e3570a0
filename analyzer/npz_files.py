"""Reading the trainer's `.npz` run files (snapshots, dynamics) without trusting them.

`np.load` allocates whatever an `.npy` header claims (10^13 values: a MemoryError), decompresses
with any method zipfile knows and returns a member that is not an array as bytes. `read_npz`
instead checks the zip directory (compression, encryption, total size) and each member's header
(its size against the member's) before it allocates the array, and raises ValueError (or
zipfile's BadZipFile, EOFError) with a message that names the member.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

# The arrays of one run file, decompressed. The default run's snapshots and dynamics hold a few tens
# of MB (dynamics: 70,000 images x 3 bytes per epoch); 1 GiB leaves room for long runs and keeps the
# analysis, which holds copies of them, within a laptop's memory.
MAX_NPZ_BYTES = 1 << 30
# what np.savez and np.savez_compressed write; zipfile knows others (bzip2, lzma) the trainer never uses
NPZ_COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def npy_header(stream: IO[bytes], member: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) from the header of an .npy member; its data is not read."""
    try:
        version = np.lib.format.read_magic(stream)
    except ValueError:
        raise ValueError(f"its member {member} is not an .npy array") from None
    if version not in NPY_HEADERS:
        raise ValueError(f"its member {member} is an .npy array of format {version}, which numpy writes only for "
                         "structured arrays; expected format 1.0 or 2.0")
    shape, fortran, dtype = NPY_HEADERS[version](stream)
    if dtype.hasobject:
        raise ValueError(f"its member {member} holds Python objects ({dtype}), which would need pickle")
    return shape, fortran, dtype


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One member's array, the size its header claims checked against the member's before any
    allocation (in Python integers, so a product that would wrap in int64 cannot pass)."""
    with archive.open(info) as stream:
        shape, fortran, dtype = npy_header(stream, info.filename)
        claimed = math.prod(shape) * dtype.itemsize
        if claimed != info.file_size - stream.tell():
            raise ValueError(f"its member {info.filename} claims shape {list(shape)} of {dtype} ({claimed:,} bytes), "
                             f"but holds {info.file_size - stream.tell():,} bytes of data")
        data = np.empty(claimed, np.uint8)
        view = memoryview(data)
        while view.nbytes:
            read = stream.readinto(view)
            if not read:
                raise EOFError(f"its member {info.filename} ends early")
            view = view[read:]
        stream.read()  # to the end, where zipfile checks the CRC
    return data.view(dtype).reshape(shape, order="F" if fortran else "C")


def check_members(members: list[zipfile.ZipInfo]) -> None:
    """Refuse a member of a compression numpy never writes, an encrypted one, and members holding
    more than MAX_NPZ_BYTES in all once decompressed (as the zip directory states; zipfile reads
    no member past its stated size)."""
    for info in members:
        if info.compress_type not in NPZ_COMPRESSIONS:
            raise ValueError(f"its member {info.filename} is compressed with zip method {info.compress_type}; "
                             f"numpy writes only {' or '.join(NPZ_COMPRESSIONS.values())}")
        if info.flag_bits & 0x1:
            raise ValueError(f"its member {info.filename} is encrypted")
    total = sum(info.file_size for info in members)
    if total > MAX_NPZ_BYTES:
        raise ValueError(f"its members hold {total:,} bytes once decompressed, more than the {MAX_NPZ_BYTES:,} "
                         "the analysis reads from one run file")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the `.npz` at `path`, by name (without `.npy`), each member checked first."""
    with open(path, "rb") as handle:
        start = handle.read(6)
    if start.startswith(b"\x93NUMPY"):
        raise ValueError("it holds one array, not the named arrays of an .npz")
    if not start.startswith(b"PK"):
        np.load(path, allow_pickle=False)  # not a zip: numpy's own refusal names what it is
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        check_members(members)
        return {info.filename.removesuffix(".npy"): read_member(archive, info) for info in members}
