"""The pages' computed sentences say what their figures show, with thresholds and units named."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from analyzer.calibration import calibration_verdict
from analyzer.confusion import shading
from analyzer.information import phases, verdict

STEPS = [0, 1, 2, 4, 10, 50, 100, 500]


def said(i_tx: list[float], steps: list[int] = STEPS) -> str:
    return verdict({"i_tx": i_tx, **phases(i_tx)}, steps)


def test_a_dip_then_a_rise_is_measured_from_the_dip():
    # the run of issue 19: down to 6.70 bits at step 4, up to 8.34 at step 50, then down 13.6%
    text = said([6.92, 6.85, 6.78, 6.703, 7.5, 8.34, 7.8, 7.206])
    assert ("rose from 6.70 bits at step 4 to 8.34 bits at step 50 (by 19.6% of that maximum), then fell 13.6% to "
            "7.21 bits "
            "at step 500") in text
    assert "a compression phase appears in this estimate" in text


def test_the_fall_ends_at_the_later_minimum_and_the_end_is_named():
    text = said([2.0, 4.0, 3.0, 3.5], [0, 10, 20, 30])
    assert ("rose from 2.00 bits at step 0 to 4.00 bits at step 10 (by 50.0% of that maximum), then fell 25.0% to "
            "3.00 bits "
            "at step 20") in text
    assert "(and ended at 3.50 bits)" in text


def test_a_monotone_rise_has_no_compression():
    text = said([1.0, 2.0, 3.0, 4.0], [0, 10, 20, 30])
    assert ("rose from 1.00 bits at step 0 to 4.00 bits at step 30 (by 75.0% of that maximum) and was still at its "
            "maximum at the end") in text
    assert "no compression phase in this estimate" in text


def test_a_flat_curve_says_so():
    assert said([5.0] * 4, [0, 10, 20, 30]) == ("I(T;X) stays at 5.00 bits throughout: no fitting and no "
                                                 "compression phase.")


def test_a_fall_from_the_start_names_no_rise():
    text = said([4.71, 4.2, 3.82, 4.01], [0, 10, 409, 500])
    assert text.startswith("I(T;X) starts at its maximum, 4.71 bits at step 0, then fell 18.9% to 3.82 bits "
                           "at step 409")
    assert "No rise precedes the fall, so the fitting-then-compression phases do not appear" in text


def test_a_small_rise_before_a_fall_is_no_fitting_phase():
    text = said([8.0, 8.2, 7.0], [0, 10, 20])
    assert "rose from 8.00 bits at step 0 to 8.20 bits at step 10 (by 2.4% of that maximum), then fell 14.6%" in text
    assert "The rise is not more than 5%" in text and "phases do not appear" in text


def test_a_small_ece_is_well_calibrated_in_percentage_points():
    text = calibration_verdict(0.0088, 0.0028)
    assert ("Expected calibration error 0.88 percentage points, under the 1 percentage point threshold: "
            "well calibrated") in text
    assert "0.28 percentage points above the accuracy, within 1 percentage point" in text
    assert "neither over- nor under-confident overall" in text
    assert "%" not in text


def test_a_large_positive_gap_is_over_confident():
    text = calibration_verdict(0.061, 0.052)
    assert "6.10 percentage points, at or above the 1 percentage point threshold: not well calibrated" in text
    assert "5.20 percentage points above the accuracy, more than 1 percentage point: over-confident overall." in text
    assert "under-confident overall" in calibration_verdict(0.03, -0.02)


def test_the_largest_error_gets_the_full_error_colour():
    counts = np.array([[90, 8, 2], [1, 95, 4], [0, 5, 95]])
    shade, largest = shading(counts)
    assert largest == pytest.approx(0.08)
    assert shade[0, 1] == pytest.approx(1.0) and shade[1, 2] == pytest.approx(0.5) and shade[2, 0] == 0.0
    assert np.diag(shade) == pytest.approx([0.9, 0.95, 0.95])  # the diagonal keeps its share of the row


def test_without_errors_no_cell_is_shaded_as_one():
    shade, largest = shading(np.diag([5, 7]))
    assert largest == 0.0 and shade.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_the_rendered_table_shades_the_largest_error_fully(smoke_site):
    matrix = json.loads((smoke_site / "analysis" / "results.json").read_text())["confusion"]["matrix"]
    counts = np.array(matrix["counts"])
    off = np.where(np.eye(len(counts), dtype=bool), -1, counts / counts.sum(axis=1, keepdims=True))
    t, p = np.unravel_index(np.argmax(off), off.shape)
    html = (smoke_site / "site" / "confusion.html").read_text()
    cell = re.search(rf'<td id="cell-{t}-{p}"[^>]*>', html).group(0)
    assert 'style="--shade: 1.000"' in cell and "confusion&#45;off confusion&#45;strong" in cell
    assert f"largest off-diagonal share, {100 * matrix['largest_off_diagonal_share']:.1f}%" in html


def dynamics_page_text(smoke_site, tmp_path, edit) -> str:
    """The training-dynamics page's words, built from the smoke run's analysis with results.json edited."""
    from tests.html_pages import read_page
    from tests.test_overview import edited_site

    return " ".join(read_page(edited_site(smoke_site, tmp_path, edit) / "site" / "training_dynamics.html").text.split())


@pytest.mark.parametrize(("recorded", "expected"), [
    (60_000, "for each of the 60,000 training images (the whole training set) and each of the"),
    (2_000, "for each of the first 2,000 training images and each of the"),
])
def test_the_recorded_training_images_are_all_or_the_first(smoke_site, tmp_path, recorded, expected):
    def edit(results):
        results["dynamics"]["train_images"] = recorded
        results["near_copies"]["train_images"] = 60_000

    assert expected in dynamics_page_text(smoke_site, tmp_path, edit)


def test_the_variability_range_runs_from_its_minimum_to_its_maximum(smoke_site, tmp_path):
    shown = json.loads((smoke_site / "analysis" / "results.json").read_text())["dynamics"]["cartography"]
    values = [item["variability"] for item in shown["most_ambiguous"]]
    assert values == sorted(values, reverse=True)  # listed most variable first
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    text = dynamics_page_text(smoke_site, tmp_path, lambda results: None)
    assert f"(variability {low} to {high})" in text if low != high else f"(variability {low})" in text
