"""Records that say a house both has a feature and has none, and warnings for them.

A record says whether a house has a basement, a fireplace, a garage or a pool in several
fields: the feature's size (``TotalBsmtSF`` 0: none), its kind (``BsmtQual`` null: none), its
other details (a grade given, an area above 0; a garage's area given as 0 says none, as its
size of 0 does) and, for a garage, the year it was built (``schemas.ZERO_WHEN_NONE``,
``NONE_WHEN_ZERO``, ``ZERO_SAYS_NONE``, ``THERE_WHEN_GIVEN``). No training house's record says
both, but five of test.csv's do: Ids 2218 and 2219 give ``BsmtQual`` null beside a basement of
173 and 356 sq ft with a ``BsmtCond``, Ids 2421, 2504 and 2600 ``PoolQC`` null beside a pool.
An appraiser's probe sent ``GarageArea`` 0 beside ``GarageCars`` 2, which no Ames record gives
(``GarageArea 0 says the house has no garage, and GarageCars 2 that it has one``).

Such a house is priced as its record reads (a size given is kept, a kind given as null is
none). Which reading is right cannot be told from the record, and it matters little to the
price: the holdout's 258 houses with a basement, sent with ``BsmtQual`` null, were priced as
close to their sales read as no grade (RMSLE 0.111) as read as unknown (0.113). But their range
was calibrated on houses whose records agree, and the client should know which of its fields
disagree: ``BsmtQual null says the house has no basement, and TotalBsmtSF 173 that it has one:
no training house said both``. One warning a feature, on the field that says none; where only a
garage's year says the garage is there, on the year (``GarageYrBlt 1990 says the house has a
garage, where its GarageType or GarageCars says it has none``: one of the two may have been
worked out from the other).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.batch_rules import batch_layout, batch_rules
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.house_batch import BatchLayout, HouseBatch, house_count
from gradient_boosting_model.missing import OMITTED
from gradient_boosting_model.schemas import (
    FEATURE_NOUNS,
    ZERO_SAYS_NONE,
    ZERO_WHEN_NONE,
)
from gradient_boosting_model.shown_values import shown
from gradient_boosting_model.validation import coded_texts

Columns = Mapping[str, npt.NDArray[Any]]
#: The features a record may say a house both has and has none of, by size, in
#: ``ZERO_WHEN_NONE``'s order (the columns of ``BatchRules.presence``).
FEATURES: tuple[str, ...] = tuple(ZERO_WHEN_NONE)


@dataclass(frozen=True, eq=False)
class Contradictions:
    """The features (by size) on which every training record agreed whether its house has
    them: a house whose record says both of one of them is warned of."""

    sizes: tuple[str, ...]

    def found(self, raw: Columns) -> list[tuple[int, str, str]]:
        """Each (house, field, message) of ``raw`` (a validated batch, or its columns) whose
        record says both of a checked feature, house by house, each house's features in
        ``FEATURES`` order."""
        batch = raw if isinstance(raw, HouseBatch) and raw.layout is self._layout else None
        if batch is None:
            batch = coded_batch(raw, self._layout)
        if batch.houses == 1:
            return self._warnings_of(batch, 0)
        rules = batch_rules()
        none, signs = rules.presence(batch.numbers, batch.text_codes)
        both = none & rules.features_there(signs) & self._checked
        if not both.any():
            return []
        return [
            found
            for house in np.flatnonzero(both.any(axis=1)).tolist()
            for found in self._warnings_of(batch, house)
        ]

    def _warnings_of(self, batch: HouseBatch, house: int) -> list[tuple[int, str, str]]:
        """``found`` of one house, read in Python (``BatchRules.said_both_of_row``): the one
        house of most requests, or one a batch's whole-matrix test found saying both."""
        firsts = batch_rules().said_both_of_row(
            batch.numbers[house].tolist(), batch.text_codes[house].tolist()
        )
        return [
            self._warning(batch, house, feature, sign)
            for feature, sign in enumerate(firsts)
            if sign >= 0 and self._checked[feature]
        ]

    def _warning(
        self, batch: HouseBatch, house: int, feature: int, sign: int
    ) -> tuple[int, str, str]:
        """The warning of ``house``, whose record says it has none of ``feature`` and, first
        by ``sign`` (in ``BatchRules.presence_signs``), that it has one."""
        size = FEATURES[feature]
        kind = ZERO_WHEN_NONE[size]
        noun = FEATURE_NOUNS[size]
        there = batch_rules().presence_signs[sign]
        value = (
            batch.texts[house][there.position]
            if there.text
            else batch.numbers[house, there.position].item()
        )
        said_there = f"{there.field} {shown(value)}"
        said_none = self._said_none(batch, house, size)
        if there.evidence:
            # A year alone: no detail says the feature is there, so its size may have been
            # worked out as 0 from a null kind, or its kind as none from a size of 0; which
            # one the client sent cannot be told here. The year was sent: the warning's field.
            field = there.field
            by = f"{kind} or {size}" if said_none in (size, kind) else f"{said_none} 0"
            message = f"{said_there} says the house has a {noun}, where its {by} says it has none"
        else:  # a size is worked out as 0 only where no detail says the feature is there
            field = said_none
            value_none = "null" if said_none == kind else "0"
            message = (
                f"{said_none} {value_none} says the house has no {noun}, and {said_there} that "
                f"it has one"
            )
        message += ": no training house said both"
        return house, field, message

    def _said_none(self, batch: HouseBatch, house: int, size: str) -> str:
        """The first field of ``house``'s record that says it has none of the feature ``size``
        sizes: the size (0), its kind (null), or a ``ZERO_SAYS_NONE`` detail (0)."""
        numbers = self._layout.number_positions
        if batch.numbers[house, numbers[size]] == 0:
            return size
        kind = ZERO_WHEN_NONE[size]
        if batch.text_codes[house, self._layout.text_positions[kind]] == 0:
            return kind
        return next(
            name for name in ZERO_SAYS_NONE[size] if batch.numbers[house, numbers[name]] == 0
        )

    @cached_property
    def _layout(self) -> BatchLayout:
        return batch_layout()

    @cached_property
    def _checked(self) -> npt.NDArray[np.bool_]:
        return np.array([size in self.sizes for size in FEATURES], dtype=np.bool_)

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, "_layout", "_checked")

    def describe(self) -> list[str]:
        """JSON-shaped, for the metadata: the features checked, by size."""
        return list(self.sizes)


def coded_batch(columns: Columns, layout: BatchLayout) -> HouseBatch:
    """Validated ``columns`` (the fitted pipeline's, training's) as a batch of ``layout``, the
    fields they lack left out."""
    houses = house_count(columns)
    numbers = np.full((houses, len(layout.number_names)), np.nan)
    for name, position in layout.number_positions.items():
        if name in columns:
            numbers[:, position] = np.asarray(columns[name], dtype=np.float64)
    texts = list(
        zip(
            *(
                columns[name].tolist() if name in columns else [OMITTED] * houses
                for name in layout.text_names
            ),
            strict=True,
        )
    )
    codes, uncoded = coded_texts(texts)
    return HouseBatch(layout, numbers, texts, codes, uncoded=uncoded)


def fit_contradictions(raw: Columns) -> Contradictions:
    """The features on which every record of the training columns ``raw`` agrees."""
    batch = coded_batch(raw, batch_layout())
    rules = batch_rules()
    none, signs = rules.presence(batch.numbers, batch.text_codes)
    agreed: list[bool] = np.asarray(~(none & rules.features_there(signs)).any(axis=0)).tolist()
    return Contradictions(tuple(size for size, ok in zip(FEATURES, agreed, strict=True) if ok))
