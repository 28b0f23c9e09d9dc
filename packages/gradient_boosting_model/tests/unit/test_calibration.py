"""Conformal price ranges on synthetic residuals: rank, coverage on held-out data, smoothness."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from gradient_boosting_model.calibration import (
    ALL_SALES,
    ConformalIntervals,
    conformal_quantile,
    fit_intervals,
    fit_sale_groups,
)

SETTINGS: dict[str, Any] = {
    "level": 0.9,
    "knots": 9,
    "bandwidth": 0.2,
    "group_quantiles": (0.2, 0.85),
    "lower_levels": (0.95, 0.95, 0.95),
    "upper_levels": (0.95, 0.95, 0.95),
}


def test_the_unweighted_quantile_is_the_finite_sample_rank() -> None:
    scores = np.arange(1.0, 20.0)  # 19 scores: ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(scores[:5], 0.9) == 5.0  # rank past n: the largest


def test_weights_pick_the_quantile_of_the_heavy_scores() -> None:
    scores = np.array([1.0, 2.0, 3.0, 100.0, 200.0, 300.0])
    near = np.array([1.0, 1.0, 1.0, 1e-9, 1e-9, 1e-9])
    assert conformal_quantile(scores, 0.7, near) == 3.0
    assert conformal_quantile(scores, 0.7) == 200.0


def _heteroscedastic(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Predicted log prices, and actual ones whose errors are wider and skewed at the cheap end."""
    predicted = rng.uniform(11.0, 13.0, n)
    spread = np.where(predicted < 11.4, 0.3, np.where(predicted > 12.7, 0.2, 0.08))
    actual = predicted + rng.normal(0.0, spread) - np.where(predicted < 11.4, 0.1, 0.0)
    return predicted, actual


def _covered(
    intervals: ConformalIntervals, predicted: np.ndarray, actual: np.ndarray
) -> np.ndarray:
    lower, upper = intervals.bounds(predicted)
    return (lower <= actual) & (actual <= upper)


def _fitted(seed: int, **changes: Any) -> ConformalIntervals:
    rng = np.random.default_rng(seed)
    return fit_intervals(*_heteroscedastic(rng, 4000), **{**SETTINGS, **changes})


def test_held_out_coverage_is_near_the_level_in_every_region() -> None:
    intervals = _fitted(0)
    predicted, actual = _heteroscedastic(np.random.default_rng(10), 20000)
    covered = _covered(intervals, predicted, actual)
    assert 0.87 <= covered.mean() <= 0.95
    for rows in (predicted < 11.3, (predicted > 11.7) & (predicted < 12.5), predicted > 12.8):
        assert 0.85 <= covered[rows].mean() <= 0.97


def test_one_global_width_under_covers_where_errors_are_wide() -> None:
    """Why local quantiles: a kernel as wide as all the data is plain split conformal."""
    global_width = _fitted(1, bandwidth=1000.0)
    predicted, actual = _heteroscedastic(np.random.default_rng(11), 20000)
    assert _covered(global_width, predicted, actual)[predicted < 11.3].mean() < 0.8


def test_the_cheap_end_reaches_further_down_than_up() -> None:
    intervals = _fitted(2)
    lower, upper = intervals.bounds(np.array([11.1, 12.0]))
    cheap_below, middle_below = 11.1 - lower[0], 12.0 - lower[1]
    assert cheap_below > upper[0] - 11.1  # the cheap end's errors are skewed down
    assert cheap_below > 2 * middle_below


def test_similar_predictions_get_similar_ranges() -> None:
    """No jump: predictions 1% apart never get bounds more than 3% apart."""
    intervals = _fitted(3)
    grid = np.linspace(10.5, 13.5, 3001)
    lower, upper = intervals.bounds(grid)
    step = np.searchsorted(grid, grid[0] + np.log(1.01))  # 1% in price
    assert np.max(np.abs(np.diff(lower[::step]))) < np.log(1.03)
    assert np.max(np.abs(np.diff(upper[::step]))) < np.log(1.03)
    assert np.all(np.diff(lower) >= -1e-12) and np.all(np.diff(upper) >= -1e-12)


