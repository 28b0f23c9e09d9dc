"""score-houses' column path (``batch.columns``, ``predict.price_batch``) answers as the API's
evaluator does, ``make_prediction`` on JSON houses: the same prices, ranges (to the cent: equal
floats), ``calibrated`` and ``partial`` flags and warnings, explanations within ``tolerances``'
1e-9, the same ``HouseBatch`` to the last bit, and the same rejects (row, Id, field, message)
for houses with invalid, missing and unseen values; on test.csv and on sampled houses, from CSV
and Parquet.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from house_samples import sampled_houses

from gradient_boosting_model.batch import scoring
from gradient_boosting_model.batch.columns import check_table
from gradient_boosting_model.batch.reading import (
    ChunkRows,
    ChunkTable,
    houses_of,
    parse_csv_table,
    read_chunk,
)
from gradient_boosting_model.batch.scoring import Prices, score_rows, score_table
from gradient_boosting_model.batch.sources import plan_chunks, spread_row_groups
from gradient_boosting_model.batch.writing import PRICED
from gradient_boosting_model.config import DATASET_DIR, Config
from gradient_boosting_model.house_batch import HouseBatch
from gradient_boosting_model.input_ranges import RangeWarning
from gradient_boosting_model.predict import make_prediction, price_batch
from gradient_boosting_model.tolerances import floats_agree
from gradient_boosting_model.validation import validate_batch

pytestmark = pytest.mark.integration

House = dict[str, Any]
SAMPLED = 3000

#: Values planted in sampled houses, by field: each breaks a rule, or is missing, or is a
#: value only the JSON path reads (text a number field's plain decimal check leaves out).
PLANTED: list[tuple[str, Any]] = [
    ("GrLivArea", -5),  # below its range
    ("LotArea", "abc"),  # text in a number field
    ("OverallQual", 11),  # above its range
    ("OverallQual", 5.5),  # not whole
    ("MSSubClass", 25),  # not one of its codes
    ("Neighborhood", "Atlantis"),  # a text never allowed
    ("Neighborhood", None),  # a required field missing
    ("YearBuilt", None),  # a required number missing
    ("MSZoning", "rl"),  # case matters
    ("YearBuilt", 2015),  # after the sale (YrSold at most 2010): a house rule
    ("1stFlrSF", 99_999),  # larger than the living area: a house rule
    ("LotFrontage", "nan"),  # NaN: refused
    ("MasVnrArea", "inf"),  # infinity: refused
    ("BsmtFinSF1", "1e3"),  # a number the JSON path reads: priced
    ("BsmtFinSF2", " 12"),  # the same, with a space
    ("BsmtUnfSF", "1_000"),  # the same: its column is text, its plain decimals read as numbers
    ("Id", 2.5),  # an id that is not whole
    ("Id", 2**53),  # an id no JSON reader holds exactly
    ("GarageCars", None),  # missing, allowed
    ("Alley", None),  # missing, allowed
    ("MiscVal", -0.0),  # -0: a zero
]


def as_text(value: Any) -> str:
    return "NA" if value is None else str(value)


def write_csv(path: Path, columns: Sequence[str], houses: Sequence[House]) -> None:
    lines = [",".join(columns)]
    for house in houses:
        values = [as_text(house.get(name)) for name in columns]
        lines.append(",".join(f'"{v}"' if "," in v else v for v in values))
    path.write_text("\n".join(lines) + "\n")


def planted_houses(request_rows: list[House]) -> list[House]:
    """Sampled valid houses (``house_samples``), every ``PLANTED`` value in some of them, and
    Ids for the rejects to name."""
    houses = sampled_houses(request_rows, SAMPLED, seed=31)
    draw = random.Random(31)
    for i, house in enumerate(houses):
        house["Id"] = 50_000 + i
    for name, value in PLANTED:
        for i in draw.sample(range(SAMPLED), 3):
            houses[i][name] = value
    return houses


def scored(read: ChunkTable, *, batch_rows: int) -> tuple[Prices, list[Any]]:
    """``score_table``'s prices table read back into ``score_rows``' lists, to compare."""
    table, rejects = score_table(read, batch_rows=batch_rows)
    assert table.schema == PRICED
    columns = table.to_pydict()
    prices = Prices(
        rows=columns["row"],
        ids=columns["Id"],
        prices=columns["price"],
        lower=columns["lower"],
        upper=columns["upper"],
        level=columns["level"],
        calibrated=columns["calibrated"],
        partial=columns["partial"],
        warnings=[
            [RangeWarning(w["field"], w["message"]) for w in found] for found in columns["warnings"]
        ],
    )
    return prices, rejects


def reference(read: ChunkTable) -> tuple[Prices, list[Any]]:
    """Every row of ``read`` as a JSON house priced by ``make_prediction``: today's evaluator."""
    rows = ChunkRows(houses=houses_of(read), rows=read.rows.tolist())
    return score_rows(rows, predict=make_prediction, batch_rows=1000)


