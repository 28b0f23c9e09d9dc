"""A chunk priced, its invalid rows rejected instead of failing it.

A chunk is read as an Arrow table and checked column by column (``columns.check_table``, the
API's rules): the rows that pass are priced as one validated batch, with no Python object a
value, into the prices table's columns (``pricing.priced_table``: ``price_batch``'s numbers).
The few suspect rows are read as JSON houses and priced as the API prices them
(``make_prediction``), which refuses a whole batch when any row is invalid
(``InvalidInputError``, whose ``errors`` name every bad row and field with the API's messages):
such a batch is priced again without the rows it named, so that one bad row costs its own price
only; the refused rows become rejects, one per field and message. ``score_rows`` is that JSON
path alone, for every row: how score-houses priced before it read columns (``batch-bench``
measures both).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gradient_boosting_model import __version__
from gradient_boosting_model.batch.columns import check_table
from gradient_boosting_model.batch.pricing import priced_table, warnings_column
from gradient_boosting_model.batch.reading import (
    ChunkRows,
    ChunkTable,
    Reject,
    houses_of,
    read_chunk,
    read_chunk_parts,
    row_id,
    rows_of,
)
from gradient_boosting_model.batch.results import ChunkResult
from gradient_boosting_model.batch.sources import Chunk
from gradient_boosting_model.batch.writing import PRICED
from gradient_boosting_model.errors import InvalidInputError, ModelError
from gradient_boosting_model.input_ranges import RangeWarning
from gradient_boosting_model.predict import PredictionResult, make_prediction
from gradient_boosting_model.schemas import ID_FIELD

Predict = Callable[[Sequence[Mapping[str, Any]]], PredictionResult]
RowErrors = dict[int, dict[str, list[str]]]


@dataclass
class Prices:
    """The priced houses of a chunk, column by column, in row order."""

    rows: list[int] = field(default_factory=list)
    ids: list[int | None] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    level: list[float] = field(default_factory=list)
    calibrated: list[bool] = field(default_factory=list)
    partial: list[bool] = field(default_factory=list)
    #: Per house, its warnings.
    warnings: list[list[RangeWarning]] = field(default_factory=list)

    def add(self, rows: Sequence[int], ids: Sequence[int | None], result: PredictionResult) -> None:
        self.rows.extend(rows)
        self.ids.extend(ids)
        self.prices.extend(result.predictions)
        self.lower.extend(interval.lower for interval in result.intervals)
        self.upper.extend(interval.upper for interval in result.intervals)
        self.level.extend(interval.level for interval in result.intervals)
        self.calibrated.extend(interval.calibrated for interval in result.intervals)
        self.partial.extend(interval.partial for interval in result.intervals)
        self.warnings.extend(result.warnings)

    def table(self) -> pa.Table:
        """The priced houses as the prices file's columns but the file's (``writing.PRICED``):
        made by the worker, so that the client only writes them."""
        columns = {
            "row": self.rows,
            "Id": self.ids,
            "price": self.prices,
            "lower": self.lower,
            "upper": self.upper,
            "level": self.level,
            "calibrated": self.calibrated,
            "partial": self.partial,
            "warnings": warnings_column(self.warnings),
        }
        return pa.table(columns, schema=PRICED)


def price_valid(
    houses: Sequence[Mapping[str, Any]], predict: Predict
) -> tuple[list[int], PredictionResult | None, RowErrors]:
    """Price every valid house: positions priced, their result, and the refused positions'
    errors. A batch refused for some rows is priced again without them."""
    valid = list(range(len(houses)))
    refused: RowErrors = {}
    while valid:
        try:
            return valid, predict([houses[i] for i in valid]), refused
        except InvalidInputError as error:
            named = {valid[i]: fields for i, fields in error.errors.items() if 0 <= i < len(valid)}
            if not named or len(named) != len(error.errors):
                raise  # a refusal naming no row of the batch: not a bad row, a bug
            refused.update(named)
            valid = [i for i in valid if i not in named]
    return [], None, refused


def score_rows(
    read: ChunkRows, *, predict: Predict, batch_rows: int
) -> tuple[Prices, list[Reject]]:
    """Price a chunk's houses in calls of at most ``batch_rows``; reject the invalid ones."""
    prices = Prices()
    rejects = list(read.rejects)
    for start in range(0, len(read.houses), batch_rows):
        houses = read.houses[start : start + batch_rows]
        rows = read.rows[start : start + batch_rows]
        priced, result, refused = price_valid(houses, predict)
        if result is not None:
            prices.add(
                [rows[i] for i in priced], [row_id(houses[i].get(ID_FIELD)) for i in priced], result
            )
        rejects.extend(
            Reject(rows[i], row_id(houses[i].get(ID_FIELD)), name, message)
            for i, fields in refused.items()
            for name, messages in fields.items()
            for message in messages
        )
    rejects.sort(key=lambda reject: reject.row)  # stable: a row's fields keep their order
    return prices, rejects


