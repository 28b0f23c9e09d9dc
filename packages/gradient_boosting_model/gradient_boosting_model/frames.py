"""pandas DataFrames as input: turned into the JSON-shaped rows everything else takes.

Imported only when a DataFrame arrives, so that predicting from lists needs no pandas.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.text_values import (
    MISSING_TEXT,
    is_number_field,
    parse_number,
    with_nulls,
)

#: Rows from which a frame's columns are read as whole arrays: each such column costs about 50
#: us more than its values read one at a time, which fewer rows do not pay back (100 rows: 4.8
#: ms a value at a time, 5.1 whole; 1459: 45-75 against 20-30).
WHOLE_COLUMNS_FROM = 100


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a frame as JSON-shaped dicts, as a client would send them.

    Missing values (NaN, None, ``pd.NA``, ``pd.NaT``) become ``None``, a JSON null: a frame
    cannot tell a field left out from a null, as a dict can, and a null is what the Ames files
    mean by an empty cell (for ``BsmtQual``, ``GarageType``, ``FireplaceQu`` and ``PoolQC``:
    the house has none). A field left out of every row is a column left out; houses that leave
    out different fields are sent as dicts. A float column whose values are all whole numbers
    (an integer column that pandas widened to hold NaN) gives back ints; ``Decimal`` values
    are numbers too (a frame read from SQL), made floats. Text is read as ``score-houses``
    reads a file's (``text_values``): ``NA`` and the empty text are nulls, and a number
    field's text that is a JSON number is that number (a CSV read by pandas with
    ``keep_default_na=False`` or ``dtype=str`` had every row refused, where its Parquet copy
    was priced); any other text is left for the schema to refuse.

    Raises
    ------
    InvalidInputError
        If a column name is repeated: which of its columns is the field's cannot be told.
    """
    repeated = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
    if repeated:
        raise InvalidInputError(
            {}, f"the frame repeats the column{'s' if len(repeated) > 1 else ''} {repeated}"
        )
    whole = len(frame) >= WHOLE_COLUMNS_FROM
    columns = [
        _json_values(frame[name], whole=whole, number=is_number_field(str(name)))
        for name in frame.columns
    ]
    if not columns:  # rows without a field: as many empty houses (zip would give none)
        return [{} for _ in range(len(frame))]
    names = [str(name) for name in frame.columns]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_values(column: pd.Series, *, whole: bool, number: bool) -> list[Any]:
    """A column's values as JSON would carry them (see ``json_records``), ``number`` if its
    field is a number's: if ``whole``, a numpy column of numbers, or a text column, as whole
    arrays (a value at a time, 1459 houses took 40 ms); any other one a value at a time."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if kind in ("i", "u", "b"):  # nothing missing, nothing to make whole
        values: list[Any] = column.tolist()
        return values
    if whole and kind == "f":
        return _float_values(column.to_numpy(dtype=np.float64))
    values = column.tolist()
    if whole and isinstance(column.dtype, pd.StringDtype) and not number:  # codes, or missing
        values = _missing_as_none(values, column.isna().to_numpy())
        # isdisjoint, in C: a tenth of pandas' isin
        return values if MISSING_TEXT.isdisjoint(values) else with_nulls(values)
    # Objects, categories, Arrow's types (a decimal column read with dtype_backend="pyarrow"):
    # any may hold a Decimal, or text.
    values = [_text_value(_json_number(v), number=number) for v in values]
    present = [v for v in values if not _is_missing(v)]
    whole = bool(present) and all(isinstance(v, float) and v.is_integer() for v in present)
    return [None if _is_missing(v) else int(v) if whole else v for v in values]


def _float_values(array: npt.NDArray[np.float64]) -> list[Any]:
    """Floats; all ints if every one present is whole (NaN: missing)."""
    missing = np.isnan(array)
    present = array[~missing]
    whole = present.size > 0 and bool(np.all(np.isfinite(present) & (present == np.trunc(present))))
    if not whole:
        values: list[Any] = array.tolist()
    elif np.all(np.abs(present) < 2**63):
        values = np.where(missing, 0, array).astype(np.int64).tolist()
    else:  # whole, beyond int64: as Python makes them
        values = [0 if gap else int(v) for v, gap in zip(array.tolist(), missing, strict=True)]
    return _missing_as_none(values, missing)


def _missing_as_none(values: list[Any], missing: npt.NDArray[np.bool_]) -> list[Any]:
    for at in np.flatnonzero(missing).tolist():
        values[at] = None
    return values


def _json_number(value: Any) -> Any:
    """A ``Decimal`` (what ``pd.read_sql`` gives for a NUMERIC column) as the float JSON would
    carry, the nearest to it; a NaN one (quiet or signalling) a NaN, a null as the frame's
    others."""
    if not isinstance(value, Decimal):
        return value
    return math.nan if value.is_nan() else float(value)


def _text_value(value: Any, *, number: bool) -> Any:
    """A text as ``score-houses`` reads a file's (``text_values``); any other value as it is."""
    if not isinstance(value, str):
        return value
    if number:
        return parse_number(value)
    return None if value in MISSING_TEXT else value


def _is_missing(value: Any) -> bool:
    """pandas' missing values: ``None``, NaN, ``pd.NA``, and ``pd.NaT`` (a datetime column's
    empty cell, as ``frame.isna()`` has it; refused "Not a valid number." each, a frame
    all of whose cells of a column were empty was refused row by row)."""
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )
