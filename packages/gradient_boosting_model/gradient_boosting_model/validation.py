"""Validate a batch of house details against ``HouseDetailsSchema``, whole columns at a time.

marshmallow checks one row at a time, in Python, which costs about as much per row as the model
itself. So the batch is first checked column by column with rules read off the schema's own fields
(their types, ``Range`` and ``OneOf`` validators, and ``required``); only the rows that fail are
handed to the schema, whose messages are the ones reported. A batch with any invalid row is
refused whole (``InvalidInputError``): rows are never dropped.

The rules come off the schema once (``batch_rules``). A text value is checked by looking up its
code (its position among its field's allowed values), so the check also codes the batch's texts.
``validate_batch`` returns the batch as it was read (``HouseBatch``: a matrix of the numbers, the
texts as sent and their codes), which ``make_prediction`` prices; ``validate_inputs`` the same as
a dict of columns, which the fitted pipeline takes.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import chain, islice
from operator import index as whole_number
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import numpy.typing as npt
from marshmallow import ValidationError

from gradient_boosting_model.batch_rules import BatchRules, NumberRules, TextRules, batch_rules
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.house_batch import Columns, HouseBatch
from gradient_boosting_model.missing import OMITTED, TextValue
from gradient_boosting_model.schemas import HouseDetailsSchema

if TYPE_CHECKING:
    import pandas as pd

Rows = Sequence[Mapping[str, Any]]

_NUMBER_TYPES = frozenset({int, float, type(None)})
_FLOAT_MAX = sys.float_info.max
#: The message of a house that is not a JSON object.
ROW_MESSAGE = "Each house must be a JSON object of house details."


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
    #: Each row's text values, in ``TextRules.allowed``'s order.
    texts: list[tuple[Any, ...]]
    #: Rows with a field the schema does not know.
    unknown: set[int]
    #: Whether every row has every known field (none left out).
    complete: bool


def _read_rows(rows: Rows, rules: BatchRules, *, plain_dicts: bool) -> RowValues:
    """Read each row's known fields. A batch of dicts (``plain_dicts``) that have all of them
    (as test.csv's rows do) is read by one call in C a row and kind; otherwise row by row, field
    by field (a client may leave details out: a number left out is None, as a null, a text
    field ``OMITTED``, which differs from a null where a null means "none")."""
    number_names, text_names = rules.numbers.names, rules.layout.text_names
    take_numbers, take_texts = rules.read_numbers, rules.read_texts
    known, n_known = rules.known_fields, len(rules.known_fields)
    try:
        if not plain_dicts:  # another Mapping's [] may not be a plain lookup
            raise KeyError
        numbers: list[tuple[Any, ...]] = list(map(take_numbers, rows))
        texts: list[tuple[Any, ...]] = list(map(take_texts, rows))
    except KeyError:
        numbers, texts, unknown = [], [], set()
        left_out = rules.left_out_texts  # not null, for most text fields (``missing``)
        for i, row in enumerate(rows):
            numbers.append(tuple(map(row.get, number_names)))
            texts.append(tuple(map(row.get, text_names, left_out)))
            if not known.issuperset(row):
                unknown.add(i)
        return RowValues(numbers, texts, unknown, complete=False)
    # Every known field is in every row: any other is unknown.
    unknown = {i for i, size in enumerate(map(len, rows)) if size != n_known}
    return RowValues(numbers, texts, unknown, complete=True)


def _all_plain_dicts(rows: Rows) -> bool:
    return set(map(type, rows)) == {dict}


def _number_matrix(
    values: list[tuple[Any, ...]], n_names: int
) -> tuple[npt.NDArray[np.float64], set[int]]:
    """The numeric values as a matrix, and the rows with a value that is not a plain number.

    Those rows are NaN in the matrix: the schema looks at them. A row of other types (a string,
    a bool) is found by its types (looked at row by row only when the batch holds any); a NaN
    literal or an endless integer, rarer, by a second look at each value, made only when the
    matrix says there is one. The values are read as one flat list, whose types are checked in
    one pass and which numpy converts in another; a NaN in the matrix is then looked up in the
    list, where a ``None`` made it (test.csv: 330 of its 54,000 numbers; counting the ``None``s
    was a pass over them all).
    """
    flat = values[0] if len(values) == 1 else list(chain.from_iterable(values))
    odd: set[int] = set()
    if not _NUMBER_TYPES.issuperset(map(type, flat)):
        odd = {i for i, row in enumerate(values) if not _NUMBER_TYPES.issuperset(map(type, row))}
    matrix = _matrix(values, n_names, odd) if odd else _plain_matrix(flat, n_names)
    if matrix is None or not _nans_are_nones(matrix, flat, odd):
        odd |= {i for i, row in enumerate(values) if not all(map(_is_plain_number, row))}
        matrix = _matrix(values, n_names, odd)
    assert matrix is not None  # every value left is a plain number
    return matrix, odd


def _plain_matrix(flat: Sequence[Any], n_names: int) -> npt.NDArray[np.float64] | None:
    """``flat`` (ints, floats and ``None``s, row after row) as a matrix of ``n_names`` columns,
    ``None`` as NaN; ``None`` if an int is too large for a float."""
    try:
        return np.array(flat, dtype=np.float64).reshape(-1, n_names)
    except OverflowError:
        return None


def _nans_are_nones(
    matrix: npt.NDArray[np.float64], flat: Sequence[Any], blank_rows: AbstractSet[int]
) -> bool:
    """Whether each NaN of ``matrix`` outside ``blank_rows`` is a ``None`` of ``flat`` (its
    values, row after row), not a NaN literal: looked up where the NaNs are."""
    missing = np.isnan(matrix)
    if not np.count_nonzero(missing):  # for one house, a call less than missing.any()'s
        return True
    nan_at = np.flatnonzero(missing).tolist()
    if blank_rows:
        n_names = matrix.shape[1]
        nan_at = [at for at in nan_at if at // n_names not in blank_rows]
    return list(map(flat.__getitem__, nan_at)).count(None) == len(nan_at)


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


def _suspect_number_rows(matrix: npt.NDArray[np.float64], rules: NumberRules) -> set[int]:
    """Rows with a number out of its range, not whole, not one of its codes, or missing where
    it is required, or breaking a house rule (``NumberRules.suspect_rows``)."""
    if len(matrix) == 1:
        return {0} if rules.suspect_row(matrix[0].tolist()) else set()
    return set(np.flatnonzero(rules.suspect_rows(matrix)).tolist())


def _text_codes(texts: list[tuple[Any, ...]], rules: TextRules) -> npt.NDArray[np.intp] | None:
    """Each text value's code (``TextRules.codes``), (rows x text fields), looked up in C;
    ``None`` if a value has none (it is not allowed, or not even hashable).

    One house's values are looked up in one pass. A batch's are looked up column by column,
    each column by one ``itemgetter`` call on its field's codes as bytes (``code_bytes``),
    joined into one buffer that numpy reads as it is: validating 1459 houses takes a tenth less
    time than with each code made an int.
    """
    rows, fields = len(texts), len(rules.codes)
    try:
        if rows == 1:
            found = map(dict.__getitem__, rules.codes, texts[0])
            return np.fromiter(found, dtype=np.intp, count=fields).reshape(1, fields)
        # An itemgetter of one key gives a value, not a tuple: rows >= 2 here.
        columns = zip(*texts, strict=True)
        joined = b"".join(
            [
                b"".join(itemgetter(*column)(codes))
                for codes, column in zip(rules.code_bytes, columns, strict=True)
            ]
        )
    except (KeyError, TypeError):
        return None
    codes = np.frombuffer(joined, dtype=np.uint8)
    return codes.reshape(fields, rows).T.astype(np.intp, order="C")


def _suspect_text_rows(texts: list[tuple[Any, ...]], rules: TextRules) -> set[int]:
    """Rows with a value not among its field's allowed ones, in a column that has any."""
    suspects: set[int] = set()
    columns = zip(*texts, strict=True)  # every row has a value of every text field
    for column, allowed in zip(columns, rules.allowed.values(), strict=True):
        try:
            if allowed.issuperset(column):
                continue
        except TypeError:  # an unhashable value (a list, an object)
            pass
        suspects.update(i for i, value in enumerate(column) if not _is_allowed(value, allowed))
    return suspects


def _is_allowed(value: Any, allowed: frozenset[TextValue]) -> bool:
    return (value is None or value is OMITTED or isinstance(value, str)) and value in allowed


def coded_texts(texts: list[tuple[Any, ...]]) -> tuple[npt.NDArray[np.intp], bool]:
    """The codes of rows of text values the schema accepted (``HouseBatch.text_codes``), as
    ``validate_batch`` codes them, and whether some value has none (coded -1)."""
    rules = batch_rules().texts
    codes = _text_codes(texts, rules)
    return (codes, False) if codes is not None else (_coded_beyond(texts, rules), True)


def _coded_beyond(texts: list[tuple[Any, ...]], rules: TextRules) -> npt.NDArray[np.intp]:
    """The codes of a batch the schema accepted with a text value that has none (bytes, which
    marshmallow decodes; the model takes them as sent: codes it never saw): -1 for such a
    value."""
    codes = np.empty((len(texts), len(rules.codes)), dtype=np.intp)
    for i, row in enumerate(texts):
        for field, value in enumerate(row):
            try:
                codes[i, field] = rules.codes[field].get(value, -1)
            except TypeError:  # pragma: no cover - the schema accepts no unhashable text
                codes[i, field] = -1
    return codes


def _schema_errors(
    rows: Rows, suspects: Iterable[int], known: AbstractSet[str], max_errors: int | None = None
) -> tuple[dict[int, dict[str, list[str]]], bool]:
    """The schema's errors of the ``suspects`` rows, first row first, stopping once the rows
    described hold ``max_errors`` invalid fields; and whether every suspect was looked at whole.
    (The schema takes about 0.2 ms a row, 0.7 ms one with every field wrong: 3.4 s for 5000 such
    rows.) With ``max_errors``, a row is described with only its first ``max_errors`` fields
    that are not ``known``: one house of 450,000 unknown fields took 5 s to describe whole."""
    schema = HouseDetailsSchema()
    errors: dict[int, dict[str, list[str]]] = {}
    fields = 0
    whole = True
    for index in sorted(suspects):
        if max_errors is not None and fields >= max_errors:
            return errors, False
        row = rows[index]
        if max_errors is not None and sum(field not in known for field in row) > max_errors:
            row, whole = _fewer_unknown(row, known, max_errors), False
        try:
            schema.load(row)
        except ValidationError as error:
            errors[index] = _unknown_in_row_order(_flatten(error.messages), row, known)
            fields += len(errors[index])
    return errors, whole


def _unknown_in_row_order(
    described: dict[str, list[str]], row: Mapping[str, Any], known: AbstractSet[str]
) -> dict[str, list[str]]:
    """``described`` with its unknown fields after the others, in the row's order: the schema
    names them from a set, in an order that changed from one process to the next."""
    unknown = [field for field in row if field not in known and field in described]
    return {
        **{field: messages for field, messages in described.items() if field in known},
        **{field: described[field] for field in unknown},
        **{field: m for field, m in described.items() if field not in known and field not in row},
    }


def _fewer_unknown(row: Mapping[str, Any], known: AbstractSet[str], keep: int) -> dict[str, Any]:
    """``row``'s known fields, and the first ``keep`` of its others."""
    fewer = {field: value for field, value in row.items() if field in known}
    unknown = ((field, value) for field, value in row.items() if field not in known)
    fewer.update(islice(unknown, keep))
    return fewer


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, Mapping):
        return {str(k): v if isinstance(v, list) else [str(v)] for k, v in messages.items()}
    return {"_schema": list(messages) if isinstance(messages, list) else [str(messages)]}


