"""A chunk's Arrow columns checked by the API's rules (``batch.columns``): a row passes only
when ``validate_batch`` accepts it as a JSON house, into the same batch; any other row is left
to the schema. No model."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from house_samples import REQUIRED_HOUSE

from gradient_boosting_model.batch.columns import PLAIN_DECIMAL, _plain_decimals, check_table
from gradient_boosting_model.batch.reading import ChunkTable, houses_of
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.missing import OMITTED
from gradient_boosting_model.validation import validate_batch

VALID: dict[str, Any] = {"Id": 7, **REQUIRED_HOUSE}


def table_with(name: str, values: list[Any], kind: pa.DataType | None = None) -> Any:
    """Houses that are ``VALID`` but for field ``name``, one a value of ``values``."""
    columns = {field: [value] * len(values) for field, value in VALID.items() if field != name}
    return pa.table({**columns, name: pa.array(values, type=kind)})


def accepted_as_json(table: Any, *, nan_is_missing: bool) -> list[bool]:
    """Whether ``validate_batch`` accepts each row, read as the JSON house it stands for."""
    read = ChunkTable(table, np.arange(table.num_rows), nan_is_missing)
    accepted = []
    for house in houses_of(read):
        try:
            validate_batch([house])
        except InvalidInputError:
            accepted.append(False)
        else:
            accepted.append(True)
    return accepted


def passed(table: Any, *, nan_is_missing: bool = False) -> list[bool]:
    checked = check_table(table, nan_is_missing=nan_is_missing)
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[checked.passed] = True
    assert sorted([*checked.passed.tolist(), *checked.suspect.tolist()]) == list(
        range(table.num_rows)
    )
    found: list[bool] = mask.tolist()
    return found


CASES = [
    ("GrLivArea", [896, -5, 100_001, None], pa.int64(), [True, False, False, False]),
    ("GrLivArea", [896.5, math.nan, math.inf, -0.0], pa.float64(), [True, False, False, True]),
    ("OverallQual", [5.0, 5.5, 0.0, 10.0], pa.float64(), [True, False, False, True]),
    ("MSSubClass", [20, 25, None, 190], pa.int64(), [True, False, True, True]),
    ("LotFrontage", ["65", "65.25", "abc", "1e3"], pa.string(), [True, True, False, False]),
    ("LotFrontage", ["-0", "0.5", "065", "0x41"], pa.large_string(), [True, True, False, False]),
    ("LotFrontage", [True, False, None, None], pa.bool_(), [False, False, True, True]),
    ("Neighborhood", ["NAmes", "Atlantis", None, "names"], pa.string(), [True] + [False] * 3),
    ("MSZoning", ["RL", "C (all)", None, "XX"], pa.large_string(), [True, True, True, False]),
    ("MSZoning", [1, 2, None, 3], pa.int64(), [False, False, True, False]),
    ("YearBuilt", [2011, 2012, 1961, None], pa.int64(), [True, False, True, False]),  # rule
    ("Id", [1, 2.5, math.inf, None], pa.float64(), [True, False, False, True]),
]


@pytest.mark.parametrize(("name", "values", "kind", "expected"), CASES)
def test_a_row_passes_only_where_the_api_accepts_it(
    name: str, values: list[Any], kind: pa.DataType, expected: list[bool]
) -> None:
    table = table_with(name, values, kind)
    assert passed(table) == expected
    accepted = accepted_as_json(table, nan_is_missing=False)
    assert all(accepted[i] for i, ok in enumerate(expected) if ok)  # never more than the API
    # Suspect, the API accepts them: "1e3" read as a number, a bool column... never; the
    # rest of the suspect rows are refused.
    assert [a for a, ok in zip(accepted, expected, strict=True) if not ok].count(True) == (
        1 if (name, kind) == ("LotFrontage", pa.string()) else 0
    )


def test_a_nan_is_refused_from_a_csv_and_missing_in_parquet() -> None:
    table = table_with("LotFrontage", [60.0, math.nan, None], pa.float64())
    assert passed(table, nan_is_missing=False) == [True, False, True]
    assert passed(table, nan_is_missing=True) == [True, True, True]
    checked = check_table(table, nan_is_missing=True)
    assert checked.batch is not None
    assert np.isnan(checked.batch["LotFrontage"][1:]).all()


def test_a_dictionary_encoded_text_column_is_coded_as_plain_text() -> None:
    plain = table_with("MSZoning", ["RL", None, "RM", "FV"], pa.string())
    encoded = plain.set_column(
        plain.column_names.index("MSZoning"),
        "MSZoning",
        plain.column("MSZoning").combine_chunks().dictionary_encode(),
    )
    first, second = (check_table(t, nan_is_missing=False).batch for t in (plain, encoded))
    assert first is not None and second is not None
    np.testing.assert_array_equal(first.text_codes, second.text_codes)
    assert second["MSZoning"].tolist() == ["RL", None, "RM", "FV"]


def test_the_batch_is_validate_batchs_batch_with_fields_left_out() -> None:
    table = table_with("MasVnrType", ["None", None, "Stone"], pa.string())
    checked = check_table(table, nan_is_missing=False)
    houses = houses_of(ChunkTable(table, np.arange(3), False))
    expected = validate_batch(houses)
    assert checked.batch is not None and checked.passed.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(checked.batch.numbers, expected.numbers)
    np.testing.assert_array_equal(checked.batch.text_codes, expected.text_codes)
    assert list(checked.batch.texts) == list(expected.texts)
    assert checked.batch.columns().keys() == expected.columns().keys()
    assert checked.batch["KitchenQual"].tolist() == [OMITTED] * 3  # no column: left out
    assert checked.batch["Alley"].tolist() == [None] * 3  # left out is none (no alley)


def test_a_feature_left_out_beside_its_size_of_0_is_none_as_in_validate_batch() -> None:
    """``schemas.NONE_WHEN_ZERO``: no basement columns, a basement of 0 sq ft: no basement
    (null); of 700 sq ft or unknown: left out, taken as typical. As ``validate_batch`` has it."""
    table = table_with("TotalBsmtSF", [0.0, 700.0, None], pa.float64())
    checked = check_table(table, nan_is_missing=False)
    expected = validate_batch(houses_of(ChunkTable(table, np.arange(3), False)))
    assert checked.batch is not None
    np.testing.assert_array_equal(checked.batch.text_codes, expected.text_codes)
    assert list(checked.batch.texts) == list(expected.texts)
    for name in ("BsmtQual", "BsmtFinType2"):
        assert checked.batch[name].tolist() == [None, OMITTED, OMITTED], name
    assert checked.batch["GarageType"].tolist() == [OMITTED] * 3  # its size not given
    np.testing.assert_array_equal(checked.batch["BsmtFinSF1"], [0.0, np.nan, np.nan])
    np.testing.assert_array_equal(checked.batch.numbers, expected.numbers)


def test_a_size_not_given_beside_its_kind_given_as_null_is_0_as_in_validate_batch() -> None:
    """``schemas.ZERO_WHEN_NONE``: a basement's kind null (none), its size's column missing
    (left out) or null: 0, and its parts with it; a kind given or left out leaves the size
    unknown. As ``validate_batch`` has it."""
    kinds = table_with("BsmtQual", [None, "TA", None], pa.string())
    without_kind = table_with("GrLivArea", [896, 896, 896], pa.int64())  # no basement column
    null_size = kinds.append_column("TotalBsmtSF", pa.array([None] * 3, type=pa.float64()))
    # A finished area beside the null kind: the basement is there, its size unknown.
    finished = kinds.append_column("BsmtFinSF1", pa.array([500.0, None, None], pa.float64()))
    for table, sizes in (
        (kinds, [0.0, np.nan, 0.0]),
        (without_kind, [np.nan] * 3),
        (null_size, [0.0, np.nan, 0.0]),
        (finished, [np.nan, np.nan, 0.0]),
    ):
        checked = check_table(table, nan_is_missing=False)
        expected = validate_batch(houses_of(ChunkTable(table, np.arange(3), False)))
        assert checked.batch is not None
        np.testing.assert_array_equal(checked.batch["TotalBsmtSF"], sizes)
        np.testing.assert_array_equal(checked.batch.numbers, expected.numbers)
        np.testing.assert_array_equal(checked.batch.text_codes, expected.text_codes)
    checked = check_table(kinds, nan_is_missing=False)
    assert checked.batch is not None
    np.testing.assert_array_equal(checked.batch["BsmtFinSF1"], [0.0, np.nan, 0.0])


def test_no_row_passes_no_batch_is_made() -> None:
    checked = check_table(table_with("GrLivArea", [-1, -2], pa.int64()), nan_is_missing=False)
    assert checked.batch is None and checked.suspect.tolist() == [0, 1]


def test_a_column_of_digits_is_read_as_the_regular_expression_reads_it() -> None:
    """``_plain_decimals``' byte check of a column of digits, a slice of one, and the regular
    expression it stands in for, on one column each way."""
    texts = ["0", "00", "065", "7", "1" * 15, "1" * 16, None, "", "1961"]
    for column in (pa.array(texts), pa.array(["5", *texts], type=pa.large_string())[1:]):
        regex = pc.match_substring_regex(column, PLAIN_DECIMAL).fill_null(True)
        assert _plain_decimals(column).tolist() == regex.to_pylist()
        assert _plain_decimals(column).tolist() == [
            True, False, False, True, True, False, True, False, True
        ]  # fmt: skip
