"""A chunk's Arrow table checked and coded whole into the batch ``price_batch`` prices.

The API checks a batch of JSON houses column by column (``validation``) with rules read once off
the house schema (``batch_rules``): each numeric field's bounds, wholeness, codes and presence,
the house rules, and each text field's allowed values. Here the same rules check Arrow columns,
with no Python object a value: numbers go to a float matrix (``to_numpy``), texts to their codes
by one ``pyarrow.compute.index_in`` a field against its allowed values, in the order
``batch_rules`` numbers them, so the result is the ``HouseBatch`` that ``validate_batch`` would
make of the same houses, to the last bit.

A row is *suspect* when a value breaks a rule, or when it is anything but a plain number or an
allowed text: text in a number field that is no plain decimal, a NaN from a CSV (the API refuses
``nan``), an infinity, a type Arrow gave the column that the API never sees (a boolean, a date).
Suspect rows are not priced here: the caller reads them as JSON houses and asks the schema, as
``validate_batch`` asks it of its own suspect rows, so their messages are the API's, and a row
the schema accepts after all is priced with them. A row not suspect passes the schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gradient_boosting_model.batch_rules import BatchRules, batch_rules
from gradient_boosting_model.house_batch import BatchLayout, HouseBatch, ObjectArray, object_column

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Texts in a number field read here: a plain decimal (a ``text_values.JSON_NUMBER`` without an
#: exponent, of 15 digits at most before its point), which Arrow's cast and Python's ``int`` or
#: ``float`` (what the API's JSON parser gives) turn into the same float. Any other text
#: (``1e3``, ``065``, ``1_000``) is read by ``text_values.parse_number`` on the JSON path.
PLAIN_DECIMAL = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]+)?$"


@dataclass(frozen=True, eq=False)
class CodedBatch(HouseBatch):
    """A ``HouseBatch`` whose text values are its codes' allowed values (every value coded, as
    the column check leaves them): a text column by name is one lookup of its codes."""

    def __getitem__(self, name: str) -> npt.NDArray[Any]:
        field = self.layout.text_positions.get(name)
        if field is None:
            return super().__getitem__(name)
        choices: ObjectArray = object_column(self.layout.text_choices[field])
        return choices.take(self.text_codes[:, field])


class CodedTexts(Sequence[tuple[Any, ...]]):
    """Each house's text values, made from its codes when asked for (``HouseBatch.texts``)."""

    def __init__(self, codes: IntArray, layout: BatchLayout) -> None:
        self.codes = codes
        self.choices = layout.text_choices

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def __getitem__(self, house: Any) -> Any:
        if isinstance(house, slice):
            return [self[i] for i in range(*house.indices(len(self)))]
        codes = self.codes[house].tolist()
        return tuple(choices[code] for choices, code in zip(self.choices, codes, strict=True))

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return (self[house] for house in range(len(self)))


@dataclass(frozen=True)
class CheckedTable:
    """A table's rows split into the batch of those that pass every rule, and the suspect."""

    #: The rows that pass, as ``validate_batch`` would return them (None: no such row).
    batch: HouseBatch | None
    #: Their positions in the table, in order.
    passed: IntArray
    #: The other rows' positions, for the schema to look at.
    suspect: IntArray


def _present(column: Any) -> BoolArray:
    """Where a column holds a value (not null)."""
    present: BoolArray = column.is_valid().to_numpy(zero_copy_only=False)
    return present


#: Each byte that is an ASCII digit.
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[np.frombuffer(b"0123456789", dtype=np.uint8)] = True
#: The most digits of a plain decimal's whole part (``PLAIN_DECIMAL``).
_PLAIN_DIGITS = 15


def _plain_decimals(texts: Any) -> BoolArray:
    """Where a text array's value is a ``PLAIN_DECIMAL`` (True where null). A CSV's number
    columns come as text (``reading.read_csv_table``), most of them digits alone: such a column
    is checked byte by byte here, its values' first digits and lengths aside, in a fifth of the
    regular expression's time (2 ms against 10 for a chunk of 10,000 houses); any other by it."""
    _, offsets_buffer, data = texts.buffers()
    width = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets = np.frombuffer(
        offsets_buffer, dtype=width, count=len(texts) + 1, offset=texts.offset * width().itemsize
    )
    text_bytes = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    used = text_bytes[offsets[0] : offsets[-1]]
    if used.size and _DIGIT[used].all():
        lengths = np.diff(offsets)
        first = text_bytes[offsets[:-1].clip(max=text_bytes.size - 1)]
        plain = (lengths == 1) | ((lengths > 1) & (lengths <= _PLAIN_DIGITS) & (first != ord("0")))
    else:
        plain = pc.match_substring_regex(texts, PLAIN_DECIMAL).to_numpy(zero_copy_only=False)
    found: BoolArray = np.where(_present(texts), plain, True)
    return found


