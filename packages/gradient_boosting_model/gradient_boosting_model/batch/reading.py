"""One chunk's rows read as an Arrow table (``ChunkTable``), which ``columns`` checks and codes
whole; the few rows it cannot vouch for are read as JSON-shaped houses (``houses_of``), as a
client would send them to the API, for the API's schema to say what is wrong with them.

Runs on a worker. CSV values are text, read as ``text_values`` reads text (as
``make_prediction`` reads a DataFrame's): ``NA`` and the empty string are missing, as in the
Ames files; a number field's text that is a JSON number (``JSON_NUMBER``, what a client sends
the API) becomes an int when whole and a float otherwise, and any other text is passed on
unchanged, so that the schema refuses it with the API's own message.
A line that is no row of its file (too few or too many values, broken quoting, not UTF-8) is
rejected here. Parquet values keep their types, but a NaN is missing, a whole float is an int
(pandas stores an integer column with gaps as floats), a decimal is a float, and bytes (a
``binary`` column, as Hive stores text) are UTF-8 text: a row with bytes that are not is rejected
here, for each such field.

This runs for every row of a job, so a CSV chunk is parsed by Arrow's C++ reader, whole
columns at a time (three times as fast as Python's csv module here); only a chunk that Arrow
cannot vouch for line by line (a blank line, a line with too few values, bad quoting or UTF-8)
is read again here, one line at a time, so that each such line is rejected with its number; its
other lines become a table of texts (a number as text is read as ``parse_number`` reads it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.batch.sources import Chunk
from gradient_boosting_model.schemas import ID_FIELD, LARGEST_ID
from gradient_boosting_model.text_values import (
    MISSING_TEXT,
    is_number_field,
    parse_number,
    with_nulls,
)

#: The field of a reject that concerns the whole row, as in the API's errors.
ROW_FIELD = "_schema"
#: A reject's message for a Parquet value stored as bytes (``binary``) that are not UTF-8 text.
NOT_UTF8 = "Not UTF-8 text."

House = dict[str, Any]


@dataclass(frozen=True)
class Reject:
    """One reason a row was not priced: the field at fault and the message."""

    row: int
    id: int | None
    field: str
    message: str


@dataclass
class ChunkTable:
    """A chunk's rows as an Arrow table with their row numbers, and the lines that are no rows."""

    #: A ``pyarrow.Table`` of the file's columns (None: no row); a CSV's missing text is null.
    table: Any
    #: Each table row's number in its file.
    rows: npt.NDArray[np.int64]
    #: Whether a NaN number is a missing value (Parquet, as pandas writes gaps) or a value the
    #: API refuses (a CSV's ``nan`` text).
    nan_is_missing: bool
    rejects: list[Reject] = field(default_factory=list)
    #: Blank lines, skipped: no house, no reject.
    blank: int = 0

    @property
    def houses(self) -> int:
        return len(self.rows)


@dataclass
class ChunkRows:
    """A chunk's houses as JSON-shaped dicts with their row numbers, and the rows that could not
    be read: what score-houses priced before it read columns (``rows_of``)."""

    houses: list[House] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    #: Blank lines, skipped: no house, no reject.
    blank: int = 0


def row_id(value: Any) -> int | None:
    """The ``Id`` a reject or a price is listed with, when the row has a whole number there
    that an ``Id`` may be (beyond ``LARGEST_ID`` the row is refused for it, and listed
    without one: no int64 column holds every whole number)."""
    number = parse_number(value) if isinstance(value, str) else value
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if isinstance(number, int) and not isinstance(number, bool) and abs(number) <= LARGEST_ID:
        return number
    return None


def _split(line: str) -> list[str]:
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line], strict=True))


def _lines(data: bytes) -> list[str | None]:
    """The chunk's lines as text; ``None`` for a line that is not UTF-8."""
    count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    lines: list[str | None] = []
    try:
        lines.extend(data.decode("utf-8").split("\n")[:count])
    except UnicodeDecodeError:
        for line in data.split(b"\n")[:count]:
            try:
                lines.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                lines.append(None)
    return lines


