"""bench/gpu.sh refuses a machine without an NVIDIA GPU in one line, before it installs or writes anything."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import REPO

ADVICE = "run this on a machine with an NVIDIA GPU and its driver (on the CPU: make all)"


def test_gpu_script_parses():
    assert subprocess.run(["bash", "-n", str(REPO / "bench" / "gpu.sh")]).returncode == 0


@pytest.mark.parametrize("stand_in, problem", [
    (None, "{smi} not found"),
    # what nvidia-smi does where the driver finds no GPU
    ("echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"; exit 9",
     "{smi} --query-gpu=name lists none"),
    ("exit 0", "{smi} --query-gpu=name lists none"),  # no error, no GPU either
])
def test_gpu_script_refuses_a_machine_without_a_gpu(tmp_path, stand_in, problem):
    # a copy of the script in an empty checkout: were it to go on, it would find nothing to install
    checkout = tmp_path / "checkout"
    (checkout / "bench").mkdir(parents=True)
    shutil.copy(REPO / "bench" / "gpu.sh", checkout / "bench" / "gpu.sh")
    smi = tmp_path / "nvidia-smi"
    if stand_in is not None:
        smi.write_text(f"#!/bin/sh\n{stand_in}\n")
        smi.chmod(0o755)
    env = dict(os.environ, NVIDIA_SMI=str(smi), PYTHON=str(tmp_path / "no-python"))
    result = subprocess.run(["bash", str(checkout / "bench" / "gpu.sh")], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"error: no NVIDIA GPU here: {problem.format(smi=smi)}; {ADVICE}\n"
    assert sorted(p.relative_to(checkout).as_posix() for p in checkout.rglob("*")) == ["bench", "bench/gpu.sh"]
