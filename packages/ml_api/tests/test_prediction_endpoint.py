from __future__ import annotations

import math
from typing import Any

import flask
import pytest
from gradient_boosting_model.predict import make_prediction
from starlette.testclient import TestClient

from tests.houses import without_ids

pytestmark = pytest.mark.integration


def test_prediction_endpoint(client: TestClient, request_rows: list[dict[str, Any]]) -> None:
    """Houses from the shipped test data get what ``make_prediction`` gives them."""
    rows = request_rows[:100]
    response = client.post("/v1/predictions", json=rows)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    expected = make_prediction(rows)
    assert without_ids(response.json()) == {
        "predictions": expected.predictions,
        "intervals": [
            {
                "lower": i.lower,
                "upper": i.upper,
                "level": i.level,
                "calibrated": i.calibrated,
                "partial": i.partial,
            }
            for i in expected.intervals
        ],
        "warnings": [
            [{"field": w.field, "message": w.message} for w in house] for house in expected.warnings
        ],
        "model_version": expected.model_version,
    }


def test_every_test_csv_row_in_one_request(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    response = client.post("/v1/predictions", json=request_rows)
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    assert len(predictions) == len(request_rows) == 1459
    assert all(math.isfinite(price) and price > 0 for price in predictions)


def test_predictions_keep_request_order(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    rows = request_rows[:20]
    forward = client.post("/v1/predictions", json=rows).json()["predictions"]
    backward = client.post("/v1/predictions", json=rows[::-1]).json()["predictions"]
    assert backward == forward[::-1]


def test_whole_floats_count_as_integers(client: TestClient, house: dict[str, Any]) -> None:
    """A pandas column with gaps serialises 2 as 2.0; the model package accepts it too."""
    as_floats = {**house, "FullBath": float(house["FullBath"]), "YrSold": float(house["YrSold"])}
    expected = client.post("/v1/predictions", json=[house]).json()
    assert without_ids(client.post("/v1/predictions", json=[as_floats]).json()) == without_ids(
        expected
    )


def test_only_required_fields(client: TestClient, house: dict[str, Any]) -> None:
    required = [
        "LotArea",
        "Neighborhood",
        "OverallQual",
        "OverallCond",
        "YearBuilt",
        "GrLivArea",
        "YrSold",
    ]
    response = client.post("/v1/predictions", json=[{name: house[name] for name in required}])
    assert response.status_code == 200
    assert response.json()["predictions"][0] > 0


def test_a_priced_request_body_is_read_once(
    client: TestClient, house: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP: the houses are priced, and Flask never read the body (the validator did)."""
    reads: list[object] = []
    read = flask.Request.get_data

    def counted(self: flask.Request, *args: Any, **kwargs: Any) -> Any:
        reads.append(self.path)
        return read(self, *args, **kwargs)

    monkeypatch.setattr(flask.Request, "get_data", counted)
    response = client.post("/v1/predictions", json=[house, house])
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 2
    assert reads == []
