"""Conformal price ranges: a nominal 90% interval per house, calibrated on unseen houses.

The residuals come from houses each model did not see (out-of-fold predictions of K-fold
cross-validation on the training rows). Split conformal takes one quantile of the absolute log
residuals for every house; it under-covers the cheapest and dearest houses: the cheapest sales
are mostly over-predicted and the dearest under-predicted (regression to the mean).

So each bound is a *local* conformal quantile of the signed residuals: at a few knots of
predicted log price, the residuals are weighted by a Gaussian kernel of their prediction's
distance to the knot, and the weighted quantile is taken, counting the new house's own weight
(Guan's localized conformal prediction). Between knots the bounds are interpolated, so two
houses priced alike get ranges alike (binning them, as Mondrian conformal does, made the lower
bound jump from 0.52 to 0.87 of the price across a bin edge). Each side has its own level,
higher on the low side of cheap predictions and the high side of dear ones, where the errors
are. Finally the bounds are widened, never narrowed, so that both rise with the price.

Those ranges held 9 in 10 sale prices overall but not for every kind of sale: about 8 in 10 of
foreclosures and short sales (``SaleCondition`` Abnorml), which sell far below a normal sale's
price, against 93 in 100 of normal sales. So the ranges are then scaled per group of sale
conditions (Mondrian conformal, on normalised scores): each calibration house scores how far
its residual reaches as a share of its range's half on that side, and each group's scale is the
conformal quantile of its houses' scores, so that the range holds 9 in 10 within each group
while keeping its smooth shape across prices. Groups too small to calibrate are merged (the
config declares them); a house whose sale condition is not given gets the scale of all sales.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.house_batch import CodedColumn, per_house
from gradient_boosting_model.partial_ranges import PartialRanges
from gradient_boosting_model.schemas import HOUSE_FIELDS

FloatArray = npt.NDArray[np.float64]


#: The group of a house whose sale condition is not given, or not one the config names.
ALL_SALES = "all sales"


@dataclass(frozen=True)
class SaleGroups:
    """Mondrian groups of the ranges: each group's scale of the shared shape, and the group of
    each value of ``field``. A model trained before them (0.2.0) has none: one group."""

    field: str
    #: (value, group) pairs: the sale conditions each group holds.
    members: tuple[tuple[str, str], ...]
    #: (group, scale) pairs, ``ALL_SALES`` included.
    scales: tuple[tuple[str, float], ...]
    #: (group, calibration houses) pairs, ``ALL_SALES`` included.
    houses: tuple[tuple[str, int], ...]

    def group_of(self, values: Sequence[Any] | npt.NDArray[Any]) -> npt.NDArray[np.object_]:
        """The group of each value (``ALL_SALES`` for one not given or not named)."""
        return np.array(self._groups(values), dtype=object)

    def scale_of(self, values: Sequence[Any] | npt.NDArray[Any] | CodedColumn) -> FloatArray:
        """The scale of each value's group."""
        return per_house(values, self._scales)

    def _scales(self, values: Sequence[Any] | npt.NDArray[Any]) -> FloatArray:
        by_value, default = self._scale_by_value
        return np.array([by_value.get(value, default) for value in values], dtype=np.float64)

    @cached_property
    def _scale_by_value(self) -> tuple[dict[str, float], float]:
        """Each named value's scale, and the scale of any other: read per house, made once."""
        scales = dict(self.scales)
        return {value: scales[group] for value, group in self.members}, scales[ALL_SALES]

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, "_scale_by_value")

    def _groups(self, values: Sequence[Any] | npt.NDArray[Any]) -> list[str]:
        members = dict(self.members)
        return [members.get(value, ALL_SALES) for value in values]


