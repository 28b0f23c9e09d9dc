"""Finding, checking and cutting batch inputs: in-memory files, no cluster, no model."""

from __future__ import annotations

import dataclasses
import io
import itertools

import pytest

from gradient_boosting_model.batch.errors import InputFileError
from gradient_boosting_model.batch.settings import Format
from gradient_boosting_model.batch.sources import (
    Chunk,
    Span,
    check_columns,
    plan_lines,
    plan_row_groups,
    read_csv_header,
    spread_row_groups,
)
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS

HEADER = b"Id,GrLivArea\n"


def lines(count: int, *, last_newline: bool = True) -> bytes:
    body = b"".join(b"%d,%d\n" % (i, 1000 + i) for i in range(1, count + 1))
    return HEADER + (body if last_newline else body.rstrip(b"\n"))


def spans_of(data: bytes, chunk_rows: int) -> list[Span]:
    return plan_lines(io.BytesIO(data), len(HEADER), chunk_rows)


@pytest.mark.parametrize("count", [1, 9, 10, 11, 25, 30])
@pytest.mark.parametrize("last_newline", [True, False])
def test_lines_are_cut_into_spans_that_cover_each_line_once(count: int, last_newline: bool) -> None:
    data = lines(count, last_newline=last_newline)
    spans = spans_of(data, 10)
    assert [span.rows for span in spans] == [10] * (count // 10) + [count % 10] * bool(count % 10)
    assert spans[0].start == len(HEADER) and spans[-1].stop == len(data)
    assert all(a.stop == b.start for a, b in itertools.pairwise(spans))
    assert [span.first_row for span in spans] == [1 + 10 * i for i in range(len(spans))]
    for span in spans:
        text = data[span.start : span.stop].decode()
        numbers = [int(line.split(",")[0]) for line in text.splitlines()]
        assert numbers == list(range(span.first_row, span.first_row + span.rows))


def test_a_header_alone_makes_no_span() -> None:
    assert spans_of(HEADER, 10) == []


def test_blank_lines_are_lines() -> None:
    data = HEADER + b"1,1000\n\n3,1002\n"
    assert [(s.first_row, s.rows) for s in spans_of(data, 2)] == [(1, 2), (3, 1)]


def test_row_groups_are_grouped_to_at_least_a_chunk() -> None:
    spans = plan_row_groups([4, 4, 4, 25, 1, 0, 2], 10)
    assert [(s.start, s.stop, s.first_row, s.rows) for s in spans] == [
        (0, 3, 1, 12),
        (3, 4, 13, 25),
        (4, 7, 38, 3),
    ]
    assert plan_row_groups([10, 10], 10) == [Span(0, 1, 1, 10), Span(1, 2, 11, 10)]
    # A large group is a span of its own, which spread_row_groups may cut for the workers.
    assert plan_row_groups([4, 25, 3], 10) == [
        Span(0, 1, 1, 4),
        Span(1, 2, 5, 25),
        Span(2, 3, 30, 3),
    ]
    assert plan_row_groups([], 10) == [] == plan_row_groups([0, 0], 10)


def test_header_is_read_with_its_length() -> None:
    columns, start = read_csv_header(io.BytesIO(b'\xef\xbb\xbfId,"GrLivArea"\r\n1,2\n'), "f.csv")
    assert columns == ("Id", "GrLivArea")
    assert start == len(b'\xef\xbb\xbfId,"GrLivArea"\r\n')


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file or header"),
        (b"\xff\xfe\x00binary\n", "not UTF-8"),
        (b"x" * (2 << 20), "no header line"),
    ],
)
def test_a_file_that_is_no_csv_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        read_csv_header(io.BytesIO(data), "f.csv")


def test_house_columns_pass() -> None:
    check_columns(["Id", *HOUSE_FIELDS], "f.csv")
    check_columns(list(REQUIRED_FIELDS), "f.csv")


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["Id", "GrLivArea"], "required columns missing: .*'Neighborhood'"),
        ([*REQUIRED_FIELDS, "SalePrice"], "unknown column: 'SalePrice'"),
        ([*REQUIRED_FIELDS, "GrLivArea"], "repeated column: 'GrLivArea'"),
        (["Id\tMSSubClass\tGrLivArea"], "not house details"),
    ],
)
def test_columns_that_are_not_house_details_are_refused(columns: list[str], message: str) -> None:
    with pytest.raises(InputFileError, match=message):
        check_columns(columns, "f.csv")


def test_a_parquet_row_group_larger_than_a_workers_share_is_cut() -> None:
    def chunk(index: int, kind: Format, span: Span) -> Chunk:
        return Chunk(index, "f", "/f", kind, ("Id",), span)

    large = chunk(0, "parquet", Span(3, 4, 101, 47))
    assert spread_row_groups([large], 1, 10) == [large]  # one thread: nothing to share
    assert [(c.index, c.span) for c in spread_row_groups([large], 4, 10)] == [
        (0, Span(3, 4, 101, 12, 0)),
        (1, Span(3, 4, 113, 12, 12)),
        (2, Span(3, 4, 125, 12, 24)),
        (3, Span(3, 4, 137, 11, 36)),
    ]
    # Each part at least a chunk: 47 rows in chunks of 20 make 2 parts, whatever the threads.
    assert [c.span.rows for c in spread_row_groups([large], 8, 20)] == [24, 23]
    # A CSV chunk, a span of several groups, or a group no larger than a share: left whole.
    csv, groups = chunk(0, "csv", Span(0, 999, 1, 50)), chunk(1, "parquet", Span(0, 3, 51, 50))
    others = [csv, groups, dataclasses.replace(large, index=2)]
    spread = spread_row_groups(others, 4, 10)  # a share of 147 rows: 36.75
    assert spread[:2] == [csv, groups]
    assert [(c.index, c.span.rows, c.span.skip) for c in spread[2:]] == [(2, 24, 0), (3, 23, 24)]
    assert spread_row_groups(others, 2, 10) == others
    assert spread_row_groups([], 2, 10) == []