def assert_same(got: tuple[Prices, list[Any]], want: tuple[Prices, list[Any]]) -> None:
    """Equal prices and bounds (floats rounded to the cent: equal), flags, warnings, rejects."""
    (prices, rejects), (expected, expected_rejects) = got, want
    assert prices.rows == expected.rows
    assert prices.ids == expected.ids
    assert prices.prices == expected.prices
    assert prices.lower == expected.lower and prices.upper == expected.upper
    assert prices.level == expected.level and prices.calibrated == expected.calibrated
    assert prices.partial == expected.partial
    assert prices.warnings == expected.warnings
    assert rejects == expected_rejects


def assert_same_batch(got: HouseBatch, want: HouseBatch) -> None:
    assert got.layout is want.layout
    np.testing.assert_array_equal(got.numbers, want.numbers)  # NaN where NaN, -0 nowhere
    assert not np.signbit(got.numbers[got.numbers == 0]).any()
    np.testing.assert_array_equal(got.text_codes, want.text_codes)
    assert list(got.texts) == list(want.texts)
    for name in got.layout.text_names:
        assert got[name].tolist() == want[name].tolist(), name


@pytest.fixture(scope="module")
def test_csv(config: Config) -> ChunkTable:
    path = DATASET_DIR / config.data.requests_file
    (chunk,) = plan_chunks([path], 10_000)
    return read_chunk(chunk)


@pytest.fixture(scope="module")
def planted(request_rows: list[House]) -> list[House]:
    return planted_houses(request_rows)


@pytest.fixture(scope="module")
def planted_csv(planted: list[House], tmp_path_factory: pytest.TempPathFactory) -> ChunkTable:
    path = tmp_path_factory.mktemp("planted") / "houses.csv"
    columns = ["Id", *sorted({name for house in planted for name in house} - {"Id"})]
    write_csv(path, columns, planted)
    (chunk,) = plan_chunks([path], 10_000)
    return read_chunk(chunk)


@pytest.fixture(scope="module")
def planted_parquet(planted_csv: ChunkTable) -> ChunkTable:
    """The planted houses as a Parquet file typed as pandas writes one: a number column with a
    NaN where the CSV had nothing, a text column dictionary-encoded."""
    table = planted_csv.table
    lot_frontage = table.column("LotFrontage").cast(pa.string())
    numbers = [None if v in (None, "nan") else float(v) for v in lot_frontage.to_pylist()]
    table = table.set_column(
        table.column_names.index("LotFrontage"),
        "LotFrontage",
        pa.array([math.nan if v is None else v for v in numbers], type=pa.float64()),
    )
    where = table.column_names.index("Neighborhood")
    table = table.set_column(
        where, "Neighborhood", table.column("Neighborhood").combine_chunks().dictionary_encode()
    )
    return ChunkTable(table, planted_csv.rows, nan_is_missing=True)


def test_test_csv_is_priced_as_make_prediction_prices_its_houses(
    test_csv: ChunkTable, request_rows: list[House]
) -> None:
    prices, rejects = scored(test_csv, batch_rows=500)
    expected = make_prediction(request_rows)
    assert rejects == []
    assert prices.rows == list(range(1, len(request_rows) + 1))
    assert prices.ids == [house["Id"] for house in request_rows]
    assert prices.prices == expected.predictions
    assert prices.lower == [interval.lower for interval in expected.intervals]
    assert prices.upper == [interval.upper for interval in expected.intervals]
    assert prices.calibrated == [interval.calibrated for interval in expected.intervals]
    assert prices.partial == [interval.partial for interval in expected.intervals]
    assert 0 < sum(prices.partial) < len(prices.partial)  # the comparison saw both values
    assert prices.warnings == expected.warnings
    assert sum(map(len, prices.warnings)) > 0  # the comparison saw warnings, not only []


