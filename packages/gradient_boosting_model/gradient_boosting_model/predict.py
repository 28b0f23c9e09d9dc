"""``make_prediction``: validated house details in, sale prices in dollars out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.pipeline import Pipeline

from gradient_boosting_model import __version__
from gradient_boosting_model.config import load_config
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.persistence import load_pipeline
from gradient_boosting_model.validation import validate_inputs

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PredictionResult:
    """Predicted sale prices in dollars, in the order of the input rows."""

    predictions: list[float]
    model_version: str


@cache
def default_pipeline() -> Pipeline:
    """The packaged model, loaded on first use and kept for the life of the process."""
    return load_pipeline(load_config())


def make_prediction(
    houses: Sequence[Mapping[str, Any]] | pd.DataFrame, *, pipeline: Pipeline | None = None
) -> PredictionResult:
    """Predict the sale price of each house.

    Parameters
    ----------
    houses
        A list of dicts keyed by Kaggle column name, JSON-shaped (``None`` for missing), or a
        DataFrame with those columns (NaN for missing).
    pipeline
        A fitted pipeline; the packaged model by default.

    Raises
    ------
    InvalidInputError
        If any row is invalid: the whole batch is refused and ``errors`` names every bad row
        and field.

    Examples
    --------
    >>> house = {"Neighborhood": "NAmes", "OverallQual": 5, "OverallCond": 6,
    ...          "YearBuilt": 1961, "YrSold": 2010, "GrLivArea": 896, "LotArea": 11622}
    >>> make_prediction([house]).predictions  # doctest: +SKIP
    [122811.61]
    """
    columns = validate_inputs(houses)
    prices = (pipeline or default_pipeline()).predict(columns)
    if not np.all(np.isfinite(prices) & (prices > 0)):  # pragma: no cover - a broken model
        raise ModelError("the model produced a price that is not a positive finite number")
    return PredictionResult(predictions=np.round(prices, 2).tolist(), model_version=__version__)
