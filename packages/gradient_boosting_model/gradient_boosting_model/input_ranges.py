"""What the model saw in training, for the inputs it leans on most, and warnings outside it.

Trees cannot extrapolate (and the linear start is clipped so as not to): a house larger than
any in training is priced as the largest one seen, and its conformal range, calibrated on houses
like the training ones, means nothing there. So for the model's most important features (by
their mean absolute contribution to the training houses' log prices), and for those config.yml
has checked whatever their importance (the year of sale: the prices are what Ames paid from
2006 to 2010; the quality grades: one beyond the ends of the scale seen is priced as the
nearest seen), the training range is stored with the model, and a house outside it gets a
warning naming the client's field, its value and the range. Each feature is checked in the
form the trees see it:

- ``number``: the field's own value;
- ``age``: a year as years before the sale (the model's feature), reported with the year sent;
- ``total``: a derived sum (e.g. floor area), reported against its largest part for this house;
- ``grade``: a quality grade's score, reported with the grades' codes;
- ``category``: a code the trees never saw (it was priced as a typical code).

Besides, ``InputRanges.codes`` (``seen_codes``, since 0.3.1) warns of a code no training house
had in any category or grade field, whatever its importance (a grade between two seen, too);
``InputRanges.contradictions`` (``contradictions``, since 0.3.2) of a record that says a
house both has a basement, a fireplace, a garage or a pool and has none; and
``InputRanges.record_rules`` (``record_rules``, since 0.3.3) of a record whose areas are not
the sums of their parts, that gives a year of remodelling or of a garage after the sale, or
more bedrooms than rooms above grade.

A value the client did not give (left out, or null where a null is not "none") is assumed
(typical; a floor, what the living area leaves) and never warned about: its house's range is
not calibrated anyway (``ConformalIntervals.assumed_fields``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.contradictions import Contradictions, fit_contradictions
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.house_batch import house_count, per_house, text_column
from gradient_boosting_model.matrix_columns import stacked
from gradient_boosting_model.record_rules import RecordRules, fit_record_rules
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.seen_codes import (
    CODE_KINDS,
    SeenCodes,
    fit_seen_codes,
    given_codes,
    is_unseen,
    unseen_message,
)

Columns = Mapping[str, npt.NDArray[Any]]
#: Where a field's value was not given (so one was assumed), by field name.
Assumed = Callable[[str], npt.NDArray[np.bool_]]
Kind = Literal["number", "age", "total", "grade", "category"]


@dataclass(frozen=True)
class RangeWarning:
    """A house detail outside what the model saw in training."""

    field: str
    message: str


def _number(value: float) -> str:
    """A number as a person writes it: 3627, 0.5, 1250000, 12.35 (to two decimals), but
    333.9999999 and 0.0001 as Python writes them (the shortest text that reads back as the
    number): to two decimals they would read as the whole numbers they are not (334 below a
    smallest of 334)."""
    number = float(value)
    if number.is_integer():
        return str(int(number))
    rounded = f"{number:.2f}".rstrip("0").rstrip(".")
    return repr(number) if "." not in rounded else rounded


@dataclass(frozen=True)
class FeatureRange:
    """The training range of one model feature, and how to word a warning about it."""

    feature: str
    kind: Kind
    #: The feature's share of the model's mean absolute contribution to log price in training.
    importance: float
    #: Smallest and largest value seen in training (not for categories).
    low: float = float("nan")
    high: float = float("nan")
    #: Codes seen in training (categories only), as ``given_codes`` keeps them.
    seen: tuple[Any, ...] = ()
    #: A total's parts, (field, weight).
    parts: tuple[tuple[str, float], ...] = ()
    #: The year an age is counted to (ages only).
    reference: str = ""
    #: A grade's code of each score (grades only).
    grade_codes: tuple[tuple[float, str], ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        """The client fields this feature is made of."""
        return tuple(part for part, _ in self.parts) if self.parts else (self.feature,)

    def describe(self) -> dict[str, Any]:
        """JSON-shaped, for the metadata and ``GET /v1/model``."""
        described: dict[str, Any] = {
            "feature": self.feature,
            "kind": self.kind,
            "fields": list(self.fields),
            "importance": round(self.importance, 4),
        }
        if self.kind == "category":
            described["seen"] = list(self.seen)
        else:
            described["low"] = self.low
            described["high"] = self.high
        return described

    def outside(self, raw: Columns, features: Columns, assumed: Assumed) -> npt.NDArray[np.bool_]:
        """Which houses are outside the range: never one whose value was all assumed, nor a
        total none of whose parts the client gave above 0 (floors left out beside a living
        area beyond training's, a basement of 0: the living area's own warning says it, and a
        total's warning names a part the client gave, ``warning``)."""
        if self.kind == "category":
            return per_house(text_column(raw, self.feature), self._unseen)
        value = np.asarray(features[self.feature], dtype=np.float64)
        outside: npt.NDArray[np.bool_] = (value < self.low) | (value > self.high)
        if not outside.any():  # most batches: only then is it worth asking what was given
            return outside
        if self.kind == "total":
            given = [
                ~assumed(part) & (np.asarray(raw[part], dtype=np.float64) != 0)
                for part in self.fields
            ]
            outside &= np.any(given, axis=0)
        else:
            outside &= ~np.all([assumed(field) for field in self.fields], axis=0)
        return outside

    def _unseen(self, codes: Sequence[Any]) -> npt.NDArray[np.bool_]:
        """Which of ``codes`` are given and were not seen in training."""
        return np.array([is_unseen(code, self.seen) for code in codes], dtype=bool)

    def warning(self, house: int, raw: Columns, features: Columns) -> RangeWarning:
        """The warning for ``house``, which is outside the range."""
        if self.kind == "category":
            code = raw[self.feature][house]
            return RangeWarning(self.feature, unseen_message(self.feature, code))
        value = float(features[self.feature][house])
        above = value > self.high
        if self.kind == "total":  # named by the largest part given (``outside``: one is)
            put_in = [abs(float(raw[part][house]) * weight) for part, weight in self.parts]
            field = self.parts[int(np.nanargmax(put_in))][0]
            terms = " + ".join(
                part if weight == 1 else f"{_number(weight)} x {part}"
                for part, weight in self.parts
            )
            side = "above the largest" if above else "below the smallest"
            bound = self.high if above else self.low
            message = f"{terms} = {_number(value)} is {side} seen in training, {_number(bound)}"
            return RangeWarning(field, message)
        if self.kind == "age":
            year = _number(raw[self.feature][house])
            sold = _number(raw[self.reference][house])
            side = "more" if above else "fewer"
            bound = self.high if above else self.low
            message = (
                f"{self.feature} {year} is {_number(value)} years before the sale "
                f"({self.reference} {sold}), {side} than any house seen in training, "
                f"{_number(bound)}"
            )
            return RangeWarning(self.feature, message)
        if self.kind == "grade":
            codes = dict(self.grade_codes)
            side = "above the highest" if above else "below the lowest"
            code, limit = codes.get(value, "?"), codes.get(self.high if above else self.low, "?")
            message = f"{self.feature} {code} is {side} grade seen in training, {limit}"
            return RangeWarning(self.feature, message)
        side = "above the largest" if above else "below the smallest"
        bound = self.high if above else self.low
        message = f"{self.feature} {_number(value)} is {side} seen in training, {_number(bound)}"
        return RangeWarning(self.feature, message)


@dataclass(frozen=True)
class InputRanges:
    """The training ranges of the model's most important features, and of those checked
    whatever their importance; and the codes of every category and grade field seen in
    training (``codes``: ``None`` in artifacts before 0.3.1, which checked only ``ranges``)."""

    ranges: tuple[FeatureRange, ...]
    codes: SeenCodes | None = None
    #: The features a record saying both has and has none of is warned of (``None`` in
    #: artifacts before 0.3.2).
    contradictions: Contradictions | None = None
    #: The rules of a record every training record kept, a house breaking one warned of
    #: (``None`` in artifacts before 0.3.3).
    record_rules: RecordRules | None = None

    def check(self, raw: Columns, features: Columns, assumed: Assumed) -> list[list[RangeWarning]]:
        """The warnings of each house, in order (an empty list for most).

        Parameters
        ----------
        raw
            The validated columns, as the client sent them.
        features
            The model's features by name, as the trees see them.
        assumed
            Per client field, where its value was assumed (not given).
        """
        houses = house_count(raw)
        warnings: list[list[RangeWarning]] = [[] for _ in range(houses)]
        for feature_range in self._looked_at(features):
            for house in np.flatnonzero(feature_range.outside(raw, features, assumed)).tolist():
                warnings[house].append(feature_range.warning(house, raw, features))
        if self.codes is not None:
            for house, field, code in self.codes.unseen(raw):
                # A grade beyond its scale's ends is warned once, by its range's words.
                if all(warning.field != field for warning in warnings[house]):
                    warnings[house].append(RangeWarning(field, unseen_message(field, code)))
        if self.contradictions is not None:
            for house, field, message in self.contradictions.found(raw):
                warnings[house].append(RangeWarning(field, message))
        if self.record_rules is not None:
            for house, field, message in self.record_rules.found(raw):
                warnings[house].append(RangeWarning(field, message))
        return warnings

    def _looked_at(self, features: Columns) -> Sequence[FeatureRange]:
        """The ranges some house may be outside, in order: every category's, and each range of
        values some house's value lies outside (the first test of ``FeatureRange.outside``, for
        every feature in a few operations). Most batches have no house outside any: then the
        categories' alone, with no loop over the ranges (for one house, a tenth of its checks'
        time went to the loop)."""
        at, names, low, high = self._bounds
        if not names:
            return self._categories
        values = stacked(features, names)
        outside = ((values < low) | (values > high)).any(axis=0)
        if not outside.any():
            return self._categories
        flagged = set(at[outside].tolist())
        return [r for i, r in enumerate(self.ranges) if r.kind == "category" or i in flagged]

    @cached_property
    def _bounds(
        self,
    ) -> tuple[npt.NDArray[np.intp], list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The ranges of values (their places in ``ranges``), their features, and their lows and
        highs: made once."""
        at = [i for i, r in enumerate(self.ranges) if r.kind != "category"]
        bounded = [self.ranges[i] for i in at]
        low = np.array([r.low for r in bounded], dtype=np.float64)
        high = np.array([r.high for r in bounded], dtype=np.float64)
        return np.array(at, dtype=np.intp), [r.feature for r in bounded], low, high

    @cached_property
    def _categories(self) -> tuple[FeatureRange, ...]:
        """The ranges of codes, in order: made once."""
        return tuple(r for r in self.ranges if r.kind == "category")

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, "_bounds", "_categories")

    def describe(self) -> list[dict[str, Any]]:
        """JSON-shaped, for the metadata and ``GET /v1/model``."""
        return [feature_range.describe() for feature_range in self.ranges]


def fit_ranges(
    *,
    feature_names: Sequence[str],
    importances: npt.NDArray[np.float64],
    features: Columns,
    raw: Columns,
    top: int,
    sums: Mapping[str, Mapping[str, float]],
    ages: Sequence[str],
    age_reference: str,
    grade_scores: Mapping[str, float],
    also: Sequence[str] = (),
    every_code: bool = False,
    contradictions: bool = False,
    record_rules: bool = False,
) -> InputRanges:
    """The ranges of the ``top`` most important features seen in the training ``features``,
    then of the features ``also`` names that are not among them; with ``every_code``, the codes
    seen of every category and grade field (``seen_codes``) but those of a category range; with
    ``contradictions``, the features every training record agrees it has or has not; with
    ``record_rules``, the rules of a record (``record_rules.RULES``) every training record keeps.

    ``raw`` holds the training houses' validated columns (for the codes and the features).

    Raises
    ------
    ValueError
        If ``also`` names a feature the model does not have.
    """
    missing = [name for name in also if name not in feature_names]
    if missing:
        raise ValueError(f"the model has no feature {', '.join(missing)} to check")
    top_order = np.argsort(-np.asarray(importances), kind="stable")[:top].tolist()
    extra = [feature_names.index(name) for name in dict.fromkeys(also)]
    order = top_order + [index for index in extra if index not in top_order]
    codes = tuple(sorted((score, code) for code, score in grade_scores.items()))
    ranges = []
    for index in order:
        name = feature_names[index]
        importance = float(importances[index])
        kind = _kind(name, sums, ages)
        if kind == "category":
            ranges.append(FeatureRange(name, kind, importance, seen=given_codes(raw[name])))
            continue
        values = np.asarray(features[name], dtype=np.float64)
        ranges.append(
            FeatureRange(
                name,
                kind,
                importance,
                low=float(np.nanmin(values)),
                high=float(np.nanmax(values)),
                parts=tuple((part, float(w)) for part, w in sums.get(name, {}).items()),
                reference=age_reference if kind == "age" else "",
                grade_codes=codes if kind == "grade" else (),
            )
        )
    skipped = [r.feature for r in ranges if r.kind == "category"]
    seen_codes = fit_seen_codes(raw, skipped) if every_code else None
    agreed = fit_contradictions(raw) if contradictions else None
    kept = fit_record_rules(raw) if record_rules else None
    return InputRanges(tuple(ranges), seen_codes, agreed, kept)


def _kind(name: str, sums: Mapping[str, Any], ages: Sequence[str]) -> Kind:
    if name in sums:
        return "total"
    if name in ages:
        return "age"
    field_kind = HOUSE_FIELDS[name].metadata["kind"]
    if field_kind in CODE_KINDS:
        return "grade" if field_kind == "grade" else "category"
    return "number"
