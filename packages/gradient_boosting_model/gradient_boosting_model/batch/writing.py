"""The job's two outputs, written by the client as chunks come back, in input order.

- prices: ``source``, ``row``, ``Id``, ``price``, ``lower``, ``upper`` (the range meant to hold
  the sale price with probability ``level``), ``level``, ``calibrated``, ``partial`` (the range
  widened for details left out: ``predict.PriceInterval``'s), ``warnings``; Parquet, or CSV
  (warnings as a JSON list) when the name ends in ``.csv``;
- rejects: ``source``, ``row``, ``Id``, ``field``, ``message``, one line per refused field and
  message; CSV, or Parquet by name.

Each is written to a hidden temporary file beside it and renamed into place by ``commit``, so
that a file under the chosen name is always whole; ``discard`` removes the temporary file.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from gradient_boosting_model.batch.errors import OutputFileError, os_reason
from gradient_boosting_model.batch.settings import SUFFIXES_TEXT, Format, file_format

if TYPE_CHECKING:  # reading imports the model's schema, which the client does not need
    from gradient_boosting_model.batch.reading import Reject

WARNING = pa.struct([("field", pa.string()), ("message", pa.string())])
PRICES = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("Id", pa.int64()),
        ("price", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("level", pa.float64()),
        ("calibrated", pa.bool_()),
        ("partial", pa.bool_()),
        ("warnings", pa.list_(WARNING)),
    ]
)
#: A chunk's prices as a worker hands them back: every column but the file's (``with_source``).
PRICED = pa.schema([column for column in PRICES if column.name != "source"])
REJECTS = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("Id", pa.int64()),
        ("field", pa.string()),
        ("message", pa.string()),
    ]
)


def output_format(path: Path, what: str) -> Format:
    """The format a path's suffix asks for, as an input's (``settings.SUFFIXES``, in any case);
    refuses others and a missing folder."""
    kind = file_format(path)
    if kind is None:
        raise OutputFileError(
            f"{path}: the {what} file's name must end in {SUFFIXES_TEXT} (in any case)"
        )
    if not path.parent.is_dir():
        raise OutputFileError(f"{path}: no folder {path.parent} to write the {what} file in")
    if path.is_dir():
        raise OutputFileError(f"{path}: a folder, not a place for the {what} file")
    return kind


def partial_path(path: Path) -> Path:
    """The temporary file a ``TableWriter`` of ``path`` writes, hidden beside it, of this
    process (so that two jobs writing one name never share it)."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


class TableWriter:
    """Appends tables of one schema to a Parquet or CSV file, through a temporary file, which
    it makes as its ``with`` block is entered and owns from then: one an interrupt met as it
    was made is removed there too (a Ctrl-C at 0.9 s left one, 1 run in 7)."""

    def __init__(self, path: Path, schema: pa.Schema, *, what: str) -> None:
        self.path = path
        self.schema = schema
        self.format = output_format(path, what)
        if self.format == "csv":  # CSV has no lists: warnings as JSON text
            fields = [pa.field(f.name, pa.string()) if f.name == "warnings" else f for f in schema]
            self.file_schema = pa.schema(fields)
        else:
            self.file_schema = schema
        self.partial = partial_path(path)
        self.what = what
        self._writer: Any = None

    def failed(self, error: OSError) -> OutputFileError:
        """The error to stop the job with when the file cannot be written (a disk full)."""
        reason = os_reason(error)
        return OutputFileError(f"{self.path}: cannot write the {self.what} file: {reason}")

    def write(self, columns: dict[str, list[Any]]) -> None:
        self.write_table(pa.table(columns, schema=self.schema))

    def write_table(self, table: pa.Table) -> None:
        """Append ``table`` (of the writer's schema)."""
        if self.format == "csv" and "warnings" in table.column_names:
            where = table.column_names.index("warnings")
            texts = [_json(found) for found in table.column(where).to_pylist()]
            table = table.set_column(where, "warnings", pa.array(texts, type=pa.string()))
        try:
            self._writer.write_table(table)
        except OSError as error:
            raise self.failed(error) from None

    def commit(self) -> None:
        """Close the file and give it its name."""
        try:
            self._writer.close()
            os.replace(self.partial, self.path)
        except OSError as error:
            self.partial.unlink(missing_ok=True)
            raise self.failed(error) from None

    def discard(self) -> None:
        """Remove the temporary file; a file that cannot be closed (its disk full) too."""
        with suppress(OSError):  # what it held is not wanted
            self._writer.close()
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        """Make the temporary file: before any house is priced, so that a folder it may not
        write in is said at once."""
        try:
            self._writer = (
                pa_csv.CSVWriter(self.partial, self.file_schema)
                if self.format == "csv"
                else pq.ParquetWriter(self.partial, self.file_schema)
            )
        except OSError as error:
            raise self.failed(error) from None
        except BaseException:  # an interrupt as it was made: no ``__exit__`` will follow
            self.partial.unlink(missing_ok=True)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.partial.exists():  # neither committed nor discarded: the job stopped
            self.discard()


def _json(warnings: list[dict[str, str]]) -> str:
    return json.dumps(warnings, ensure_ascii=False)


def with_source(source: str, priced: pa.Table) -> pa.Table:
    """A chunk's prices (``PRICED``) as the prices file's rows: ``source`` first."""
    return priced.add_column(0, "source", pa.array([source] * priced.num_rows, type=pa.string()))


def reject_columns(source: str, rejects: list[Reject]) -> dict[str, list[Any]]:
    return {
        "source": [source] * len(rejects),
        "row": [reject.row for reject in rejects],
        "Id": [reject.id for reject in rejects],
        "field": [reject.field for reject in rejects],
        "message": [reject.message for reject in rejects],
    }
