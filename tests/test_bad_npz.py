"""Hostile members of the `.npz` run files (`--snapshots`, `--dynamics`): one `error:` line naming
the file, the member, the value and the fix, decided from the zip directory and the `.npy` header
before any array is allocated; exit status 2; no output folder."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from analyzer import npz_files
from analyzer.inputs import load_npz
from tests import test_bad_dynamics, test_bad_run_files
from tests.test_bad_run_files import analyse, expect_refusal

# flag -> (what the message calls the file, its fix, the arrays the trainer writes)
FILES: dict[str, tuple[str, str, Callable[[Path], dict[str, np.ndarray]]]] = {
    "--snapshots": ("snapshots", test_bad_run_files.SNAPSHOTS_FIX, lambda tmp: test_bad_run_files.good_arrays()),
    "--dynamics": ("dynamics", test_bad_dynamics.FIX, test_bad_dynamics.good_arrays),
}


def npy(value: np.ndarray, header_shape: tuple[int, ...] | None = None) -> bytes:
    """The .npy bytes of `value`, its header claiming `header_shape` when given."""
    buffer = io.BytesIO()
    shape = value.shape if header_shape is None else header_shape
    np.lib.format.write_array_header_1_0(buffer, {"descr": np.lib.format.dtype_to_descr(value.dtype),
                                                  "fortran_order": False, "shape": shape})
    return buffer.getvalue() + value.tobytes()


def npz(arrays: dict[str, np.ndarray], first: tuple[str, bytes]) -> bytes:
    """An .npz whose first member is `first` (name, bytes), stored, followed by `arrays` as np.savez
    writes them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(first[0], first[1])
        for name, value in arrays.items():
            if f"{name}.npy" != first[0]:
                archive.writestr(f"{name}.npy", npy(value))
    return buffer.getvalue()


def patched_first_member(data: bytes, local: int, central: int, value: int, mask: bool) -> bytes:
    """Set (or OR in, with `mask`) a 2-byte field of the first member in both its local header (at
    offset `local`) and its central directory entry (at offset `central`), as a hostile writer would."""
    data = bytearray(data)
    for start, offset in ((0, local), (data.index(b"PK\x01\x02"), central)):
        at = start + offset
        old = int.from_bytes(data[at:at + 2], "little")
        data[at:at + 2] = ((old | value) if mask else value).to_bytes(2, "little")
    return bytes(data)


def claiming(shape: tuple[int, ...]) -> Callable[[dict], bytes]:
    """A first member 'coords.npy' whose header claims `shape` over 4 float32 values."""
    return lambda arrays: npz(arrays, ("coords.npy", npy(np.zeros(4, np.float32), shape)))


def method(number: int) -> Callable[[dict], bytes]:
    """The first member marked as compressed with zip method `number`."""
    return lambda arrays: patched_first_member(claiming((4,))(arrays), 8, 10, number, mask=False)


def encrypted(arrays: dict) -> bytes:
    return patched_first_member(claiming((4,))(arrays), 6, 8, 0x1, mask=True)


BAD = {
    "a header claiming 10^13 values": (claiming((10**13,)),
                                       "its member coords.npy claims shape [10000000000000] of float32 "
                                       "(40,000,000,000,000 bytes), but holds 16 bytes of data"),
    "a header whose product overflows int64": (claiming((2**31, 2**31, 4)),
                                               "its member coords.npy claims shape [2147483648, 2147483648, 4] of "
                                               "float32 (73,786,976,294,838,206,464 bytes), but holds 16 bytes of "
                                               "data"),
    "an unknown compression method": (method(99), "its member coords.npy is compressed with zip method 99; numpy "
                                                  "writes only stored or deflate"),
    "bzip2": (method(zipfile.ZIP_BZIP2), "its member coords.npy is compressed with zip method 12; numpy writes "
                                         "only stored or deflate"),
    "an encrypted member": (encrypted, "its member coords.npy is encrypted"),
    "a member that is not an array": (lambda arrays: npz(arrays, ("notes.txt", b"not an array\n")),
                                      "its member notes.txt is not an .npy array"),
    "a member of Python objects": (lambda arrays: npz(arrays, ("coords.npy", npy(np.zeros(2, np.int64))
                                                               .replace(b"'<i8'", b"'|O' "))),
                                   "its member coords.npy holds Python objects (object), which would need pickle"),
}


@pytest.mark.parametrize("flag", FILES)
@pytest.mark.parametrize("case", BAD)
def test_hostile_members_are_refused_before_they_are_read(tmp_path, capsys, flag, case):
    what, fix, arrays = FILES[flag]
    contents, problem = BAD[case]
    path = tmp_path / f"{what}.npz"
    path.write_bytes(contents(arrays(tmp_path)))
    before = path.read_bytes()
    code, out = analyse(tmp_path, flag, str(path))
    expect_refusal(capsys, code, out, path, f"{path} is not a {what} file written by the trainer ({problem})", fix)
    assert path.read_bytes() == before


@pytest.mark.parametrize("flag", FILES)
def test_members_larger_than_the_limit_are_refused(tmp_path, capsys, monkeypatch, flag):
    """The limit is on the decompressed sizes the zip directory states, checked before any member is read."""
    what, fix, arrays = FILES[flag]
    path = tmp_path / f"{what}.npz"
    np.savez(path, **arrays(tmp_path))
    with zipfile.ZipFile(path) as archive:
        total = sum(info.file_size for info in archive.infolist())
    monkeypatch.setattr(npz_files, "MAX_NPZ_BYTES", total - 1)
    code, out = analyse(tmp_path, flag, str(path))
    expect_refusal(capsys, code, out, path, f"{path} is not a {what} file written by the trainer (its members hold "
                                            f"{total:,} bytes once decompressed, more than the {total - 1:,} the "
                                            "analysis reads from one run file)", fix)


@pytest.mark.parametrize("compressed", [False, True])
def test_the_arrays_numpy_writes_read_back_exactly(tmp_path, compressed):
    """Stored and deflated members, C and Fortran order, big-endian, strings and empty arrays."""
    arrays = {"c": np.arange(12, dtype=np.float32).reshape(3, 4), "f": np.asfortranarray(np.arange(6).reshape(2, 3)),
              "big": np.arange(5, dtype=">i4"), "names": np.array(["T-shirt/top", "é"]), "empty": np.zeros((0, 2))}
    (np.savez_compressed if compressed else np.savez)(tmp_path / "a.npz", **arrays)
    read = load_npz(tmp_path / "a.npz")
    assert read.keys() == arrays.keys()
    for name, value in arrays.items():
        assert read[name].dtype == value.dtype and read[name].shape == value.shape
        np.testing.assert_array_equal(read[name], value)
    assert read["f"].flags.f_contiguous
