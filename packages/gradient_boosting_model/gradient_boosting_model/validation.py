"""Validate a batch of house details against ``HouseDetailsSchema``, whole columns at a time.

marshmallow checks one row at a time, in Python, which costs about as much per row as the model
itself. So the batch is first checked column by column with rules read off the schema's own fields
(their types, ``Range`` and ``OneOf`` validators, and ``required``); only the rows that fail are
handed to the schema, whose messages are the ones reported. A batch with any invalid row is
refused whole (``InvalidInputError``): rows are never dropped.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import numpy.typing as npt
from marshmallow import ValidationError, fields, validate

from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.fields import JsonNumber, WholeNumber
from gradient_boosting_model.schemas import (
    HOUSE_FIELDS,
    HOUSE_RULES,
    ID_FIELD,
    ID_SCHEMA_FIELD,
    KNOWN_FIELDS,
    HouseDetailsSchema,
)

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a validated batch: numbers as float64 (NaN where missing), codes as objects (None).
Columns = dict[str, npt.NDArray[Any]]

Rows = Sequence[Mapping[str, Any]]

_NUMBER_TYPES = frozenset({int, float, type(None)})
_FLOAT_MAX = sys.float_info.max
#: The message of a house that is not a JSON object.
ROW_MESSAGE = "Each house must be a JSON object of house details."


@dataclass(frozen=True)
class NumberRules:
    """Vectorised bounds of the numeric fields, in ``names`` order."""

    names: tuple[str, ...]
    minimum: npt.NDArray[np.float64]
    maximum: npt.NDArray[np.float64]
    whole: npt.NDArray[np.bool_]
    required: npt.NDArray[np.bool_]
    #: Allowed values of numeric codes (such as MSSubClass), by column position.
    choices: Mapping[int, frozenset[float]]


@dataclass(frozen=True)
class TextRules:
    """Allowed values of each text field, ``None`` included where it may be missing."""

    allowed: Mapping[str, frozenset[str | None]]


@dataclass(frozen=True)
class BatchRules:
    numbers: NumberRules
    texts: TextRules
    known_fields: frozenset[str]


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
    number_choices: dict[int, frozenset[float]] = {}
    allowed: dict[str, frozenset[str | None]] = {}
    for name, field in {**HOUSE_FIELDS, ID_FIELD: ID_SCHEMA_FIELD}.items():
        one_of = _validator(field, validate.OneOf)
        if isinstance(field, JsonNumber):
            bounds = _validator(field, validate.Range)
            if one_of is not None:
                number_choices[len(number_names)] = frozenset(float(c) for c in one_of.choices)
            number_names.append(name)
            minimum.append(-math.inf if bounds is None or bounds.min is None else bounds.min)
            maximum.append(math.inf if bounds is None or bounds.max is None else bounds.max)
            whole.append(isinstance(field, WholeNumber))
            required.append(field.required)
        elif isinstance(field, fields.String) and one_of is not None:
            missing: set[str | None] = set() if field.required else {None}
            allowed[name] = frozenset(one_of.choices) | missing
        else:  # pragma: no cover - guards the schema against a kind this module cannot check
            raise TypeError(f"no column rule for field {name!r} ({type(field).__name__})")
    return BatchRules(
        numbers=NumberRules(
            names=tuple(number_names),
            minimum=np.array(minimum),
            maximum=np.array(maximum),
            whole=np.array(whole),
            required=np.array(required),
            choices=number_choices,
        ),
        texts=TextRules(allowed=allowed),
        known_fields=KNOWN_FIELDS,
    )


def _is_plain_number(value: Any) -> bool:
    """A JSON number a float holds (or null): not a string, bool, NaN or endless integer."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    return value is None or (kind is int and -_FLOAT_MAX <= value <= _FLOAT_MAX)


