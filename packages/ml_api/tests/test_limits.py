"""Every request limit is a setting, and is refused with a problem that states it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from api import config
from api.app import create_app
from api.spec_document import read_spec

LIMITS = config.Settings(
    environment="testing",
    max_body_bytes=20_000,
    max_rows=3,
    max_string_length=16,
    max_json_depth=4,
    max_listed_errors=5,
)


@pytest.fixture(scope="module")
def limited() -> Iterator[TestClient]:
    with create_app(LIMITS).test_client() as client:
        yield client


def _post(client: TestClient, body: bytes, **headers: str) -> Any:
    return client.post(
        "/v1/predictions", content=body, headers={"content-type": "application/json", **headers}
    )


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


def test_defaults_fit_the_whole_test_csv() -> None:
    defaults = config.Settings()
    assert defaults.max_rows >= 1459
    assert defaults.max_body_bytes >= 4 * 1024 * 1024  # test.csv is 2.3 MB of JSON


@pytest.mark.integration
def test_a_declared_oversize_body_is_refused_before_reading(limited: TestClient) -> None:
    problem = _problem(_post(limited, b"[" + b" " * 30_000 + b"]"), 413)
    assert "limit of 20000 bytes" in problem["detail"]


@pytest.mark.integration
def test_a_streamed_oversize_body_is_refused_while_reading(limited: TestClient) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b"["
        for _ in range(30):
            yield b" " * 1000
        yield b"]"

    problem = _problem(_post(limited, chunks()), 413)  # type: ignore[arg-type]
    assert "limit of 20000 bytes" in problem["detail"]


@pytest.mark.integration
def test_a_chunked_body_within_the_limit_is_served(
    limited: TestClient, house: dict[str, Any]
) -> None:
    def chunks() -> Iterator[bytes]:
        text = json.dumps([house]).encode()
        yield from (text[i : i + 500] for i in range(0, len(text), 500))

    response = _post(limited, chunks())  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 1


@pytest.mark.integration
def test_too_many_rows(limited: TestClient, house: dict[str, Any]) -> None:
    problem = _problem(_post(limited, json.dumps([house] * 4).encode()), 400)
    assert "more than the limit of 3 items" in problem["detail"]


@pytest.mark.integration
def test_a_long_string_is_refused_without_being_echoed(
    limited: TestClient, house: dict[str, Any]
) -> None:
    house["Neighborhood"] = "N" * 5000
    problem = _problem(_post(limited, json.dumps([house]).encode()), 400)
    assert problem["errors"] == [
        {"row": 0, "field": "Neighborhood", "message": "is longer than 16 characters"}
    ]
    assert "N" * 100 not in json.dumps(problem)


@pytest.mark.integration
def test_deep_nesting_is_said_before_other_faults(limited: TestClient) -> None:
    problem = _problem(_post(limited, b"[" * 5 + b"]" * 5), 400)
    assert "nests 5 deep, past the limit of 4" in problem["detail"]


@pytest.mark.integration
def test_nesting_beyond_the_parser_is_a_400_not_a_500(client: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    _problem(_post(client, deep), 400)


@pytest.mark.integration
def test_listed_errors_are_capped_and_the_cut_is_said(
    limited: TestClient, house: dict[str, Any]
) -> None:
    bad = {**house, "GrLivArea": -1, "LotArea": -1, "OverallQual": 0, "MoSold": 13}
    problem = _problem(_post(limited, json.dumps([bad, bad]).encode()), 400)
    assert len(problem["errors"]) == 5
    assert problem["detail"].startswith("more than 5 invalid fields")


@pytest.mark.integration
@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_are_refused(client: TestClient, literal: bytes) -> None:
    body = b'[{"GrLivArea": ' + literal + b"}]"
    problem = _problem(_post(client, body), 400)
    assert "not a JSON number" in problem["detail"] or "infinity" in problem["detail"]


@pytest.mark.integration
def test_limits_are_in_the_served_spec(limited: TestClient) -> None:
    spec = limited.get("/openapi.json").json()
    request = spec["components"]["schemas"]["PredictionRequest"]
    assert request["maxItems"] == 3
    neighborhood = spec["components"]["schemas"]["HouseDetails"]["properties"]["Neighborhood"]
    assert neighborhood["maxLength"] == 16


def test_the_request_schema_converts_for_jsonschema_rs() -> None:
    """Connexion hands validators the schema with ``components`` attached, which is cyclic."""
    from api.schema_bounds import json_schema

    spec = read_spec(LIMITS)
    cyclic = {**spec["components"]["schemas"]["HouseDetails"], "components": spec["components"]}
    spec["components"]["schemas"]["Self"] = cyclic  # the cycle Connexion's schemas carry
    assert "components" not in json_schema(cyclic)


@pytest.mark.integration
def test_the_cut_is_said_when_fields_break_several_keywords(
    limited: TestClient, house: dict[str, Any]
) -> None:
    """A long code breaks maxLength and enum: counted once, and the list is still cut."""
    bad = {**house, "Neighborhood": "N" * 40, "OverallQual": 0}
    problem = _problem(_post(limited, json.dumps([bad, bad, bad]).encode()), 400)
    assert len(problem["errors"]) == 5
    assert problem["detail"].startswith("more than 5 invalid fields")


def test_property_names_are_not_taken_for_keywords() -> None:
    from api.schema_bounds import json_schema

    schema = {"type": "object", "properties": {"description": {"type": "string"}}}
    assert json_schema(schema)["properties"] == {"description": {"type": "string"}}
