"""Accuracy of a fitted pipeline on labelled houses, and of a trained model on the holdout (what
its metadata says of it: training, and a challenger made for tests, measure it alike)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from gradient_boosting_model.calibration import ALL_SALES
from gradient_boosting_model.data import LabelledSplit, features_and_target
from gradient_boosting_model.partial_ranges import Mask
from gradient_boosting_model.validation import validate_batch

if TYPE_CHECKING:
    from gradient_boosting_model.config import Config
    from gradient_boosting_model.data import Row
    from gradient_boosting_model.trained_model import Evidence, TrainedModel


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


def inside(
    prices: npt.ArrayLike, lower: npt.ArrayLike, upper: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Whether each actual price is within its range (bounds included): its coverage."""
    actual = np.asarray(prices, dtype=np.float64)
    return (np.asarray(lower, dtype=np.float64) <= actual) & (
        actual <= np.asarray(upper, dtype=np.float64)
    )


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
    covered = inside(actual, low, high)
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


def interval_groups(sale_conditions: npt.NDArray[np.object_], config: Config) -> list[str]:
    """The ranges' group of each house (config's ``sale_groups``; unnamed: all sales)."""
    named = {
        value: group
        for group, values in config.calibration.sale_groups.groups.items()
        for value in values
    }
    return [named.get(value, ALL_SALES) for value in sale_conditions]


def holdout_evidence(model: TrainedModel, houses: list[Row]) -> Evidence:
    """``model``'s unrounded log prices, ranges, warnings and calibration of labelled houses:
    what its figures are measured on."""
    return model.evidence(model.compiled_stages(validate_batch(houses)))


def partial_house_metrics(
    model: TrainedModel, houses: list[Row], prices: npt.ArrayLike, config: Config
) -> dict[str, Any]:
    """Per field set of ``config``'s (the README's table), the coverage of the 90% ranges of
    ``houses`` cut to it (every house, warned or not, as the table counts them), their median
    width as a share of the price, and the share marked calibrated."""
    actual = np.asarray(prices, dtype=np.float64)
    figures = {}
    for name, fields in config.calibration.partial_houses.field_sets.items():
        mask = Mask(name, frozenset(fields))
        evidence = holdout_evidence(model, [mask.cut(house) for house in houses])
        lower, upper = np.exp(evidence.log_lower), np.exp(evidence.log_upper)
        figures[name] = {
            "coverage": float(inside(actual, lower, upper).mean()),
            "median_relative_width": float(np.median((upper - lower) / np.exp(evidence.log_price))),
            "calibrated_share": float(evidence.calibrated.mean()),
            "rows": int(actual.size),
        }
    return figures


def holdout_metrics(model: TrainedModel, split: LabelledSplit, config: Config) -> dict[str, Any]:
    """Accuracy (of every house, and of those whose range is marked calibrated), warnings and
    range coverage (of the ranges marked calibrated: houses with no warning, and nothing
    assumed that no calibration house had assumed) on the holdout, which training never saw."""
    houses, prices = features_and_target(split.holdout, config)
    evidence = holdout_evidence(model, houses)
    predicted = np.exp(evidence.log_price)
    warned = np.array([bool(found) for found in evidence.warnings])
    kept = evidence.calibrated
    return {
        **regression_metrics(prices, predicted),
        # Since 0.3.4: the holdout's houses cut to the README's field sets (partial_ranges.py).
        "partial_houses": partial_house_metrics(model, houses, prices, config),
        # The houses like the training ones (no warning, nothing assumed that calibration had
        # not): what the service's live accuracy is measured on, so that a client sending
        # partial houses is not taken for a model gone bad.
        "calibrated": regression_metrics(prices[kept], predicted[kept]),
        "warned_houses": int(warned.sum()),
        "uncalibrated_houses": int((~kept).sum()),
        "intervals": interval_metrics(
            prices[kept],
            predicted[kept],
            np.exp(evidence.log_lower[kept]),
            np.exp(evidence.log_upper[kept]),
            groups=interval_groups(
                np.asarray(
                    [house.get(config.calibration.sale_groups.field) for house in houses],
                    dtype=object,
                )[kept],
                config,
            ),
        ),
    }
