"""The model package's labelled holdout, priced through the API, scores as the package says."""

from __future__ import annotations

import pytest
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.evaluation import regression_metrics
from gradient_boosting_model.persistence import load_metadata
from starlette.testclient import TestClient

pytestmark = pytest.mark.integration

RMSLE_BOUND = 0.13  # the model package's own benchmark bound


def test_holdout_through_the_api_matches_the_package_benchmark(client: TestClient) -> None:
    config = load_config()
    houses, prices = features_and_target(split_holdout(config).holdout, config)
    response = client.post("/v1/predictions", json=houses)
    assert response.status_code == 200
    metrics = regression_metrics(prices, response.json()["predictions"])
    recorded = load_metadata(config)["metrics"]["holdout"]
    assert metrics["rows"] == recorded["rows"]
    assert metrics["rmsle"] == pytest.approx(recorded["rmsle"], abs=1e-4)
    assert metrics["rmsle"] <= RMSLE_BOUND
