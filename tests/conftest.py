"""Shared fixtures: the dataset prepared once per session, and one tiny trained-and-exported run.

The dataset comes from FASHION_MNIST_DIR (CI points it at the four official .gz files) or, when
unset, from ../shared/data/fashion-mnist beside the checkout.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LOCAL = REPO.parent / "shared" / "data" / "fashion-mnist"


def local_fashion_mnist() -> Path:
    folder = Path(os.environ.get("FASHION_MNIST_DIR") or DEFAULT_LOCAL)
    if not (folder / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.fail(f"set FASHION_MNIST_DIR to a folder with the four Fashion-MNIST .gz files ({folder})")
    return folder


@pytest.fixture(scope="session")
def local_dir() -> Path:
    return local_fashion_mnist()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, local_dir) -> Path:
    """A data root with the raw and extracted files, made by the trainer's own `prepare`."""
    from trainer import data

    root = tmp_path_factory.mktemp("data")
    data.prepare(root, local_dir)
    return root


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, data_dir) -> Path:
    """A run folder trained with the smoke preset (2 epochs) and exported: read-only for tests."""
    from exporter.cli import main as export_main
    from trainer.cli import main as train_main

    run = tmp_path_factory.mktemp("smoke") / "run"
    assert train_main(["train", "--run", str(run), "--preset", "smoke", "--epochs", "2",
                       "--data-dir", str(data_dir)]) == 0
    assert export_main(["--run", str(run), "--data-dir", str(data_dir)]) == 0
    return run


@pytest.fixture
def run_copy(smoke_run, tmp_path) -> Path:
    """A private copy of the smoke run that a test may change."""
    target = tmp_path / "run"
    shutil.copytree(smoke_run, target)
    return target


@pytest.fixture(scope="session")
def smoke_site(smoke_run, data_dir) -> Path:
    """The smoke run analysed and rendered into smoke_run/site (once per session)."""
    from analyzer.cli import main as analyze_main
    from site_renderer.cli import main as site_main

    assert analyze_main(["--model", str(smoke_run / "model.onnx"), "--data", str(data_dir),
                         "--snapshots", str(smoke_run / "snapshots.npz"),
                         "--history", str(smoke_run / "history.json"),
                         "--out", str(smoke_run / "analysis")]) == 0
    assert site_main(["--run", str(smoke_run)]) == 0
    return smoke_run
