"""The input files of a batch job: found, checked to hold house details, and cut into chunks.

This runs on the client and reads little: a CSV's header and its line ends (a scan for newline
bytes, about 1 s per GB), a Parquet file's footer. Workers read the chunks themselves
(``reading``), so the rows never pass through the client; every worker must therefore see the
input at the same path (one machine, or a shared file system).

A CSV holds one house a line: its chunks are runs of lines, cut at newlines. Rows are numbered
from 1 in each file (in a CSV, row ``n`` is line ``n + 1``, after the header).
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from gradient_boosting_model.batch.errors import InputFileError, os_reason
from gradient_boosting_model.batch.settings import SUFFIXES_TEXT, Format, file_format
from gradient_boosting_model.schemas import HOUSE_FIELDS, ID_FIELD, REQUIRED_FIELDS

#: The names of a folder's other entries a message shows, at most.
LEFT_OUT_SHOWN = 10

#: A header line longer than this is not a header of house details (a binary file, say).
MAX_HEADER_BYTES = 1 << 20
_SCAN_BYTES = 1 << 24
_NEWLINE = ord("\n")


@dataclass(frozen=True)
class Span:
    """Consecutive rows of one file: where they are and how they are numbered."""

    #: CSV: the byte offset of the first line; Parquet: the first row group.
    start: int
    #: CSV: the byte offset after the last line; Parquet: the row group after the last.
    stop: int
    #: The number of the first row in its file, from 1.
    first_row: int
    #: Rows in the span (CSV: lines, blank ones included).
    rows: int
    #: Parquet: the rows of the first row group before the span's (a large group cut into parts
    #: for the workers, ``spread_row_groups``); 0 for a CSV.
    skip: int = 0


@dataclass(frozen=True)
class Chunk:
    """One task of a job: a span of one file, and what a worker needs to read it."""

    #: Position in the job: results are written in this order.
    index: int
    #: The file as the output and the rejects name it (as found from the command's INPUT).
    source: str
    #: The absolute path a worker opens.
    path: str
    format: Format
    #: The file's columns, in its order (a CSV's header).
    columns: tuple[str, ...]
    span: Span
    #: A Parquet file's Ids kept by pandas as a range index (no column): the first row's Id
    #: and the step from a row to the next.
    id_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class FileStamp:
    """What says a file is as it was when the job planned it: its size and modification time."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        """``path``'s stamp now; ``OSError`` when it is gone or cannot be seen."""
        found = path.stat()
        return cls(found.st_size, found.st_mtime_ns)


def file_stamp(path: Path) -> FileStamp | None:
    """A file's size and modification time now; ``None`` when it is gone or cannot be seen."""
    try:
        return FileStamp.of(path)
    except OSError:
        return None


def file_stamps(files: Sequence[Path]) -> dict[str, FileStamp]:
    """Each file's ``FileStamp`` by its name as its chunks give it (``Chunk.source``), taken
    before the job reads it."""
    stamps = {}
    for path in files:
        try:
            stamps[str(path)] = FileStamp.of(path)
        except OSError as error:
            raise _unreadable(path, error) from None
    return stamps


def _unreadable(path: Path, error: OSError) -> InputFileError:
    """The error that stops a job on an input it cannot read."""
    return InputFileError(f"{path}: cannot be read ({os_reason(error)})")


@dataclass(frozen=True)
class Inputs:
    """The files INPUT names; for a folder, also what it holds besides, by name."""

    files: list[Path]
    #: A folder's other entries: files of other kinds, hidden ones (a name starting with a
    #: dot: macOS's ``._`` copies, editors' swap files), and folders (not searched), named
    #: ``name/``. The command says so, not to leave their houses out without a word.
    left_out: list[str]


def named(left_out: Sequence[str]) -> str:
    """A folder's other entries (``Inputs.left_out``) as a message shows them."""
    more = len(left_out) - LEFT_OUT_SHOWN
    return ", ".join(left_out[:LEFT_OUT_SHOWN]) + (f" and {more} more" if more > 0 else "")


