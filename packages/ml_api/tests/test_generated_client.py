"""A typed client generated from the served document (openapi-python-client) prices houses.

The document keeps its named components, so the client's classes are ``HouseDetails``,
``PredictionResponse`` and ``Problem``, and its functions are named after the operations.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

pytestmark = pytest.mark.integration

PACKAGE = "house_price_prediction_api_client"  # from the document's title


@pytest.fixture(scope="module")
def generated(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The client's package, generated into a scratch folder and importable from it."""
    scratch = tmp_path_factory.mktemp("generated")
    document = scratch / "openapi.json"
    document.write_bytes(client.get("/openapi.json").content)
    tools = Path(sys.executable).parent  # the generator formats its output with ruff
    made = subprocess.run(
        [tools / "openapi-python-client", "generate", "--path", document, "--meta", "none"],
        cwd=scratch,
        check=True,
        capture_output=True,
        env={"PATH": str(tools), "HOME": str(scratch)},
        timeout=120,
    )
    # A schema the generator cannot read is left out with a warning, and the classes that use
    # it fail at import (ChallengerComparison was, and every monitoring answer with it).
    said = (made.stdout + made.stderr).decode()
    assert "Warning" not in said and "Unable to process" not in said, said
    sys.path.insert(0, str(scratch))
    try:
        yield scratch / PACKAGE
    finally:
        sys.path.remove(str(scratch))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _api_client(client: TestClient) -> Any:
    api_client = _module("client").Client(base_url=str(client.base_url))
    api_client.set_httpx_client(client)  # Starlette's TestClient is an httpx.Client
    return api_client


def test_the_classes_are_named_after_the_components(generated: Path) -> None:
    models = {path.stem for path in (generated / "models").glob("*.py")}
    assert {"house_details", "prediction_response", "problem", "field_error"} <= models
    assert not [name for name in models if name.startswith("api_controller")]
    files = sum(1 for _ in generated.rglob("*.py"))
    print(f"generated client: {files} files")


def test_the_generated_client_prices_houses(
    generated: Path, client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    house_details = _module("models").HouseDetails
    predict = _module("api.predictions.predict")
    houses = [house_details.from_dict(row) for row in request_rows[:3]]
    answer = predict.sync(client=_api_client(client), body=houses)
    assert type(answer).__name__ == "PredictionResponse"
    expected = client.post("/v1/predictions", json=request_rows[:3]).json()
    assert answer.predictions == expected["predictions"]
    assert [interval.lower for interval in answer.intervals] == [
        interval["lower"] for interval in expected["intervals"]
    ]
    assert [interval.partial for interval in answer.intervals] == [
        interval["partial"] for interval in expected["intervals"]
    ]


def _example(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A value of ``schema`` made of its properties' examples, references followed."""
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "example" in schema:
        return schema["example"]
    return {name: _example(part, components) for name, part in schema["properties"].items()}


def test_a_monitoring_answer_reads_into_the_generated_classes(
    generated: Path, client: TestClient
) -> None:
    """The served window (no challenger here), and one with a challenger made of the spec's
    examples, each read into ``Monitoring`` and written back unchanged."""
    monitoring = _module("models").Monitoring
    answer = client.get("/v1/monitoring").json()
    assert answer["challenger"] is None
    assert monitoring.from_dict(answer).to_dict() == answer
    components = client.get("/openapi.json").json()["components"]["schemas"]
    compared = _example(components["ChallengerComparison"], components)
    with_challenger = monitoring.from_dict({**answer, "challenger": compared})
    assert (
        with_challenger.challenger.price_moves.beyond.to_dict() == compared["price_moves"]["beyond"]
    )
    assert with_challenger.to_dict()["challenger"] == compared


def test_a_refusal_reaches_the_generated_client_as_a_problem(
    generated: Path, client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    house_details = _module("models").HouseDetails
    predict = _module("api.predictions.predict")
    bad = house_details.from_dict({**request_rows[0], "GrLivArea": -5})
    response = predict.sync_detailed(client=_api_client(client), body=[bad])
    assert response.status_code == 400
    problem = response.parsed
    assert type(problem).__name__ == "Problem"
    assert [(error.row, error.field) for error in problem.errors] == [(0, "GrLivArea")]
    assert orjson.loads(response.content)["status"] == 400


def test_the_generated_client_sends_a_request_id_and_reads_it_back(
    generated: Path, client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """The spec's ``X-Request-ID`` parameter is each call's ``x_request_id``; the answer's
    header is in the detailed response's ``headers``."""
    house_details = _module("models").HouseDetails
    predict = _module("api.predictions.predict")
    response = predict.sync_detailed(
        client=_api_client(client),
        body=[house_details.from_dict(request_rows[0])],
        x_request_id="order-17",
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "order-17"
