from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gradient_boosting_model import __version__, load_card
from gradient_boosting_model.config import Config
from gradient_boosting_model.data import features_and_target, served_split, split_holdout
from gradient_boosting_model.evaluation import holdout_metrics
from gradient_boosting_model.fitting import fit_pipeline
from gradient_boosting_model.holdout_identity import holdout_identity
from gradient_boosting_model.persistence import holdout_model_path, load_metadata
from gradient_boosting_model.train import training_metadata
from gradient_boosting_model.trained_model import TrainedModel
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


def test_the_packaged_model_is_fitted_as_the_config_says_and_measured_by_a_twin_if_need_be(
    config: Config,
) -> None:
    """``data.served_fit``: the packaged model's houses, and, for ``all_labelled``, its twin
    beside it, the same version's procedure fitted on the training split alone, of the same
    holdout (``holdout_model_path``)."""
    split = split_holdout(config)
    card = load_card()
    assert card["fitted_on"] == config.data.served_fit
    assert card["houses_fitted"] == len(served_split(split, config).train)
    measured = load_metadata(config, path=holdout_model_path(config).with_suffix(".json"))
    assert measured["fitted_on"] == "training_split"
    assert measured["houses_fitted"] == len(split.train) == measured["metrics"]["train"]["rows"]
    assert measured["holdout_split"] == card["holdout_split"]
    assert measured["metrics"]["holdout"] == load_metadata(config)["metrics"]["holdout"]
    twin = config.data.served_fit == "all_labelled"
    assert measured["model_version"] == (f"{__version__}+twin" if twin else __version__)


def test_a_model_fitted_on_every_labelled_house_has_its_twins_holdout_figures(
    config: Config, packaged_model: TrainedModel
) -> None:
    """Its own figures on the holdout would be of houses it was fitted on."""
    split = split_holdout(config)
    everything = config.model_copy(
        update={"data": config.data.model_copy(update={"served_fit": "all_labelled"})}
    )
    twin = replace(packaged_model, intervals=replace(packaged_model.intervals, partial=None))
    metadata = training_metadata(packaged_model, split, everything, twin=twin)
    assert metadata["fitted_on"] == "all_labelled"
    fitted = len(split.train) + len(split.holdout)
    assert metadata["houses_fitted"] == fitted == metadata["metrics"]["train"]["rows"]
    assert metadata["metrics"]["holdout"] == holdout_metrics(twin, split, config)
    assert metadata["metrics"]["holdout"] != holdout_metrics(packaged_model, split, config)
    # Either half alone would have the holdout measure a model fitted on it, or miscount.
    with pytest.raises(ValueError, match="fitted on all_labelled has no twin"):
        training_metadata(packaged_model, split, everything)
    with pytest.raises(ValueError, match="fitted on training_split has a twin"):
        training_metadata(packaged_model, split, everything, fitted_on="training_split", twin=twin)
