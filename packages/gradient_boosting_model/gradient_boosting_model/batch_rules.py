"""The house schema's rules as whole-column checks, read once off its fields (``validation``).

Each numeric field's bounds, wholeness, codes and presence become vectors over the columns of a
batch's number matrix; each text field's allowed codes become a table numbering them, so that a
batch's texts are checked and coded (``HouseBatch.text_codes``) in the same pass.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from marshmallow import fields, validate

from gradient_boosting_model.fields import JsonNumber, WholeNumber
from gradient_boosting_model.house_batch import BatchLayout
from gradient_boosting_model.missing import OMITTED, TextValue
from gradient_boosting_model.schemas import (
    HOUSE_FIELDS,
    HOUSE_RULES,
    ID_FIELD,
    ID_SCHEMA_FIELD,
    KNOWN_FIELDS,
    NONE_WHEN_LEFT_OUT,
    NONE_WHEN_ZERO,
    THERE_WHEN_GIVEN,
    ZERO_SAYS_NONE,
    ZERO_WHEN_NONE,
    rules_broken,
)

#: The most allowed values of a text field (``None`` included): a code is one byte.
MAX_CHOICES = 256


@dataclass(frozen=True)
class NumberRules:
    """Vectorised bounds of the numeric fields, in ``names`` order."""

    names: tuple[str, ...]
    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    whole: npt.NDArray[np.bool_]
    required: npt.NDArray[np.bool_]
    #: Allowed values of numeric codes (such as MSSubClass), by column position.
    choices: Mapping[int, npt.NDArray[np.float64]]
    #: The house rules (``HOUSE_RULES``): the positions of each one's field and bound, and its
    #: slack.
    rule_fields: npt.NDArray[np.intp]
    rule_bounds: npt.NDArray[np.intp]
    rule_slacks: npt.NDArray[np.float64]

    def suspect_rows(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Where a row of ``matrix`` (houses x ``names``, NaN where missing) has a number out
        of its range, not whole, not one of its codes, or missing where it is required, or
        breaks a house rule: a few operations on the whole matrix. The schema says which and
        why; a row not flagged here passes it."""
        # A comparison with NaN is false (numpy warns of none): a missing value breaks no bound.
        bad = (matrix < self.minimum) | (matrix > self.maximum)
        # Refused by the schema even where no bound is (every number has one today, Id too).
        bad |= np.isinf(matrix)
        bad |= self.whole & (matrix != np.trunc(matrix))
        bad = np.where(np.isnan(matrix), self.required, bad)
        for position, choices in self.choices.items():
            column = matrix[:, position]
            bad[:, position] |= ~np.isnan(column) & (column[:, None] != choices).all(axis=1)
        fields = matrix.take(self.rule_fields, axis=1)
        bounds = matrix.take(self.rule_bounds, axis=1)
        broken = rules_broken(fields, bounds, self.rule_slacks)
        suspect: npt.NDArray[np.bool_] = np.any(bad, axis=1) | np.any(broken, axis=1)
        return suspect

    def suspect_row(self, values: Sequence[float]) -> bool:
        """``suspect_rows`` of one row (its numbers as floats, NaN where missing), value by
        value in Python: for one house, what the service gets most, the thirty whole-matrix
        operations cost three times the comparisons (tests hold the two equal)."""
        for value, low, high, whole, required, choices in zip(values, *self._by_field, strict=True):
            if value != value:  # NaN: missing
                if required:
                    return True
            elif (
                not low <= value <= high  # the bounds are finite: an infinity breaks them
                or (whole and value != math.trunc(value))
                or (choices is not None and value not in choices)
            ):
                return True
        # As ``rules_broken``: float64 sums and comparisons, False where either is NaN.
        return any(values[field] > values[bound] + slack for field, bound, slack in self._rules)

    @cached_property
    def _by_field(self) -> tuple[tuple[Any, ...], ...]:
        """Per field, in ``names`` order: its bounds (within the largest floats, so that only
        an infinity lies beyond those of an unbounded field), whether it is whole, required,
        and its codes; made once, for ``suspect_row``."""
        largest = sys.float_info.max
        codes = [self.choices.get(j) for j in range(len(self.names))]
        return (
            tuple(max(low, -largest) for low in self.minimum.tolist()),
            tuple(min(high, largest) for high in self.maximum.tolist()),
            tuple(self.whole.tolist()),
            tuple(self.required.tolist()),
            tuple(None if c is None else frozenset(c.tolist()) for c in codes),
        )

    @cached_property
    def _rules(self) -> tuple[tuple[int, int, float], ...]:
        return tuple(
            zip(
                self.rule_fields.tolist(),
                self.rule_bounds.tolist(),
                self.rule_slacks.tolist(),
                strict=True,
            )
        )


