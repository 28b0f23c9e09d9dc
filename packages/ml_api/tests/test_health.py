from __future__ import annotations

import pytest
from gradient_boosting_model import __version__ as model_version
from starlette.testclient import TestClient

from api import config
from api.spec_document import read_spec

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/health", "/"])
def test_health_reports_status_and_versions(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "model_version": model_version,
        "api_version": read_spec(config.Settings(environment="testing"))["info"]["version"],
    }


def test_ready_once_the_model_is_loaded(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "model_version": model_version}