def split_csv_lines(data: bytes, columns: Sequence[str], first_row: int) -> ChunkTable:
    """CSV lines (no header), the first of them row ``first_row``, read one at a time: the rows
    as a table of texts (null where missing), and a reject for each line that is no row."""
    import pyarrow as pa

    rejects: list[Reject] = []
    blank = 0
    rows: list[int] = []
    id_at = columns.index(ID_FIELD) if ID_FIELD in columns else None
    values_of_rows: list[list[str]] = []
    for row, line in enumerate(_lines(data), start=first_row):
        if line is None:
            rejects.append(Reject(row, None, ROW_FIELD, "The line is not UTF-8 text."))
            continue
        line = line.removesuffix("\r")
        if not line.strip():
            blank += 1
            continue
        try:
            values = _split(line)
        except csv.Error as error:
            rejects.append(Reject(row, None, ROW_FIELD, f"The line is not a CSV row: {error}."))
            continue
        if len(values) != len(columns):
            found = row_id(values[id_at]) if id_at is not None and id_at < len(values) else None
            message = f"The line has {len(values)} values; the header has {len(columns)}."
            rejects.append(Reject(row, found, ROW_FIELD, message))
            continue
        values_of_rows.append(values)
        rows.append(row)
    by_column = zip(*values_of_rows, strict=True) if values_of_rows else [()] * len(columns)
    table = pa.table(
        {
            name: pa.array(with_nulls(texts), type=pa.string())
            for name, texts in zip(columns, by_column, strict=True)
        }
    )
    return ChunkTable(table, np.array(rows, dtype=np.int64), False, rejects, blank)


def _arrow_numbers(values: Any) -> list[Any]:
    """A number column as Arrow typed it: ints as they are; floats whole as ints; text (a
    value Arrow could not read as a number) as ``parse_number`` reads it."""
    import pyarrow as pa

    numbers: list[Any] = values.to_pylist()
    if pa.types.is_floating(values.type):
        return [int(v) if v is not None and v.is_integer() else v for v in numbers]
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return [None if v is None else parse_number(v) for v in numbers]
    return numbers


def read_csv_table(data: bytes, columns: Sequence[str], lines: int) -> Any:
    """CSV lines parsed by Arrow into a table of texts (``columns.check_table`` reads the
    numbers among them), or ``None`` if it did not find one row a line."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    try:
        table = pa_csv.read_csv(
            io.BytesIO(data),
            read_options=pa_csv.ReadOptions(
                column_names=list(columns), use_threads=False, block_size=len(data) + 1
            ),
            convert_options=pa_csv.ConvertOptions(
                # Numbers too: Arrow reads more as numbers than JSON_NUMBER (``0x37BB`` as
                # 14267, ``inf``, ``+5``), and only where no other text is in the chunk's column.
                column_types=dict.fromkeys(columns, pa.string()),
                null_values=sorted(MISSING_TEXT),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, ValueError):  # a line too short or long, not UTF-8, bad quoting
        return None
    if table.num_rows != lines:  # blank lines, skipped by Arrow: the rows would be misnumbered
        return None
    return table


def parse_csv_table(data: bytes, columns: Sequence[str], first_row: int, lines: int) -> ChunkTable:
    """``lines`` CSV lines (no header), the first of them row ``first_row``: by Arrow, or line
    by line when Arrow cannot vouch for every line."""
    table = read_csv_table(data, columns, lines) if data else None
    if table is None:
        return split_csv_lines(data, columns, first_row)
    rows = np.arange(first_row, first_row + lines, dtype=np.int64)
    return ChunkTable(table, rows, nan_is_missing=False)


def _parquet_number(value: Any) -> Any:
    if isinstance(value, float):
        return None if value != value else int(value) if value.is_integer() else value
    return parse_number(value) if isinstance(value, str) else value


def houses_of(read: ChunkTable, positions: Sequence[int] | None = None) -> list[House]:
    """The table's rows at ``positions`` (all by default) as JSON-shaped houses, as a client
    would send them: a number whole as an int, a text that is no number as the text, a missing
    value as ``None`` (a Parquet NaN too; a CSV ``nan`` stays NaN, which the API refuses)."""
    import pyarrow as pa

    table = read.table
    if table is None or read.houses == 0:
        return []
    if positions is not None:
        table = table.take(pa.array(positions, type=pa.int64()))
    columns: dict[str, list[Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        if not is_number_field(name):
            columns[name] = column.to_pylist()
        elif not read.nan_is_missing:
            columns[name] = _arrow_numbers(column)
        elif pa.types.is_integer(column.type):
            columns[name] = column.to_pylist()
        else:
            columns[name] = [_parquet_number(value) for value in column.to_pylist()]
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def rows_of(read: ChunkTable) -> ChunkRows:
    """Every row of a chunk as a JSON-shaped house (``houses_of``), with its rejects."""
    return ChunkRows(houses_of(read), read.rows.tolist(), list(read.rejects), read.blank)


def parse_csv_lines(data: bytes, columns: Sequence[str], first_row: int) -> ChunkRows:
    """Houses from CSV lines (no header) read one at a time, the first row ``first_row``."""
    return rows_of(split_csv_lines(data, columns, first_row))


def parse_csv(data: bytes, columns: Sequence[str], first_row: int, lines: int) -> ChunkRows:
    """Houses from ``lines`` CSV lines (no header), the first of them row ``first_row``."""
    return rows_of(parse_csv_table(data, columns, first_row, lines))


def read_chunk(chunk: Chunk) -> ChunkTable:
    """Read a chunk's rows from its file, as a table."""
    span = chunk.span
    if chunk.format == "csv":
        with open(chunk.path, "rb") as handle:
            handle.seek(span.start)
            data = handle.read(span.stop - span.start)
        return parse_csv_table(data, chunk.columns, span.first_row, span.rows)

    import pyarrow.parquet as pq

    table = pq.ParquetFile(chunk.path).read_row_groups(
        range(span.start, span.stop), columns=list(chunk.columns), use_pandas_metadata=False
    )
    return _parquet_read(chunk, table.slice(span.skip, span.rows), span.first_row)


