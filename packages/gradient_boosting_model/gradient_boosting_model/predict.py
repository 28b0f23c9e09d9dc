"""``make_prediction``: validated house details in; prices, their ranges, warnings and, on
request, explanations out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model import __version__
from gradient_boosting_model.config import packaged_config
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.explanation import Explanations
from gradient_boosting_model.house_batch import HouseBatch
from gradient_boosting_model.input_ranges import RangeWarning
from gradient_boosting_model.persistence import load_model_and_metadata
from gradient_boosting_model.trained_model import Evidence, TrainedModel
from gradient_boosting_model.validation import validate_batch

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, init=False)
class PriceInterval:
    """A range meant to hold the sale price with probability ``level``, in dollars.

    ``calibrated`` is false for a house with a warning, and true for every other: the range
    was measured to hold ``level`` of prices of houses like it. A house with a detail assumed
    (left out, or null and imputed) that no house the ranges were calibrated on had assumed
    is ``partial``: since 0.3.4 its range is scaled about its price for what it left out
    (``partial_ranges``: the more the fields left out move prices, the wider), which holds
    0.88 to 0.92 of such prices in cross-validation, and is calibrated (before, unscaled and
    not calibrated, a seven-field house's range held 0.6 of holdout prices). A model trained
    before 0.3.4 does not scale it, and marks it not calibrated.
    """

    lower: float
    upper: float
    level: float
    calibrated: bool
    #: Whether the house had details assumed beyond the calibration houses' (its range scaled
    #: for them, where the model can): priced less closely than a complete record (RMSLE about
    #: 0.22 with the seven required fields, against 0.11), so left out of accuracy measured
    #: on houses like the training ones (the service's live checks).
    partial: bool = False

    def __init__(
        self, lower: float, upper: float, level: float, calibrated: bool, partial: bool = False
    ) -> None:
        # The fields set at once: a frozen dataclass's own __init__ sets them one by one through
        # object.__setattr__, a third slower for the 1459 ranges of test.csv (1.0 ms, 0.64 so).
        object.__setattr__(
            self,
            "__dict__",
            {
                "lower": lower,
                "upper": upper,
                "level": level,
                "calibrated": calibrated,
                "partial": partial,
            },
        )


@dataclass(frozen=True)
class PredictionResult:
    """Per house, in the order of the input rows: its price in dollars, the price's range, the
    warnings about its details, and (when asked for) its explanation."""

    predictions: list[float]
    intervals: list[PriceInterval]
    warnings: list[list[RangeWarning]]
    explanations: Explanations | None
    model_version: str


@cache
def packaged_model_and_metadata() -> tuple[TrainedModel, dict[str, Any]]:
    """The packaged model and the metadata JSON read to load it, on first use, kept for the
    life of the process (``default_model``; its card, ``loading.load_model_with_card``)."""
    return load_model_and_metadata(packaged_config())


def default_model() -> TrainedModel:
    """The packaged model, loaded on first use and kept for the life of the process."""
    return packaged_model_and_metadata()[0]


def make_prediction(
    houses: Sequence[Mapping[str, Any]] | pd.DataFrame,
    *,
    model: TrainedModel | None = None,
    explain: bool = False,
    max_errors: int | None = None,
) -> PredictionResult:
    """Predict the sale price of each house, with a calibrated range and any warnings.

    Parameters
    ----------
    houses
        A list of dicts keyed by Kaggle column name, JSON-shaped (``None`` for missing; a NaN
        is no JSON number, and is refused for its row and field), or a DataFrame with those
        columns (NaN is a null, as in the Ames files: ``BsmtQual`` NaN is no basement; so are
        its text ``NA`` and empty text, and a number field's text that is a JSON number is that
        number, as ``score-houses`` reads a file; a field left out of a frame is a column left
        out, and houses leaving out different fields are sent as dicts).
    model
        A trained model; the packaged one by default.
    explain
        Also explain each price: a base price and one factor per field (see ``explanation``).
    max_errors
        When the batch is refused, describe invalid rows (the first ones first) only until they
        hold this many invalid fields (``validate_batch``); ``None``: every one.

    Raises
    ------
    TypeError
        If ``model`` is no ``TrainedModel``, or ``max_errors`` no whole number.
    InvalidInputError
        If any row is invalid: the whole batch is refused and ``errors`` names every bad row
        and field (of the rows described, with ``max_errors``), a row by its position from 0
        (a frame's: ``frame.iloc[row]``, whatever its index).

    Examples
    --------
    >>> house = {"Neighborhood": "NAmes", "OverallQual": 5, "OverallCond": 6,
    ...          "YearBuilt": 1961, "YrSold": 2010, "GrLivArea": 896, "LotArea": 11622}
    >>> make_prediction([house]).predictions  # doctest: +SKIP
    [142521.28]
    """
    if model is not None and not isinstance(model, TrainedModel):  # a path raised AttributeError
        raise TypeError(
            f"model must be a TrainedModel (load_model(path) loads one from its file), not "
            f"{type(model).__name__}"
        )
    batch = validate_batch(houses, max_errors=max_errors)
    return price_batch(batch, model=model, explain=explain)


def rounded_dollars(evidence: Evidence) -> npt.NDArray[np.float64]:
    """Prices, lower and upper bounds in dollars, to the cent, as (3 x houses): one array, so
    one exp and one rounding (each elementwise: the numbers of three arrays done apart); what
    ``price_batch`` answers and score-houses writes.

    Raises
    ------
    ModelError
        If a price is not a positive finite number (a broken model).
    """
    logs = np.concatenate([evidence.log_price, evidence.log_lower, evidence.log_upper])
    dollars = np.exp(logs).reshape(3, -1)
    cheapest, dearest = dollars[0].min(), dollars[0].max()  # NaN if any is
    if not 0 < cheapest <= dearest < math.inf:  # pragma: no cover - a broken model
        raise ModelError("the model produced a price that is not a positive finite number")
    rounded: npt.NDArray[np.float64] = dollars.round(2)
    return rounded


def price_batch(
    batch: HouseBatch, *, model: TrainedModel | None = None, explain: bool = False
) -> PredictionResult:
    """``make_prediction`` of a batch already validated (``validate_batch``, or score-houses'
    Arrow columns checked by the same rules): every house is priced, none refused."""
    trained = model or default_model()
    stages = trained.compiled_stages(batch)
    evidence = trained.evidence(stages, explain=explain)
    prices, lower, upper = rounded_dollars(evidence).tolist()
    level = trained.intervals.level
    # The calibration never puts a bound on the wrong side of the price (calibration.py).
    # Positional: keywords cost 1459 houses 0.4 ms more.
    intervals = [
        PriceInterval(low, high, level, calibrated, partial)
        for low, high, calibrated, partial in zip(
            lower, upper, evidence.calibrated.tolist(), evidence.partial.tolist(), strict=True
        )
    ]
    return PredictionResult(
        predictions=prices,
        intervals=intervals,
        warnings=evidence.warnings,
        explanations=evidence.explanations,
        model_version=trained.version or __version__,
    )
