"""Rules every training record keeps, and warnings for a record that breaks one.

Three kinds, declared in ``schemas``:

- an area is the sum of its parts (``AREA_SUMS``): ``GrLivArea`` is ``1stFlrSF + 2ndFlrSF +
  LowQualFinSF`` and ``TotalBsmtSF`` is ``BsmtFinSF1 + BsmtFinSF2 + BsmtUnfSF`` in every Ames
  record. A part larger than its whole is refused; parts that add up to more or less than it
  were priced with nothing said, and with a calibrated range: a holdout house sent with its
  second floor as large as its first (its living area unchanged) was priced 17% higher;
- a year of remodelling or of a garage's building is at most a year after the sale
  (``YEARS_AFTER_SALE_WARNED``; the year the house was built is refused past it). test.csv's Id
  2593 gives a garage built in 2207 and Id 2550 a remodel two years after its sale;
- a house has no more bedrooms than rooms above grade (``BEDROOMS_WITHIN_ROOMS``: Ames's
  ``TotRmsAbvGrd`` counts every room above grade but bathrooms). No training or test.csv
  record gives more; an appraiser's probe sent one, priced with nothing said.

Such a house is priced as its record reads: each size, count and year is a feature of its own,
and which of them is wrong cannot be told. But its range was calibrated on records that keep the
rules, so the client is told, on the field that breaks it: ``GrLivArea 896 is not the sum of its
parts, 1stFlrSF 800 + 2ndFlrSF 800 + LowQualFinSF 0 = 1600: every training house's was``;
``BedroomAbvGr 5 is more than the rooms above grade (TotRmsAbvGrd 4): no training house's
was``.

A rule is checked where its fields were given. Parts are never below 0, so the parts given may
not add up to more than their whole even where another part was left out (a floor left out is
what the others leave of the living area: ``area_parts``). A rule is checked only if every
training record keeps it (checked when training, as ``contradictions`` are).

Every rule is a sum of its fields with coefficients +1 and -1 compared with a slack, so a batch
is checked a rule at a time in whole-column operations. One house (most requests) is checked in
Python, in a few microseconds where the arrays took 20: the two are held equal house by house in
the tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.house_batch import BatchLayout, HouseBatch, house_count
from gradient_boosting_model.schemas import AREA_SUMS, HOUSE_RULES_WARNED, HouseRule
from gradient_boosting_model.shown_values import shown

Columns = Mapping[str, npt.NDArray[Any]]

#: Square feet by which a whole may differ from the sum of its parts (parts measured apart and
#: rounded to whole feet); every Ames record's differ by none.
AREA_SLACK = 1.0
#: What a sum of a few areas given with decimals may be off by in floats (0.1 + 0.2).
ROUNDING = 1e-6


@dataclass(frozen=True)
class RecordRule:
    """``sum(sign * field) > slack`` breaks the rule; ``two_sided``, ``< -slack`` too, where
    the ``field`` is given, the others (parts, never below 0) counted as 0 where not given. The
    warning is on ``field``, the term of sign +1. A one-sided rule is a house rule only warned
    of (``beyond``: a year's, the bedrooms'), whose warning says its ``breach``."""

    name: str
    field: str
    terms: tuple[tuple[str, float], ...]
    slack: float
    two_sided: bool
    beyond: HouseRule | None = None

    @property
    def limit(self) -> float:
        """The slack, and what adding a few values with decimals may be off by in floats: a
        whole a square foot from its parts' sum keeps the rule whichever way the sum rounds."""
        return self.slack + ROUNDING

    def message(self, values: Mapping[str, float]) -> str:
        """The warning of a house whose fields have ``values`` (NaN: not given)."""
        beyond = self.beyond
        if beyond is not None:  # a field beyond another: a year after the sale, ...
            breach = beyond.breach(values[beyond.field], values[beyond.at_most])
            return f"{self.field} {breach}: no training house's was"
        said = f"{self.field} {shown(values[self.field])}"
        others = [name for name, sign in self.terms if sign < 0]
        given = [name for name in others if not math.isnan(values[name])]
        added = " + ".join(f"{name} {shown(values[name])}" for name in given)
        total = shown(round(sum(values[name] for name in given), 6))
        if len(given) < len(others):
            return (
                f"{said} is less than the sum of its parts given, {added} = {total}: no "
                f"training house's was"
            )
        return f"{said} is not the sum of its parts, {added} = {total}: every training house's was"


def _area_rule(whole: str, parts: tuple[str, ...]) -> RecordRule:
    terms = ((whole, 1.0), *((part, -1.0) for part in parts))
    return RecordRule(f"{whole} = {' + '.join(parts)}", whole, terms, AREA_SLACK, True)


#: Every rule there is, in the order a house's warnings name them.
RULES: tuple[RecordRule, ...] = (
    *(_area_rule(area.whole, area.parts) for area in AREA_SUMS),
    *(
        RecordRule(
            f"{rule.field} <= {rule.at_most} + {rule.slack:g}",
            rule.field,
            ((rule.field, 1.0), (rule.at_most, -1.0)),
            float(rule.slack),
            False,
            beyond=rule,
        )
        for rule in HOUSE_RULES_WARNED
    ),
)