def read_chunk_parts(chunk: Chunk, part_rows: int) -> Iterator[ChunkTable]:
    """A chunk's rows as tables of ``part_rows`` rows, the last one fewer (a CSV chunk, cut to
    that many lines already: one table), read as they are scored. A Parquet span is whole row
    groups, which pandas writes of up to a million rows (pyarrow's default): read whole, one
    such group took a worker 1.2 GB, six times what a CSV of the same houses did; read in parts,
    Arrow decodes each from the group's pages as it is asked for it. Arrow's batches end at a
    row group's end where a column is a dictionary (a pandas category), so such groups are
    joined into parts of ``part_rows``, each priced in one call, as ``--chunk-rows`` says. A
    span that is part of a group (``Span.skip``) drops the group's rows before it as they are
    decoded, and stops at its last."""
    if chunk.format == "csv":
        yield read_chunk(chunk)
        return

    import pyarrow as pa
    import pyarrow.parquet as pq

    span = chunk.span
    first_row = span.first_row
    skip, left = span.skip, span.rows  # rows still to drop, and to read
    held: Any = None  # a table of the rows read and not yet yielded
    with pq.ParquetFile(chunk.path) as file:
        for batch in file.iter_batches(
            batch_size=part_rows,
            row_groups=range(span.start, span.stop),
            columns=list(chunk.columns),
            use_pandas_metadata=False,
        ):
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            table = pa.Table.from_batches([batch]).slice(skip, left)
            skip, left = 0, left - table.num_rows
            held = table if held is None else pa.concat_tables([held, table])
            while held.num_rows >= part_rows:
                yield _parquet_read(chunk, held.slice(0, part_rows), first_row)
                held, first_row = held.slice(part_rows), first_row + part_rows
            if not left:  # the span's last row read: the group's rest is another part's
                break
    if held is not None and held.num_rows:
        yield _parquet_read(chunk, held, first_row)


def _parquet_read(chunk: Chunk, table: Any, first_row: int) -> ChunkTable:
    """A Parquet chunk's rows (``table``, the first of them row ``first_row``) as the column
    check reads them."""
    import pyarrow as pa

    rows = np.arange(first_row, first_row + table.num_rows, dtype=np.int64)
    if chunk.id_range is not None:  # Ids pandas kept as a range index: the row's place in it
        first, step = chunk.id_range
        table = table.append_column(ID_FIELD, pa.array(first + step * (rows - 1)))
    read = _binaries_as_texts(ChunkTable(_decimals_as_floats(table), rows, nan_is_missing=True))
    read.table = _missing_texts_as_null(read.table)
    return read