@dataclass(frozen=True)
class RowValues:
    """The values of a batch's known fields, read off each row once."""

    #: Each row's numeric values, in ``NumberRules.names`` order (``None`` where missing).
    numbers: list[tuple[Any, ...]]
    #: Each text field's values, a column.
    texts: dict[str, tuple[Any, ...]]
    #: Rows with a field the schema does not know.
    unknown: set[int]


def _read_rows(rows: Rows, rules: BatchRules) -> RowValues:
    """Read each row's known fields. A dict that has all of them (as test.csv's rows do) is read
    by one call in C a kind; another row field by field (a client may leave details out)."""
    number_names, text_names = rules.numbers.names, tuple(rules.texts.allowed)
    take_numbers, take_texts = itemgetter(*number_names), itemgetter(*text_names)
    known, n_known = rules.known_fields, len(rules.known_fields)
    numbers: list[tuple[Any, ...]] = []
    texts: list[tuple[Any, ...]] = []
    unknown: set[int] = set()
    for i, row in enumerate(rows):
        try:
            if type(row) is not dict:  # another Mapping's [] may not be a plain lookup
                raise KeyError
            row_numbers, row_texts = take_numbers(row), take_texts(row)
        except KeyError:
            row_numbers = tuple(map(row.get, number_names))
            row_texts = tuple(map(row.get, text_names))
            if not known.issuperset(row):
                unknown.add(i)
        else:  # every known field is there: any other is unknown
            if len(row) != n_known:
                unknown.add(i)
        numbers.append(row_numbers)
        texts.append(row_texts)
    columns = zip(*texts, strict=True)  # every row has a value of every text field
    return RowValues(numbers, dict(zip(text_names, columns, strict=True)), unknown)


def _number_matrix(
    values: list[tuple[Any, ...]], n_names: int
) -> tuple[npt.NDArray[np.float64], set[int]]:
    """The numeric values as a matrix, and the rows with a value that is not a plain number.

    Those rows are NaN in the matrix: the schema looks at them. A row of other types (a string,
    a bool) is found by its types; a NaN literal or an endless integer, rarer, by a second look
    at each value, made only when the matrix says there is one.
    """
    odd = {i for i, row in enumerate(values) if not _NUMBER_TYPES.issuperset(map(type, row))}
    matrix = _matrix(values, n_names, odd)
    if matrix is None or np.count_nonzero(np.isnan(matrix)) != _nones(values, odd):
        odd |= {i for i, row in enumerate(values) if not all(map(_is_plain_number, row))}
        matrix = _matrix(values, n_names, odd)
    assert matrix is not None  # every value left is a plain number
    return matrix, odd


def _matrix(
    values: list[tuple[Any, ...]], n_names: int, blank_rows: set[int]
) -> npt.NDArray[np.float64] | None:
    """``values`` as floats (None as NaN), ``blank_rows`` all NaN; ``None`` if an int is too
    large for a float."""
    blank = (math.nan,) * n_names
    rows = (
        [blank if i in blank_rows else row for i, row in enumerate(values)]
        if blank_rows
        else values
    )
    try:
        return np.array(rows, dtype=np.float64).reshape(len(values), n_names)
    except OverflowError:
        return None


def _nones(values: list[tuple[Any, ...]], blank_rows: set[int]) -> int:
    """How many values are None, a blank row counting all of its values."""
    n_names = len(values[0]) if values else 0
    kept = chain.from_iterable(row for i, row in enumerate(values) if i not in blank_rows)
    return list(kept).count(None) + len(blank_rows) * n_names


def _suspect_number_rows(matrix: npt.NDArray[np.float64], rules: NumberRules) -> set[int]:
    with np.errstate(invalid="ignore"):
        bad = (matrix < rules.minimum) | (matrix > rules.maximum)
        bad |= rules.whole & (matrix != np.trunc(matrix)) & ~np.isnan(matrix)
    bad |= rules.required & np.isnan(matrix)
    for position, choices in rules.choices.items():
        column = matrix[:, position]
        bad[:, position] |= ~np.isnan(column) & ~np.isin(column, list(choices))
    suspect = bad.any(axis=1)
    where = {name: j for j, name in enumerate(rules.names)}
    for rule in HOUSE_RULES:
        suspect |= ~rule.holds(matrix[:, where[rule.field]], matrix[:, where[rule.at_most]])
    return set(np.flatnonzero(suspect).tolist())


