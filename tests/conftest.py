"""Shared fixtures: the dataset prepared once per session, and one tiny trained-and-exported run.

The dataset comes from FASHION_MNIST_DIR (CI points it at the four official .gz files) or, when
unset, from ../shared/data/fashion-mnist beside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEFAULT_LOCAL = REPO.parent / "shared" / "data" / "fashion-mnist"
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "runs", "data", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".ruff_cache")
FASHION_MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                       "t10k-labels-idx1-ubyte.gz"]


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
                         "--dynamics", str(smoke_run / "dynamics.npz"),
                         "--out", str(smoke_run / "analysis")]) == 0
    assert site_main(["--run", str(smoke_run)]) == 0
    return smoke_run


@pytest.fixture(scope="session")
def reuse_journey(tmp_path_factory, smoke_run, local_dir) -> tuple[Path, subprocess.CompletedProcess]:
    """(the journey's folder, the finished run of README's reuse block in it): a fresh venv with a
    non-editable install of the `analyze` extra, a model analysed and its site built."""
    from tests.test_readme import journey_block

    work = tmp_path_factory.mktemp("journey")
    shutil.copytree(REPO, work / "fmnist-bottleneck", ignore=NOT_SOURCE)
    shutil.copy2(smoke_run / "model.onnx", work / "model.onnx")
    (work / "fashion-mnist").mkdir()
    for name in FASHION_MNIST_FILES:
        (work / "fashion-mnist" / name).symlink_to(local_dir / name)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # `python3` is the interpreter running the tests, so the journey's venv gets a Python >= 3.11.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", journey_block("reuse")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"README journey 2 failed\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return work, done


@pytest.fixture(scope="session")
def foreign_run(tmp_path_factory) -> Path:
    """A handmade model analysed without --snapshots and --history; nothing else in the run folder."""
    import numpy as np
    import onnx

    from analyzer.cli import main as analyze
    from site_renderer.cli import main as render
    from tests.handmade import FMNIST, linear_pixel_model, write_test_set

    root = tmp_path_factory.mktemp("foreign")
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(10), 30)
    write_test_set(root / "data", rng.integers(0, 256, size=(len(labels), 28, 28)), labels)
    onnx.save(linear_pixel_model(4 * rng.normal(size=(2, 10)), rng.normal(size=10), FMNIST), root / "model.onnx")
    run = root / "run"
    assert analyze(["--model", str(root / "model.onnx"), "--data", str(root / "data"),
                    "--out", str(run / "analysis")]) == 0
    assert render(["--run", str(run)]) == 0
    return run
