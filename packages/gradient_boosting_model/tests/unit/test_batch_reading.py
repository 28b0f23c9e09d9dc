"""CSV lines read as the houses a client would send: in memory, no model."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gradient_boosting_model.batch.reading import (
    ROW_FIELD,
    Reject,
    parse_csv,
    parse_csv_lines,
    read_chunk,
    read_csv_table,
    row_id,
)
from gradient_boosting_model.batch.sources import Chunk, Span
from gradient_boosting_model.schemas import LARGEST_ID
from gradient_boosting_model.text_values import parse_number

COLUMNS = ("Id", "MSZoning", "LotFrontage", "MasVnrType", "GrLivArea")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1961", 1961),
        ("65.0", 65),
        ("0.5", 0.5),
        ("1e3", 1000),
        ("2.5E-1", 0.25),
        ("-7", -7),
        ("-0", 0),
        ("NA", None),
        ("", None),
        ("abc", "abc"),
        ("12 feet", "12 feet"),
    ],
)
def test_numbers_are_read_as_json_would_carry_them(text: str, value: Any) -> None:
    parsed = parse_number(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    "text", ["1_1_6_2_2", "١١٦٢٢", " 5", "5 ", "+5", ".5", "5.", "065", "0x37BB", "nan", "inf"]
)
def test_a_text_that_is_no_json_number_stays_text_for_the_schema_to_refuse(text: str) -> None:
    """A probe's: Python's ``int`` and ``float`` read ``1_1_6_2_2`` and ``١١٦٢٢`` as 11622,
    and the row was priced; the API refuses any text in a number field."""
    assert parse_number(text) == text


def test_rows_become_json_shaped_houses_numbered_from_their_first_row() -> None:
    data = b"1461,RH,80,None,896\n1462,NA,,BrkFace,1329.5\r\n"
    read = parse_csv_lines(data, COLUMNS, first_row=41)
    assert read.rows == [41, 42]
    assert read.houses == [
        {"Id": 1461, "MSZoning": "RH", "LotFrontage": 80, "MasVnrType": "None", "GrLivArea": 896},
        {"Id": 1462, "MSZoning": None, "LotFrontage": None, "MasVnrType": "BrkFace",
         "GrLivArea": 1329.5},
    ]  # fmt: skip
    assert read.rejects == [] and read.blank == 0


def test_text_in_a_number_field_is_passed_on_for_the_schema() -> None:
    read = parse_csv_lines(b"1,RL,abc,None,896\n", COLUMNS, first_row=1)
    assert read.houses[0]["LotFrontage"] == "abc"


def test_quoted_values_are_read() -> None:
    read = parse_csv_lines(b'1,"C (all)",60,"None",1000\n', COLUMNS, first_row=1)
    assert read.houses[0]["MSZoning"] == "C (all)"


def test_lines_that_are_no_rows_are_rejected_and_the_others_kept() -> None:
    data = (
        b"1,RL,60,None,1000\n"
        b"2,RL,60\n"  # too few values
        b"\n"  # blank: skipped
        b'3,"RL,60,None,1000\n'  # an open quote
        b"4,RL,60,None,\xff\n"  # not UTF-8
        b"5,RL,60,None,1000,extra\n"
        b"6,RL,60,None,1000"  # the file's last line, no newline
    )
    read = parse_csv_lines(data, COLUMNS, first_row=100)
    assert read.rows == [100, 106]
    assert [house["Id"] for house in read.houses] == [1, 6]
    assert read.blank == 1
    assert [(r.row, r.id, r.field) for r in read.rejects] == [
        (101, 2, ROW_FIELD),
        (103, None, ROW_FIELD),
        (104, None, ROW_FIELD),
        (105, 5, ROW_FIELD),
    ]
    assert read.rejects[0] == Reject(101, 2, ROW_FIELD, "The line has 3 values; the header has 5.")
    assert "not UTF-8" in read.rejects[2].message
    assert "not a CSV row" in read.rejects[1].message


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (5, 5),
        (5.0, 5),
        ("7", 7),
        (2.5, None),
        ("x", None),
        (True, None),
        (-LARGEST_ID, -LARGEST_ID),
        # Whole numbers an Id may not be (the row is refused for it): listed without one.
        (LARGEST_ID + 1, None),
        ("99999999999999999999", None),
        (1e300, None),
    ],
)
def test_a_reject_keeps_the_rows_id_when_it_is_whole(value: Any, found: int | None) -> None:
    assert row_id(value) == found


CLEAN = (
    b"1461,RH,80,None,896\n"
    b'1462,NA,,"BrkFace",1329.5\r\n'
    b'1463,"C (all)",abc,,2.0\n'
    b"1464,RL,nan,None,-3\n"
)
DIRTY = CLEAN + b"\n" + b"1465,RL\n" + b"1466,RL,1,None,5"


@pytest.mark.parametrize(("data", "lines"), [(CLEAN, 4), (DIRTY, 7)], ids=["clean", "dirty"])
def test_arrow_reads_a_chunk_as_the_line_reader_does(data: bytes, lines: int) -> None:
    """Arrow's reader vouches for a clean chunk; any other is read line by line."""
    fast = parse_csv(data, COLUMNS, first_row=7, lines=lines)
    slow = parse_csv_lines(data, COLUMNS, first_row=7)
    assert (fast.rows, fast.rejects, fast.blank) == (slow.rows, slow.rejects, slow.blank)
    assert len(fast.houses) == len(slow.houses)
    for got, expected in zip(fast.houses, slow.houses, strict=True):
        assert list(got) == list(expected)
        for name in got:  # NaN != NaN: compare by repr, which shows the type too
            assert repr(got[name]) == repr(expected[name]), name
    assert (read_csv_table(data, COLUMNS, lines) is not None) == (data == CLEAN)


def test_a_parquet_decimal_is_read_as_the_float_nearest_to_it(tmp_path: Path) -> None:
    """Arrow's own cast of a decimal to a float is not rounded to the nearest: 13% of these
    came out a bit off (304378.66 as 304378.66000000003), where JSON, a CSV and a frame's
    ``float(Decimal)`` give the nearest float."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    picked = random.Random(7)
    values = [Decimal(picked.randrange(10**9)) / Decimal(10 ** picked.choice((2, 3)))
              for _ in range(2000)]  # fmt: skip
    path = tmp_path / "decimals.parquet"
    pq.write_table(pa.table({"LotArea": pa.array(values, type=pa.decimal128(14, 3))}), path)
    chunk = Chunk(0, path.name, str(path), "parquet", ("LotArea",), Span(0, 1, 1, len(values)))
    read = read_chunk(chunk).table.column("LotArea").to_pylist()
    assert read == [float(value) for value in values]
