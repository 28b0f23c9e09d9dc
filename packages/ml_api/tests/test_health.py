from __future__ import annotations

import pytest
from gradient_boosting_model import __version__ as model_version
from starlette.testclient import TestClient

from api import config, draining
from api.problems import RETRY_AFTER_SECONDS, DrainingProblem
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


def test_a_draining_worker_is_not_ready_but_still_prices(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, house: dict[str, object]
) -> None:
    monkeypatch.setattr(draining, "_draining", False)  # put back after the test
    draining.start_draining()
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == DrainingProblem().body()
    assert client.get("/health").status_code == 200  # alive: not to be restarted
    assert client.post("/v1/predictions", json=[house]).status_code == 200


def test_the_specs_not_ready_example_is_what_a_draining_worker_answers() -> None:
    spec = read_spec(config.Settings(environment="testing"))
    not_ready = spec["components"]["responses"]["NotReady"]
    assert not_ready["content"]["application/problem+json"]["example"] == DrainingProblem().body()
