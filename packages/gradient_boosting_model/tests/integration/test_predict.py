from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gradient_boosting_model import __version__
from gradient_boosting_model.config import DATASET_DIR, Config
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.schemas import REQUIRED_FIELDS

pytestmark = pytest.mark.integration


def test_every_request_row_gets_a_finite_positive_price(
    request_rows: list[dict[str, Any]],
) -> None:
    result = make_prediction(request_rows)
    assert len(result.predictions) == len(request_rows) == 1459
    assert all(math.isfinite(price) and price > 0 for price in result.predictions)
    assert result.model_version == __version__


def test_prices_come_back_in_request_order(request_rows: list[dict[str, Any]]) -> None:
    rows = request_rows[:30]
    forward = make_prediction(rows).predictions
    backward = make_prediction(rows[::-1]).predictions
    assert backward == forward[::-1]
    assert len(set(forward)) > 1  # different houses, different prices
    assert make_prediction(rows[7:8]).predictions == [forward[7]]


def test_a_frame_read_by_pandas_gets_the_same_prices(
    config: Config, request_rows: list[dict[str, Any]]
) -> None:
    """NaN for missing, ints widened to floats by the gaps: the frame still means the same."""
    frame = pd.read_csv(
        DATASET_DIR / config.data.requests_file, keep_default_na=False, na_values=["NA"]
    )
    assert make_prediction(frame).predictions == make_prediction(request_rows).predictions


@pytest.mark.parametrize(
    "read",
    [
        pytest.param({"keep_default_na": False}, id="keep_default_na=False"),
        pytest.param({"dtype": str}, id="dtype=str"),
        pytest.param({"dtype": str, "keep_default_na": False}, id="all-text"),
        pytest.param({"dtype": "category", "keep_default_na": False}, id="categories"),
        pytest.param({"keep_default_na": False, "dtype_backend": "pyarrow"}, id="arrow"),
    ],
)
def test_a_frame_of_the_files_text_gets_the_same_answers(
    config: Config, request_rows: list[dict[str, Any]], read: dict[str, Any]
) -> None:
    """A probe's: test.csv read by pandas as text (its ``NA`` kept, its numbers as text) had
    every row refused, where score-houses priced the same file, and its Parquet copy: a
    frame's text is read as score-houses reads a file's (``text_values``)."""
    frame = pd.read_csv(DATASET_DIR / config.data.requests_file, **read)
    assert (frame == "NA").any().any() or (frame.dtypes == "str").all()
    priced, expected = make_prediction(frame), make_prediction(request_rows)
    assert priced.predictions == expected.predictions
    assert priced.intervals == expected.intervals
    assert priced.warnings == expected.warnings


def test_a_batch_of_no_houses_is_refused_as_the_readme_says(
    config: Config, request_rows: list[dict[str, Any]]
) -> None:
    """A probe's: a frame filtered down to no rows raised, where the README's table of the
    public API said nothing of it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    frame = pd.read_csv(DATASET_DIR / config.data.requests_file)
    none: list[dict[str, Any]] = []
    for houses in (none, frame.iloc[:0], frame[frame["Neighborhood"] == "Atlantis"]):
        with pytest.raises(InvalidInputError) as refused:
            make_prediction(houses)
        assert refused.value.errors == {}
        assert f'`InvalidInputError` "{refused.value}"' in readme


def test_a_frame_and_its_rows_get_the_same_prices(request_rows: list[dict[str, Any]]) -> None:
    rows = request_rows[:40]
    frame = pd.DataFrame(rows)
    assert make_prediction(frame).predictions == make_prediction(rows).predictions


def test_unknown_details_are_taken_as_typical(house: dict[str, Any]) -> None:
    """With only the required fields, a house is priced near its fully described price."""
    minimal = {name: house[name] for name in REQUIRED_FIELDS}
    [full, sparse] = make_prediction([house, minimal]).predictions
    assert 0.67 * full < sparse < 1.5 * full


def test_a_better_house_is_worth_more(house: dict[str, Any]) -> None:
    better = {**house, "OverallQual": 9, "GrLivArea": house["GrLivArea"] * 2}
    plain, improved = make_prediction([house, better]).predictions
    assert improved > plain


def test_a_bad_row_refuses_the_whole_batch(request_rows: list[dict[str, Any]]) -> None:
    rows = [dict(row) for row in request_rows[:10]]
    rows[9]["OverallCond"] = 42
    with pytest.raises(InvalidInputError) as refused:
        make_prediction(rows)
    assert list(refused.value.errors) == [9]
    assert list(refused.value.errors[9]) == ["OverallCond"]