@dataclass(frozen=True)
class TextRules:
    """Allowed values of each text field, ``None`` and ``OMITTED`` included where it may be
    missing."""

    allowed: Mapping[str, frozenset[TextValue]]
    #: Per text field, in ``allowed``'s order, each allowed value's code: its position in the
    #: field's ``BatchLayout.text_choices``.
    codes: tuple[dict[TextValue, int], ...]

    @cached_property
    def code_bytes(self) -> tuple[dict[TextValue, bytes], ...]:
        """``codes`` with each code as one byte, which a batch's codes are joined from
        (``validation._text_codes``): a field has at most ``MAX_CHOICES`` allowed values
        (checked in ``batch_rules``)."""
        return tuple(
            {value: bytes([code]) for value, code in table.items()} for table in self.codes
        )


class PresenceSign(NamedTuple):
    """A field that may say a house has a feature of ``schemas.ZERO_WHEN_NONE``."""

    field: str
    #: The feature's place in ``ZERO_WHEN_NONE``.
    feature: int
    #: Its column in the batch's number matrix, or code matrix where ``text``.
    position: int
    text: bool
    #: A text field's ``OMITTED`` code (not a sign, as its null, code 0, is not).
    omitted: int
    #: A ``THERE_WHEN_GIVEN`` field.
    evidence: bool
    #: A ``ZERO_SAYS_NONE`` detail: given as 0, it says the house has none of the feature.
    zero_says_none: bool = False


