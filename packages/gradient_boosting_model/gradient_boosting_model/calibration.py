"""Conformal price ranges: a nominal 90% interval per house, calibrated on unseen houses.

The residuals come from houses each model did not see (out-of-fold predictions of K-fold
cross-validation on the training rows). Split conformal takes one quantile of the absolute log
residuals for every house; it under-covers the cheapest and dearest houses: the cheapest sales
are mostly over-predicted and the dearest under-predicted (regression to the mean). Here the
residuals are binned by *predicted* log price (Mondrian conformal), and each bin has its own
lower and upper bound, each a quantile of the signed residuals at its own level: the extra
width goes only where the errors are, the low side of cheap predictions and the high side of
dear ones. Each quantile uses the finite-sample rank ``ceil((n + 1) * level)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ConformalIntervals:
    """Per bin of predicted log price, how far below and above it the range reaches."""

    level: float
    method: str
    #: Inner edges between bins, on predicted log price (one fewer than bins).
    edges: tuple[float, ...]
    #: Per bin, the log distance from the prediction to the lower and the upper bound.
    below: tuple[float, ...]
    above: tuple[float, ...]
    #: Residuals per bin that each quantile was taken from.
    counts: tuple[int, ...]

    def bounds(self, log_price: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds, in log price, of each prediction's range."""
        bins = np.searchsorted(np.asarray(self.edges), log_price, side="right")
        below, above = np.asarray(self.below)[bins], np.asarray(self.above)[bins]
        return log_price - below, log_price + above

    def covered(self, log_price: FloatArray, log_actual: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether each actual (log) price lies in its prediction's range."""
        lower, upper = self.bounds(log_price)
        return (lower <= log_actual) & (log_actual <= upper)

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata and ``GET /v1/model`` (bins in dollars)."""
        starts = [0.0, *(math.exp(edge) for edge in self.edges)]
        ends: list[float | None] = [*starts[1:], None]
        return {
            "method": self.method,
            "level": self.level,
            "bins": [
                {
                    "predicted_from": round(starts[i], 2),
                    "predicted_to": None if (end := ends[i]) is None else round(end, 2),
                    "lower_factor": round(math.exp(-self.below[i]), 4),
                    "upper_factor": round(math.exp(self.above[i]), 4),
                    "calibration_houses": self.counts[i],
                }
                for i in range(len(self.below))
            ],
        }


def conformal_quantile(scores: FloatArray, level: float) -> float:
    """The ``ceil((n + 1) * level)``-th smallest score (the largest if that exceeds n)."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    rank = min(math.ceil((ordered.size + 1) * level), ordered.size)
    return float(ordered[rank - 1])


def fit_intervals(
    log_predicted: FloatArray,
    log_actual: FloatArray,
    *,
    level: float,
    bin_quantiles: Sequence[float],
    lower_levels: Sequence[float],
    upper_levels: Sequence[float],
) -> ConformalIntervals:
    """Calibrate on out-of-fold predictions: per bin, a lower and an upper quantile.

    Parameters
    ----------
    log_predicted, log_actual
        Out-of-fold predicted and actual log prices of the calibration houses.
    level
        The nominal coverage the ranges are meant to have, e.g. 0.9 (reported).
    bin_quantiles
        Where the bins split, as quantiles of ``log_predicted``; empty for one bin.
    lower_levels, upper_levels
        Per bin, the level of the quantile of how far actual prices fell below (rose above)
        their prediction: the bounds each leave out about ``1 - level`` of that bin's prices.
    """
    predicted = np.asarray(log_predicted, dtype=np.float64)
    residuals = np.asarray(log_actual, dtype=np.float64) - predicted
    edges = tuple(float(edge) for edge in np.quantile(predicted, bin_quantiles))
    bins = np.searchsorted(np.asarray(edges), predicted, side="right")
    below, above, counts = [], [], []
    for index in range(len(edges) + 1):
        in_bin = residuals[bins == index]
        # Never a bound on the wrong side of the prediction, whatever the residuals.
        below.append(max(conformal_quantile(-in_bin, lower_levels[index]), 0.0))
        above.append(max(conformal_quantile(in_bin, upper_levels[index]), 0.0))
        counts.append(int(in_bin.size))
    return ConformalIntervals(
        level=level,
        method=(
            f"Mondrian conformal on {len(counts)} bins of predicted price, with a lower and an "
            "upper quantile of signed log residuals per bin; out-of-fold residuals of "
            "K-fold cross-validation on the training split"
        ),
        edges=edges,
        below=tuple(below),
        above=tuple(above),
        counts=tuple(counts),
    )
