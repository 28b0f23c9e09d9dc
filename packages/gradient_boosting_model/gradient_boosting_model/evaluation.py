"""Accuracy of a fitted pipeline on labelled houses."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def rmsle(prices: npt.ArrayLike, predicted: npt.ArrayLike) -> float:
    """Root mean squared error of log prices (the Kaggle competition's metric)."""
    return float(root_mean_squared_error(np.log(prices), np.log(predicted)))


def regression_metrics(prices: npt.ArrayLike, predicted: npt.ArrayLike) -> dict[str, float]:
    """RMSLE, R^2 of log prices and of dollars, mean absolute error in dollars."""
    actual = np.asarray(prices, dtype=np.float64)
    guess = np.asarray(predicted, dtype=np.float64)
    return {
        "rmsle": rmsle(actual, guess),
        "r2_log": float(r2_score(np.log(actual), np.log(guess))),
        "r2": float(r2_score(actual, guess)),
        "mae_dollars": float(mean_absolute_error(actual, guess)),
        "rows": int(actual.size),
    }
