"""Preparing Fashion-MNIST from a local folder: checksums, clear errors, no half-written files."""

from __future__ import annotations

import shutil

import pytest

from trainer import data
from trainer.cli import main

NAMES = [name for name, _ in data.FashionMNIST.resources]


@pytest.fixture
def local_copy(local_dir, tmp_path):
    folder = tmp_path / "local"
    folder.mkdir()
    for name in NAMES:
        shutil.copyfile(local_dir / name, folder / name)
    return folder


def test_prepare_from_local_folder_gives_verified_splits(data_dir):
    test = data.load(data_dir, train=False)
    train = data.load(data_dir, train=True)
    assert test.images.shape == (10000, 1, 28, 28) and train.images.shape == (60000, 1, 28, 28)
    assert test.labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert test.class_names == ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert test.labels.bincount().tolist() == [1000] * 10


def test_truncated_file_is_named_and_nothing_is_copied(local_copy, tmp_path, capsys):
    victim = local_copy / "t10k-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:100_000])
    root = tmp_path / "root"
    assert main(["data", "--data-dir", str(root), "--local-dir", str(local_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {victim} fails its MD5 check (got ")
    assert "expected bef4ecab320f06d8554ea6380940ec79" in err and "corrupt or truncated" in err
    raw = root / "FashionMNIST" / "raw"
    assert not (raw / "t10k-images-idx3-ubyte.gz").exists()
    assert not list(raw.glob(".*"))  # no temporary files left behind


def test_corrupt_byte_is_caught(local_copy, tmp_path):
    victim = local_copy / "train-labels-idx1-ubyte.gz"
    payload = bytearray(victim.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    victim.write_bytes(bytes(payload))
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte.gz fails its MD5 check"):
        data.prepare(tmp_path / "root", local_copy)


def test_missing_folder_and_missing_file(local_copy, tmp_path):
    with pytest.raises(data.DataError, match="is not a folder; FASHION_MNIST_DIR must name a folder"):
        data.prepare(tmp_path / "root", tmp_path / "nowhere")
    (local_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte.gz not found; put the official"):
        data.prepare(tmp_path / "root", local_copy)
    assert not (tmp_path / "root").exists()  # a refused folder creates no data folder either


def test_half_extracted_file_is_replaced(local_copy, tmp_path):
    root = tmp_path / "root"
    data.prepare(root, local_copy)
    extracted = root / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte"
    extracted.write_bytes(extracted.read_bytes()[:5000])  # as if extraction had been killed
    data.prepare(root, local_copy)
    assert extracted.stat().st_size == data.EXTRACTED_SIZES["t10k-images-idx3-ubyte"]
    assert data.load(root, train=False).images.shape == (10000, 1, 28, 28)


def test_load_before_prepare_says_what_to_run(tmp_path):
    with pytest.raises(data.DataError, match='run "make data" first'):
        data.load(tmp_path, train=False)
