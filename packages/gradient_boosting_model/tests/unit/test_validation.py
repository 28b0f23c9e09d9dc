from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from house_samples import REQUIRED_HOUSE
from marshmallow import fields

from gradient_boosting_model import frames, input_drift, load_model
from gradient_boosting_model.config import DATASET_DIR
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.fields import MISSING_MARKER_MESSAGE
from gradient_boosting_model.frames import json_records
from gradient_boosting_model.missing import OMITTED
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS, HouseDetailsSchema
from gradient_boosting_model.validation import ROW_MESSAGE, validate_batch, validate_inputs

BAD_VALUES = [
    pytest.param("GrLivArea", "1710", "Not a valid number", id="number-as-string"),
    pytest.param("GrLivArea", True, "Not a valid number", id="boolean-as-number"),
    pytest.param("GrLivArea", -1, "greater than or equal to 0", id="negative-area"),
    pytest.param("LotArea", 10**400, "too large", id="huge-integer"),
    pytest.param("LotFrontage", math.inf, "Special numeric values", id="infinity"),
    pytest.param("LotFrontage", math.nan, "Not a value but NaN: send None", id="nan-literal"),
    pytest.param("OverallQual", 11, "less than or equal to 10", id="quality-above-10"),
    pytest.param("OverallQual", 0, "greater than or equal to 1", id="quality-below-1"),
    pytest.param("FullBath", 2.5, "Not a whole number", id="fractional-count"),
    pytest.param("YearBuilt", 1492, "greater than or equal to 1800", id="implausible-year"),
    pytest.param("YrSold", 3000, "less than or equal to 2100", id="future-sale"),
    pytest.param("MoSold", 13, "less than or equal to 12", id="month-13"),
    pytest.param("Neighborhood", "Atlantis", "Must be one of", id="unknown-category"),
    pytest.param("KitchenQual", "Superb", "Must be one of", id="unknown-grade"),
    pytest.param("MSSubClass", 25, "Must be one of", id="unknown-dwelling-code"),
    pytest.param("Street", 1, "Not a valid string", id="number-as-category"),
    pytest.param("Street", ["Pave"], "Not a valid string", id="list-as-category"),
    pytest.param("OverallQual", None, "may not be null", id="null-required"),
    pytest.param("LotAreaa", 5000, "Unknown field", id="unknown-field"),
    pytest.param("Id", "abc", "Not a valid number", id="id-not-a-number"),
    pytest.param("Id", 2.5, "Not a whole number", id="id-not-whole"),
    pytest.param("Id", 2**53, "less than or equal to 9007199254740991", id="id-not-exact"),
    pytest.param("Id", -(2**53), "greater than or equal to -9007", id="id-not-exact-below"),
    pytest.param("Id", 2.0**64, "less than or equal to 9007199254740991", id="id-past-64-bits"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_VALUES)
def test_bad_value_is_named_by_row_and_field(
    house: dict[str, Any], field: str, value: Any, message: str
) -> None:
    good = dict(house)
    house[field] = value
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs([good, good, house])
    assert list(refused.value.errors) == [2]
    assert list(refused.value.errors[2]) == [field]
    assert message in " ".join(refused.value.errors[2][field])


def test_a_nan_literal_among_nulls_is_refused_by_its_row_and_field(
    request_rows: list[dict[str, Any]],
) -> None:
    # Every NaN of the batch's numbers is looked up: test.csv's nulls beside one NaN literal.
    houses = [dict(row) for row in request_rows[:200]]
    nulls = sum(value is None for row in houses for value in row.values())
    assert nulls > 100
    houses[150]["LotFrontage"] = math.nan
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs(houses)
    assert {row: list(fields) for row, fields in refused.value.errors.items()} == {
        150: ["LotFrontage"]
    }
    houses[150]["LotFrontage"] = None  # nulls alone are accepted
    assert np.isnan(validate_inputs(houses)["LotFrontage"][150])
    # Beside a row of another type (looked at row by row), the NaN literal is found still.
    houses[150]["LotFrontage"], houses[20]["GrLivArea"] = math.nan, "large"
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs(houses)
    assert {row: list(fields) for row, fields in refused.value.errors.items()} == {
        20: ["GrLivArea"],
        150: ["LotFrontage"],
    }


BROKEN_RULES = [
    pytest.param(
        {"YearBuilt": 2009, "YearRemodAdd": 2009, "YrSold": 2007},
        "YearBuilt",
        "2009 is more than a year after the sale (YrSold 2007).",
        id="built-after-sale",
    ),
    pytest.param(
        {"YearBuilt": 2000, "YearRemodAdd": 1990},
        "YearBuilt",
        "2000 is more than a year after the remodel (YearRemodAdd 1990).",
        id="remodel-first",
    ),
    pytest.param(
        {"1stFlrSF": 2000, "GrLivArea": 1500},
        "1stFlrSF",
        "2000 is larger than the living area that includes it (GrLivArea 1500).",
        id="floor-too-big",
    ),
    pytest.param(
        {"2ndFlrSF": 5000, "GrLivArea": 1500},
        "2ndFlrSF",
        "5000 is larger than the living area that includes it (GrLivArea 1500).",
        id="upper-floor-too-big",
    ),
    pytest.param(
        {"BsmtFinSF1": 5000.5, "BsmtFinSF2": 0, "BsmtUnfSF": 0, "TotalBsmtSF": 100},
        "BsmtFinSF1",
        "5000.5 is larger than the basement that includes it (TotalBsmtSF 100).",
        id="finished-part-too-big",
    ),
    pytest.param(
        {"LowQualFinSF": 2000, "GrLivArea": 1500, "1stFlrSF": 1000, "2ndFlrSF": 0},
        "LowQualFinSF",
        "2000 is larger than the living area that includes it (GrLivArea 1500).",
        id="low-quality-part-too-big",
    ),
    pytest.param(
        {"BsmtUnfSF": 900, "BsmtFinSF1": 0, "BsmtFinSF2": 0, "TotalBsmtSF": 800},
        "BsmtUnfSF",
        "900 is larger than the basement that includes it (TotalBsmtSF 800).",
        id="unfinished-part-too-big",
    ),
]


@pytest.mark.parametrize(("changes", "field", "message"), BROKEN_RULES)
def test_house_rules_name_the_field(
    house: dict[str, Any], changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs([house, {**house, **changes}])
    assert list(refused.value.errors) == [1]
    assert list(refused.value.errors[1]) == [field]
    assert refused.value.errors[1][field] == [message]


@pytest.mark.parametrize(("changes", "field", "message"), BROKEN_RULES)
@pytest.mark.parametrize("refuse", [validate_inputs, validate_batch])
def test_a_broken_rule_is_named_beside_a_field_in_error(
    house: dict[str, Any], changes: dict[str, Any], field: str, message: str, refuse: Any
) -> None:
    """Fixing what a refusal names must not end in another refusal for a rule it left out."""
    with pytest.raises(InvalidInputError) as refused:
        refuse([{**house, **changes, "OverallQual": 11, "Pool": 1}])
    errors = refused.value.errors[0]
    assert set(errors) == {"OverallQual", "Pool", field}
    assert errors[field] == [message]


def test_a_rule_on_a_field_in_error_is_not_judged(house: dict[str, Any]) -> None:
    """A field in error is unknown to the rules, as a missing one is: only its error is said."""
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs([{**house, "YearBuilt": "2015", "YrSold": 2006}])
    assert refused.value.errors == {0: {"YearBuilt": ["Not a valid number."]}}


def test_house_rules_allow_what_the_records_contain(house: dict[str, Any]) -> None:
    """test.csv has a house sold the year before it was finished, a partial sale."""
    validate_inputs([{**house, "YearBuilt": 2008, "YearRemodAdd": 2008, "YrSold": 2007}])
    validate_inputs([{**house, "1stFlrSF": 5000, "GrLivArea": 5000}])
    validate_inputs([{**house, "YearBuilt": 2008, "YearRemodAdd": None}])  # unknown: no check


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_missing_required_field_is_named(house: dict[str, Any], field: str) -> None:
    del house[field]
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs([house])
    assert refused.value.errors == {0: {field: ["Missing data for required field."]}}


def test_a_batch_with_bad_rows_is_refused_whole_with_every_rows_errors(
    request_rows: list[dict[str, Any]],
) -> None:
    rows = [dict(row) for row in request_rows[:50]]
    rows[3]["GrLivArea"] = -5
    rows[3]["Neighborhood"] = "Nowhere"
    rows[41]["YrSold"] = "2008"
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs(rows)
    errors = refused.value.errors
    assert sorted(errors) == [3, 41]
    assert sorted(errors[3]) == ["GrLivArea", "Neighborhood"]
    assert list(errors[41]) == ["YrSold"]
    # What a traceback shows: the first invalid fields (a new user's saw "2 invalid rows in
    # the batch" alone, the rows and fields in .errors only).
    said = str(refused.value)
    assert said.startswith("2 invalid rows in the batch: row 3, ")
    assert "row 3, GrLivArea: Must be greater than or equal to 0" in said
    assert "row 3, Neighborhood: " in said and "row 41, YrSold: Not a valid number." in said
    assert "more in .errors" not in said
    rows[41]["OverallQual"] = 11
    with pytest.raises(InvalidInputError) as more:
        validate_inputs(rows)
    assert str(more.value).endswith("; 1 more in .errors")


def test_a_bound_on_the_errors_described_gives_the_first_rows(
    request_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller that lists a few errors (the service) does not pay for describing every row:
    5000 rows with every field wrong took the schema 3.4 s."""
    rows = [dict(row) for row in request_rows[:60]]
    bad = [4, 9, 17, 30, 55]
    for index in bad:
        rows[index]["GrLivArea"] = -5
    rows[17]["OverallQual"] = 11  # a second field of one row
    with pytest.raises(InvalidInputError) as every:
        validate_batch(rows)
    assert sorted(every.value.errors) == bad and every.value.complete

    described = _recorded_loads(monkeypatch)
    assert sorted(map(len, every.value.errors.values())) == [1, 1, 1, 1, 2]  # 6 fields
    with pytest.raises(InvalidInputError) as first:
        validate_batch(rows, max_errors=3)  # rows 4 and 9 hold 2 fields, with row 17 4
    assert first.value.errors == {index: every.value.errors[index] for index in bad[:3]}
    assert not first.value.complete and "3 invalid rows listed" in str(first.value)
    assert len(described) == 3  # the rows after the third were not described
    with pytest.raises(InvalidInputError) as enough:
        validate_batch(rows, max_errors=6)
    assert enough.value.errors == every.value.errors and enough.value.complete
    for nothing in (0, -1):  # no row described would mean the invalid ones accepted
        with pytest.raises(ValueError, match="max_errors must be at least 1"):
            validate_batch(rows, max_errors=nothing)
    with pytest.raises(InvalidInputError) as numpy_count:
        validate_batch(rows, max_errors=np.int64(3))  # type: ignore[arg-type]  # numpy whole
    assert numpy_count.value.errors == first.value.errors
    # A probe's: 1.5 listed 2 rows, True 1, and "2" raised a bare comparison error.
    for no_count in (1.5, True, "2", None.__class__):
        with pytest.raises(TypeError, match="max_errors must be a whole number, not "):
            validate_batch(rows, max_errors=no_count)  # type: ignore[arg-type]


def test_a_row_of_many_unknown_fields_is_described_by_its_first_ones(
    request_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One house of 450,000 unknown fields took 5 s to describe whole: with ``max_errors``,
    the schema sees its known fields and its first ``max_errors`` others."""
    row = {**request_rows[0], "GrLivArea": -5, **{f"extra{i}": i for i in range(1000)}}
    with pytest.raises(InvalidInputError) as every:
        validate_batch([row])
    assert len(every.value.errors[0]) == 1001 and every.value.complete
    seen = _recorded_loads(monkeypatch)
    with pytest.raises(InvalidInputError) as first:
        validate_batch([row], max_errors=3)
    assert first.value.errors == {
        0: {
            name: every.value.errors[0][name]
            for name in ("GrLivArea", "extra0", "extra1", "extra2")
        }
    }
    assert not first.value.complete
    assert len(seen[0]) == len(request_rows[0]) + 3  # its known fields, and three others


def test_a_few_unknown_fields_are_cut_to_max_errors_too_and_named_in_the_rows_order() -> None:
    """A probe's: with fewer extra keys than the schema has fields, max_errors did not cut them
    (70 described for max_errors=2), and they came in the order of a set, another each run."""
    extras = [f"x{i}" for i in (39, 7, 69, 1, 23, 50, 9, 12, 61, 3)]
    row = {**REQUIRED_HOUSE, **dict.fromkeys(extras, 1)}
    with pytest.raises(InvalidInputError) as every:
        validate_batch([row])
    assert list(every.value.errors[0]) == extras and every.value.complete
    with pytest.raises(InvalidInputError) as first:
        validate_batch([row], max_errors=2)
    assert list(first.value.errors[0]) == extras[:2]
    assert not first.value.complete


def _recorded_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The rows the schema describes from now on, as it is given them."""
    described: list[Any] = []
    load = HouseDetailsSchema.load

    def recorded_load(self: HouseDetailsSchema, row: Any, **kwargs: Any) -> Any:
        described.append(row)
        return load(self, row, **kwargs)

    monkeypatch.setattr(HouseDetailsSchema, "load", recorded_load)
    return described


@pytest.mark.parametrize("houses", [[], "not a list", {"GrLivArea": 1}], ids=repr)
def test_a_batch_must_be_a_non_empty_list(houses: Any) -> None:
    with pytest.raises(InvalidInputError):
        validate_inputs(houses)


def test_a_row_that_is_not_an_object_is_named(house: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        validate_inputs([house, [1, 2, 3]])  # type: ignore[list-item]
    assert list(refused.value.errors) == [1]


def test_missing_optional_fields_are_accepted(house: dict[str, Any]) -> None:
    minimal = {field: house[field] for field in REQUIRED_FIELDS}
    columns = validate_inputs([minimal, {**minimal, "PoolQC": None}])
    assert math.isnan(columns["LotFrontage"][0])
    # Left out is not null: a null pool grade is no pool (``missing``); an alley left out is
    # none, as null (``schemas.NONE_WHEN_LEFT_OUT``).
    assert columns["PoolQC"].tolist() == [OMITTED, None]
    assert columns["Alley"].tolist() == [None, None]


def test_every_packaged_request_row_is_valid_by_marshmallow_too(
    request_rows: list[dict[str, Any]],
) -> None:
    """The column checks must never be stricter than the schema, nor the schema than the data."""
    schema = HouseDetailsSchema()
    assert all(not schema.validate(row) for row in request_rows)
    columns = validate_inputs(request_rows)
    assert {len(column) for column in columns.values()} == {len(request_rows)}
    assert set(columns) == set(HOUSE_FIELDS)


def test_a_frame_gives_the_same_columns_as_its_rows(request_rows: list[dict[str, Any]]) -> None:
    rows = request_rows[:20]
    from_frame = validate_inputs(pd.DataFrame(rows))
    from_rows = validate_inputs(rows)
    for name, column in from_rows.items():
        np.testing.assert_array_equal(from_frame[name], column, err_msg=name)


def test_numpy_numbers_from_python_callers_are_accepted(house: dict[str, Any]) -> None:
    house["GrLivArea"] = np.int64(house["GrLivArea"])
    house["LotArea"] = np.float64(house["LotArea"])
    columns = validate_inputs([house])
    assert columns["GrLivArea"][0] == float(house["GrLivArea"])


def test_the_columns_hold_every_value_as_sent(request_rows: list[dict[str, Any]]) -> None:
    """Every field's column is the rows' values, in order (numbers as floats, NaN where
    missing; texts the very objects sent: training keeps some, such as the categories' codes,
    and the artifact's bytes would change with their identity)."""
    rows = [dict(row) for row in request_rows[:200]]
    for row in rows[::7]:
        del row["KitchenQual"], row["LotFrontage"]  # left out: a number missing, as null is
    columns = validate_inputs(rows)
    batch = validate_batch(rows)
    for name, field in HOUSE_FIELDS.items():
        # A text field left out is OMITTED, not null (``missing``).
        sent = [row.get(name, OMITTED if name == "KitchenQual" else None) for row in rows]
        np.testing.assert_array_equal(batch[name], columns[name], err_msg=name)
        if isinstance(field, fields.String):
            assert columns[name].dtype == object and columns[name].tolist() == sent, name
            assert all(kept is value for kept, value in zip(columns[name], sent, strict=True))
        else:
            expected = np.array([np.nan if v is None else v for v in sent], dtype=np.float64)
            np.testing.assert_array_equal(columns[name], expected, err_msg=name)


@pytest.mark.parametrize("value", [math.inf, -math.inf])
def test_an_infinite_id_is_refused_as_the_schema_refuses_it(
    house: dict[str, Any], value: float
) -> None:
    """The id has no bounds for the column check to catch an infinity by: refused all the same."""
    house["Id"] = value
    with pytest.raises(InvalidInputError) as refused:
        validate_batch([house])
    assert refused.value.errors == {0: HouseDetailsSchema().validate(house)}
    assert "Id" in refused.value.errors[0]


def test_rows_that_are_no_houses_are_named_with_what_the_others_break() -> None:
    """A row that is no object was refused alone: a client fixing it met a second refusal for
    what the other rows broke all along. With ``max_errors``, rows are described first row
    first until they hold that many fields, as for any batch."""
    broken = {**REQUIRED_HOUSE, "YearBuilt": 2010, "YrSold": 2006, "LotArea": -1}
    with pytest.raises(InvalidInputError) as refused:
        validate_batch([broken, 1, REQUIRED_HOUSE, "a house", broken])  # type: ignore[list-item]
    errors = refused.value.errors
    assert refused.value.complete
    assert list(errors) == [0, 1, 3, 4]
    assert errors[1] == errors[3] == {"_schema": [ROW_MESSAGE]}
    assert errors[0] == errors[4] and set(errors[0]) == {"YearBuilt", "LotArea"}
    with pytest.raises(InvalidInputError) as cut:
        validate_batch([1, broken, broken], max_errors=2)  # type: ignore[list-item]
    assert not cut.value.complete
    assert list(cut.value.errors) == [0, 1]


def test_a_frame_repeating_a_column_is_refused_naming_it() -> None:
    frame = pd.concat([pd.DataFrame([REQUIRED_HOUSE]), pd.DataFrame([{"GrLivArea": 5000}])], axis=1)
    with pytest.raises(InvalidInputError, match=r"repeats the column \['GrLivArea'\]"):
        validate_batch(frame)


@pytest.mark.parametrize(
    ("value", "marker"),
    [
        pytest.param(math.nan, "NaN", id="nan"),
        pytest.param(np.float64("nan"), "NaN", id="numpy-nan"),
        pytest.param(pd.NaT, "pandas NaT", id="nat"),
        pytest.param(pd.NA, "pandas NA", id="pandas-na"),
    ],
)
def test_a_missing_value_marker_in_a_dict_is_refused_saying_to_send_none(
    value: Any, marker: str
) -> None:
    """A new user's: ``DataFrame.to_dict("records")`` gives NaN (or pandas' NA, NaT) for a
    gap, which a number field refused as "Special numeric values (nan or infinity) are not
    permitted." and a text field as "Not a valid string.", neither saying what to send.
    ``make_prediction`` and ``input_drift`` say the same, for a number and a text field."""
    houses = [REQUIRED_HOUSE, {**REQUIRED_HOUSE, "LotArea": value, "KitchenQual": value}]
    said = [MISSING_MARKER_MESSAGE.format(marker=marker)]
    for refuse in (validate_batch, make_prediction, lambda h: input_drift(load_model(), h)):
        with pytest.raises(InvalidInputError) as refused:
            refuse(houses)
        assert refused.value.errors == {1: {"LotArea": said, "KitchenQual": said}}


@pytest.mark.parametrize("whole_from", [1, 1000], ids=["whole columns", "value by value"])
def test_a_frames_columns_are_read_as_json_carries_them(
    whole_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole columns at a time (numpy numbers, pandas text: a large frame), as a value at a
    time (a small one): a float column all whole (pandas widens an int column with gaps) gives
    ints, one with a fraction or an infinity floats, a gap None, whatever the column's type."""
    monkeypatch.setattr(frames, "WHOLE_COLUMNS_FROM", whole_from)
    frame = pd.DataFrame(
        {
            "whole": [1.0, math.nan, 3.0],
            "fraction": [0.5, math.nan, 2.0],
            "infinite": [1.0, math.inf, math.nan],
            "huge": [1e20, math.nan, 2.0],
            "float32": np.array([1, 2, 3], dtype=np.float32),
            "ints": [1, 2, 3],
            "text": pd.array(["a", None, "c"], dtype="string"),
            "objects": pd.Series([Decimal("2"), None, 4.5], dtype=object),
        }
    )
    rows = json_records(frame)
    assert rows == [
        {"whole": 1, "fraction": 0.5, "infinite": 1.0, "huge": 10**20, "float32": 1,
         "ints": 1, "text": "a", "objects": 2.0},
        {"whole": None, "fraction": None, "infinite": math.inf, "huge": None, "float32": 2,
         "ints": 2, "text": None, "objects": None},
        {"whole": 3, "fraction": 2.0, "infinite": None, "huge": 2, "float32": 3,
         "ints": 3, "text": "c", "objects": 4.5},
    ]  # fmt: skip
    kinds = [{name: type(value) for name, value in row.items()} for row in rows]
    assert kinds[0]["whole"] is kinds[0]["huge"] is kinds[2]["float32"] is int
    assert kinds[0]["infinite"] is kinds[2]["fraction"] is float


def test_a_frames_bad_row_is_named_by_its_position_whatever_its_index() -> None:
    """As documented (``make_prediction``): ``frame.iloc[row]``, not a label of its index."""
    frame = pd.DataFrame([REQUIRED_HOUSE, {**REQUIRED_HOUSE, "LotArea": -1}], index=[42, 7])
    with pytest.raises(InvalidInputError) as refused:
        validate_batch(frame)
    assert list(refused.value.errors) == [1]
    assert frame.iloc[1]["LotArea"] == -1


def test_a_csv_read_by_pandas_gives_the_same_houses_whatever_its_dtype_backend() -> None:
    """numpy's types, pandas' nullable ones and Arrow's take different paths here (whole
    columns, or a value at a time): the same rows."""
    path = DATASET_DIR / "test.csv"
    read = [
        json_records(pd.read_csv(path)),
        json_records(pd.read_csv(path, dtype_backend="numpy_nullable")),
        json_records(pd.read_csv(path, dtype_backend="pyarrow")),
    ]
    assert len(read[0]) == 1459
    assert read[0] == read[1] == read[2]


def test_a_frames_decimals_are_numbers_as_its_floats_are() -> None:
    """A probe's: a frame read from SQL holds a NUMERIC column as ``Decimal`` values, each of
    which was refused, row by row, as "Not a valid number."."""
    with_basement = {**REQUIRED_HOUSE, "LotFrontage": 65.5, "TotalBsmtSF": 800}
    floats = pd.DataFrame([with_basement, {**REQUIRED_HOUSE, "LotFrontage": None}])

    def as_decimals(values: pd.Series) -> pd.Series:
        return pd.Series(
            [Decimal("NaN") if pd.isna(v) else Decimal(str(v)) for v in values], dtype=object
        )

    decimals = floats.astype(object)
    for name in ("GrLivArea", "YearBuilt", "LotFrontage", "TotalBsmtSF"):
        decimals[name] = as_decimals(floats[name])
    assert json_records(decimals) == json_records(floats)
    assert make_prediction(decimals).predictions == make_prediction(floats).predictions
    # As pandas reads a NUMERIC column with Arrow's types (dtype_backend="pyarrow"), and as
    # categories; a signalling NaN is a NaN.
    arrow = pa.array([Decimal("65.50"), None], type=pa.decimal128(10, 2))
    decimals["LotFrontage"] = pd.Series(arrow, dtype=pd.ArrowDtype(arrow.type))
    decimals["TotalBsmtSF"] = as_decimals(floats["TotalBsmtSF"]).astype("category")
    assert json_records(decimals) == json_records(floats)
    decimals["TotalBsmtSF"] = pd.Series([Decimal("800"), Decimal("sNaN")], dtype=object)
    assert json_records(decimals)[1]["TotalBsmtSF"] is None
    decimals["GrLivArea"] = as_decimals(pd.Series([math.inf, *floats["GrLivArea"][1:]]))
    with pytest.raises(InvalidInputError) as refused:
        validate_batch(decimals)
    assert list(refused.value.errors) == [0] and list(refused.value.errors[0]) == ["GrLivArea"]


def test_a_frame_of_rows_without_columns_is_refused_row_by_row_as_empty_houses() -> None:
    """A probe's: three rows and no column were "no houses given"; they are three houses
    lacking every required field, as three empty dicts are."""
    with pytest.raises(InvalidInputError) as refused:
        validate_batch(pd.DataFrame(index=range(3)))
    with pytest.raises(InvalidInputError) as as_dicts:
        validate_batch([{}, {}, {}])
    assert refused.value.errors == as_dicts.value.errors
    assert sorted(refused.value.errors) == [0, 1, 2]
    assert set(refused.value.errors[0]) == set(REQUIRED_FIELDS)


def test_a_frames_empty_cell_is_a_null_and_a_column_left_out_is_left_out() -> None:
    """A frame cannot tell a field left out from a null: its NaN is a null, as in the Ames
    files (BsmtQual null: no basement); a field left out is a column left out."""
    with_basement = {**REQUIRED_HOUSE, "BsmtQual": "TA", "TotalBsmtSF": 800}
    frame = pd.DataFrame([with_basement, REQUIRED_HOUSE])  # pandas fills the gaps with NaN
    assert validate_batch(frame).columns()["BsmtQual"][1] is None  # as if sent as null
    left_out = validate_batch(pd.DataFrame([REQUIRED_HOUSE])).columns()
    assert left_out["BsmtQual"][0] is OMITTED


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param(Decimal("11622"), "Decimal", id="decimal"),
        pytest.param(Decimal("NaN"), "Decimal", id="decimal-nan"),
        pytest.param(pd.Timestamp("2010-06-01"), "Timestamp", id="timestamp"),
        pytest.param(complex(11622, 0), "complex", id="complex"),
    ],
)
def test_a_number_json_cannot_carry_in_a_dict_is_refused_saying_what_a_number_is(
    value: Any, kind: str
) -> None:
    """A probe's: a dict's ``Decimal`` (a number to anyone) was refused "Not a valid number.",
    leaving a Python caller guessing. A dict is JSON-shaped (the README): the value is still
    refused, by its row and field, saying what a number must be; ``make_prediction`` and
    ``input_drift`` say the same. JSON's own kinds keep marshmallow's words (``BAD_VALUES``)."""
    houses = [REQUIRED_HOUSE, {**REQUIRED_HOUSE, "LotArea": value}]
    said = f"Not a valid number: a number must be an int or a float, not a {kind}."
    for refuse in (validate_batch, make_prediction, lambda h: input_drift(load_model(), h)):
        with pytest.raises(InvalidInputError) as refused:
            refuse(houses)
        assert refused.value.errors == {1: {"LotArea": [said]}}


@pytest.mark.parametrize("whole_from", [1, 1000], ids=["whole columns", "value by value"])
def test_a_frames_text_is_read_as_score_houses_reads_a_files(
    whole_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A probe's: a frame of text (a CSV read with ``keep_default_na=False`` or ``dtype=str``)
    had ``NA`` refused as no code and no number, and its numbers as text refused, where
    score-houses read the same text as nulls and numbers. A number field's text that is no
    JSON number is still refused, in the API's words; a dict's text is still the API's."""
    monkeypatch.setattr(frames, "WHOLE_COLUMNS_FROM", whole_from)
    with_basement = {**REQUIRED_HOUSE, "BsmtQual": "TA", "TotalBsmtSF": 800, "LotFrontage": 65.5}
    gaps = pd.DataFrame([with_basement, REQUIRED_HOUSE])  # NaN where the second has none
    for text in (gaps.astype(str).fillna("NA"), gaps.astype(str).fillna("")):
        assert (text == "800.0").any().any() and not text.isna().any().any()
        assert json_records(text) == json_records(gaps)
        assert json_records(text.astype("category")) == json_records(gaps)
    assert json_records(gaps.astype(object).fillna("NA")) == json_records(gaps)
    odd = gaps.astype(str).assign(GrLivArea=["1_710", " 896"], MasVnrType=["None", "NA"])
    assert json_records(odd)[0]["MasVnrType"] == "None"  # a code, not a null
    with pytest.raises(InvalidInputError) as refused:
        validate_batch(odd)
    assert refused.value.errors == {
        0: {"GrLivArea": ["Not a valid number."]},
        1: {"GrLivArea": ["Not a valid number."]},
    }
    with pytest.raises(InvalidInputError) as as_dicts:
        validate_batch([{**REQUIRED_HOUSE, "GrLivArea": "896", "BsmtQual": "NA"}])
    assert set(as_dicts.value.errors[0]) == {"GrLivArea", "BsmtQual"}


def test_a_frames_nat_is_a_null_as_its_nan_is() -> None:
    """A probe's: pandas' ``NaT`` (a datetime column's empty cell, missing to ``isna()``) was
    refused "Not a valid number." row by row, where the frame's other empty cells are nulls;
    a time in a number column is refused by its row and field."""
    with_basement = {**REQUIRED_HOUSE, "BsmtQual": "TA", "TotalBsmtSF": 800, "GarageCars": 2}
    gaps = pd.DataFrame([with_basement, REQUIRED_HOUSE | {"GarageCars": 1}])
    assert gaps[["BsmtQual", "TotalBsmtSF"]].isna().to_numpy().tolist() == [
        [False, False],
        [True, True],
    ]
    nats = gaps.astype({"BsmtQual": object, "TotalBsmtSF": object})
    nats.loc[1, ["BsmtQual", "TotalBsmtSF"]] = pd.NaT
    assert nats.loc[1, "BsmtQual"] is pd.NaT and nats.loc[1, "TotalBsmtSF"] is pd.NaT
    assert json_records(nats) == json_records(gaps)
    priced = make_prediction(nats).predictions
    assert priced == pytest.approx(make_prediction(gaps).predictions, rel=1e-12)
    # A datetime column all of whose cells are empty (as pandas makes a column of NaT).
    empty = gaps.assign(TotalBsmtSF=pd.Series([pd.NaT, pd.NaT], dtype="datetime64[s]"))
    assert json_records(empty)[0]["TotalBsmtSF"] is None
    times = gaps.assign(GarageCars=pd.Series([pd.Timestamp("2010-06-01"), pd.NaT]))
    with pytest.raises(InvalidInputError) as refused:
        validate_batch(times)
    said = "Not a valid number: a number must be an int or a float, not a Timestamp."
    assert refused.value.errors == {0: {"GarageCars": [said]}}


def test_a_code_sent_as_bytes_is_refused_not_read_as_another() -> None:
    """A probe's: marshmallow's String decodes bytes, where the package reads a value as sent:
    ``b"NAmes"`` passed, and was priced as a code never seen."""
    house = {**REQUIRED_HOUSE, "Neighborhood": b"NAmes", "BsmtQual": b"TA"}
    with pytest.raises(InvalidInputError) as refused:
        validate_batch([house])
    assert refused.value.errors == {
        0: {"Neighborhood": ["Not a valid string."], "BsmtQual": ["Not a valid string."]}
    }


def test_a_model_that_is_no_trained_model_is_named(request_rows: list[dict[str, Any]]) -> None:
    """A probe's: a model's path given as ``model`` raised ``AttributeError: 'str' object has
    no attribute 'compiled_stages'``."""
    for no_model in ("gradient_boosting_model_v0.3.3.joblib", ""):
        with pytest.raises(TypeError, match=r"model must be a TrainedModel \(load_model\(path"):
            make_prediction(request_rows[:1], model=no_model)  # type: ignore[arg-type]