@dataclass(frozen=True)
class ConformalIntervals:
    """At knots of predicted log price, how far below and above the prediction the range
    reaches (interpolated between knots, constant beyond the first and last), scaled by the
    house's group of sale conditions."""

    level: float
    method: str
    knots: tuple[float, ...]
    below: tuple[float, ...]
    above: tuple[float, ...]
    #: Class-level default: an artifact pickled before groups existed unpickles with none.
    groups: SaleGroups | None = None
    #: The fields whose value was assumed (left out or null, and imputed) for at least one of
    #: the houses the ranges were calibrated on: complete Ames records, which lack a few
    #: details (a lot's frontage, a garage's year). A house that had any other assumed was not
    #: among them (``beyond_calibration``): a seven-field house's range held 0.6 of holdout prices,
    #: not 0.9, so since 0.3.4 it is scaled (``partial``). ``None`` (an artifact from before):
    #: not checked.
    assumed_fields: tuple[str, ...] | None = None
    #: Since 0.3.4: the curve that scales the range of such a house, which is then calibrated
    #: (``partial_ranges``). ``None`` (an artifact from before): not scaled, not calibrated.
    partial: PartialRanges | None = None

    def bounds(
        self,
        log_price: FloatArray,
        sale_conditions: Sequence[Any] | npt.NDArray[Any] | CodedColumn | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Lower and upper bounds, in log price, of each prediction's range; with groups, the
        houses' ``sale_conditions`` (``None`` where not given; a column, or a validated batch's
        column as codes) pick each one's scale."""
        below, above = self.half_widths(log_price)
        if self.groups is not None:
            scale = self.groups.scale_of(
                [None] * len(log_price) if sale_conditions is None else sale_conditions
            )
            below, above = below * scale, above * scale
        return log_price - below, log_price + above

    def half_widths(self, log_price: FloatArray) -> tuple[FloatArray, FloatArray]:
        """How far below and above each prediction the shared shape reaches, before groups."""
        knots, below, above = self._curve
        return np.interp(log_price, knots, below), np.interp(log_price, knots, above)

    @cached_property
    def _curve(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``knots``, ``below`` and ``above`` as arrays, made once rather than per batch."""
        return np.asarray(self.knots), np.asarray(self.below), np.asarray(self.above)

    def beyond_calibration(
        self, assumed: Callable[[Sequence[str]], npt.NDArray[np.bool_]]
    ) -> npt.NDArray[np.bool_] | None:
        """Per house and field of ``never_assumed``, whether it was assumed for the house
        (``assumed(names)`` says where each field of ``names`` was, houses x names): a house
        with any is partial. ``None`` where the artifact does not say (``assumed_fields`` None)
        or every field was assumed for a calibration house: every house is like them."""
        if self.assumed_fields is None or not self.never_assumed:
            return None
        return assumed(self.never_assumed)

    def partial_scales(self, beyond: npt.NDArray[np.bool_]) -> FloatArray | None:
        """Per house, the scale of its range were it partial (``partial_ranges``: from the
        importance of the fields assumed for it that no calibration house had assumed,
        ``beyond``: ``beyond_calibration``'s); ``None`` where the artifact has no curve. Only
        the houses with any of ``beyond`` are to be scaled."""
        if self.partial is None:
            return None
        return self.partial.scale(beyond @ self._never_assumed_weights)

    @cached_property
    def never_assumed(self) -> tuple[str, ...]:
        """The client fields no calibration house had assumed (every one where the artifact
        does not say): a house with one of them assumed is partial."""
        seen = set(self.assumed_fields or ())
        return tuple(name for name in HOUSE_FIELDS if name not in seen)

    @cached_property
    def _never_assumed_weights(self) -> FloatArray:
        """The importance of each of ``never_assumed`` (``partial`` is set)."""
        assert self.partial is not None
        return self.partial.weights(self.never_assumed)

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, "_curve", "never_assumed", "_never_assumed_weights")

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata and ``GET /v1/model`` (knots in dollars)."""
        described: dict[str, Any] = {
            "method": self.method,
            "level": self.level,
            "knots": [
                {
                    "predicted": round(math.exp(knot), 2),
                    "lower_factor": round(math.exp(-below), 4),
                    "upper_factor": round(math.exp(above), 4),
                }
                for knot, below, above in zip(self.knots, self.below, self.above, strict=True)
            ],
        }
        if self.assumed_fields is not None:
            described["calibrated_with_assumed"] = list(self.assumed_fields)
        if self.partial is not None:
            described["partial_houses"] = self.partial.describe()
        if self.groups is not None:
            members = self.groups.members
            houses = dict(self.groups.houses)
            described["sale_condition_groups"] = [
                {
                    "group": group,
                    "sale_conditions": [value for value, named in members if named == group],
                    "scale": round(scale, 4),
                    "calibration_houses": houses[group],
                }
                for group, scale in self.groups.scales
            ]
        return described


def conformal_quantile(
    scores: FloatArray, level: float, weights: FloatArray | None = None
) -> float:
    """The smallest score whose share of the total weight, the new house's weight (1) included,
    reaches ``level``; the largest score if none does. Unweighted, that is the
    ``ceil((n + 1) * level)``-th smallest."""
    values = np.asarray(scores, dtype=np.float64)
    mass = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    shares = np.cumsum(mass[order]) / (mass.sum() + 1.0)
    rank = int(np.searchsorted(shares, level - 1e-12, side="left"))
    return float(values[order][min(rank, values.size - 1)])


def fit_intervals(
    log_predicted: FloatArray,
    log_actual: FloatArray,
    *,
    level: float,
    knots: int,
    bandwidth: float,
    group_quantiles: Sequence[float],
    lower_levels: Sequence[float],
    upper_levels: Sequence[float],
) -> ConformalIntervals:
    """Calibrate on out-of-fold predictions: local weighted quantiles at ``knots`` knots.

    Parameters
    ----------
    log_predicted, log_actual
        Out-of-fold predicted and actual log prices of the calibration houses.
    level
        The nominal coverage the ranges are meant to have, e.g. 0.9 (reported).
    knots
        How many knots, at evenly spaced quantiles (2% to 98%) of ``log_predicted``.
    bandwidth
        The kernel's standard deviation, as a share of that of ``log_predicted``.
    group_quantiles
        Where the cheap, middle and dear groups of predictions split (quantiles of
        ``log_predicted``); ``lower_levels`` and ``upper_levels`` hold at each group's median
        prediction and are interpolated between them.
    lower_levels, upper_levels
        Per group, the level of the quantile of how far actual prices fell below (rose above)
        their prediction.
    """
    predicted = np.asarray(log_predicted, dtype=np.float64)
    residuals = np.asarray(log_actual, dtype=np.float64) - predicted
    at = np.quantile(predicted, np.linspace(0.02, 0.98, knots))
    groups = np.searchsorted(np.quantile(predicted, group_quantiles), predicted, side="right")
    centres = [float(np.median(predicted[groups == g])) for g in range(len(group_quantiles) + 1)]
    low_levels = np.interp(at, centres, lower_levels)
    high_levels = np.interp(at, centres, upper_levels)
    width = bandwidth * float(predicted.std())
    below, above = np.empty(knots), np.empty(knots)
    for index, knot in enumerate(at):
        weights = np.exp(-0.5 * ((predicted - knot) / width) ** 2)
        # Never a bound on the wrong side of the prediction, whatever the residuals.
        below[index] = max(conformal_quantile(-residuals, low_levels[index], weights), 0.0)
        above[index] = max(conformal_quantile(residuals, high_levels[index], weights), 0.0)
    # Widen (never narrow) so that both bounds rise with the predicted price.
    below = at - np.minimum.accumulate((at - below)[::-1])[::-1]
    above = np.maximum.accumulate(at + above) - at
    return ConformalIntervals(
        level=level,
        method=(
            f"localized conformal: kernel-weighted quantiles of signed log residuals at {knots} "
            "knots of predicted price, interpolated between them; out-of-fold residuals of "
            "K-fold cross-validation on the houses the model was fitted on"
        ),
        knots=tuple(float(knot) for knot in at),
        below=tuple(float(b) for b in below),
        above=tuple(float(a) for a in above),
    )


def normalised_scores(
    intervals: ConformalIntervals, log_predicted: FloatArray, log_actual: FloatArray
) -> FloatArray:
    """How far each actual price reaches as a share of its range's half on that side (1: on
    the bound); infinite past a side of zero width."""
    below, above = intervals.half_widths(log_predicted)
    residuals = log_actual - log_predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        under = np.where(residuals < 0, -residuals / below, 0.0)
        over = np.where(residuals > 0, residuals / above, 0.0)
    return np.maximum(under, over)


def fit_sale_groups(
    intervals: ConformalIntervals,
    log_predicted: FloatArray,
    log_actual: FloatArray,
    sale_conditions: Sequence[Any] | npt.NDArray[Any],
    *,
    field: str,
    groups: Mapping[str, Sequence[str]],
    min_houses: int,
) -> ConformalIntervals:
    """``intervals`` with a Mondrian scale per group of sale conditions, each the conformal
    quantile (at ``intervals.level``) of its calibration houses' normalised scores.

    Raises
    ------
    ValueError
        If a group has fewer than ``min_houses`` calibration houses: merge it in the config.
    """
    members = tuple((value, group) for group, values in groups.items() for value in values)
    named = dict(members)
    conditions = np.array([named.get(value, ALL_SALES) for value in sale_conditions], dtype=object)
    scores = normalised_scores(intervals, log_predicted, log_actual)
    scales, houses = [], []
    for group in [*groups, ALL_SALES]:
        chosen = scores if group == ALL_SALES else scores[conditions == group]
        if chosen.size < min_houses:
            raise ValueError(
                f"the sale-condition group {group!r} has {chosen.size} calibration houses, "
                f"fewer than {min_houses}: merge it with another in config.yml"
            )
        scales.append((group, conformal_quantile(chosen, intervals.level)))
        houses.append((group, int(chosen.size)))
    return replace(
        intervals,
        method=f"{intervals.method}; then scaled per group of {field} (Mondrian conformal on "
        "normalised scores)",
        groups=SaleGroups(field=field, members=members, scales=tuple(scales), houses=tuple(houses)),
    )