#: Names of compressed files, which are read only once decompressed (``houses.csv.gz``).
COMPRESSED = frozenset({".gz", ".bz2", ".xz", ".zst", ".zip"})

#: The first bytes of every gzip file (RFC 1952): a ``.csv.gz`` read as text failed as "its
#: header is not UTF-8 text", which did not say what to do.
GZIP_MAGIC = b"\x1f\x8b"


def find_inputs(pattern: str) -> Inputs:
    """The files INPUT names: a file, a folder's CSV and Parquet files, or a glob's matches."""
    path = Path(pattern)
    if path.is_dir():
        entries = sorted(path.iterdir())
        files = [
            p for p in entries if p.is_file() and not p.name.startswith(".") and file_format(p)
        ]
        chosen = set(files)
        left_out = [p.name + "/" * p.is_dir() for p in entries if p not in chosen]
        if not files:
            besides = f" (it holds {named(left_out)})" if left_out else ""
            raise InputFileError(f"{pattern}: no {SUFFIXES_TEXT} file in this folder{besides}")
        return Inputs(files, left_out)
    if path.is_file():
        found = [path]
    elif glob.has_magic(pattern):
        found = sorted(Path(match) for match in glob.glob(pattern) if Path(match).is_file())
        if not found:
            raise InputFileError(f"{pattern}: no file matches")
    else:
        raise InputFileError(f"{pattern}: {_why_not_found(path)}")
    for file in found:
        if file_format(file) is None:
            compressed = ": decompress it first" if file.suffix.lower() in COMPRESSED else ""
            raise InputFileError(
                f"{file}: not a CSV or Parquet file (the name must end in {SUFFIXES_TEXT})"
                f"{compressed}"
            )
    return Inputs(found, [])


def _why_not_found(path: Path) -> str:
    """Why INPUT, no file, folder or glob, is read as none: ``-`` (no stdin: chunks are read by
    workers at their offsets), something there that is no regular file (a FIFO, a device,
    ``/dev/stdin``), or nothing there."""
    if str(path) == "-":
        return "standard input is not read: name a file, a folder of them, or a glob"
    if path.exists():
        return "not a regular file (a pipe or a device): name a file, a folder or a glob"
    return "no such file or folder"


def check_columns(columns: Sequence[str], source: str) -> None:
    """Refuse a file whose columns are not house details: each known, the required ones there."""
    counts = Counter(columns)
    repeated = sorted(name for name, count in counts.items() if count > 1)
    missing = [name for name in REQUIRED_FIELDS if name not in counts]
    unknown = [name for name in columns if name not in HOUSE_FIELDS and name != ID_FIELD]
    problems = []
    if missing:
        problems.append(f"required column{'s' * (len(missing) > 1)} missing: {_names(missing)}")
    if unknown:
        problems.append(f"unknown column{'s' * (len(unknown) > 1)}: {_names(unknown)}")
    if repeated:
        problems.append(f"repeated column{'s' * (len(repeated) > 1)}: {_names(repeated)}")
    if problems:
        raise InputFileError(
            f"{source}: not house details ({'; '.join(problems)}). Columns must be "
            "house details named as in the Ames data (data_description.txt), and Id"
        )