def test_bounds_never_cross_the_prediction() -> None:
    """Residuals all on one side would give a negative quantile; the bound stays at the price."""
    predicted = np.linspace(11, 13, 400)
    intervals = fit_intervals(predicted, predicted + 0.1, **SETTINGS)
    assert max(intervals.below) == 0.0
    lower, upper = intervals.bounds(predicted)
    assert np.all(lower == predicted) and np.all(upper > predicted)


def test_the_description_gives_factors_per_knot() -> None:
    knots = _fitted(4).describe()["knots"]
    assert len(knots) == 9
    assert [k["predicted"] for k in knots] == sorted(k["predicted"] for k in knots)
    assert all(k["lower_factor"] < 1 < k["upper_factor"] for k in knots)


# Groups of sale conditions (Mondrian conformal on normalised scores).

GROUPS = {"Normal": ["Normal"], "Abnorml": ["Abnorml"], "Family or AdjLand": ["Family", "AdjLand"]}


def _sales(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted and actual log prices of sales whose errors are twice as wide for Abnorml and
    a third wider for Family and AdjLand, as the training data has them."""
    predicted, actual = _heteroscedastic(rng, n)
    conditions = rng.choice(["Normal", "Abnorml", "Family", "AdjLand"], n, p=[0.8, 0.1, 0.06, 0.04])
    spread = np.select(
        [conditions == "Abnorml", np.isin(conditions, ["Family", "AdjLand"])], [2.0, 1.33], 1.0
    )
    return predicted, predicted + (actual - predicted) * spread, conditions


def _grouped(seed: int, min_houses: int = 25) -> ConformalIntervals:
    predicted, actual, conditions = _sales(np.random.default_rng(seed), 4000)
    shape = fit_intervals(predicted, actual, **SETTINGS)
    return fit_sale_groups(
        shape,
        predicted,
        actual,
        conditions,
        field="SaleCondition",
        groups=GROUPS,
        min_houses=min_houses,
    )


def test_each_group_of_sales_is_covered_at_the_level() -> None:
    """Calibrated on all sales at once, the ranges hold far fewer than 9 in 10 of the sales
    whose errors are wide; scaled per group, each group's coverage is near the level."""
    grouped = _grouped(0)
    predicted, actual, conditions = _sales(np.random.default_rng(11), 40000)
    shape = replace(grouped, groups=None)
    merged = np.where(np.isin(conditions, ["Family", "AdjLand"]), "Family or AdjLand", conditions)
    for group in GROUPS:
        rows = merged == group
        lower, upper = grouped.bounds(predicted[rows], conditions[rows])
        covered = (lower <= actual[rows]) & (actual[rows] <= upper)
        assert 0.88 <= covered.mean() <= 0.93, (group, covered.mean())
    wide = conditions == "Abnorml"
    assert _covered(shape, predicted[wide], actual[wide]).mean() < 0.8


def test_a_group_too_small_to_calibrate_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"'Abnorml' has \d+ calibration houses, fewer than 450"):
        _grouped(0, min_houses=450)  # about 400 Abnorml sales in 4000


def test_an_unnamed_or_missing_sale_condition_gets_the_scale_of_all_sales() -> None:
    grouped = _grouped(0)
    assert grouped.groups is not None
    scales = dict(grouped.groups.scales)
    predicted = np.full(3, 12.0)
    lower, _ = grouped.bounds(predicted, [None, "Alloca", "Abnorml"])
    below, _ = grouped.half_widths(predicted)
    assert np.allclose(
        predicted - lower, below * [scales[ALL_SALES], scales[ALL_SALES], scales["Abnorml"]]
    )
    assert scales["Abnorml"] > scales[ALL_SALES] > scales["Normal"]


def test_a_model_calibrated_before_groups_keeps_its_ranges() -> None:
    """An artifact pickled before ``groups`` existed unpickles without the attribute: the
    class's default (``None``) applies, and the sale condition changes nothing."""
    old = _fitted(0)
    state = dict(vars(old))
    del state["groups"]
    unpickled = object.__new__(ConformalIntervals)
    unpickled.__dict__.update(state)
    predicted = np.array([11.2, 12.0, 12.9])
    assert np.array_equal(unpickled.bounds(predicted, ["Abnorml"] * 3)[0], old.bounds(predicted)[0])