def _numbers(column: Any, rows: int, *, nan_is_missing: bool) -> tuple[FloatArray, BoolArray]:
    """A number field's values as floats (NaN where missing) and where a value is no plain
    finite number (NaN there too)."""
    if column is None or pa.types.is_null(column.type):
        return np.full(rows, np.nan), np.zeros(rows, dtype=bool)
    kind = column.type
    odd = None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        plain = _plain_decimals(column)
        odd = _present(column) & ~plain
        if odd.any():
            column = pc.if_else(pa.array(plain), column, pa.scalar(None, kind))
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return np.full(rows, np.nan), _present(column)
    values: FloatArray = pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    if pa.types.is_floating(kind):
        not_finite = ~np.isfinite(values)
        if np.count_nonzero(not_finite) > column.null_count:  # a NaN or an infinity sent
            not_finite &= _present(column)
            if nan_is_missing:  # a Parquet NaN is a gap; an infinity is refused all the same
                not_finite &= ~np.isnan(values)
            values = np.where(not_finite, np.nan, values)
            odd = not_finite
    # -0 is read as 0, as the API reads a whole number: as an int.
    values = values + 0.0
    return values, np.zeros(rows, dtype=bool) if odd is None else odd


@dataclass(frozen=True)
class _Choices:
    """A text field's allowed values as Arrow looks them up, and its codes' offset."""

    allowed: Any
    #: The code of the first allowed value (1 when code 0 stands for a missing value).
    offset: int
    #: The code of a missing value; -1 where the field is required.
    missing: int
    #: The code of the field left out (no column): ``OMITTED``'s, or a missing value's where
    #: the two are one (``BatchRules.left_out_texts``); -1 where the field is required.
    omitted: int


@cache
def _choices() -> tuple[_Choices, ...]:
    """Per text field of ``batch_rules``' layout, its ``_Choices``, each code read off the
    rules' codes (``TextRules.codes``): the allowed texts are numbered in one run
    (``BatchLayout.text_choices``), which ``index_in`` and the offset give."""
    rules = batch_rules()
    found = []
    for choices, codes, left_out in zip(
        rules.layout.text_choices, rules.texts.codes, rules.left_out_texts, strict=True
    ):
        allowed = [choice for choice in choices if isinstance(choice, str)]
        found.append(
            _Choices(
                pa.array(allowed, type=pa.string()),
                offset=codes[allowed[0]],
                missing=codes.get(None, -1),
                omitted=codes.get(left_out, -1),
            )
        )
    return tuple(found)


def _codes(column: Any, rows: int, choices: _Choices) -> IntArray:
    """A text field's codes (positions in its ``BatchLayout.text_choices``), -1 where a value
    has none: not among the allowed ones, missing where required, or no text. A field with no
    column is left out of every row (``missing.OMITTED``), as a key a JSON house lacks."""
    if column is None:
        return np.full(rows, choices.omitted, dtype=np.intp)
    if pa.types.is_null(column.type):
        return np.full(rows, choices.missing, dtype=np.intp)
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if pa.types.is_large_string(column.type) or pa.types.is_string_view(column.type):
        column = pc.cast(column, pa.string())
    if not pa.types.is_string(column.type):
        return np.where(_present(column), -1, choices.missing).astype(np.intp)
    found = pc.index_in(column, value_set=choices.allowed)
    if found.null_count == 0:
        codes: IntArray = found.to_numpy().astype(np.intp) + choices.offset
        return codes
    codes = found.fill_null(-1 - choices.offset).to_numpy().astype(np.intp) + choices.offset
    if found.null_count == column.null_count:  # every value found: the others are missing
        codes[codes < 0] = choices.missing
    else:
        codes[~_present(column)] = choices.missing
    return codes


def check_table(table: Any, *, nan_is_missing: bool) -> CheckedTable:
    """Check every row of ``table`` (a ``pyarrow.Table`` of house fields, each known to the
    schema) by the API's rules, column by column.

    Parameters
    ----------
    table
        House details by column name; a field with no column is missing in every row (a
        text field left out: ``missing.OMITTED``).
    nan_is_missing
        Whether a NaN in a float column is a missing value (Parquet) or a value the API
        refuses (a CSV's ``nan``).
    """
    rules: BatchRules = batch_rules()
    layout = rules.layout
    rows = int(table.num_rows)
    names = set(table.column_names)
    # Filled a field at a time (a row of these), then turned into a batch's (houses x fields).
    by_field = np.empty((len(layout.number_names), rows), dtype=np.float64)
    odd = np.zeros((len(layout.number_names), rows), dtype=bool)
    for j, name in enumerate(layout.number_names):
        column = table.column(name) if name in names else None
        by_field[j], odd[j] = _numbers(column, rows, nan_is_missing=nan_is_missing)
    codes_by_field = np.empty((len(layout.text_names), rows), dtype=np.intp)
    for j, (name, choices) in enumerate(zip(layout.text_names, _choices(), strict=True)):
        column = table.column(name) if name in names else None
        codes_by_field[j] = _codes(column, rows, choices)
    numbers, codes = np.ascontiguousarray(by_field.T), np.ascontiguousarray(codes_by_field.T)
    rules.settle_left_out(numbers, codes)  # as ``validate_batch`` settles them
    suspect = odd.any(axis=0) | (codes < 0).any(axis=1) | rules.numbers.suspect_rows(numbers)
    passed = np.flatnonzero(~suspect)
    batch = None
    if passed.size:
        if passed.size < rows:
            numbers, codes = numbers[passed], codes[passed]
        batch = CodedBatch(layout, numbers, CodedTexts(codes, layout), codes)
    return CheckedTable(batch=batch, passed=passed, suspect=np.flatnonzero(suspect))
