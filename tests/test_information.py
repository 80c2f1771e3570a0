"""The mutual-information estimators on cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.information import binning_estimate, information_plane, kde_estimate

LOG2_10 = np.log2(10)


def classes(n_per_class=100):
    return np.repeat(np.arange(10), n_per_class)


def test_copy_of_the_label_carries_all_of_it():
    labels = classes()
    t = np.stack([labels * 10.0, np.zeros(len(labels))], axis=1)  # one point per class, far apart
    i_tx, i_ty = binning_estimate(t, labels)
    assert i_ty == pytest.approx(LOG2_10) and i_tx == pytest.approx(LOG2_10)
    kde_tx, kde_ty = kde_estimate(t, labels, variance=1e-3)  # noise far below the class spacing
    assert kde_ty == pytest.approx(LOG2_10, abs=1e-6) and kde_tx == pytest.approx(LOG2_10, abs=1e-6)
    blurred_tx, blurred_ty = kde_estimate(t, labels, variance=100.0)  # noise far wider than all classes
    assert blurred_ty < 0.05 and blurred_tx < 0.05


@pytest.mark.slow  # over 2 s: left out of make test-quick
def test_independent_of_the_label_carries_none_of_it():
    rng = np.random.default_rng(0)
    labels = classes(1000)
    t = rng.normal(size=(len(labels), 2))
    _, i_ty = binning_estimate(t, labels, bins=10)
    assert 0 <= i_ty < 0.05  # only the small positive bias of a finite sample
    _, kde_ty = kde_estimate(t, labels)
    assert abs(kde_ty) < 0.05


def test_a_constant_carries_nothing():
    labels = classes()
    t = np.zeros((len(labels), 2))
    assert binning_estimate(t, labels) == (0.0, 0.0)
    kde_tx, kde_ty = kde_estimate(t, labels)
    assert kde_tx == pytest.approx(0.0, abs=1e-12) and kde_ty == pytest.approx(0.0, abs=1e-12)


def test_binning_is_bounded_by_the_sample():
    rng = np.random.default_rng(1)
    labels = classes(10)
    i_tx, i_ty = binning_estimate(rng.uniform(size=(100, 2)), labels, bins=1000)
    assert i_tx == pytest.approx(np.log2(100))  # every point in its own bin
    assert i_ty == pytest.approx(LOG2_10)


def test_information_plane_finds_a_fall_in_i_tx():
    labels = classes(20)
    rng = np.random.default_rng(2)
    spread = rng.normal(size=(200, 2))
    clustered = np.stack([np.cos(labels), np.sin(labels)], axis=1) * 5 + 0.01 * spread
    frames = np.stack([np.round(spread), spread, clustered])  # few distinct values, then many, then 10 tight groups
    plane = information_plane(frames, labels)
    assert plane["binning"]["peak_frame"] == 1 and plane["binning"]["fall_after_peak"] > 0.2
    assert plane["binning"]["compression"] is True
    assert plane["h_y_bits"] == pytest.approx(LOG2_10)
    assert len(plane["kde"]["i_tx"]) == 3


def test_a_fall_from_the_first_snapshot_is_no_compression_phase():
    labels = classes(20)
    spread = np.random.default_rng(3).normal(size=(200, 2))
    clustered = np.stack([np.cos(labels), np.sin(labels)], axis=1) * 5 + 0.01 * spread
    plane = information_plane(np.stack([spread, clustered]), labels)
    assert plane["binning"]["peak_frame"] == 0 and plane["binning"]["fall_after_peak"] > 0.2
    assert plane["binning"]["compression"] is False


def test_the_rise_is_measured_from_the_minimum_before_the_peak():
    labels = classes(20)
    spread = np.random.default_rng(4).normal(size=(200, 2))
    clustered = np.stack([np.cos(labels), np.sin(labels)], axis=1) * 5 + 0.01 * spread
    frames = np.stack([np.round(spread), np.round(0.3 * spread), spread, clustered])  # dip, rise, fall
    binning = information_plane(frames, labels)["binning"]
    i_tx = binning["i_tx"]
    assert i_tx[1] < i_tx[0] < i_tx[2]
    assert (binning["rise_from_frame"], binning["peak_frame"], binning["fall_to_frame"]) == (1, 2, 3)
    assert binning["rise_to_peak"] == pytest.approx((i_tx[2] - i_tx[1]) / i_tx[2])
    assert binning["fall_after_peak"] == pytest.approx((i_tx[2] - i_tx[3]) / i_tx[2])
    assert binning["compression"] is True
