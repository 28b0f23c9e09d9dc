from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from connexion import FlaskApp
from gradient_boosting_model.config import load_config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.persistence import artifact_path
from gradient_boosting_model.predict import make_prediction
from starlette.testclient import TestClient

import api.service
from api import config
from api.app import create_app

pytestmark = pytest.mark.integration


def test_an_unexpected_error_is_a_bare_500_problem(
    app: FlaskApp, monkeypatch: pytest.MonkeyPatch, house: dict[str, Any]
) -> None:
    def explode(houses: Any) -> Any:
        raise RuntimeError("secret internals at /srv/model.py line 42")

    monkeypatch.setattr(api.service, "make_prediction", explode)
    with TestClient(app.middleware, raise_server_exceptions=False) as client:
        response = client.post("/v1/predictions", json=[house])
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Internal Server Error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "content", [None, b"", b"garbage, not a pickle"], ids=["missing", "empty", "corrupt"]
)
def test_start_up_fails_naming_a_missing_or_corrupt_model(
    tmp_path: Path, content: bytes | None
) -> None:
    artifact = tmp_path / "model.joblib"
    if content is not None:
        artifact.write_bytes(content)
    with pytest.raises(ModelArtifactError, match=re.escape(str(artifact))):
        create_app(config.Settings(environment="testing", model_artifact=artifact))


def test_a_configured_artifact_is_served(tmp_path: Path, house: dict[str, Any]) -> None:
    artifact = tmp_path / "copy.joblib"
    packaged = artifact_path(load_config())
    artifact.write_bytes(packaged.read_bytes())
    artifact.with_suffix(".json").write_bytes(packaged.with_suffix(".json").read_bytes())
    settings = config.Settings(environment="testing", model_artifact=artifact)
    with create_app(settings).test_client() as client:
        response = client.post("/v1/predictions", json=[house])
    assert response.status_code == 200
    assert response.json()["predictions"] == make_prediction([house]).predictions