def _is_frame(houses: object) -> TypeGuard[pd.DataFrame]:
    """A DataFrame, without importing pandas (40 MB a process) for callers that send lists."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(houses, pandas.DataFrame)


def _frame_rows(frame: pd.DataFrame) -> Rows:
    from gradient_boosting_model.frames import json_records  # pandas is loaded already

    return json_records(frame)


def validate_inputs(houses: Rows | pd.DataFrame) -> Columns:
    """Check a batch of house details (``validate_batch``); return it as columns ready for the
    fitted pipeline."""
    return validate_batch(houses).columns()


def _error_count(max_errors: Any) -> int:
    """``max_errors`` as an ``int``, or a ``TypeError`` naming it (1.5 listed 2 rows, ``True``
    1, and ``"2"`` raised a bare comparison error)."""
    refused = TypeError(f"max_errors must be a whole number, not {max_errors!r}")
    if isinstance(max_errors, bool):
        raise refused
    try:
        return whole_number(max_errors)
    except TypeError:
        raise refused from None


def validate_batch(houses: Rows | pd.DataFrame, *, max_errors: int | None = None) -> HouseBatch:
    """Check a batch of house details; return it as read: a matrix of the numbers, the texts as
    sent and their codes.

    Parameters
    ----------
    houses
        A list of dicts keyed by Kaggle column name (``None`` for missing; a NaN is no JSON
        number, and is refused for its row and field), or a DataFrame
        with those columns (NaN for missing, and the text ``NA``: a null, as in the Ames files,
        never a field left out, which is a column left out; see ``frames.json_records``).
        ``Id`` is accepted and ignored.
    max_errors
        Invalid rows are described (the first ones first) until they hold this many invalid
        fields (at least 1), for a caller that lists only so many: describing a row costs far
        more than checking it. ``None``: every one.

    Raises
    ------
    ValueError
        If ``max_errors`` is under 1.
    TypeError
        If ``max_errors`` is not a whole number (an ``int`` or numpy's; not a ``bool``, whose
        ``True`` would be 1).
    InvalidInputError
        If the batch is empty, or any row has an unknown field, a value of the wrong type,
        out of range, not one of the allowed codes, or lacks a required field. Its ``errors``
        map every bad row index (those described, with ``max_errors``: then ``complete`` is
        false if the description stopped) to every bad field and the schema's messages.
    """
    if max_errors is not None:
        max_errors = _error_count(max_errors)
        if max_errors < 1:  # else no row would be described: accepted
            raise ValueError(f"max_errors must be at least 1, not {max_errors}")
    rows = _frame_rows(houses) if _is_frame(houses) else houses
    if isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Sequence):
        raise InvalidInputError({}, "houses must be a list of house-detail objects")
    if len(rows) == 0:
        raise InvalidInputError({}, "no houses given: send at least one")
    plain_dicts = _all_plain_dicts(rows)
    if not plain_dicts:
        not_objects = {i for i, row in enumerate(rows) if not isinstance(row, Mapping)}
        if not_objects:
            raise _refused_with_the_others(rows, not_objects, max_errors)
    rules = batch_rules()
    read = _read_rows(rows, rules, plain_dicts=plain_dicts)
    matrix, odd_rows = _number_matrix(read.numbers, len(rules.numbers.names))
    suspects = odd_rows | read.unknown | _suspect_number_rows(matrix, rules.numbers)
    codes = _text_codes(read.texts, rules.texts)
    if codes is None:
        suspects |= _suspect_text_rows(read.texts, rules.texts)
    if suspects:
        errors, complete = _schema_errors(rows, suspects, rules.known_fields, max_errors)
        if errors:
            raise InvalidInputError(errors, complete=complete)
    for i in odd_rows:  # numbers of other types (numpy scalars) that the schema accepted
        matrix[i] = [np.nan if v is None else float(v) for v in read.numbers[i]]
    uncoded = codes is None
    if codes is None:
        codes = _coded_beyond(read.texts, rules.texts)
    if not read.complete or np.isnan(matrix.take(rules.settled_numbers, axis=1)).any():
        _settle_left_out(read.texts, matrix, codes, rules)
    return HouseBatch(rules.layout, matrix, read.texts, codes, uncoded=uncoded)


def _refused_with_the_others(
    rows: Rows, not_objects: AbstractSet[int], max_errors: int | None
) -> InvalidInputError:
    """The refusal of a batch holding rows that are no objects: those, and beside them what is
    wrong with its other rows, as a batch of those alone is checked (one answer says all that
    is wrong; a row ``1`` hid the rules the others broke), first row first, stopping once the
    rows described hold ``max_errors`` invalid fields."""
    errors: dict[int, dict[str, list[str]]] = {i: {"_schema": [ROW_MESSAGE]} for i in not_objects}
    complete = True
    objects = [i for i in range(len(rows)) if i not in not_objects]
    if objects:
        try:
            validate_batch([rows[i] for i in objects], max_errors=max_errors)
        except InvalidInputError as refused:
            errors.update({objects[j]: found for j, found in refused.errors.items()})
            complete = refused.complete
    listed: dict[int, dict[str, list[str]]] = {}
    fields = 0
    for index in sorted(errors):
        if max_errors is not None and fields >= max_errors:
            return InvalidInputError(listed, complete=False)
        listed[index] = errors[index]
        fields += len(errors[index])
    return InvalidInputError(listed, complete=complete)


def _settle_left_out(
    texts: list[tuple[Any, ...]],
    matrix: npt.NDArray[np.float64],
    codes: npt.NDArray[np.intp],
    rules: BatchRules,
) -> None:
    """A feature's size not given (null or left out) in a house whose kind is given as null is
    0, its quality or kind left out of a house whose size is 0 is null, an area or count of it
    not given 0 (``schemas.ZERO_WHEN_NONE``, ``schemas.NONE_WHEN_ZERO``): in ``matrix``,
    ``codes`` and ``texts``, in place."""
    for house, field in rules.settle_left_out(matrix, codes):
        values = list(texts[house])
        values[field] = None
        texts[house] = tuple(values)
