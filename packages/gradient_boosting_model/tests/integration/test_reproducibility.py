"""Training is reproducible: the same version retrained from the same data answers as its
artifact does, for every house of test.csv.

On the machine that trained the artifact, to the last bit; on another (its floating point may
differ in the last bits), by the project's rule (``tolerances``: prices to the cent, other floats
within 1e-9, warnings equal). The pipeline, the input ranges and the monitored distributions are
trained again here (one fit, as ``train_model`` does it); the price ranges' calibration, ten
more fits, is the artifact's: ``make diff-test`` checks a whole training against the committed
baseline on every ``make test``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradient_boosting_model import __version__
from gradient_boosting_model.blend import boosted_part
from gradient_boosting_model.config import Config
from gradient_boosting_model.persistence import load_metadata
from gradient_boosting_model.release.comparison import compare
from gradient_boosting_model.release.diff import price_requests
from gradient_boosting_model.release.snapshot import Snapshot
from gradient_boosting_model.tolerances import floating_point_fingerprint, json_differences
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.validation import validate_inputs
from integration.retraining import Refit

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def retrained(config: Config, refit: Refit) -> TrainedModel:
    return refit(config)


@pytest.fixture(scope="module")
def answers(
    config: Config, packaged_model: TrainedModel, retrained: TrainedModel
) -> tuple[Snapshot, Snapshot]:
    """The artifact's answers and the retrained model's, for every house of test.csv."""
    return (
        price_requests(packaged_model, model_version=__version__, config=config),
        price_requests(retrained, model_version=__version__, config=config),
    )


def test_retraining_answers_as_the_artifact_within_the_rule(
    answers: tuple[Snapshot, Snapshot], packaged_model: TrainedModel, retrained: TrainedModel
) -> None:
    artifact, again = answers
    assert len(again) == 1459
    assert json_differences(artifact.to_json(), again.to_json()) == []
    assert json_differences(packaged_model.ranges.describe(), retrained.ranges.describe()) == []
    distributions = packaged_model.distributions.describe(), retrained.distributions.describe()
    assert json_differences(*distributions) == []


def _differing(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    return sorted(key for key in {*first, *second} if first.get(key) != second.get(key))


def test_retraining_on_the_training_machine_is_identical_to_the_last_bit(
    config: Config,
    answers: tuple[Snapshot, Snapshot],
    packaged_model: TrainedModel,
    retrained: TrainedModel,
    request_rows: list[dict[str, Any]],
) -> None:
    """Meaningful only where the artifact was trained (``make test`` trains it first): another
    machine's floating point is not expected to give the same bits, and this test says so."""
    trained_on = load_metadata(config).get("machine", {})
    here = floating_point_fingerprint()
    if trained_on != here:
        pytest.skip(f"artifact trained elsewhere (differs in {_differing(trained_on, here)})")
    assert compare(*answers).bit_identical
    columns = validate_inputs(request_rows)
    np.testing.assert_array_equal(  # before the prices are rounded to the cent
        packaged_model.stages(columns).log_price, retrained.stages(columns).log_price
    )
    blends = (
        packaged_model.pipeline.named_steps["regressor"].regressor_,
        retrained.pipeline.named_steps["regressor"].regressor_,
    )
    lassos = [blend.linear_ for blend in blends]
    np.testing.assert_array_equal(lassos[0].basis_coef_, lassos[1].basis_coef_)
    assert lassos[0].intercept_ == lassos[1].intercept_
    before, after = (boosted_part(blend) for blend in blends)
    np.testing.assert_array_equal(before.init_.coef_, after.init_.coef_)
    assert before.init_.intercept_ == after.init_.intercept_
    for old, new in zip(before.estimators_[:, 0], after.estimators_[:, 0], strict=True):
        for part in ("feature", "threshold", "value"):
            np.testing.assert_array_equal(getattr(old.tree_, part), getattr(new.tree_, part))
