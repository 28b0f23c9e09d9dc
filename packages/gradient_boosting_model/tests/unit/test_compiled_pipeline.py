"""The compiler of the pipeline's fitted steps (``compiled_pipeline``), on the preprocessing
fitted on 40 houses of test.csv: for other houses (many of their codes and values unseen in so
few, and sampled houses at every corner) it makes the steps' matrix to the last bit; a step it
does not know, or out of order, is refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from house_samples import sampled_houses
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.compiled_pipeline import CompiledPipeline
from gradient_boosting_model.config import Config
from gradient_boosting_model.pipeline import build_pipeline
from gradient_boosting_model.validation import validate_batch, validate_inputs


@pytest.fixture(scope="module")
def preprocessing(config: Config, request_rows: list[dict[str, Any]]) -> Pipeline:
    """build_pipeline's steps fitted on 40 houses (made-up prices), its regressor left out."""
    steps = build_pipeline(config).steps[:-1]
    pipeline = Pipeline([*steps, ("regressor", "passthrough")])
    return pipeline.fit(validate_inputs(request_rows[:40]), np.linspace(1e5, 3e5, 40))


def compiled_matrix(pipeline: Pipeline, houses: list[dict[str, Any]]) -> np.ndarray:
    compiled = CompiledPipeline.from_pipeline(pipeline, layout=batch_layout())
    return compiled.run(validate_batch(houses)).matrix


@pytest.mark.parametrize("first", [40, 41, 500, 1000])
def test_other_houses_get_the_steps_matrix(
    preprocessing: Pipeline, request_rows: list[dict[str, Any]], first: int
) -> None:
    for houses in (request_rows[first : first + 300], request_rows[first : first + 1]):
        expected = preprocessing.transform(validate_inputs(houses))
        assert compiled_matrix(preprocessing, houses).tobytes() == expected.tobytes()


def test_sampled_houses_get_the_steps_matrix(
    preprocessing: Pipeline, request_rows: list[dict[str, Any]]
) -> None:
    houses = sampled_houses(request_rows, 500, seed=7)
    expected = preprocessing.transform(validate_inputs(houses))
    assert np.isnan(expected).sum() == 0
    assert compiled_matrix(preprocessing, houses).tobytes() == expected.tobytes()


def test_a_step_it_does_not_know_is_refused(
    preprocessing: Pipeline, request_rows: list[dict[str, Any]]
) -> None:
    steps = list(preprocessing.steps)
    scaler = StandardScaler().fit(np.ones((2, 1)))
    with pytest.raises(TypeError, match="StandardScaler"):
        compiled_matrix(Pipeline([*steps[:-2], ("scale", scaler), *steps[-2:]]), [])


def test_a_step_out_of_order_is_refused(preprocessing: Pipeline) -> None:
    steps = dict(preprocessing.steps)
    order = ["absent_as_none", "grades", "ages", "impute", "categories", "totals", "matrix"]
    shuffled = Pipeline([*[(name, steps[name]) for name in order], ("regressor", "passthrough")])
    with pytest.raises(TypeError, match="TargetOrderedEncoder after the imputation"):
        CompiledPipeline.from_pipeline(shuffled, layout=batch_layout())
    without_matrix = Pipeline([*list(preprocessing.steps)[:-2], ("regressor", "passthrough")])
    with pytest.raises(TypeError, match="ColumnStacker"):
        CompiledPipeline.from_pipeline(without_matrix, layout=batch_layout())


def test_a_batch_of_another_layout_is_refused(
    preprocessing: Pipeline, request_rows: list[dict[str, Any]]
) -> None:
    compiled = CompiledPipeline.from_pipeline(preprocessing, layout=batch_layout())
    batch = validate_batch(request_rows[:2])
    other = dataclasses.replace(batch, layout=dataclasses.replace(batch.layout))
    with pytest.raises(ValueError, match="laid out"):
        compiled.run(other)
