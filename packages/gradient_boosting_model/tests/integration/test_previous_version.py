"""Model 0.2.0 (the boosted regressor alone, no blend) still loads, prices and explains as it did.

The service serves 0.2.0 as the champion while 0.3.0 is its challenger, with this package's code.
A 0.2.0 pipeline is built here as 0.2.0's code built it (the same preprocessing, then a
``GradientBoostingRegressor`` from a ``LinearStart`` inside the log-target wrapper), fitted on the
training split, saved and loaded as an artifact is; the new code must price it with the regressor's
own prediction and explain it exactly with its trees, as 0.2.0 did. And 0.3.0's boosted half is
that very model: 0.3.0 differs from 0.2.0 only by the Lasso it blends in (and since 0.3.5 by
grades kept from its trees, ``blend.monotone_grades``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import Pipeline

from gradient_boosting_model.blend import boosted_part
from gradient_boosting_model.config import Config
from gradient_boosting_model.fitting import (
    fit_pipeline,
    training_distributions,
    training_ranges,
)
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.pipeline import build_pipeline
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.tree_arrays import TreeArrays
from gradient_boosting_model.tree_paths import TreePaths
from gradient_boosting_model.validation import validate_batch, validate_inputs

pytestmark = pytest.mark.integration


def previous_pipeline(
    config: Config, columns: Columns, prices: npt.NDArray[np.float64]
) -> Pipeline:
    """A pipeline as model 0.2.0's ``build_pipeline`` and ``fit_pipeline`` made it."""
    pipeline = build_pipeline(config)
    boosted = GradientBoostingRegressor(**config.model.model_dump())
    pipeline.steps[-1] = (
        "regressor",
        TransformedTargetRegressor(regressor=boosted, func=np.log, inverse_func=np.exp),
    )
    matrix = pipeline[:-1].fit_transform(columns, prices)
    names = pipeline.named_steps["matrix"].feature_names_in_.tolist()
    start = LinearStart(
        alpha=config.linear_start.alpha,
        log_columns=tuple(names.index(name) for name in config.linear_start.log_features),
    )
    pipeline.steps[-1][1].set_params(regressor__init=start).fit(matrix, prices)
    return pipeline


@pytest.fixture(scope="module")
def previous(
    config: Config,
    packaged_model: TrainedModel,
    training_columns: tuple[Columns, npt.NDArray[np.float64]],
    tmp_path_factory: pytest.TempPathFactory,
) -> TrainedModel:
    """A 0.2.0 model (ranges without sale-condition groups, as 0.2.0's), saved and loaded."""
    columns, prices = training_columns
    pipeline = previous_pipeline(config, columns, prices)
    ranges = training_ranges(pipeline, columns, config)
    model = TrainedModel(
        pipeline=pipeline,
        intervals=replace(packaged_model.intervals, groups=None),
        ranges=ranges,
        distributions=training_distributions(columns, ranges, config),
    )
    path = Path(tmp_path_factory.mktemp("previous")) / "model.joblib"
    joblib.dump(model, path, compress=3)
    loaded: TrainedModel = joblib.load(path)
    return loaded


def test_a_previous_model_prices_with_its_own_regressor(
    previous: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    columns = validate_inputs(request_rows)
    regressor = previous.pipeline.named_steps["regressor"]
    assert isinstance(regressor.regressor_, GradientBoostingRegressor)
    # Its trees in arrays (tree_arrays), to scikit-learn's last bit.
    assert isinstance(getattr(previous.log_price_predictor, "__self__", None), TreeArrays)
    stages = previous.stages(columns)
    np.testing.assert_array_equal(stages.log_price, regressor.regressor_.predict(stages.matrix))
    np.testing.assert_array_equal(stages.log_price, np.log(previous.pipeline.predict(columns)))
    result = make_prediction(request_rows, model=previous)
    np.testing.assert_allclose(
        result.predictions, previous.pipeline.predict(columns), rtol=1e-12, atol=0.005
    )


def test_a_previous_model_is_explained_exactly_by_its_trees(
    previous: TrainedModel, request_rows: list[dict[str, Any]]
) -> None:
    assert isinstance(previous.explainer.paths, TreePaths)
    evidence = previous.evidence(
        previous.compiled_stages(validate_batch(request_rows)), explain=True
    )
    assert evidence.explanations is not None
    explained = evidence.explanations
    total = explained.base_log_price + explained.log_factors.sum(axis=1)
    np.testing.assert_allclose(total, evidence.log_price, rtol=0, atol=1e-9)


def test_the_blends_boosted_half_is_the_previous_model(
    config: Config,
    previous: TrainedModel,
    packaged_model: TrainedModel,
    request_rows: list[dict[str, Any]],
    training_columns: tuple[Columns, npt.NDArray[np.float64]],
) -> None:
    """Trained with the same settings on the same houses: the same preprocessing and, with
    ``blend.monotone_grades``, ``later_never_lower`` and ``more_never_lower`` off (since 0.3.5
    the trees do not see the grades, since 0.3.6 the remodel's age, since 0.3.7 the building's
    and the garage's, since 0.3.8 the garage's cars and area, the frontage, veneer and baths),
    the same trees
    (to float rounding, should the artifact have been trained on another machine)."""
    columns = validate_inputs(request_rows)
    old, new = previous.stages(columns), packaged_model.stages(columns)
    np.testing.assert_allclose(old.matrix, new.matrix, rtol=1e-9, atol=0)
    unbounded = config.model_copy(
        update={
            "blend": config.blend.model_copy(
                update={"monotone_grades": False, "later_never_lower": (), "more_never_lower": ()}
            )
        }
    )
    blend = fit_pipeline(*training_columns, unbounded).named_steps["regressor"].regressor_
    np.testing.assert_allclose(
        boosted_part(blend).predict(new.matrix), old.log_price, rtol=0, atol=1e-9
    )
