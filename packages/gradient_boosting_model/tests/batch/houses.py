"""Input files for batch jobs, made by sampling test.csv, with invalid rows planted in them.

Each planted row's expected rejects are what ``make_prediction`` says of it alone, that is the
API's messages; a line with missing values is refused by the reader with its own message.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.predict import PredictionResult, make_prediction
from gradient_boosting_model.tolerances import json_differences

House = dict[str, Any]
#: A planted fault: the row to change (from 1) and what to change in it.
Plant = tuple[int, dict[str, Any]]
RAGGED = "ragged line"
Files = dict[str, tuple[int, list[Plant]]]


@dataclass
class BatchInput:
    """Files in ``folder``, and for each (file as named in the output) its rows in order."""

    folder: Path
    rows: dict[str, list[House]] = field(default_factory=dict)
    #: Expected rejects: (file, row) -> field -> messages.
    rejects: dict[tuple[str, int], dict[str, list[str]]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def valid(self, source: str) -> list[tuple[int, House]]:
        return [
            (row, house)
            for row, house in enumerate(self.rows[source], start=1)
            if (source, row) not in self.rejects
        ]


def expected_errors(house: House) -> dict[str, list[str]]:
    with pytest.raises(InvalidInputError) as refused:
        make_prediction([house])
    return refused.value.errors[0]


def write_csv(path: Path, columns: list[str], rows: list[House], ragged: set[int]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row, house in enumerate(rows, start=1):
            values = ["NA" if house[c] is None else str(house[c]) for c in columns]
            writer.writerow(values[:3] if row in ragged else values)


def write_parquet(path: Path, rows: list[House], row_group_rows: int) -> None:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_rows)


def make_files(folder: Path, files: Files, request_rows: list[House]) -> BatchInput:
    """Writes files named as ``files``' keys with the given number of houses each, drawn from
    test.csv with a fixed seed, and the faults planted (``{RAGGED: True}`` cuts a line short)."""
    draw = random.Random(15)
    columns = list(request_rows[0])
    made = BatchInput(folder)
    for name, (count, plants) in files.items():
        path = folder / name
        rows = [dict(draw.choice(request_rows)) for _ in range(count)]
        for i, house in enumerate(rows):
            house["Id"] = 100_000 + i  # unique in the file
        ragged = set()
        for row, change in plants:
            if change.get(RAGGED):
                ragged.add(row)
                message = f"The line has 3 values; the header has {len(columns)}."
                made.rejects[str(path), row] = {"_schema": [message]}
                continue
            rows[row - 1].update(change)
            made.rejects[str(path), row] = expected_errors(rows[row - 1])
        if path.suffix == ".csv":
            write_csv(path, columns, rows, ragged)
        else:
            write_parquet(path, rows, row_group_rows=1500)
        made.rows[str(path)] = rows
    return made


MakeInput = Callable[[Path, Files], BatchInput]


def read_table(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".csv":
        import pyarrow.csv as pa_csv

        return list(pa_csv.read_csv(path).to_pylist())
    return list(pq.read_table(path).to_pylist())


def read_rejects(path: Path) -> dict[tuple[str, int], dict[str, list[str]]]:
    """A rejects file as ``BatchInput.rejects``: (file, row) -> field -> messages."""
    found: dict[tuple[str, int], dict[str, list[str]]] = {}
    for line in read_table(path):
        found.setdefault((line["source"], line["row"]), {}).setdefault(line["field"], [])
        found[line["source"], line["row"]][line["field"]].append(line["message"])
    return found


def assert_priced_as(lines: list[dict[str, Any]], valid: list[tuple[int, House]]) -> None:
    """``lines`` of score-houses' output are the ``valid`` houses (row, house), in order, each
    at ``make_prediction``'s price, range, flags and warnings. Prices and bounds are compared to the
    cent (``tolerances``): a worker's floating point may round a half cent the other way."""
    expected: PredictionResult = make_prediction([house for _, house in valid])
    assert [line["row"] for line in lines] == [row for row, _ in valid]
    assert [line["Id"] for line in lines] == [house["Id"] for _, house in valid]
    got = {
        "price": [line["price"] for line in lines],
        "lower": [line["lower"] for line in lines],
        "upper": [line["upper"] for line in lines],
    }
    want = {
        "price": expected.predictions,
        "lower": [interval.lower for interval in expected.intervals],
        "upper": [interval.upper for interval in expected.intervals],
    }
    assert json_differences(want, got) == []
    assert [line["calibrated"] for line in lines] == [i.calibrated for i in expected.intervals]
    assert [line["partial"] for line in lines] == [i.partial for i in expected.intervals]
    assert [[(w["field"], w["message"]) for w in line["warnings"]] for line in lines] == [
        [(w.field, w.message) for w in found] for found in expected.warnings
    ]