def _suspect_text_rows(texts: Mapping[str, Sequence[Any]], rules: TextRules) -> set[int]:
    suspects: set[int] = set()
    for name, allowed in rules.allowed.items():
        column = texts[name]
        try:
            if allowed.issuperset(column):
                continue
        except TypeError:  # an unhashable value (a list, an object)
            pass
        suspects.update(i for i, value in enumerate(column) if not _is_allowed(value, allowed))
    return suspects


def _is_allowed(value: Any, allowed: frozenset[str | None]) -> bool:
    return (value is None or isinstance(value, str)) and value in allowed


def _schema_errors(rows: Rows, suspects: Iterable[int]) -> dict[int, dict[str, list[str]]]:
    schema = HouseDetailsSchema()
    errors: dict[int, dict[str, list[str]]] = {}
    for index in sorted(suspects):
        try:
            schema.load(rows[index])
        except ValidationError as error:
            errors[index] = _flatten(error.messages)
    return errors


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        return {str(k): v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return {"_schema": list(messages) if isinstance(messages, list) else [str(messages)]}


def _columns(
    matrix: npt.NDArray[np.float64], texts: Mapping[str, Sequence[Any]], rules: BatchRules
) -> Columns:
    columns: Columns = {
        name: matrix[:, j] for j, name in enumerate(rules.numbers.names) if name != ID_FIELD
    }
    for name, values in texts.items():
        column = np.empty(len(values), dtype=object)
        column[:] = values
        columns[name] = column
    return columns


def _is_frame(houses: object) -> TypeGuard[pd.DataFrame]:
    """A DataFrame, without importing pandas (40 MB a process) for callers that send lists."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(houses, pandas.DataFrame)


def _frame_rows(frame: pd.DataFrame) -> Rows:
    from gradient_boosting_model.frames import json_records  # pandas is loaded already

    return json_records(frame)


def validate_inputs(houses: Rows | pd.DataFrame) -> Columns:
    """Check a batch of house details; return it as columns ready for the pipeline.

    Parameters
    ----------
    houses
        A list of dicts keyed by Kaggle column name (``None`` for missing), or a DataFrame
        with those columns (NaN for missing). ``Id`` is accepted and ignored.

    Raises
    ------
    InvalidInputError
        If the batch is empty, or any row has an unknown field, a value of the wrong type,
        out of range, not one of the allowed codes, or lacks a required field. Its ``errors``
        map every bad row index to every bad field and the schema's messages.
    """
    rows = _frame_rows(houses) if _is_frame(houses) else houses
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Sequence):
        raise InvalidInputError({}, "houses must be a list of house-detail objects")
    if len(rows) == 0:
        raise InvalidInputError({}, "no houses given: send at least one")
    not_objects = {i for i, row in enumerate(rows) if not isinstance(row, Mapping)}
    if not_objects:
        raise InvalidInputError({i: {"_schema": [ROW_MESSAGE]} for i in not_objects})
    rules = batch_rules()
    read = _read_rows(rows, rules)
    matrix, odd_rows = _number_matrix(read.numbers, len(rules.numbers.names))
    suspects = odd_rows | read.unknown | _suspect_number_rows(matrix, rules.numbers)
    suspects |= _suspect_text_rows(read.texts, rules.texts)
    if suspects:
        errors = _schema_errors(rows, suspects)
        if errors:
            raise InvalidInputError(errors)
    for i in odd_rows:  # numbers of other types (numpy scalars) that the schema accepted
        matrix[i] = [np.nan if v is None else float(v) for v in read.numbers[i]]
    return _columns(matrix, read.texts, rules)