def test_test_csv_makes_the_batch_validate_batch_makes(
    test_csv: ChunkTable, request_rows: list[House]
) -> None:
    checked = check_table(test_csv.table, nan_is_missing=False)
    assert checked.suspect.size == 0 and checked.batch is not None
    assert_same_batch(checked.batch, validate_batch(request_rows))


def test_explanations_agree_within_the_tolerance(
    test_csv: ChunkTable, request_rows: list[House]
) -> None:
    checked = check_table(test_csv.table, nan_is_missing=False)
    assert checked.batch is not None
    got = price_batch(checked.batch, explain=True).explanations
    want = make_prediction(request_rows, explain=True).explanations
    assert got is not None and want is not None
    assert floats_agree(got.base_price, want.base_price)
    got_records, want_records = got.records(), want.records()
    assert len(got_records) == len(want_records) == len(request_rows)
    for mine, theirs in zip(got_records, want_records, strict=True):
        assert [f["field"] for f in mine["factors"]] == [f["field"] for f in theirs["factors"]]
        for a, b in zip(mine["factors"], theirs["factors"], strict=True):
            assert floats_agree(a["factor"], b["factor"]) and a["assumed"] == b["assumed"]


@pytest.mark.parametrize("source", ["planted_csv", "planted_parquet"])
def test_sampled_houses_with_planted_values_answer_as_make_prediction(
    source: str, request: pytest.FixtureRequest
) -> None:
    read: ChunkTable = request.getfixturevalue(source)
    got = scored(read, batch_rows=1000)
    want = reference(read)
    assert_same(got, want)
    prices, rejects = got
    rejected = {reject.row for reject in rejects}
    assert len(prices.rows) + len(rejected) == read.houses  # none lost
    assert len(rejected) > 30  # most plants are rejects
    assert {reject.field for reject in rejects} >= {"GrLivArea", "LotArea", "Neighborhood"}
    suspect = check_table(read.table, nan_is_missing=read.nan_is_missing).suspect
    assert set(read.rows[suspect].tolist()) - rejected  # suspect, priced by the JSON path


def test_rows_that_pass_the_column_check_make_validate_batchs_batch(
    planted_csv: ChunkTable,
) -> None:
    checked = check_table(planted_csv.table, nan_is_missing=False)
    assert checked.batch is not None and 0 < checked.suspect.size < 200
    houses = houses_of(planted_csv, checked.passed.tolist())
    assert_same_batch(checked.batch, validate_batch(houses))


def test_a_parquet_nan_is_missing_and_a_csv_nan_is_refused(
    planted_csv: ChunkTable, planted_parquet: ChunkTable
) -> None:
    from_csv = {r.row: r.field for r in scored(planted_csv, batch_rows=1000)[1]}
    from_parquet = {r.row: r.field for r in scored(planted_parquet, batch_rows=1000)[1]}
    nan_rows = {row for row, field in from_csv.items() if field == "LotFrontage"}
    assert len(nan_rows) == 3
    assert not any(field == "LotFrontage" for field in from_parquet.values())


def test_parquet_and_csv_of_the_same_houses_answer_alike(
    tmp_path: Path, request_rows: list[House]
) -> None:
    rows = request_rows[:50]
    path = tmp_path / "h.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    (chunk,) = plan_chunks([path], 100)
    from_parquet = scored(read_chunk(chunk), batch_rows=100)
    columns = list(rows[0])
    data = "\n".join(",".join(as_text(h[c]) for c in columns) for h in rows).encode() + b"\n"
    from_csv = scored(parse_csv_table(data, columns, 1, len(rows)), batch_rows=100)
    assert from_parquet[0].prices == from_csv[0].prices and from_parquet[1] == from_csv[1] == []


