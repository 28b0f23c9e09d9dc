"""Accuracy of a fitted pipeline on labelled houses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def rmsle(prices: npt.ArrayLike, predicted: npt.ArrayLike) -> float:
    """Root mean squared error of log prices (the Kaggle competition's metric)."""
    return float(root_mean_squared_error(np.log(prices), np.log(predicted)))


def regression_metrics(prices: npt.ArrayLike, predicted: npt.ArrayLike) -> dict[str, float]:
    """RMSLE, R^2 of log prices and of dollars, mean absolute error in dollars, and the median
    absolute percentage error (what the service's live monitoring compares with)."""
    actual = np.asarray(prices, dtype=np.float64)
    guess = np.asarray(predicted, dtype=np.float64)
    return {
        "rmsle": rmsle(actual, guess),
        "r2_log": float(r2_score(np.log(actual), np.log(guess))),
        "r2": float(r2_score(actual, guess)),
        "mae_dollars": float(mean_absolute_error(actual, guess)),
        "median_ape": float(np.median(np.abs(guess - actual) / actual)),
        "rows": int(actual.size),
    }


def interval_metrics(
    prices: npt.ArrayLike,
    predicted: npt.ArrayLike,
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
    *,
    groups: Sequence[str] | None = None,
) -> dict[str, Any]:
    """How often the ranges hold the actual price, overall and by decile of actual price
    (cheapest first), and their median width as a share of the predicted price; with
    ``groups`` (each house's), also per group."""
    actual = np.asarray(prices, dtype=np.float64)
    low, high = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
    covered = (low <= actual) & (actual <= high)
    deciles = np.minimum((np.argsort(np.argsort(actual)) * 10) // actual.size, 9)
    by_decile = [float(covered[deciles == d].mean()) for d in range(10)]
    return {
        "coverage": float(covered.mean()),
        "coverage_by_price_decile": [round(share, 4) for share in by_decile],
        "coverage_cheapest_tenth": by_decile[0],
        "coverage_dearest_tenth": by_decile[-1],
        "median_relative_width": float(
            np.median((high - low) / np.asarray(predicted, dtype=np.float64))
        ),
        "rows": int(actual.size),
        **({"by_sale_condition": _by_group(covered, groups)} if groups is not None else {}),
    }


def _by_group(covered: npt.NDArray[np.bool_], groups: Sequence[str]) -> dict[str, Any]:
    named = np.asarray(groups, dtype=object)
    return {
        str(group): {
            "coverage": float(covered[named == group].mean()),
            "rows": int((named == group).sum()),
        }
        for group in dict.fromkeys(groups)
    }
