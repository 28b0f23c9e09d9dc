"""Fitting, at training, the curve that scales partial houses' ranges (``partial_ranges``).

As the study's round 6 did (``study/round6_partial_ranges.py``, B), with the folds' models kept
from the cross-validation (``fitting.OutOfFold.pricings``) rather than fitted again: each
training-split house is cut to a mask (the seven required fields and the mask's optional ones,
the others left out) and priced by the fold model that did not see it, its range the one that
fold's houses are measured with (``fitting.fold_calibrations``). Its score is the share of its
range's half, on the side of its price, that the price reaches: a range scaled by ``s`` about the
price holds it when the score is at most ``s``. A mask's scale is the conformal quantile (at the
ranges' level) of its houses' scores; ``s^2 = a + b x^2`` is fitted by least squares to the fit
masks' scales, ``x`` a mask's mean summed importance of what its houses had assumed beyond the
calibration houses. Cross-validated figures fit the curve without the fold measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.calibration import ConformalIntervals, conformal_quantile
from gradient_boosting_model.config import Config, PartialHousesConfig
from gradient_boosting_model.data import Row
from gradient_boosting_model.fitting import OutOfFold, fold_calibrations
from gradient_boosting_model.house_batch import text_column
from gradient_boosting_model.partial_ranges import (
    Mask,
    PartialRanges,
    importance_weights,
    widening,
)
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from gradient_boosting_model.trained_model import Pricing
from gradient_boosting_model.validation import validate_batch

FloatArray = npt.NDArray[np.float64]

#: The fields a mask may leave out.
OPTIONAL = tuple(name for name in HOUSE_FIELDS if name not in REQUIRED_FIELDS)
#: The mask of complete records (every fit has it: its scale is about 1, at x = 0).
EVERY_FIELD = "every field"


def random_masks(settings: PartialHousesConfig) -> tuple[list[Mask], list[Mask]]:
    """The fit masks and the check masks: per keep probability, ``masks_per_probability``
    masks, each optional field kept with that probability; the first half of each fit."""
    rng = np.random.default_rng(settings.seed)
    fit: list[Mask] = []
    check: list[Mask] = []
    half = settings.masks_per_probability // 2
    for p in settings.keep_probabilities:
        for index in range(settings.masks_per_probability):
            kept = frozenset(np.asarray(OPTIONAL)[rng.random(len(OPTIONAL)) < p].tolist())
            (fit if index < half else check).append(Mask(f"p={p} #{index}", kept))
    return fit, check


def field_set_masks(settings: PartialHousesConfig) -> list[Mask]:
    """The config's field sets (the README's table), and every field."""
    sets = [Mask(name, frozenset(fields)) for name, fields in settings.field_sets.items()]
    return [*sets, Mask(EVERY_FIELD, frozenset(OPTIONAL))]


def field_importances(pricing: Pricing, houses: list[Row]) -> tuple[tuple[str, float], ...]:
    """Each client field's mean absolute log factor in the explanations of ``houses``."""
    stages = pricing.stages(validate_batch(houses))
    explainer = pricing.explainer
    explained = explainer.explain(stages.matrix, stages.assumed_matrix(explainer.fields))
    sizes = np.abs(explained.log_factors).mean(axis=0).tolist()
    return tuple(zip(explained.fields, sizes, strict=True))


@dataclass(frozen=True)
class MaskScores:
    """Every house cut to one mask, priced by its fold model."""

    #: The share of the range's half, on the price's side, that the price reaches.
    score: FloatArray
    #: The summed importance of the fields assumed beyond the calibration houses' (x).
    x: FloatArray
    #: Whether anything was assumed beyond them: the houses whose range is scaled.
    partial: npt.NDArray[np.bool_]
    #: The range's halves in log, before any scale (for widths).
    below: FloatArray
    above: FloatArray

    def width(self, scale: FloatArray) -> float:
        """The median width of the ranges scaled by ``scale``, a share of the price."""
        return float(np.median(np.exp(scale * self.above) - np.exp(-scale * self.below)))


def score_mask(
    mask: Mask,
    houses: list[Row],
    log_actual: FloatArray,
    out: OutOfFold,
    calibrations: Sequence[ConformalIntervals],
    never_assumed: tuple[str, ...],
    weights: FloatArray,
    field: str,
) -> MaskScores:
    """``mask``'s houses priced, each by its fold's model and ranges."""
    size = len(houses)
    score, x, below, above = np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)
    partial = np.zeros(size, dtype=bool)
    fold = out.fold[:size]
    for index, (pricing, intervals) in enumerate(zip(out.pricings, calibrations, strict=True)):
        rows = np.flatnonzero(fold == index)
        batch = validate_batch([mask.cut(houses[row]) for row in rows.tolist()])
        stages = pricing.stages(batch)
        log_price = stages.log_price
        lower, upper = intervals.bounds(log_price, text_column(batch, field))
        below[rows], above[rows] = log_price - lower, upper - log_price
        residual = log_actual[rows] - log_price
        with np.errstate(divide="ignore", invalid="ignore"):
            under = np.where(residual < 0, -residual / below[rows], 0.0)
            over = np.where(residual > 0, residual / above[rows], 0.0)
        score[rows] = np.maximum(under, over)
        assumed = stages.assumed_matrix(never_assumed)
        x[rows], partial[rows] = assumed @ weights, assumed.any(axis=1)
    return MaskScores(score=score, x=x, partial=partial, below=below, above=above)