def _binaries_as_texts(read: ChunkTable) -> ChunkTable:
    """A Parquet table's binary columns as UTF-8 text: Hive, Impala and older Spark store text
    as plain ``binary`` (no string annotation), and each value was refused "Not a valid
    string.". A row with a value that is not UTF-8 is rejected for each such field
    (``NOT_UTF8``) and taken out of the table, as a CSV line that is not UTF-8 is."""
    import pyarrow as pa

    table = read.table
    bad_fields: list[tuple[int, str]] = []  # (position, field), column by column
    for position, column in enumerate(table.schema):
        if _is_binary(column.type):
            texts, invalid = _utf8_texts(table.column(position))
            table = table.set_column(position, column.name, texts)
            bad_fields.extend((int(at), column.name) for at in np.flatnonzero(invalid))
    if not bad_fields:
        return ChunkTable(table, read.rows, read.nan_is_missing, read.rejects, read.blank)
    ids = table.column(ID_FIELD).to_pylist() if ID_FIELD in table.column_names else None
    rejects = [
        Reject(int(read.rows[at]), row_id(ids[at]) if ids else None, name, NOT_UTF8)
        for at, name in bad_fields
    ]
    keep = np.ones(len(read.rows), dtype=bool)
    keep[[at for at, _ in bad_fields]] = False
    return ChunkTable(
        table.filter(pa.array(keep)),
        read.rows[keep],
        read.nan_is_missing,
        [*read.rejects, *rejects],
        read.blank,
    )


def _is_binary(kind: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_binary_view(kind)
    )


def _utf8_texts(column: Any) -> tuple[Any, npt.NDArray[np.bool_]]:
    """A binary column as text, and where a value is not UTF-8 (null there): Arrow's cast
    checks the whole column at once; only a column it refuses is decoded value by value."""
    import pyarrow as pa

    text = pa.large_string() if pa.types.is_large_binary(column.type) else pa.string()
    try:
        return column.cast(text), np.zeros(len(column), dtype=bool)
    except pa.ArrowInvalid:  # a value that is not UTF-8
        pass
    texts: list[str | None] = []
    invalid = np.zeros(len(column), dtype=bool)
    for at, value in enumerate(column.to_pylist()):
        try:
            texts.append(None if value is None else value.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(None)
            invalid[at] = True
    return pa.array(texts, type=text), invalid


def _missing_texts_as_null(table: Any) -> Any:
    """A table's text values that a CSV reads as missing (``MISSING_TEXT``: the Ames files'
    ``NA``, and nothing at all) as nulls, in every text column: a file written from text (a
    CSV read with ``dtype=str, keep_default_na=False``, a text export) had ``NA`` refused as
    no code of its field, and every row with one; its numbers in text were read already."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = pa.array(sorted(MISSING_TEXT))
    for position, column in enumerate(table.schema):
        kind = column.type
        if pa.types.is_dictionary(kind):  # a pandas category: its texts are its dictionary's
            kind = kind.value_type
        if pa.types.is_string_view(kind):
            kind = pa.string()
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        texts = table.column(position).cast(kind)  # decoded (a dictionary, a view)
        found = pc.is_in(texts, value_set=missing.cast(kind))
        if pc.any(found).as_py():
            table = table.set_column(
                position, column.name, pc.if_else(found, pa.scalar(None, kind), texts)
            )
    return table


def _decimals_as_floats(table: Any) -> Any:
    """A table's decimal columns (a NUMERIC column exported from SQL or Spark) as the float64
    numbers JSON would carry, each the nearest to its decimal: as decimals, each value was
    refused as no number. Through their text: Arrow's cast of a decimal to a float is not
    rounded to the nearest (13% of 100,000 decimals of 2 or 3 places a bit off: 304378.66 as
    304378.66000000003), its parse of text is."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for position, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            text = pc.cast(table.column(position), pa.string())
            table = table.set_column(position, column.name, pc.cast(text, pa.float64()))
    return table
