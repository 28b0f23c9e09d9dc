"""The packaged model's compiled preprocessing (``compiled_pipeline``) makes what its pipeline's
fitted steps make, to the last bit: the matrix, the columns before imputation, the features by
name and the log price, for test.csv's houses together and one at a time (as the API sends
them), and for sampled houses reaching every corner (``house_samples``); and
``make_prediction`` answers as the pipeline path did: prices, ranges, warnings and explanations.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from typing import Any

import joblib
import numpy as np
import pytest
from house_samples import pipeline_answers, sampled_houses

from gradient_boosting_model.predict import PredictionResult, make_prediction
from gradient_boosting_model.trained_model import Stages, TrainedModel
from gradient_boosting_model.validation import validate_batch, validate_inputs

pytestmark = pytest.mark.integration

#: Sampled houses, and how many of them are also priced one at a time.
SAMPLED = 2000
ALONE = 300


@pytest.fixture(scope="module")
def sampled(request_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sampled_houses(request_rows, SAMPLED, seed=25)


def both_ways(model: TrainedModel, houses: Sequence[dict[str, Any]]) -> tuple[Stages, Stages]:
    """The stages of ``houses``: compiled, and through the pipeline's fitted steps."""
    return (
        model.compiled_stages(validate_batch(houses)),
        model.stages(validate_inputs(houses)),
    )


def assert_same_stages(compiled: Stages, pipeline: Stages) -> None:
    """Every stage equal to the last bit (NaN where NaN), every column of each."""
    assert compiled.matrix.shape == pipeline.matrix.shape
    assert compiled.matrix.tobytes() == pipeline.matrix.tobytes()
    assert compiled.log_price.tobytes() == pipeline.log_price.tobytes()
    for kept in ("raw", "before_impute", "features"):
        mine, theirs = getattr(compiled, kept), getattr(pipeline, kept)
        assert list(mine) == list(theirs), kept
        for name in theirs:
            np.testing.assert_array_equal(mine[name], theirs[name], err_msg=f"{kept}: {name}")
            if mine[name].dtype != object:
                assert (
                    np.asarray(mine[name], dtype=np.float64).tobytes()
                    == np.asarray(theirs[name], dtype=np.float64).tobytes()
                ), f"{kept}: {name}"
    names = list(pipeline.before_impute)
    np.testing.assert_array_equal(compiled.assumed_matrix(names), pipeline.assumed_matrix(names))


def assert_same_answers(fast: PredictionResult, slow: PredictionResult) -> None:
    assert fast.predictions == slow.predictions
    assert fast.intervals == slow.intervals
    assert fast.warnings == slow.warnings
    if slow.explanations is None:
        assert fast.explanations is None
        return
    assert fast.explanations is not None
    assert fast.explanations.fields == slow.explanations.fields
    assert fast.explanations.base_log_price == slow.explanations.base_log_price
    np.testing.assert_array_equal(fast.explanations.log_factors, slow.explanations.log_factors)
    np.testing.assert_array_equal(fast.explanations.assumed, slow.explanations.assumed)


def test_test_csv_is_preprocessed_as_the_pipeline_does(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    assert_same_stages(*both_ways(packaged_model, request_rows))


def test_each_house_of_test_csv_alone_is_preprocessed_as_the_pipeline_does(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    for row in request_rows:
        assert_same_stages(*both_ways(packaged_model, [row]))


def test_sampled_houses_are_preprocessed_as_the_pipeline_does(
    packaged_model: TrainedModel, sampled: list[dict[str, Any]]
) -> None:
    compiled, pipeline = both_ways(packaged_model, sampled)
    assert_same_stages(compiled, pipeline)
    # The sample reaches the corners it is meant to: values assumed, and codes and values
    # the training never saw (the trees' features beyond their training ranges).
    assert compiled.assumed_matrix(list(compiled.before_impute)).mean() > 0.1
    warned = packaged_model.ranges.check(compiled.raw, compiled.features, compiled.assumed)
    fields = {warning.field for house in warned for warning in house}
    assert {"GrLivArea", "LotArea", "1stFlrSF", "TotalBsmtSF", "KitchenQual"} <= fields
    for house in sampled[:ALONE]:
        assert_same_stages(*both_ways(packaged_model, [house]))


def test_make_prediction_answers_as_the_pipeline_path(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]], sampled: list[dict[str, Any]]
) -> None:
    for houses in (request_rows, sampled):
        for explain in (False, True):
            assert_same_answers(
                make_prediction(houses, model=packaged_model, explain=explain),
                pipeline_answers(packaged_model, houses, explain=explain),
            )
    for house in [*request_rows[:50], *sampled[:ALONE]]:
        assert_same_answers(
            make_prediction([house], model=packaged_model, explain=True),
            pipeline_answers(packaged_model, [house], explain=True),
        )


def test_pricing_changes_nothing_the_model_stores(
    packaged_model: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    fresh = dataclasses.replace(packaged_model)  # nothing built yet

    def dumped() -> bytes:
        buffer = io.BytesIO()
        joblib.dump(fresh, buffer, compress=3)
        return buffer.getvalue()

    before = dumped()
    make_prediction(request_rows[:1], model=fresh)
    assert "compiled_pipeline" in fresh.__dict__
    assert "compiled_pipeline" not in fresh.__getstate__()
    assert dumped() == before