@pytest.fixture
def read_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The houses of each table ``scoring.score_chunk`` prices, in order, as it prices them."""
    sizes: list[int] = []

    def score_recorded(read: ChunkTable, *, batch_rows: int) -> tuple[pa.Table, list[Any]]:
        sizes.append(read.houses)
        return score_table(read, batch_rows=batch_rows)

    monkeypatch.setattr(scoring, "score_table", score_recorded)
    return sizes


def test_a_large_parquet_row_group_is_read_and_priced_in_parts_of_batch_rows(
    tmp_path: Path, request_rows: list[House], read_sizes: list[int]
) -> None:
    """A task's memory is one part of ``batch_rows`` rows and its prices: a row group (which
    pandas writes of up to a million rows) was read whole, 1.2 GB for a million houses."""
    rows = [*request_rows[:150], {**request_rows[150], "GrLivArea": -5}, *request_rows[151:250]]
    path = tmp_path / "one_group.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=len(rows))
    (chunk,) = plan_chunks([path], 100)  # a row group is never split into spans here
    assert chunk.span.rows == len(rows)
    whole = score_table(read_chunk(chunk), batch_rows=100)
    result = scoring.score_chunk(chunk, batch_rows=100)
    assert read_sizes == [100, 100, 50]
    assert result.prices.equals(whole[0]) and result.rejects == whole[1]
    assert [(reject.row, reject.field) for reject in result.rejects] == [(151, "GrLivArea")]
    assert result.prices.column("row").to_pylist() == [n for n in range(1, 251) if n != 151]


@pytest.mark.parametrize("parallel", [2, 3])
def test_a_large_row_group_is_cut_into_a_part_a_worker_priced_as_whole(
    tmp_path: Path, request_rows: list[House], read_sizes: list[int], parallel: int
) -> None:
    """A row group of more rows than a chunk is cut into as many parts as the cluster scores at
    once, each at least a chunk (3 workers, 250 rows, chunks of 100: 2 parts); each part reads
    its own rows of the group and numbers them as the whole does, a reject included."""
    rows = [*request_rows[:150], {**request_rows[150], "GrLivArea": -5}, *request_rows[151:250]]
    path = tmp_path / "one_group.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=len(rows))
    (whole_chunk,) = plan_chunks([path], 100)
    parts = spread_row_groups([whole_chunk], parallel, 100)
    assert [(c.index, c.span.first_row, c.span.rows, c.span.skip) for c in parts] == [
        (0, 1, 125, 0),
        (1, 126, 125, 125),
    ]
    priced = [scoring.score_chunk(chunk, batch_rows=100) for chunk in parts]
    assert read_sizes == [100, 25, 100, 25]
    whole = score_table(read_chunk(whole_chunk), batch_rows=100)
    assert pa.concat_tables([part.prices for part in priced]).equals(whole[0])
    assert [reject for part in priced for reject in part.rejects] == whole[1]
    cut = [score_table(read_chunk(chunk), batch_rows=100)[0] for chunk in parts]
    assert pa.concat_tables(cut).equals(whole[0])


def test_small_parquet_row_groups_are_priced_in_parts_of_batch_rows(
    tmp_path: Path, request_rows: list[House], read_sizes: list[int]
) -> None:
    """Arrow's batches end at a row group's end where a column is a dictionary (a pandas
    category): groups of 30 rows were priced 30 at a time."""
    rows = request_rows[:250]
    path = tmp_path / "small_groups.parquet"
    table = pa.Table.from_pylist(rows)
    where = table.column_names.index("Neighborhood")
    table = table.set_column(
        where, "Neighborhood", table.column("Neighborhood").combine_chunks().dictionary_encode()
    )
    pq.write_table(table, path, row_group_size=30)
    chunks = plan_chunks([path], 100)
    assert [chunk.span.rows for chunk in chunks] == [120, 120, 10]  # whole groups of 30
    priced = [scoring.score_chunk(chunk, batch_rows=100) for chunk in chunks]
    assert read_sizes == [100, 20, 100, 20, 10]
    whole = [score_table(read_chunk(chunk), batch_rows=100)[0] for chunk in chunks]
    assert all(got.prices.equals(want) for got, want in zip(priced, whole, strict=True))
    assert pa.concat_tables(whole).column("row").to_pylist() == list(range(1, 251))
