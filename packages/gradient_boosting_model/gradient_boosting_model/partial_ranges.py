"""Price ranges of houses sent with details left out: one curve scales them (study round 6, B).

The ranges are calibrated on complete records. A house with a detail assumed (left out, or null
and imputed) that no calibration house had assumed is priced less surely: today's range held
0.54 of seven-field houses' prices in cross-validation, 0.60 on the holdout. Such a house's
range is scaled about its price by ``s = sqrt(a + b x^2)``, where ``x`` is the summed
importance of those fields (each field's mean absolute log factor in the served model's
explanations of the training houses): a field that moves prices much, left out, widens the
range much; one that barely moves them, barely. ``a`` and ``b`` are fitted at training
(``partial_fitting``) on the 90% scales of the out-of-fold houses (of those the model was
fitted on: the training split's, or every labelled house's) cut to random masks; any mask is
served, by a sum and a square root, with nothing refitted.

This module is what serving needs (numpy and the schema's required fields), and the masks
that cut houses down; the fitting is ``partial_fitting``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.schemas import REQUIRED_FIELDS

FloatArray = npt.NDArray[np.float64]


def importance_weights(
    importances: Sequence[tuple[str, float]], fields: Sequence[str]
) -> FloatArray:
    """The importance of each field of ``fields`` among ``importances`` ((field, importance)
    pairs; 0 for a field without one): what ``x`` sums over a house's fields assumed."""
    by_name = dict(importances)
    return np.array([by_name.get(name, 0.0) for name in fields], dtype=np.float64)


def widening(a: float, b: float, x: FloatArray) -> FloatArray:
    """The curve ``s = sqrt(a + b x^2)`` at each ``x``: what serving scales a partial house's
    range by, and what training's fit and cross-validation measure."""
    scale: FloatArray = np.sqrt(a + b * np.square(x))
    return scale


@dataclass(frozen=True)
class Mask:
    """The optional fields a house is sent with (the required ones always are): a field set
    of the README's table, or a random one of the fit."""

    name: str
    kept: frozenset[str]

    def cut(self, house: Mapping[str, Any]) -> dict[str, Any]:
        """``house`` with every optional field not kept left out (the key, not a null)."""
        return {k: v for k, v in house.items() if k in REQUIRED_FIELDS or k in self.kept}


@dataclass(frozen=True)
class PartialRanges:
    """The curve that scales a partial house's range, and the importances it reads."""

    #: (field, importance) pairs: each client field's mean absolute log factor over the
    #: explanations of the training houses, in the explanations' order.
    importances: tuple[tuple[str, float], ...]
    #: ``s = sqrt(a + b x^2)``: fitted at training.
    a: float
    b: float
    #: What the fit measured, JSON-shaped (``partial_fitting.fit_partial_ranges``): the masks,
    #: and the cross-validated coverage per field set; for the card.
    measured: dict[str, Any]

    def weights(self, fields: Sequence[str]) -> FloatArray:
        """The importance of each field of ``fields`` (0 for a field it has none of)."""
        return importance_weights(self.importances, fields)

    def scale(self, x: FloatArray) -> FloatArray:
        """``s`` of each ``x`` (a summed importance)."""
        return widening(self.a, self.b, x)

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata and ``GET /v1/model``."""
        return {
            "method": (
                "a house with a detail assumed that no calibration house had assumed: its range "
                "scaled about its price by s = sqrt(a + b x^2), x the summed importance of those "
                "fields; a and b fitted on the 90% scales of the out-of-fold houses (of those "
                "the model was fitted on) cut to random masks"
            ),
            "a": round(self.a, 4),
            "b": round(self.b, 4),
            "importances": {name: round(value, 5) for name, value in self.importances},
            **self.measured,
        }
