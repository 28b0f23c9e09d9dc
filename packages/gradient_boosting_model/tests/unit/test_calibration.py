"""Conformal price ranges on synthetic residuals: rank, coverage on held-out data, bins."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradient_boosting_model.calibration import conformal_quantile, fit_intervals


def test_the_quantile_is_the_finite_sample_rank() -> None:
    scores = np.arange(1.0, 20.0)  # 19 scores: ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(scores[:5], 0.9) == 5.0  # rank past n: the largest


def _heteroscedastic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Predicted log prices, and actual ones whose errors are wider and skewed at the ends."""
    predicted = rng.uniform(11.0, 13.0, n)
    spread = np.where(predicted < 11.4, 0.3, np.where(predicted > 12.7, 0.2, 0.08))
    actual = predicted + rng.normal(0.0, spread) - np.where(predicted < 11.4, 0.1, 0.0)
    return predicted, actual


LEVELS: dict[str, Any] = {"lower_levels": (0.95, 0.95, 0.95), "upper_levels": (0.95, 0.95, 0.95)}


def test_held_out_coverage_is_near_the_level_in_every_bin() -> None:
    rng = np.random.default_rng(0)
    intervals = fit_intervals(
        *_heteroscedastic(rng, 4000), level=0.9, bin_quantiles=(0.2, 0.85), **LEVELS
    )
    predicted, actual = _heteroscedastic(rng, 20000)
    covered = intervals.covered(predicted, actual)
    assert 0.87 <= covered.mean() <= 0.93
    for rows in (predicted < 11.4, (predicted > 11.5) & (predicted < 12.6), predicted > 12.7):
        assert 0.86 <= covered[rows].mean() <= 0.94


def test_one_bin_under_covers_where_errors_are_wide() -> None:
    """Why the bins: one width for all is too narrow for the noisy cheap end."""
    rng = np.random.default_rng(1)
    one = fit_intervals(
        *_heteroscedastic(rng, 4000),
        level=0.9,
        bin_quantiles=(),
        lower_levels=(0.95,),
        upper_levels=(0.95,),
    )
    predicted, actual = _heteroscedastic(rng, 20000)
    assert one.covered(predicted, actual)[predicted < 11.4].mean() < 0.8


def test_each_side_of_each_bin_has_its_own_width() -> None:
    rng = np.random.default_rng(2)
    intervals = fit_intervals(
        *_heteroscedastic(rng, 4000), level=0.9, bin_quantiles=(0.2, 0.85), **LEVELS
    )
    cheap_below, middle_below, _ = intervals.below
    cheap_above, _, _ = intervals.above
    assert cheap_below > cheap_above  # the cheap end's errors are skewed down
    assert cheap_below > 2 * middle_below
    lower, upper = intervals.bounds(np.array([11.0, 12.0, 13.0]))
    assert np.all(lower < [11.0, 12.0, 13.0]) and np.all(upper > [11.0, 12.0, 13.0])


def test_bounds_never_cross_the_prediction() -> None:
    """Residuals all on one side would give a negative quantile; the bound stays at the price."""
    predicted = np.linspace(11, 13, 200)
    intervals = fit_intervals(
        predicted,
        predicted + 0.1,
        level=0.9,
        bin_quantiles=(),
        lower_levels=(0.95,),
        upper_levels=(0.95,),
    )
    assert intervals.below == (0.0,)
    assert intervals.above[0] == pytest.approx(0.1)


def test_the_description_gives_factors_per_bin() -> None:
    rng = np.random.default_rng(3)
    intervals = fit_intervals(
        *_heteroscedastic(rng, 1000), level=0.9, bin_quantiles=(0.2, 0.85), **LEVELS
    )
    bins = intervals.describe()["bins"]
    assert len(bins) == 3
    assert bins[0]["predicted_from"] == 0.0 and bins[-1]["predicted_to"] is None
    assert sum(b["calibration_houses"] for b in bins) == 1000
    assert all(b["lower_factor"] < 1 < b["upper_factor"] for b in bins)
