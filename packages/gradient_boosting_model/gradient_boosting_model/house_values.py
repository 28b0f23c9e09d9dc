"""The values of a few fields over many JSON-shaped houses, read without validating them.

For measures over houses the model has already accepted (``drift``): only the fields asked for
are read, a field at a time, but a value of the wrong type is still refused, naming its row
and field, in the words ``make_prediction`` refuses it in: a NaN too, which is no JSON number
(a missing value is ``None``; a DataFrame's NaN is a null only as ``frames.json_records`` makes
it one). A field a house leaves out (no key) is not read as a null: a null is a value (a
missing one, as in training), a field left out is a detail the client did not send, which says
nothing of the house (``missing``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from operator import countOf, itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt
from marshmallow import ValidationError

from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.fields import JsonNumber, JsonText
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.validation import ROW_MESSAGE

#: JSON-shaped houses: a mapping each, ``None`` for a missing value, no key for one left out.
Houses = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class GivenValues:
    """One field's values over a batch of houses, of the houses that give it (a key, its value
    null or not)."""

    values: list[Any]
    #: The row, within the batch, of each value; ``None`` when every house gives the field.
    rows: list[int] | None = None

    def named_rows(self, error: InvalidInputError) -> InvalidInputError:
        """``error`` (of rows numbered within ``values``) with the rows numbered within the
        batch."""
        if self.rows is None:
            return error
        rows = self.rows
        renumbered = {rows[row]: fields for row, fields in error.errors.items()}
        return InvalidInputError(renumbered, complete=error.complete)


def read_values(houses: Houses, names: Sequence[str]) -> list[GivenValues]:
    """The values of each of ``names`` over the ``houses`` that give it, a list each.

    A field at a time, looked up in C (``map``): for 100k houses this is most of the time, and
    a tuple a house would cost as much again in garbage collection.

    Raises
    ------
    InvalidInputError
        If a house is not a mapping.
    """
    if houses and set(map(type, houses)) != {dict}:
        # Another mapping's [] may do more than look up: a defaultdict's adds the field it
        # lacks (a probe's: drift of a defaultdict house gave it 15 nulls, and its next price
        # changed). Each is read as a dict of what it holds.
        houses = [dict(house) if isinstance(house, Mapping) else house for house in houses]
    try:
        return [_column(houses, name) for name in names]
    except (TypeError, AttributeError):  # a house that is no mapping
        bad = {
            i: {"_schema": [ROW_MESSAGE]}
            for i, h in enumerate(houses)
            if not isinstance(h, Mapping)
        }
        raise InvalidInputError(bad) from None


def _column(houses: Houses, name: str) -> GivenValues:
    try:
        return GivenValues(list(map(itemgetter(name), houses)))
    except KeyError:  # some house leaves the field out
        # keys(): a house that is no mapping fails here as it would above (a string would
        # answer ``in`` by its letters).
        rows = [row for row, house in enumerate(houses) if name in house.keys()]  # noqa: SIM118
        return GivenValues([houses[row][name] for row in rows], rows)


def as_numbers(
    values: Sequence[Any] | npt.NDArray[Any], field: str, *, sent: bool = True
) -> npt.NDArray[np.float64]:
    """``values`` of the number field ``field`` as floats, NaN where missing.

    Parameters
    ----------
    values
        The field's values.
    field
        The field, named in a refusal.
    sent
        Whether ``values`` are as houses send them (JSON-shaped: ``None`` for a missing
        value), where a NaN is no JSON number, and is refused as ``make_prediction`` refuses
        it; or else a validated column's (training's), where NaN is missing.

    Raises
    ------
    InvalidInputError
        If a value is not a number or ``None`` (text and ``bool`` too, which numpy would read
        as numbers and the schema refuses), or is infinite or beyond a float, or, ``sent``, is
        NaN; it names each such row in the schema's words.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind not in "fiu":
        values = values.tolist()  # objects, texts, booleans: each value is looked at
    if not isinstance(values, np.ndarray) and not all(map(_is_number_kind, set(map(type, values)))):
        raise refused_values(values, field, sent=sent)
    try:
        found = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as error:
        raise refused_values(values, field, sent=sent) from error
    if found.ndim != 1:  # every value a list of numbers, which numpy reads as rows
        raise refused_values(values, field, sent=sent)
    if np.isinf(found).any():  # no house's value
        raise refused_values(values, field, sent=sent)
    if sent:
        nans = int(np.count_nonzero(np.isnan(found)))
        # Every value is a number or None here: counting the Nones compares none unsafely.
        if nans and (isinstance(values, np.ndarray) or nans != countOf(values, None)):
            raise refused_values(values, field, sent=sent)
    return found


@functools.cache
def _is_number_kind(kind: type) -> bool:
    """Whether values of ``kind`` are numbers or missing: ``None``, and what ``JsonNumber``
    takes (Python's and numpy's ints and floats; not ``bool``, an ``int`` to Python)."""
    return kind is type(None) or (issubclass(kind, Real) and not issubclass(kind, bool))


@functools.cache
def _type_check(field: str) -> JsonNumber | JsonText:
    """The schema's field of ``field``'s type alone (a number, or a text), null allowed: drift
    refuses what is not of a field's type in the schema's words, and counts the rest (a code
    not allowed, a number out of range: a change in the houses it measures)."""
    if isinstance(HOUSE_FIELDS[field], JsonText):
        return JsonText(allow_none=True)
    return JsonNumber(allow_none=True)


def value_fault(value: Any, field: str, *, sent: bool) -> str | None:
    """What the schema says of ``value``'s type as a value of ``field``, ``None`` if nothing;
    unless ``sent``, a NaN is missing (a validated column's)."""
    if not sent and isinstance(value, float | np.floating) and math.isnan(value):
        return None
    check = _type_check(field)
    if _plainly_of(value, check):  # a code never seen, in a batch of many: no schema call
        return None
    try:
        check.deserialize(value)
    except ValidationError as error:
        return str(error.messages[0])
    return None


def _plainly_of(value: Any, check: JsonNumber | JsonText) -> bool:
    """Whether ``value`` is plainly of ``check``'s type: a ``str`` for a text, a finite
    ``float`` or an ``int`` far from a float's end for a number."""
    if isinstance(check, JsonText):
        return type(value) is str
    kind = type(value)
    return (kind is float and math.isfinite(value)) or (kind is int and value.bit_length() < 1000)


def refused_values(
    values: Sequence[Any] | npt.NDArray[Any], field: str, *, sent: bool = True
) -> InvalidInputError:
    """The error naming each row whose value is not of ``field``'s type, in the schema's words
    (``make_prediction``'s: a NaN sent is "Special numeric values (nan or infinity) are not
    permitted." in a number field, "Not a valid string." in a text one); see ``as_numbers``
    for ``sent``."""
    faults = {row: value_fault(value, field, sent=sent) for row, value in enumerate(values)}
    return InvalidInputError({row: {field: [fault]} for row, fault in faults.items() if fault})
