"""The curve of partial houses' ranges (``partial_ranges``, ``partial_fitting``) on made-up
numbers: its fit, its scale, and which houses it scales."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pytest

from gradient_boosting_model.calibration import ConformalIntervals
from gradient_boosting_model.config import load_config
from gradient_boosting_model.partial_fitting import OPTIONAL, fit_curve, random_masks
from gradient_boosting_model.partial_ranges import PartialRanges
from gradient_boosting_model.schemas import HOUSE_FIELDS

CURVE = PartialRanges(importances=(("A", 0.1), ("B", 0.2)), a=1.0, b=25.0, measured={})
INTERVALS = ConformalIntervals(
    level=0.9, method="made up", knots=(11.0, 13.0), below=(0.1, 0.1), above=(0.1, 0.1)
)


def test_the_fit_finds_the_curve_it_was_made_from() -> None:
    x = np.linspace(0.0, 0.4, 12)
    a, b = fit_curve(x, np.sqrt(1.02 + 29.6 * x**2))
    assert a == pytest.approx(1.02, rel=1e-9) and b == pytest.approx(29.6, rel=1e-9)


def test_a_curve_that_would_narrow_ranges_is_refused() -> None:
    x = np.linspace(0.0, 0.4, 12)
    with pytest.raises(ValueError, match="no widening"):
        fit_curve(x, np.sqrt(np.maximum(1.0 - 5.0 * x**2, 0.01)))


def test_the_scale_grows_with_the_importance_left_out() -> None:
    assert CURVE.scale(np.array([0.0, 0.2, 0.3])).tolist() == pytest.approx(
        [1.0, np.sqrt(2.0), np.sqrt(1.0 + 25.0 * 0.09)]
    )
    assert CURVE.weights(["B", "C", "A"]).tolist() == [0.2, 0.0, 0.1]


def _assumed(rows: list[list[str]]) -> Callable[[Sequence[str]], npt.NDArray[np.bool_]]:
    """``Stages.assumed_matrix`` of houses that had the fields of ``rows`` assumed."""

    def assumed(names: Sequence[str]) -> npt.NDArray[np.bool_]:
        return np.array([[name in row for name in names] for row in rows])

    return assumed


def test_only_fields_no_calibration_house_had_assumed_count() -> None:
    """``x`` sums the importance of the fields assumed beyond the calibration houses' (here
    KitchenQual and Fireplaces; LotFrontage was assumed for some of them); an artifact without
    a curve (before 0.3.4) scales nothing."""
    beyond = ("KitchenQual", "Fireplaces")
    curve = PartialRanges(
        importances=(("KitchenQual", 0.1), ("LotFrontage", 0.3), ("Fireplaces", 0.2)),
        a=1.0,
        b=25.0,
        measured={},
    )
    calibrated = tuple(name for name in HOUSE_FIELDS if name not in beyond)
    intervals = replace(INTERVALS, assumed_fields=calibrated, partial=curve)
    houses = [[], ["KitchenQual"], ["LotFrontage"], ["KitchenQual", "LotFrontage", "Fireplaces"]]
    marked = intervals.beyond_calibration(_assumed(houses))
    assert marked is not None
    scales = intervals.partial_scales(marked)
    assert scales is not None
    assert scales.tolist() == pytest.approx([1.0, np.sqrt(1.25), 1.0, np.sqrt(3.25)])
    assert replace(intervals, partial=None).partial_scales(marked) is None


def test_the_masks_are_the_studys() -> None:
    """Seed 6, 20 masks for each of p = 0.2, 0.5, 0.8, the first 10 of each fitting the curve
    (``study/round6_partial_ranges.py``): the same fields kept, about p of them."""
    fit, check = random_masks(load_config().calibration.partial_houses)
    assert len(fit) == len(check) == 30
    rng = np.random.default_rng(6)
    first = frozenset(np.asarray(OPTIONAL)[rng.random(len(OPTIONAL)) < 0.2].tolist())
    assert fit[0].kept == first
    shares = [len(mask.kept) / len(OPTIONAL) for mask in [*fit[20:], *check[20:]]]
    assert 0.7 < float(np.mean(shares)) < 0.9
