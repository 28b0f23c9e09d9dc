from __future__ import annotations

from typing import Any

import pytest
from connexion import FlaskApp
from gradient_boosting_model.errors import ModelArtifactError
from starlette.testclient import TestClient

import api.app
import api.controller
from api import config
from api.app import create_app

pytestmark = pytest.mark.integration


def test_an_unexpected_error_is_a_bare_500_problem(
    app: FlaskApp, monkeypatch: pytest.MonkeyPatch, house: dict[str, Any]
) -> None:
    def explode(houses: Any) -> Any:
        raise RuntimeError("secret internals at /srv/model.py line 42")

    monkeypatch.setattr(api.controller, "make_prediction", explode)
    with TestClient(app.middleware, raise_server_exceptions=False) as client:
        response = client.post("/v1/predictions", json=[house])
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Internal Server Error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_start_up_fails_when_the_model_cannot_load(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> Any:
        raise ModelArtifactError("model artifact not found: /nowhere/model.joblib")

    monkeypatch.setattr(api.app, "default_pipeline", missing)
    with pytest.raises(ModelArtifactError, match=r"/nowhere/model\.joblib"):
        create_app(config.TestingConfig())