def _ids(table: pa.Table, positions: npt.NDArray[np.intp]) -> pa.Array | pa.ChunkedArray:
    """The ``Id`` of the rows at ``positions`` (int64, null where a row has none), as a reject
    or a price lists it."""
    if ID_FIELD not in table.column_names:
        return pa.nulls(len(positions), type=pa.int64())
    column = table.column(ID_FIELD)
    if len(positions) < table.num_rows:
        column = column.take(pa.array(positions, type=pa.int64()))
    if pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    return pa.array([row_id(value) for value in column.to_pylist()], type=pa.int64())


def _in_row_order(first: pa.Table, second: pa.Table) -> pa.Table:
    """Two tables of priced houses as one, in row order (each is in order already)."""
    return pa.concat_tables([first, second]).sort_by("row")


def score_table(read: ChunkTable, *, batch_rows: int) -> tuple[pa.Table, list[Reject]]:
    """Price a chunk's table in parts of at most ``batch_rows`` rows: the rows that pass the
    column check as one batch, the suspect ones as JSON houses (see the module). Returns the
    priced houses as a table of ``writing.PRICED``'s columns, in row order, and the rejects."""
    parts: list[pa.Table] = []
    rejects = list(read.rejects)
    for start in range(0, read.houses, batch_rows):
        part = ChunkTable(
            read.table.slice(start, batch_rows),
            read.rows[start : start + batch_rows],
            read.nan_is_missing,
        )
        checked = check_table(part.table, nan_is_missing=part.nan_is_missing)
        passed = None
        if checked.batch is not None:
            ids = _ids(part.table, checked.passed)
            passed = priced_table(checked.batch, rows=part.rows[checked.passed], ids=ids)
        if checked.suspect.size:
            suspect = ChunkRows(
                houses=houses_of(part, checked.suspect.tolist()),
                rows=part.rows[checked.suspect].tolist(),
            )
            priced, refused = score_rows(suspect, predict=make_prediction, batch_rows=batch_rows)
            if priced.rows:  # the suspect rows among the others, in row order
                table = priced.table()
                passed = table if passed is None else _in_row_order(passed, table)
            rejects.extend(refused)
        if passed is not None:
            parts.append(passed)
    rejects.sort(key=lambda reject: reject.row)  # stable: a row's fields keep their order
    if not parts:
        return PRICED.empty_table(), rejects
    return pa.concat_tables(parts).combine_chunks(), rejects


def _worker_address() -> str:
    if "distributed" in sys.modules:  # not imported by an in-process job
        from distributed import get_worker

        try:
            return str(get_worker().address)
        except ValueError:  # not running on a worker
            pass
    return "in-process"


def score_read(index: int, read: ChunkRows, *, predict: Predict, batch_rows: int) -> ChunkResult:
    """Price chunk ``index``'s rows, once read, with ``predict``."""
    prices, rejects = score_rows(read, predict=predict, batch_rows=batch_rows)
    return ChunkResult(
        index=index,
        prices=prices.table(),
        rejects=rejects,
        blank=read.blank,
        worker=_worker_address(),
        model_version=__version__,
    )


def warm_up() -> None:
    """Load the packaged model and price test.csv's first house through the column path: what
    is built on first use is built now (a worker does this before its first chunk)."""
    from gradient_boosting_model.batch.reading import parse_csv_table
    from gradient_boosting_model.config import DATASET_DIR, load_config

    with (DATASET_DIR / load_config().data.requests_file).open("rb") as handle:
        header, line = handle.readline(), handle.readline()
    columns = header.decode("utf-8-sig").strip().split(",")
    prices, rejects = score_table(parse_csv_table(line, columns, 1, 1), batch_rows=1)
    if prices.num_rows != 1 or rejects:  # pragma: no cover - a broken package
        raise ModelError(f"the packaged model cannot price test.csv's first house: {rejects}")


def score_chunk(chunk: Chunk, *, batch_rows: int) -> ChunkResult:
    """Read a chunk as tables of at most ``batch_rows`` rows and price each as it is read: the
    task a worker runs. Its memory is its prices and one such table (``read_chunk_parts``), not
    its whole span, which a Parquet file's row group makes as large as a million rows."""
    parts: list[pa.Table] = []
    rejects: list[Reject] = []
    blank = 0
    for read in read_chunk_parts(chunk, batch_rows):
        prices, refused = score_table(read, batch_rows=batch_rows)
        parts.append(prices)
        rejects.extend(refused)  # each part's in row order, the parts in file order
        blank += read.blank
    return ChunkResult(
        index=chunk.index,
        prices=pa.concat_tables(parts).combine_chunks() if parts else PRICED.empty_table(),
        rejects=rejects,
        blank=blank,
        worker=_worker_address(),
        model_version=__version__,
    )


def score_chunk_as_houses(chunk: Chunk, *, batch_rows: int) -> ChunkResult:
    """``score_chunk`` with every row read as a JSON house and priced by ``make_prediction``:
    the path before columns, kept as the reference the column path is measured against."""
    read = rows_of(read_chunk(chunk))
    return score_read(chunk.index, read, predict=make_prediction, batch_rows=batch_rows)