def _names(names: Sequence[str], shown: int = 6) -> str:
    listed = ", ".join(repr(name) for name in names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def read_csv_header(handle: BinaryIO, source: str) -> tuple[tuple[str, ...], int]:
    """A CSV's column names and the byte offset of its first data line."""
    line = handle.readline(MAX_HEADER_BYTES + 1)
    if line.startswith(GZIP_MAGIC):
        raise InputFileError(f"{source}: a gzip file, not a CSV: decompress it first (gunzip)")
    if b"\r" in line.rstrip(b"\r\n"):  # no newline before a CR: the whole file is one line
        raise InputFileError(
            f"{source}: its lines end in a carriage return alone (an old Mac's): convert them "
            "to LF or CRLF line ends"
        )
    if len(line) > MAX_HEADER_BYTES:
        raise InputFileError(f"{source}: not a CSV file of house details (no header line)")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{source}: not a CSV file (its header is not UTF-8 text)") from None
    try:
        columns = next(csv.reader([text.rstrip("\r\n")], strict=True), [])
    except csv.Error as error:
        raise InputFileError(f"{source}: not a CSV file (its header: {error})") from None
    if not any(columns):
        raise InputFileError(f"{source}: empty file or header: a CSV needs a header line")
    return tuple(columns), len(line)


def plan_lines(handle: BinaryIO, data_start: int, chunk_rows: int) -> list[Span]:
    """Cut a file's lines from ``data_start`` into spans of ``chunk_rows`` lines (the last may
    be shorter); a last line without a newline counts."""
    handle.seek(data_start)
    cuts = [data_start]  # byte offsets where spans start
    since_cut = 0  # lines since the last cut
    offset = last_end = data_start
    lines = 0
    while block := handle.read(_SCAN_BYTES):
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == _NEWLINE) + offset + 1
        cuts.extend(ends[chunk_rows - since_cut - 1 :: chunk_rows].tolist())
        since_cut = (since_cut + len(ends)) % chunk_rows
        lines += len(ends)
        last_end = int(ends[-1]) if len(ends) else last_end
        offset += len(block)
    if offset > last_end:
        lines += 1  # a last line with no newline
    if cuts[-1] < offset:
        cuts.append(offset)
    return [
        Span(
            start=start,
            stop=stop,
            first_row=1 + i * chunk_rows,
            rows=min(chunk_rows, lines - i * chunk_rows),
        )
        for i, (start, stop) in enumerate(itertools.pairwise(cuts))
    ]


def plan_row_groups(sizes: Iterable[int], chunk_rows: int) -> list[Span]:
    """Group a Parquet file's consecutive row groups into spans of at least ``chunk_rows`` rows
    (or the file's rest); a group of that many rows or more is a span of its own, which
    ``spread_row_groups`` may cut for the workers; a worker scores it in calls of
    ``chunk_rows``."""
    spans = []
    start = before = rows = 0  # the span's first group, rows before it, rows in it
    stop = 0
    for stop, size in enumerate(sizes, start=1):
        if size >= chunk_rows and rows:  # the groups before a large one: a span of their own
            spans.append(Span(start=start, stop=stop - 1, first_row=before + 1, rows=rows))
            start, before, rows = stop - 1, before + rows, 0
        rows += size
        if rows >= chunk_rows:
            spans.append(Span(start=start, stop=stop, first_row=before + 1, rows=rows))
            start, before, rows = stop, before + rows, 0
    if rows:
        spans.append(Span(start=start, stop=stop, first_row=before + 1, rows=rows))
    return spans


