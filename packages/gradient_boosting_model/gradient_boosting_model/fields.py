"""Kinds of house detail, as marshmallow fields that accept JSON-shaped values only.

marshmallow's own ``Float`` and ``Integer`` accept numeric strings and ``Integer`` truncates
``2.5`` to ``2``; a client sending either has made a mistake that must be reported, so the
number fields here take JSON numbers only, never strings or booleans. Its ``String`` takes
``bytes`` and decodes them, where the rest of the package reads the value as sent: a code sent
as ``b"NAmes"`` was checked as ``NAmes`` and priced as a code never seen; text fields here take
``str`` only.

Each factory records what the rest of the package needs in the field's ``metadata``:
``description`` (for people and the API spec), ``kind`` (``number``, ``category``, or ``grade``
for the ordered quality codes) and
``absent_means_none`` (Ames records "no basement" etc. as a missing value).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from marshmallow import fields, types, validate

#: Quality grades used by many Ames columns, best first (data_description.txt).
GRADES = ("Ex", "Gd", "TA", "Fa", "Po")

EARLIEST_YEAR = 1800
LATEST_YEAR = 2100


#: The kinds of value JSON carries beside numbers (and a tuple, Python's other list): refused
#: in marshmallow's words, as the API has always said ("Not a valid number.").
_JSON_KINDS = (str, bool, list, dict, tuple, type(None))


#: What a Python caller whose house holds a missing-value marker (``float("nan")``, pandas'
#: ``NA`` or ``NaT``: ``DataFrame.to_dict("records")`` makes them) should send instead.
MISSING_MARKER_MESSAGE = (
    "Not a value but {marker}: send None for a detail not known (a DataFrame passed whole, not "
    "as dicts, has its NaN read as missing)."
)
#: pandas' missing-value markers, by their types' names (pandas is no dependency).
_PANDAS_MARKERS = {"NAType": "pandas NA", "NaTType": "pandas NaT"}


def _missing_marker(value: Any) -> str | None:
    """The name of the missing-value marker ``value`` is (``NaN``, ``pandas NA``), or None."""
    if isinstance(value, float) and math.isnan(value):  # numpy's float64 too
        return "NaN"
    return _PANDAS_MARKERS.get(type(value).__name__)


#: The error messages of a field that refuses missing-value markers (``_refuse_marker``).
_MARKER_MESSAGES: types.ErrorMessages = {"missing_marker": MISSING_MARKER_MESSAGE}


def _refuse_marker(field: fields.Field[Any], value: Any) -> None:
    """Refuse ``value`` if it is a missing-value marker, saying to send None: marshmallow's
    own words ("Special numeric values ...", "Not a valid string.") said nothing of None."""
    marker = _missing_marker(value)
    if marker is not None:
        raise field.make_error("missing_marker", marker=marker)


class JsonNumber(fields.Float):
    """A finite number (a JSON int or float, or a numpy one); strings and booleans are refused.

    A Python value JSON cannot carry (a ``Decimal``, a ``datetime``, pandas' ``NaT`` or ``NA``
    in a dict) is refused with what a number must be, by its type's name: "Not a valid
    number." for a ``Decimal``, a number to anyone, left a Python caller guessing (a
    DataFrame's ``Decimal`` values are read as floats, ``frames.json_records``; a dict's are
    not, as the package README says).
    """

    default_error_messages: types.ErrorMessages = {  # noqa: RUF012
        "not_json": "Not a valid number: a number must be an int or a float, not a {kind}.",
        **_MARKER_MESSAGES,
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        _refuse_marker(self, value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return super()._deserialize(value, attr, data, **kwargs)
        if isinstance(value, _JSON_KINDS):
            raise self.make_error("invalid")
        raise self.make_error("not_json", kind=type(value).__name__)


class WholeNumber(JsonNumber):
    """A JSON number with no fractional part: ``3`` and ``3.0`` pass, ``2.5`` does not."""

    default_error_messages: types.ErrorMessages = {"not_whole": "Not a whole number."}  # noqa: RUF012

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        number = super()._deserialize(value, attr, data, **kwargs)
        if not math.isfinite(number) or not number.is_integer():
            raise self.make_error("not_whole")
        return number


class JsonText(fields.String):
    """A JSON string: ``str`` only (``bytes``, which JSON has not, are refused, not decoded)."""

    default_error_messages: types.ErrorMessages = _MARKER_MESSAGES

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            _refuse_marker(self, value)
            raise self.make_error("invalid")
        return value


def _metadata(description: str, kind: str, *, absent_means_none: bool = False) -> dict[str, Any]:
    return {"description": description, "kind": kind, "absent_means_none": absent_means_none}


def _presence(required: bool) -> dict[str, Any]:
    """Required fields may be neither absent nor null; the others may be either."""
    return {"required": required, "allow_none": not required}


def category(
    description: str,
    *,
    choices: tuple[str, ...],
    absent_means_none: bool = False,
    required: bool = False,
) -> fields.Field[Any]:
    """A code from a fixed list, as spelled in the Ames data."""
    return JsonText(
        validate=validate.OneOf(choices),
        metadata=_metadata(description, "category", absent_means_none=absent_means_none),
        **_presence(required),
    )


def grade(description: str, *, absent_means_none: bool = False) -> fields.Field[Any]:
    """A quality grade, ``Ex`` (excellent) to ``Po`` (poor)."""
    return JsonText(
        validate=validate.OneOf(GRADES),
        metadata=_metadata(description, "grade", absent_means_none=absent_means_none),
        **_presence(False),
    )


def dwelling_code(description: str, *, choices: tuple[int, ...]) -> fields.Field[Any]:
    """A numeric code that names a class of dwelling: a category, not a quantity."""
    return WholeNumber(
        validate=validate.OneOf(choices),
        metadata=_metadata(description, "category"),
        **_presence(False),
    )


def _bounded(
    field_class: type[JsonNumber],
    description: str,
    minimum: float,
    maximum: float,
    required: bool,
) -> fields.Field[Any]:
    return field_class(
        validate=validate.Range(min=minimum, max=maximum),
        metadata=_metadata(description, "number"),
        **_presence(required),
    )


def area(description: str, *, maximum: float, required: bool = False) -> fields.Field[Any]:
    """A length or area in feet or square feet: never negative."""
    return _bounded(JsonNumber, description, 0, maximum, required)


def dollars(description: str, *, maximum: float) -> fields.Field[Any]:
    """A value in dollars: never negative."""
    return _bounded(JsonNumber, description, 0, maximum, False)


def count(description: str, *, maximum: int) -> fields.Field[Any]:
    """A number of rooms, baths or cars."""
    return _bounded(WholeNumber, description, 0, maximum, False)


def rating(description: str, *, required: bool = False) -> fields.Field[Any]:
    """A rating from 1 (very poor) to 10 (very excellent)."""
    return _bounded(WholeNumber, description, 1, 10, required)


def month(description: str) -> fields.Field[Any]:
    """A calendar month, 1 to 12."""
    return _bounded(WholeNumber, description, 1, 12, False)


def year(
    description: str, *, maximum: int = LATEST_YEAR, required: bool = False
) -> fields.Field[Any]:
    """A calendar year in a plausible range."""
    return _bounded(WholeNumber, description, EARLIEST_YEAR, maximum, required)
