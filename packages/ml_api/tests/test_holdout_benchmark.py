"""The model package's labelled holdout, priced through the API, scores as the package says.

Served by the model the holdout measures (the ``holdout_client``): the packaged model, or its
twin fitted on the training split alone where the packaged one was fitted on the holdout too,
whose figures the card's are; the packaged model itself would score on houses it was fitted
on."""

from __future__ import annotations

import pytest
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.evaluation import regression_metrics
from gradient_boosting_model.persistence import load_metadata
from starlette.testclient import TestClient

pytestmark = pytest.mark.integration

RMSLE_BOUND = 0.13  # the model package's own benchmark bound


def test_holdout_through_the_api_matches_the_package_benchmark(
    holdout_client: TestClient,
) -> None:
    config = load_config()
    served = holdout_client.get("/v1/model").json()
    assert served["fitted_on"] == "training_split"  # it never saw the holdout's houses
    houses, prices = features_and_target(split_holdout(config).holdout, config)
    response = holdout_client.post("/v1/predictions", json=houses)
    assert response.status_code == 200
    metrics = regression_metrics(prices, response.json()["predictions"])
    recorded = load_metadata(config)["metrics"]["holdout"]  # the packaged model's card's
    assert metrics["rows"] == recorded["rows"]
    assert metrics["rmsle"] == pytest.approx(recorded["rmsle"], abs=1e-4)
    assert metrics["rmsle"] <= RMSLE_BOUND
