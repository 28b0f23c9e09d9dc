from __future__ import annotations

import numpy as np
import pytest

from gradient_boosting_model import load_card
from gradient_boosting_model.config import Config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import fit_pipeline
from gradient_boosting_model.holdout_identity import holdout_identity
from gradient_boosting_model.persistence import load_metadata
from gradient_boosting_model.validation import validate_inputs

pytestmark = pytest.mark.integration


def _small(config: Config) -> Config:
    model = config.model.model_copy(update={"n_estimators": 40})
    return config.model_copy(update={"model": model})


def test_the_holdout_never_meets_training(config: Config) -> None:
    split = split_holdout(config)
    train_ids = {row["Id"] for row in split.train}
    holdout_ids = [row["Id"] for row in split.holdout]
    assert not train_ids & set(holdout_ids)
    assert [row["Id"] for row in split_holdout(config).holdout] == holdout_ids
    assert max(row["GrLivArea"] for row in split.train) <= config.data.max_living_area
    assert min(row["GrLivArea"] for row in split.excluded) > config.data.max_living_area
    excluded_ids = {row["Id"] for row in split.excluded}
    assert not excluded_ids & (train_ids | set(holdout_ids))


def test_the_artifact_records_the_holdout_its_figures_are_of(config: Config) -> None:
    """The diff-test and the replay check the holdout they read against it."""
    recorded = load_card()["holdout_split"]
    assert recorded == holdout_identity(split_holdout(config), config).to_json()
    assert recorded["houses"] == load_metadata(config)["metrics"]["holdout"]["rows"]


def test_training_is_deterministic(config: Config) -> None:
    small = _small(config)
    split = split_holdout(small)
    train, prices = features_and_target(split.train[:400], small)
    train_columns = validate_inputs(train)
    houses, _ = features_and_target(split.holdout, small)
    columns = validate_inputs(houses)
    first = fit_pipeline(train_columns, prices, small).predict(columns)
    second = fit_pipeline(train_columns, prices, small).predict(columns)
    np.testing.assert_array_equal(first, second)
    assert np.all(first > 0)