def fit_curve(x: FloatArray, scale: FloatArray) -> tuple[float, float]:
    """``a`` and ``b`` of ``s^2 = a + b x^2`` by least squares.

    Raises
    ------
    ValueError
        If the curve would narrow a range (``a`` at most 0 or ``b`` below 0).
    """
    b, a = np.polyfit(np.square(x), np.square(scale), 1)
    if a <= 0 or b < 0:
        raise ValueError(f"the partial houses' curve s^2 = {a:.3f} + {b:.3f} x^2 is no widening")
    return float(a), float(b)


def scales_of(scores: MaskScores, a: float, b: float) -> FloatArray:
    """Each house's scale as served: the curve's where it is partial, else 1."""
    scaled: FloatArray = np.where(scores.partial, widening(a, b, scores.x), 1.0)
    return scaled


def fit_partial_ranges(
    pricing: Pricing,
    houses: list[Row],
    prices: FloatArray,
    out: OutOfFold,
    intervals: ConformalIntervals,
    config: Config,
) -> PartialRanges:
    """The curve for the served model (``pricing``, ranges ``intervals`` with their
    ``assumed_fields``), from its training split (``houses``, ``prices``) and their out-of-fold
    pricing ``out``; with the cross-validated coverage per field set and per check mask."""
    settings = config.calibration.partial_houses
    level = config.calibration.level
    importances = field_importances(pricing, houses)
    never_assumed = intervals.never_assumed
    weights = importance_weights(importances, never_assumed)
    calibrations = fold_calibrations(out, config)
    field = config.calibration.sale_groups.field
    log_actual = np.log(prices)

    def scored(mask: Mask) -> MaskScores:
        return score_mask(
            mask, houses, log_actual, out, calibrations, never_assumed, weights, field
        )

    fit_masks, check_masks = random_masks(settings)
    sets = field_set_masks(settings)
    fit_scores = [scored(mask) for mask in [*fit_masks, sets[-1]]]
    set_scores = [scored(mask) for mask in sets[:-1]]
    check_scores = [scored(mask) for mask in check_masks]

    def curve(rows: npt.NDArray[np.bool_]) -> tuple[float, float]:
        x = np.array([float(np.mean(s.x[rows])) for s in fit_scores])
        s = np.array([conformal_quantile(s.score[rows], level) for s in fit_scores])
        return fit_curve(x, s)

    fold = out.fold[: len(houses)]
    everyone = np.ones(len(houses), dtype=bool)
    a, b = curve(everyone)
    held_curves = [curve(fold != index) for index in range(len(out.pricings))]

    def cross_validated(scores: MaskScores) -> tuple[float, float]:
        scale = np.ones(len(houses))
        for index, (fold_a, fold_b) in enumerate(held_curves):
            held = fold == index
            scale[held] = scales_of(scores, fold_a, fold_b)[held]
        return float(np.mean(scores.score <= scale)), scores.width(scale)

    field_sets = {}
    for mask, scores in zip(sets, [*set_scores, fit_scores[-1]], strict=True):
        coverage, width = cross_validated(scores)
        field_sets[mask.name] = {
            "fields_left_out": len(OPTIONAL) - len(mask.kept),
            "coverage": round(coverage, 4),
            "median_relative_width": round(width, 4),
            "coverage_unscaled": round(float(np.mean(scores.score <= 1.0)), 4),
            "median_relative_width_unscaled": round(scores.width(np.ones(len(houses))), 4),
        }
    by_p: dict[str, Any] = {}
    per_p = len(check_masks) // len(settings.keep_probabilities)
    for position, p in enumerate(settings.keep_probabilities):
        chosen = check_scores[position * per_p : (position + 1) * per_p]
        coverages = np.array([cross_validated(scores)[0] for scores in chosen])
        by_p[str(p)] = {
            "masks": len(chosen),
            "coverage_mean": round(float(coverages.mean()), 4),
            "coverage_min": round(float(coverages.min()), 4),
            "coverage_max": round(float(coverages.max()), 4),
        }
    measured = {
        "fit_masks": len(fit_scores),
        "houses": len(houses),
        "cross_validation": {"field_sets": field_sets, "check_masks_by_keep_probability": by_p},
    }
    return PartialRanges(importances=importances, a=a, b=b, measured=measured)