@dataclass(frozen=True, eq=False)
class RecordRules:
    """The rules (by ``RecordRule.name``) every training record kept: a house whose record
    breaks one is warned of."""

    names: tuple[str, ...]

    def found(self, raw: Columns) -> list[tuple[int, str, str]]:
        """Each (house, field, message) of ``raw`` (a validated batch, or its columns) that
        breaks a checked rule, house by house, each house's in ``RULES`` order."""
        if not self._rules:
            return []
        houses = house_count(raw)
        if houses == 1 and isinstance(raw, HouseBatch) and raw.layout is self._layout:
            numbers = raw.numbers[0].tolist()
            row = [numbers[position] for position in self._positions]
            return [self._warning(0, rule, row) for rule in self.broken_row(row)]
        values = _values(raw, self._fields, houses)
        broken = self._broken(values)
        breaking = np.flatnonzero(broken.any(axis=1)).tolist()
        return [
            self._warning(house, rule, row)
            for house, row in zip(breaking, values[breaking].tolist(), strict=True)
            for rule, breaks in zip(self._rules, broken[house].tolist(), strict=True)
            if breaks
        ]

    def broken_row(self, row: list[float]) -> list[RecordRule]:
        """The rules one house breaks, its values (``_fields``' order, NaN: not given) read in
        Python: ``_broken`` for one house."""
        broken = []
        for rule, terms in zip(self._rules, self._row_terms, strict=True):
            total, every_given, own_given = 0.0, True, True
            for position, sign in terms:
                value = row[position]
                if value != value:  # NaN: not given
                    every_given = False
                    own_given = own_given and sign < 0
                else:
                    total += sign * value
            if (every_given and total > rule.limit) or (
                rule.two_sided and own_given and total < -rule.limit
            ):
                broken.append(rule)
        return broken

    def _warning(self, house: int, rule: RecordRule, row: list[float]) -> tuple[int, str, str]:
        return house, rule.field, rule.message(dict(zip(self._fields, row, strict=True)))

    def _broken(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """(houses x rules): ``broken_row`` of every house at once, a rule at a time."""
        given = ~np.isnan(values)
        filled = np.where(given, values, 0.0)
        broken = np.empty((values.shape[0], len(self._rules)), dtype=np.bool_)
        for column, (rule, terms) in enumerate(zip(self._rules, self._row_terms, strict=True)):
            positions = [position for position, _ in terms]
            signs = np.array([sign for _, sign in terms])
            total = filled[:, positions] @ signs
            every_given = given[:, positions].all(axis=1)
            own_given = given[:, [p for p, sign in terms if sign > 0]].all(axis=1)
            broken[:, column] = (every_given & (total > rule.limit)) | (
                rule.two_sided & own_given & (total < -rule.limit)
            )
        return broken

    @cached_property
    def _rules(self) -> tuple[RecordRule, ...]:
        """The rules named, in ``RULES`` order.

        Raises
        ------
        ModelError
            If a name is no rule of this package's (an artifact of another release, or its rule
            since changed): it would otherwise go unchecked while the card said it was checked.
        """
        unknown = set(self.names) - {rule.name for rule in RULES}
        if unknown:
            raise ModelError(
                f"the model checks record rules this package does not have: {sorted(unknown)}"
            )
        return tuple(rule for rule in RULES if rule.name in self.names)

    @cached_property
    def _fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for rule in self._rules for name, _ in rule.terms))

    @cached_property
    def _layout(self) -> BatchLayout:
        return batch_layout()

    @cached_property
    def _positions(self) -> list[int]:
        """Where ``_fields`` are among the numbers of a batch of ``_layout``."""
        return [self._layout.number_positions[name] for name in self._fields]

    @cached_property
    def _row_terms(self) -> tuple[tuple[tuple[int, float], ...], ...]:
        """Each rule's terms by the position of their field in ``_fields``."""
        return tuple(
            tuple((self._fields.index(name), sign) for name, sign in rule.terms)
            for rule in self._rules
        )

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, *_DERIVED)

    def describe(self) -> list[str]:
        """JSON-shaped, for the metadata and ``GET /v1/model``: the rules checked."""
        return [rule.name for rule in self._rules]


#: What a ``RecordRules`` makes of its names on first use: never pickled.
_DERIVED = ("_rules", "_fields", "_layout", "_positions", "_row_terms")


def _values(raw: Columns, fields: tuple[str, ...], houses: int) -> npt.NDArray[np.float64]:
    """(houses x fields): the numbers of ``raw``, NaN where not given."""
    if isinstance(raw, HouseBatch):
        positions = [raw.layout.number_positions[name] for name in fields]
        return raw.numbers[:, positions]
    return np.column_stack(
        [
            np.asarray(raw[name], dtype=np.float64) if name in raw else np.full(houses, np.nan)
            for name in fields
        ]
    ).reshape(houses, len(fields))


def fit_record_rules(raw: Columns) -> RecordRules:
    """The rules every record of the training columns ``raw`` keeps."""
    every = RecordRules(tuple(rule.name for rule in RULES))
    values = _values(raw, every._fields, house_count(raw))
    kept: list[bool] = np.asarray(~every._broken(values).any(axis=0)).tolist()
    return RecordRules(tuple(rule.name for rule, ok in zip(every._rules, kept, strict=True) if ok))