def spread_row_groups(chunks: Sequence[Chunk], parallel: int, chunk_rows: int) -> list[Chunk]:
    """``chunks`` with each Parquet chunk of one row group larger than an even share of the job
    for ``parallel`` threads cut into parts of about that share, each of at least ``chunk_rows``
    rows, numbered again in order. pandas writes row groups of up to 1,048,576 rows: a file of
    1M houses was one task, priced by one worker while the others idled (a probe's). Arrow
    reads no row group from a given row on, so a part decodes the group's rows before its own
    and drops them: a group cut in 2 is decoded 1.5 times (1M houses: about 0.7 s more,
    against about 13 s of pricing them on one core). A group no larger than a share, as each of
    a file's groups of 100,000 houses is, is left whole: the workers share the job already."""
    share = sum(chunk.span.rows for chunk in chunks) / parallel
    spread: list[Chunk] = []
    for chunk in chunks:
        span = chunk.span
        parts = min(math.ceil(span.rows / share), span.rows // chunk_rows) if share else 1
        if chunk.format != "parquet" or span.stop != span.start + 1 or parts < 2:
            spread.append(dataclasses.replace(chunk, index=len(spread)))
            continue
        base, extra = divmod(span.rows, parts)
        skip = span.skip
        for part in range(parts):
            rows = base + (part < extra)
            cut = dataclasses.replace(
                span, first_row=span.first_row + skip - span.skip, rows=rows, skip=skip
            )
            spread.append(dataclasses.replace(chunk, index=len(spread), span=cut))
            skip += rows
    return spread


@dataclass(frozen=True)
class _Planned:
    """A file's columns and spans, and for a Parquet file its Ids kept as a range index."""

    columns: tuple[str, ...]
    spans: list[Span]
    id_range: tuple[int, int] | None = None


def _csv_chunks(path: Path, chunk_rows: int) -> _Planned:
    with path.open("rb") as handle:
        columns, data_start = read_csv_header(handle, str(path))
        check_columns(columns, str(path))
        return _Planned(columns, plan_lines(handle, data_start, chunk_rows))


def _parquet_chunks(path: Path, chunk_rows: int) -> _Planned:
    """A Parquet file's house columns and spans. pandas stores a frame's index beside its
    columns: an index named ``Id`` (``set_index("Id")``, ``read_csv(index_col="Id")``) holds the
    houses' Ids, kept as the column ``Id`` (or only described, for a range: ``_id_range``); any
    other (``__index_level_0__`` for a frame filtered or shuffled before ``to_parquet``) is row
    labels, not house details, and left out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
    except (pa.ArrowException, OSError) as error:
        raise InputFileError(f"{path}: not a Parquet file ({error})") from None
    schema = metadata.schema.to_arrow_schema()
    index = (schema.pandas_metadata or {}).get("index_columns", [])
    labels = {name for name in index if isinstance(name, str) and name != ID_FIELD}
    columns = tuple(name for name in schema.names if name not in labels)
    check_columns(columns, str(path))
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    id_range = None if ID_FIELD in columns else _id_range(index, metadata.num_rows)
    return _Planned(columns, plan_row_groups(sizes, chunk_rows), id_range)


def _id_range(index: Sequence[Any], rows: int) -> tuple[int, int] | None:
    """The Ids of a frame indexed by ``Id`` that pandas kept as a range (``index_columns``:
    a range index is described, not stored), as its first Id and its step; ``None`` where the
    range does not describe ``rows`` rows (the file's rows cut or joined since, its metadata
    kept: pandas then reads no range either)."""
    for entry in index:
        if (
            isinstance(entry, dict)
            and entry.get("kind") == "range"
            and entry.get("name") == ID_FIELD
        ):
            start, stop, step = int(entry["start"]), int(entry["stop"]), int(entry["step"])
            return (start, step) if len(range(start, stop, step)) == rows else None
    return None


def plan_chunks(files: Sequence[Path], chunk_rows: int) -> list[Chunk]:
    """Every file's chunks, in file order then row order; raises ``InputFileError`` on the first
    file that cannot be read or does not hold house details."""
    chunks: list[Chunk] = []
    for path in files:
        kind = file_format(path)
        assert kind is not None  # find_inputs keeps no other file
        try:
            plan = _csv_chunks if kind == "csv" else _parquet_chunks
            planned = plan(path, chunk_rows)
        except OSError as error:
            raise _unreadable(path, error) from None
        first = len(chunks)
        chunks.extend(
            Chunk(
                index=first + i,
                source=str(path),
                path=str(path.resolve()),
                format=kind,
                columns=planned.columns,
                span=span,
                id_range=planned.id_range,
            )
            for i, span in enumerate(planned.spans)
        )
    return chunks
