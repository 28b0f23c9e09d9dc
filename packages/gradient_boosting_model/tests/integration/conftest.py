"""Fixtures of the integration tests: the packaged model, and the same training's pipeline fitted
again (once a session: a fit of 1000 trees takes 5 to 10 seconds)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from gradient_boosting_model.config import Config
from gradient_boosting_model.data import features_and_target, served_split, split_holdout
from gradient_boosting_model.fitting import fit_pipeline, training_distributions, training_ranges
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.persistence import load_holdout_model, load_model
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.validation import validate_inputs
from integration.retraining import Refit


@pytest.fixture(scope="session")
def packaged_model(config: Config) -> TrainedModel:
    return load_model(config)


@pytest.fixture(scope="session")
def holdout_model(config: Config) -> TrainedModel:
    """The model the holdout measures: the packaged one's twin, fitted on the training split
    alone, where the packaged one was fitted on the holdout too (``data.served_fit``)."""
    return load_holdout_model(config)


@pytest.fixture(scope="session")
def training_columns(config: Config) -> tuple[Columns, npt.NDArray[np.float64]]:
    """The houses the packaged model was fitted on (``data.served_split``) as ``train_model``
    validates them, and their prices."""
    houses, prices = features_and_target(served_split(split_holdout(config), config).train, config)
    return validate_inputs(houses), prices


@pytest.fixture(scope="session")
def refit(
    packaged_model: TrainedModel, training_columns: tuple[Columns, npt.NDArray[np.float64]]
) -> Refit:
    """Training as ``train.train_model`` does it, with ``config``'s settings, but for the price
    ranges' calibration, which is the packaged model's: that one takes ten more fits (its
    cross-validation), and is a function of the log price alone."""
    columns, prices = training_columns

    def fitted(config: Config) -> TrainedModel:
        pipeline = fit_pipeline(columns, prices, config)
        ranges = training_ranges(pipeline, columns, config)
        return TrainedModel(
            pipeline=pipeline,
            intervals=packaged_model.intervals,
            ranges=ranges,
            distributions=training_distributions(columns, ranges, config),
        )

    return fitted
