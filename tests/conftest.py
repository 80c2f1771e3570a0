"""Shared fixtures: the dataset prepared once per session, and one tiny trained-and-exported run.

The dataset is the one `make data` prepared: `make test` depends on it and passes its DATA_DIR
(default `data/` in the checkout), whose raw folder holds the four verified `.gz` files. Without
them the suite falls back to FASHION_MNIST_DIR, a folder of the four files. The suite only reads
them: every fixture copies what it changes into a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sweep_runs import local_sweep  # noqa: F401 (a fixture: the sweep tests share one local sweep)

REPO = Path(__file__).resolve().parent.parent
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "runs", "data", "build", "*.egg-info", "__pycache__",
                                    ".pytest_cache", ".ruff_cache", "node_modules")
FASHION_MNIST_FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                       "t10k-labels-idx1-ubyte.gz"]


def local_fashion_mnist() -> Path:
    """The folder of the four `.gz` files: DATA_DIR's raw folder once `make data` has filled it,
    else FASHION_MNIST_DIR."""
    from fmnist_common.idx import raw_folder

    folders = [raw_folder(os.environ.get("DATA_DIR") or REPO / "data")]
    if os.environ.get("FASHION_MNIST_DIR"):
        folders.append(Path(os.environ["FASHION_MNIST_DIR"]))
    for folder in folders:
        if all((folder / name).is_file() for name in FASHION_MNIST_FILES):
            return folder
    pytest.fail(f"no Fashion-MNIST files in {' or '.join(map(str, folders))}; run the suite with \"make test\", "
                "which prepares the data first (\"make data\"), or set FASHION_MNIST_DIR to a folder holding the "
                "four official .gz files")


LAST = "tests/test_checkout_untouched.py"  # runs after every other test it was collected with


TRAINED = {"smoke_run", "made"}  # fixtures that train a model; a test that trains by itself is marked slow


def pytest_collection_modifyitems(config, items):
    """Every test that needs a trained model is `slow` (`make test-quick` leaves them out); the
    checkout's check runs last."""
    for item in items:
        if TRAINED & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.nodeid.startswith(LAST))


def checkout_state() -> tuple[str, dict[str, int]] | None:
    """`git status --porcelain` and each tracked file's modification time (ns); None outside a git
    checkout (an unpacked archive) or without git."""
    if not (REPO / ".git").exists() or not shutil.which("git"):
        return None
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True).stdout
    tracked = git("ls-files", "-z").split("\0")
    return git("status", "--porcelain"), {name: (REPO / name).lstat().st_mtime_ns for name in tracked if name}


@pytest.fixture(scope="session", autouse=True)
def checkout_before():
    """The checkout as the suite found it, for the last test to compare with."""
    return checkout_state()


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
