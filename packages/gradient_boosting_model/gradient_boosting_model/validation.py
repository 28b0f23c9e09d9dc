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
    HouseDetailsSchema,
)

if TYPE_CHECKING:
    import pandas as pd

#: Columns of a validated batch: numbers as float64 (NaN where missing), codes as objects (None).
Columns = dict[str, npt.NDArray[Any]]

Rows = Sequence[Mapping[str, Any]]

_NUMBER_TYPES = frozenset({int, float, type(None)})
_ROW_MESSAGE = "Each house must be a JSON object of house details."


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
        known_fields=frozenset(HOUSE_FIELDS) | {ID_FIELD},
    )


def _number_matrix(
    rows: Rows, names: tuple[str, ...]
) -> tuple[list[list[Any]], npt.NDArray[np.float64] | None]:
    """The numeric fields as a matrix, or ``None`` if any value is not a plain number."""
    values = [[row.get(name) for name in names] for row in rows]
    if not _NUMBER_TYPES.issuperset(map(type, chain.from_iterable(values))):
        return values, None
    try:
        matrix = np.array(values, dtype=np.float64).reshape(len(rows), len(names))
    except OverflowError:  # an int too large for a float: the schema names it
        return values, None
    missing = sum(value is None for value in chain.from_iterable(values))
    if np.count_nonzero(np.isnan(matrix)) != missing:  # a NaN literal, not a missing value
        return values, None
    return values, matrix


def _suspect_number_rows(
    matrix: npt.NDArray[np.float64] | None, rules: NumberRules, n_rows: int
) -> set[int]:
    if matrix is None:  # wrong types somewhere: let the schema look at every row
        return set(range(n_rows))
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


def _text_columns(rows: Rows, rules: TextRules) -> dict[str, list[Any]]:
    """Each text field's values, read off the rows once for checking and for the columns."""
    return {name: [row.get(name) for row in rows] for name in rules.allowed}


def _suspect_text_rows(texts: Mapping[str, list[Any]], rules: TextRules) -> set[int]:
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
    matrix: npt.NDArray[np.float64], texts: Mapping[str, list[Any]], rules: BatchRules
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
        raise InvalidInputError({i: {"_schema": [_ROW_MESSAGE]} for i in not_objects})
    rules = batch_rules()
    values, matrix = _number_matrix(rows, rules.numbers.names)
    suspects = _suspect_number_rows(matrix, rules.numbers, len(rows))
    texts = _text_columns(rows, rules.texts)
    suspects |= _suspect_text_rows(texts, rules.texts)
    suspects.update(i for i, row in enumerate(rows) if not rules.known_fields.issuperset(row))
    if suspects:
        errors = _schema_errors(rows, suspects)
        if errors:
            raise InvalidInputError(errors)
    if matrix is None:  # numbers of other types (numpy scalars) that the schema accepted
        matrix = np.array(
            [[np.nan if v is None else float(v) for v in row] for row in values], dtype=np.float64
        ).reshape(len(rows), len(rules.numbers.names))
    return _columns(matrix, texts, rules)
