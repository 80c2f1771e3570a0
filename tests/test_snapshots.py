"""Probe selection, the snapshot schedule and the snapshot file a run writes."""

from __future__ import annotations

import numpy as np
import torch

from trainer.snapshots import probe_indices, rows_of, snapshot_steps


def test_probe_takes_the_first_ten_of_each_class_in_test_order():
    labels = torch.tensor([3, 1, 0, 1] * 30 + [2] * 10)
    picked = probe_indices(labels, num_classes=4)
    assert len(picked) == 40
    for c in range(4):
        chunk = picked[10 * c : 10 * (c + 1)]
        assert labels[chunk].tolist() == [c] * 10
        assert chunk.tolist() == torch.nonzero(labels == c).flatten()[:10].tolist()


def test_probe_on_the_real_test_set(data_dir):
    from trainer.data import load

    test = load(data_dir, train=False)
    picked = probe_indices(test.labels, 10)
    assert picked[:10].tolist() == [19, 27, 35, 59, 71, 85, 88, 96, 113, 120]  # first T-shirts/tops
    assert test.labels[picked].tolist() == [c for c in range(10) for _ in range(10)]


def test_schedule_starts_at_zero_ends_at_last_step_and_is_denser_early():
    steps = snapshot_steps(14070, 150)
    assert steps[0] == 0 and steps[-1] == 14070
    assert 100 <= len(steps) <= 200
    assert steps == sorted(set(steps))
    first_tenth = sum(s <= 1407 for s in steps)
    assert first_tenth > len(steps) / 3  # far more than the 10% an even spacing would give


def test_snapshot_file_schema(smoke_run):
    with np.load(smoke_run / "snapshots.npz") as snap:
        assert set(snap.files) == {"indices", "labels", "steps", "epochs", "coords", "class_names",
                                   "info_indices", "info_labels", "info_coords"}
        assert snap["info_coords"].shape == (len(snap["steps"]), 1000, 2)
        assert np.bincount(snap["info_labels"]).tolist() == [100] * 10
        rows = rows_of(torch.from_numpy(snap["indices"]), torch.from_numpy(snap["info_indices"])).numpy()
        assert np.array_equal(snap["info_indices"][rows], snap["indices"])  # the probe images are among them
        assert np.array_equal(snap["info_coords"][:, rows], snap["coords"])  # and one pass recorded both
        frames = len(snap["steps"])
        assert snap["coords"].shape == (frames, 100, 2) and snap["coords"].dtype == np.float32
        assert snap["steps"][0] == 0 and np.all(np.diff(snap["steps"]) > 0)
        steps_per_epoch = 16  # 2,000 images in batches of 128
        assert np.allclose(snap["epochs"], snap["steps"] / steps_per_epoch)
        assert snap["epochs"][-1] == 2.0
        assert snap["labels"].tolist() == [c for c in range(10) for _ in range(10)]
        assert snap["class_names"][0] == "T-shirt/top" and snap["class_names"][9] == "Ankle boot"
        assert not np.allclose(snap["coords"][0], snap["coords"][-1])
