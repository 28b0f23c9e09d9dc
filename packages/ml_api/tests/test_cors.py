"""CORS: off unless ``ML_API_CORS_ORIGINS`` lists the origins whose pages may call the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.testclient import TestClient

from api import config
from api.app import create_app
from api.cors import STARLETTE_REFUSAL

pytestmark = pytest.mark.integration

ALLOWED = "https://prices.example"
OTHER = "https://elsewhere.example"


@pytest.fixture(scope="module")
def cors_client() -> Iterator[TestClient]:
    settings = config.Settings(environment="testing", cors_origins=(ALLOWED,))
    with create_app(settings).test_client() as client:
        yield client


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/v1/predictions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_no_origin_is_allowed_by_default(client: TestClient, house: dict[str, Any]) -> None:
    response = client.post("/v1/predictions", json=[house], headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in _preflight(client, ALLOWED).headers


def test_a_listed_origin_may_post_from_a_browser(
    cors_client: TestClient, house: dict[str, Any]
) -> None:
    preflight = _preflight(cors_client, ALLOWED)
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    response = cors_client.post("/v1/predictions", json=[house], headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


def test_a_listed_origin_may_post_sale_prices_with_a_token(cors_client: TestClient) -> None:
    """Its preflight for the Authorization header was refused ("Disallowed CORS headers"): a
    page could price houses but never post their sales back."""
    preflight = cors_client.options(
        "/v1/sales",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    refused = cors_client.post("/v1/sales", json=[], headers={"Origin": ALLOWED})
    assert refused.status_code == 401
    assert "www-authenticate" in refused.headers["access-control-expose-headers"].lower()


def test_an_unlisted_origin_is_not_allowed(cors_client: TestClient, house: dict[str, Any]) -> None:
    preflight = _preflight(cors_client, OTHER)
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    response = cors_client.post("/v1/predictions", json=[house], headers={"Origin": OTHER})
    assert "access-control-allow-origin" not in response.headers


def test_a_refused_preflight_says_which_parts_as_a_problem(cors_client: TestClient) -> None:
    """Starlette's plain-text refusal, worded as every other 400: which parts, not their
    values (an origin is whatever the client sent)."""
    refused = cors_client.options(
        "/v1/predictions",
        headers={
            "Origin": OTHER,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "content-type, x-made-up",
        },
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["x-request-id"]
    assert "Origin" in refused.headers["vary"]  # Starlette's headers are kept
    body = refused.json()
    assert body["status"] == 400 and body["title"] == "Bad Request"
    assert "does not allow this preflight's origin and method and headers:" in body["detail"]
    assert OTHER not in refused.text and "x-made-up" not in refused.text
    one = _preflight(cors_client, OTHER).json()["detail"]
    assert "does not allow this preflight's origin:" in one


def test_starlette_refuses_a_preflight_as_cors_expects() -> None:
    """Fingerprint of the Starlette text ``ProblemCORSMiddleware`` reads its refused parts
    from (a changed wording would reach clients as one unnamed part)."""
    middleware = CORSMiddleware(app=None, allow_origins=[ALLOWED])  # type: ignore[arg-type]
    refusal = middleware.preflight_response(
        Headers({"origin": OTHER, "access-control-request-method": "PUT"})
    )
    assert bytes(refusal.body).decode() == f"{STARLETTE_REFUSAL}origin, method"


def test_errors_carry_the_cors_headers_too(cors_client: TestClient) -> None:
    """A browser page can read why its request was refused."""
    response = cors_client.post("/v1/predictions", json=[{}], headers={"Origin": ALLOWED})
    assert response.status_code == 400
    assert response.headers["access-control-allow-origin"] == ALLOWED