@dataclass(frozen=True)
class BatchRules:
    numbers: NumberRules
    texts: TextRules
    known_fields: frozenset[str]
    #: Where a validated batch keeps each field.
    layout: BatchLayout

    def settle_left_out(
        self, numbers: npt.NDArray[np.float64], codes: npt.NDArray[np.intp]
    ) -> list[tuple[int, int]]:
        """The details of a feature a house is said not to have (its kind given as null, or
        its size as 0: ``schemas.ZERO_WHEN_NONE``, ``schemas.NONE_WHEN_ZERO``), in place: its
        size not given (null or left out) 0, then an area or count not given 0 in ``numbers``,
        a grade or kind left out coded as null (none) in ``codes`` (houses x text fields); the
        (house, text field) pairs it coded so."""
        self._zero_sizes_said_none(numbers, codes)
        self._zero_parts_of_none(numbers)
        return self._code_grades_of_none(numbers, codes)

    def _zero_sizes_said_none(
        self, numbers: npt.NDArray[np.float64], codes: npt.NDArray[np.intp]
    ) -> None:
        """A size not given beside its kind given as null: 0, unless a detail of the feature
        says it is there (a grade, an area above 0: a few Ames records have a null kind beside
        a basement), where it stays unknown. A ``THERE_WHEN_GIVEN`` field does not keep it
        unknown: beside a null kind, a garage's year alone is too little to price a typical
        garage (about 10% more), and the record is warned of (``contradictions``)."""
        kinds, kind_sizes = self._kinds
        said_none = (codes.take(kinds, axis=1) == 0) & np.isnan(numbers.take(kind_sizes, axis=1))
        if not said_none.any():
            return
        said_none &= ~self.features_there(self.presence(numbers, codes)[1], details_only=True)
        for house, k in np.argwhere(said_none).tolist():
            numbers[house, kind_sizes[k]] = 0.0

    def presence(
        self, numbers: npt.NDArray[np.float64], codes: npt.NDArray[np.intp]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Where each house's record says it has none of each feature of ``ZERO_WHEN_NONE``
        ((houses x features), in its order), and each of its signs that it has one ((houses x
        ``presence_signs``)).

        None: its size 0 (given so, or settled from a null kind), its kind null (given so, or
        settled from a size of 0) or a detail of ``ZERO_SAYS_NONE`` given as 0. A sign of one:
        its size above 0, a detail of it given other than as none (a grade or kind, an area or
        count above 0: ``NONE_WHEN_ZERO``), or a field of ``THERE_WHEN_GIVEN`` given (a year,
        above 0 when given)."""
        number_signs, text_signs, omitted, kind_signs = self._presence
        sized = numbers.take(number_signs, axis=1)
        coded = codes.take(text_signs, axis=1)
        signs = np.concatenate([sized > 0, (coded != 0) & (coded != omitted)], axis=1)
        none: npt.NDArray[np.bool_] = (sized[:, : kind_signs.size] == 0) | (
            coded.take(kind_signs, axis=1) == 0
        )
        for place, feature in self._zero_signs:
            none[:, feature] |= sized[:, place] == 0
        return none, signs

    def features_there(
        self, signs: npt.NDArray[np.bool_], *, details_only: bool = False
    ) -> npt.NDArray[np.bool_]:
        """Where some sign of ``presence`` says each house has each feature (houses x
        features); with ``details_only``, the ``THERE_WHEN_GIVEN`` fields aside."""
        owners = self.sign_owners[1] if details_only else self.sign_owners[0]
        there: npt.NDArray[np.bool_] = (signs @ owners) > 0
        return there

    def said_both_of_row(self, numbers: Sequence[float], codes: Sequence[int]) -> list[int]:
        """For one house (its numbers and codes as lists), per feature whose record says it
        both has none and has one, the index in ``presence_signs`` of the first sign that it
        has one (a detail's before a ``THERE_WHEN_GIVEN`` field's), else -1: ``presence`` in
        Python, for the one house of most requests (the whole-matrix operations cost several
        times the few comparisons; ``Contradictions`` holds the two equal)."""
        firsts = [-1] * len(ZERO_WHEN_NONE)
        for feature, (size, kind, zeros, signs) in enumerate(self._signs_by_feature):
            if (
                numbers[size] != 0
                and codes[kind] != 0
                and (not zeros or 0 not in map(numbers.__getitem__, zeros))
            ):
                continue
            for index, sign in signs:
                value = codes[sign.position] if sign.text else numbers[sign.position]
                if (value != 0 and value != sign.omitted) if sign.text else value > 0:
                    if not sign.evidence:
                        firsts[feature] = index
                        break
                    if firsts[feature] < 0:
                        firsts[feature] = index
        return firsts

    @cached_property
    def presence_signs(self) -> tuple[PresenceSign, ...]:
        """Every field that may say a house has a feature of ``ZERO_WHEN_NONE``, in the order
        of ``presence``'s signs: the sizes (in its order), the numeric details, the
        ``THERE_WHEN_GIVEN`` fields, then the text details (kinds among them)."""
        layout = self.layout
        features = list(ZERO_WHEN_NONE)
        numbers = [(size, size, False) for size in ZERO_WHEN_NONE]
        numbers += [
            (name, size, False)
            for size, names in NONE_WHEN_ZERO.items()
            for name in names
            if name in layout.number_positions
        ]
        numbers += [
            (name, size, True) for size, names in THERE_WHEN_GIVEN.items() for name in names
        ]
        signs = [
            PresenceSign(
                name,
                features.index(size),
                layout.number_positions[name],
                False,
                0,
                year,
                name in ZERO_SAYS_NONE.get(size, ()),
            )
            for name, size, year in numbers
        ]
        for size, names in NONE_WHEN_ZERO.items():
            for name in names:
                position = layout.text_positions.get(name)
                if position is not None:
                    omitted = layout.text_choices[position].index(OMITTED)
                    signs.append(
                        PresenceSign(name, features.index(size), position, True, omitted, False)
                    )
        return tuple(signs)

    @cached_property
    def _presence(self) -> tuple[npt.NDArray[np.intp], ...]:
        """For ``presence``: the number positions of the signs that are numbers, the text
        positions of the others with each one's ``OMITTED`` code, and each kind's place among
        the text signs."""
        numbers = [sign for sign in self.presence_signs if not sign.text]
        texts = [sign for sign in self.presence_signs if sign.text]
        names = [sign.field for sign in texts]
        return (
            np.array([sign.position for sign in numbers], np.intp),
            np.array([sign.position for sign in texts], np.intp),
            np.array([sign.omitted for sign in texts], np.intp),
            np.array([names.index(kind) for kind in ZERO_WHEN_NONE.values()], np.intp),
        )

    @cached_property
    def _zero_signs(self) -> tuple[tuple[int, int], ...]:
        """For ``presence``: each ``ZERO_SAYS_NONE`` detail's place among the signs that are
        numbers (the first signs), and the feature its 0 says is none."""
        return tuple(
            (i, sign.feature) for i, sign in enumerate(self.presence_signs) if sign.zero_says_none
        )

    @cached_property
    def sign_owners(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """(signs x features): the feature each sign says is there; and the same without the
        ``THERE_WHEN_GIVEN`` fields' signs."""
        signs = self.presence_signs
        owners = np.array(
            [[sign.feature == k for k in range(len(ZERO_WHEN_NONE))] for sign in signs], np.intp
        )
        details = owners * np.array([[not sign.evidence] for sign in signs], np.intp)
        return owners, details

    @cached_property
    def _signs_by_feature(
        self,
    ) -> tuple[tuple[int, int, list[int], list[tuple[int, PresenceSign]]], ...]:
        """For ``said_both_of_row``: per feature, its size's number position, its kind's text
        position, the number positions of its ``ZERO_SAYS_NONE`` details, and its signs with
        their index, in ``presence_signs`` order."""
        layout = self.layout
        return tuple(
            (
                layout.number_positions[size],
                layout.text_positions[kind],
                [layout.number_positions[name] for name in ZERO_SAYS_NONE.get(size, ())],
                [(i, sign) for i, sign in enumerate(self.presence_signs) if sign.feature == k],
            )
            for k, (size, kind) in enumerate(ZERO_WHEN_NONE.items())
        )

    def _zero_parts_of_none(self, numbers: npt.NDArray[np.float64]) -> None:
        """An area or count not given (null or left out) beside its feature's size of 0: 0."""
        _, _, _, parts, part_sizes = self._sizes
        zero = numbers.take(part_sizes, axis=1) == 0
        if zero.any():
            unknown = np.isnan(numbers.take(parts, axis=1)) & zero
            for house, k in np.argwhere(unknown).tolist():
                numbers[house, parts[k]] = 0.0

    def _code_grades_of_none(
        self, numbers: npt.NDArray[np.float64], codes: npt.NDArray[np.intp]
    ) -> list[tuple[int, int]]:
        """A grade or kind left out beside its feature's size of 0 coded as null (none); the
        (house, text field) pairs coded so."""
        texts, text_sizes, omitted, _, _ = self._sizes
        settled = (codes.take(texts, axis=1) == omitted) & (numbers.take(text_sizes, axis=1) == 0)
        if not settled.any():
            return []
        pairs = [(house, int(texts[k])) for house, k in np.argwhere(settled).tolist()]
        for house, field in pairs:
            codes[house, field] = 0  # an optional field's null (``text_choices``)
        return pairs

    @cached_property
    def settled_numbers(self) -> npt.NDArray[np.intp]:
        """The number positions of the sizes, areas and counts ``settle_left_out`` may set to
        0 in a house that leaves nothing out (where one is NaN)."""
        return np.concatenate([self._kinds[1], self._sizes[3]])

    @cached_property
    def _kinds(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """``ZERO_WHEN_NONE`` as arrays: each kind's text position (its null is code 0, as
        every optional field's: ``text_choices``) and its size's number position."""
        layout = self.layout
        return (
            np.array([layout.text_positions[kind] for kind in ZERO_WHEN_NONE.values()], np.intp),
            np.array([layout.number_positions[size] for size in ZERO_WHEN_NONE], np.intp),
        )

    @cached_property
    def _sizes(self) -> tuple[npt.NDArray[np.intp], ...]:
        """``NONE_WHEN_ZERO`` as arrays (its fields among ``presence_signs``): each text
        detail's position, its size's number position and its ``OMITTED`` code; each numeric
        detail's number position and its size's."""
        details = [
            sign
            for sign in self.presence_signs
            if not sign.evidence and sign.field not in ZERO_WHEN_NONE
        ]
        texts = [sign for sign in details if sign.text]
        numbers = [sign for sign in details if not sign.text]
        kind_sizes = self._kinds[1]
        return (
            np.array([sign.position for sign in texts], dtype=np.intp),
            kind_sizes.take([sign.feature for sign in texts]),
            np.array([sign.omitted for sign in texts], dtype=np.intp),
            np.array([sign.position for sign in numbers], dtype=np.intp),
            kind_sizes.take([sign.feature for sign in numbers]),
        )

    @cached_property
    def left_out_texts(self) -> tuple[TextValue, ...]:
        """Per text field, its value when left out of a house: ``OMITTED`` where that differs
        from null (``text_choices``), else None (refused where the field is required)."""
        return tuple(
            OMITTED if OMITTED in choices else None for choices in self.layout.text_choices
        )

    @cached_property
    def read_numbers(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """A row's values of ``numbers.names``, as a tuple, read by one call in C."""
        return itemgetter(*self.numbers.names)

    @cached_property
    def read_texts(self) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        """A row's values of ``layout.text_names``, as a tuple, read by one call in C."""
        return itemgetter(*self.layout.text_names)


def _validator(field: fields.Field[Any], kind: type[Any]) -> Any | None:
    return next((v for v in field.validators if isinstance(v, kind)), None)


@cache
def batch_rules() -> BatchRules:
    """Read the column rules off ``HOUSE_FIELDS`` and the ``Id`` field, once."""
    number_names: list[str] = []
    minimum: list[float] = []
    maximum: list[float] = []
    whole: list[bool] = []
    required: list[bool] = []
    number_choices: dict[int, npt.NDArray[np.float64]] = {}
    text_choices: dict[str, tuple[TextValue, ...]] = {}
    for name, field in {**HOUSE_FIELDS, ID_FIELD: ID_SCHEMA_FIELD}.items():
        one_of = _validator(field, validate.OneOf)
        if isinstance(field, JsonNumber):
            bounds = _validator(field, validate.Range)
            if one_of is not None:
                number_choices[len(number_names)] = np.array(sorted(map(float, one_of.choices)))
            number_names.append(name)
            minimum.append(-math.inf if bounds is None or bounds.min is None else bounds.min)
            maximum.append(math.inf if bounds is None or bounds.max is None else bounds.max)
            whole.append(isinstance(field, WholeNumber))
            required.append(field.required)
        elif isinstance(field, fields.String) and one_of is not None:
            # An optional field may be null (code 0) or left out (the last code), which differ
            # where a null means "none" (``missing.OMITTED``), but for those whose left out is
            # none too (``NONE_WHEN_LEFT_OUT``).
            if field.required:
                text_choices[name] = tuple(one_of.choices)
            elif name in NONE_WHEN_LEFT_OUT:
                text_choices[name] = (None, *one_of.choices)
            else:
                text_choices[name] = (None, *one_of.choices, OMITTED)
        else:  # pragma: no cover - guards the schema against a kind this module cannot check
            raise TypeError(f"no column rule for field {name!r} ({type(field).__name__})")
    where = {name: j for j, name in enumerate(number_names)}
    crowded = [name for name, choices in text_choices.items() if len(choices) > MAX_CHOICES]
    if crowded:  # pragma: no cover - guards the schema against a field this module cannot code
        raise TypeError(f"fields with more than {MAX_CHOICES} allowed values: {crowded}")
    return BatchRules(
        numbers=NumberRules(
            names=tuple(number_names),
            minimum=np.array(minimum),
            maximum=np.array(maximum),
            whole=np.array(whole),
            required=np.array(required),
            choices=number_choices,
            rule_fields=np.array([where[rule.field] for rule in HOUSE_RULES], dtype=np.intp),
            rule_bounds=np.array([where[rule.at_most] for rule in HOUSE_RULES], dtype=np.intp),
            rule_slacks=np.array([rule.slack for rule in HOUSE_RULES], dtype=np.float64),
        ),
        texts=TextRules(
            allowed={name: frozenset(choices) for name, choices in text_choices.items()},
            codes=tuple(
                {value: code for code, value in enumerate(choices)}
                for choices in text_choices.values()
            ),
        ),
        known_fields=KNOWN_FIELDS,
        layout=BatchLayout(
            number_names=tuple(number_names),
            number_positions={name: j for name, j in where.items() if name != ID_FIELD},
            text_names=tuple(text_choices),
            text_positions={name: j for j, name in enumerate(text_choices)},
            text_choices=tuple(text_choices.values()),
        ),
    )


def batch_layout() -> BatchLayout:
    """Where the batches ``validate_batch`` returns keep each field (the same for every one)."""
    return batch_rules().layout
