"""A chunk with invalid rows is split: valid rows priced, invalid ones rejected. A stand-in
model, no cluster."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from gradient_boosting_model.batch.errors import ChunkError
from gradient_boosting_model.batch.job import any_priced, check_result
from gradient_boosting_model.batch.reading import ChunkRows, Reject
from gradient_boosting_model.batch.results import ChunkResult
from gradient_boosting_model.batch.scoring import price_valid, score_read, score_rows
from gradient_boosting_model.batch.sources import Chunk, Span
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.input_ranges import RangeWarning
from gradient_boosting_model.predict import PredictionResult, PriceInterval


class StandInModel:
    """Prices a house at 100 times its area; refuses areas below 0 as the schema words it."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, houses: Sequence[Mapping[str, Any]]) -> PredictionResult:
        self.calls.append(len(houses))
        errors = {
            i: {"GrLivArea": [f"{house['GrLivArea']} is less than the minimum of 0"]}
            for i, house in enumerate(houses)
            if house["GrLivArea"] < 0
        }
        if errors:
            raise InvalidInputError(errors)
        prices = [100.0 * house["GrLivArea"] for house in houses]
        return PredictionResult(
            predictions=prices,
            intervals=[PriceInterval(p * 0.9, p * 1.1, 0.9, p < 1e6) for p in prices],
            warnings=[[RangeWarning("GrLivArea", "big")] if p >= 1e6 else [] for p in prices],
            explanations=None,
            model_version="0.0.0",
        )


def chunk_rows(areas: list[int], first_row: int = 1) -> ChunkRows:
    return ChunkRows(
        houses=[{"Id": 500 + i, "GrLivArea": area} for i, area in enumerate(areas)],
        rows=list(range(first_row, first_row + len(areas))),
    )


def test_a_valid_batch_is_priced_in_one_call() -> None:
    model = StandInModel()
    priced, result, refused = price_valid([{"GrLivArea": 1}, {"GrLivArea": 2}], model)
    assert priced == [0, 1] and refused == {} and model.calls == [2]
    assert result is not None and result.predictions == [100.0, 200.0]


def test_invalid_rows_are_taken_out_and_the_rest_priced() -> None:
    model = StandInModel()
    houses = [{"GrLivArea": area} for area in (1, -1, 2, -2, 3)]
    priced, result, refused = price_valid(houses, model)
    assert priced == [0, 2, 4]
    assert result is not None and result.predictions == [100.0, 200.0, 300.0]
    assert refused == {
        1: {"GrLivArea": ["-1 is less than the minimum of 0"]},
        3: {"GrLivArea": ["-2 is less than the minimum of 0"]},
    }
    assert model.calls == [5, 3]


def test_a_batch_of_invalid_rows_prices_nothing() -> None:
    priced, result, refused = price_valid([{"GrLivArea": -1}], StandInModel())
    assert priced == [] and result is None and list(refused) == [0]


def test_a_refusal_naming_no_row_is_not_taken_for_bad_rows() -> None:
    def refuse(houses: Sequence[Mapping[str, Any]]) -> PredictionResult:
        raise InvalidInputError({}, "no houses given")

    with pytest.raises(InvalidInputError, match="no houses given"):
        price_valid([{"GrLivArea": 1}], refuse)


def test_a_chunk_is_priced_in_calls_of_batch_rows_with_its_row_numbers() -> None:
    model = StandInModel()
    read = chunk_rows([1, -1, 2, 3, 10_000, -5, 4], first_row=21)
    read.rejects.append(Reject(28, None, "_schema", "The line has 3 values; the header has 5."))
    prices, rejects = score_rows(read, predict=model, batch_rows=3)
    assert model.calls == [3, 2, 3, 2, 1]
    assert prices.rows == [21, 23, 24, 25, 27]
    assert prices.ids == [500, 502, 503, 504, 506]
    assert prices.prices == [100.0, 200.0, 300.0, 1e6, 400.0]
    assert prices.calibrated == [True, True, True, False, True]
    assert prices.warnings == [[], [], [], [RangeWarning("GrLivArea", "big")], []]
    assert [(r.row, r.id, r.field) for r in rejects] == [
        (22, 501, "GrLivArea"),
        (26, 505, "GrLivArea"),
        (28, None, "_schema"),
    ]


def test_a_row_with_several_bad_fields_gives_a_reject_each() -> None:
    def refuse_two(houses: Sequence[Mapping[str, Any]]) -> PredictionResult:
        raise InvalidInputError({0: {"A": ["bad a", "worse a"], "B": ["bad b"]}})

    prices, rejects = score_rows(chunk_rows([1]), predict=refuse_two, batch_rows=10)
    assert prices.rows == []
    assert [(r.row, r.field, r.message) for r in rejects] == [
        (1, "A", "bad a"),
        (1, "A", "worse a"),
        (1, "B", "bad b"),
    ]


def result_of(chunk: Chunk, read: ChunkRows) -> ChunkResult:
    return score_read(chunk.index, read, predict=StandInModel(), batch_rows=10)


CHUNK = Chunk(3, "f.csv", "/f.csv", "csv", ("Id", "GrLivArea"), Span(0, 99, 11, 4))


def test_a_chunk_whose_rows_add_up_passes() -> None:
    check_result(CHUNK, result_of(CHUNK, chunk_rows([1, -1, 2, 3], first_row=11)))


@pytest.mark.parametrize(
    "fault",
    [
        "a row lost",
        "a row twice",
        "a row priced and rejected",
        "a row outside",
        "rows out of order",
    ],
)
def test_a_chunk_whose_rows_do_not_add_up_stops_the_job(fault: str) -> None:
    result = result_of(CHUNK, chunk_rows([1, -1, 2, 3], first_row=11))
    rows = result.prices.column("row").to_pylist()
    assert rows == [11, 13, 14]
    if fault == "a row lost":
        result.prices = result.prices.slice(0, 2)
        rows.pop()
    elif fault == "a row twice":
        rows[2] = 13  # 14 lost, 13 twice: the count alone adds up
    elif fault == "a row priced and rejected":
        rows[0] = 12
    elif fault == "a row outside":
        rows[-1] = 15
    else:  # out of order
        rows.reverse()
    result.prices = result.prices.set_column(0, "row", pa.array(rows, type=pa.int64()))
    assert result.prices.column("row").to_pylist() == rows
    with pytest.raises(ChunkError, match="rows lost or repeated"):
        check_result(CHUNK, result)


@pytest.mark.parametrize(
    ("rows", "rejected", "found"),
    [
        ([], {3}, False),
        ([11, 13, 14], set(), False),
        ([11, 13, 14], {10, 12, 15}, False),  # before, between and after the priced rows
        ([11, 13, 14], {12, 14}, True),
        ([11, 13, 14], {11}, True),
    ],
)
def test_a_rejected_row_is_found_among_the_priced_as_isin_finds_it(
    rows: list[int], rejected: set[int], found: bool
) -> None:
    priced = np.array(rows, dtype=np.int64)
    assert any_priced(priced, rejected) is found
    assert bool(np.isin(list(rejected), priced).any()) is found
