"""CORS: off unless ``ML_API_CORS_ORIGINS`` lists the origins whose pages may call the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.testclient import TestClient

from api import config, draining
from api.app import create_app
from api.cors import STARLETTE_REFUSAL
from api.paths import MAX_QUERY_PARAMETERS
from api.service import PredictionService
from tests.conftest import FEEDBACK_TOKEN

pytestmark = pytest.mark.integration

ALLOWED = "https://prices.example"
OTHER = "https://elsewhere.example"


@pytest.fixture(scope="module")
def cors_client() -> Iterator[TestClient]:
    settings = config.Settings(
        environment="testing", cors_origins=(ALLOWED,), feedback_tokens=FEEDBACK_TOKEN
    )
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


#: The body limit of ``early_client``'s app: small, so that a body past it is cheap to send.
SMALL_BODY = 2048


@pytest.fixture(scope="module")
def early_client(service: PredictionService) -> Iterator[TestClient]:
    """An app with CORS on and a small body limit, over the session's service (whose budget of
    body bytes in flight it shares)."""
    settings = config.Settings(
        environment="testing", cors_origins=(ALLOWED,), max_body_bytes=SMALL_BODY
    )
    with create_app(settings, service=service).test_client() as client:
        yield client


def _json(body: bytes) -> dict[str, Any]:
    return {"content": body, "headers": {"Content-Type": "application/json"}}


#: Requests that a layer of the app answers before any handler runs (or a handler at once),
#: and the status each gets: (method, path, keyword arguments of the request, status).
EARLY_ANSWERS: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "body too large": ("POST", "/v1/predictions", _json(b"[" + b" " * SMALL_BODY + b"]"), 413),
    "body too deep": ("POST", "/v1/predictions", _json(b"[" * 40 + b"]" * 40), 400),
    "no content type": ("POST", "/v1/predictions", {"content": b"[]"}, 415),
    "another content type": (
        "POST",
        "/v1/predictions",
        {"content": b"[]", "headers": {"Content-Type": "text/plain"}},
        415,
    ),
    "content coding": (
        "POST",
        "/v1/predictions",
        {
            "content": b"[]",
            "headers": {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        },
        415,
    ),
    "query too long": ("GET", "/health?" + "a=1&" * MAX_QUERY_PARAMETERS, {}, 400),
    "bad host": ("GET", "/health", {"headers": {"Host": "a..b"}}, 400),
    "bad parameter": ("POST", "/v1/predictions?explain=maybe", _json(b"[]"), 400),
    "unknown path": ("GET", "/v1/nothing", {}, 404),
    "method not allowed": ("GET", "/v1/predictions", {}, 405),
}


@pytest.mark.parametrize("case", EARLY_ANSWERS, ids=str)
def test_an_early_refusal_carries_the_cors_headers(early_client: TestClient, case: str) -> None:
    """A page of an allowed origin can read why a layer before the handlers refused it: without
    Access-Control-Allow-Origin the browser shows it a bare CORS failure instead of the
    problem. ``ProblemCORSMiddleware`` must stay outside those layers (api/app.py)."""
    method, path, options, status = EARLY_ANSWERS[case]
    options = {**options, "headers": {**options.get("headers", {}), "Origin": ALLOWED}}
    answer = early_client.request(method, path, **options)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
    options["headers"]["Origin"] = OTHER
    assert (
        "access-control-allow-origin" not in early_client.request(method, path, **options).headers
    )


def test_a_busy_or_draining_answer_carries_the_cors_headers(
    early_client: TestClient,
    service: PredictionService,
    monkeypatch: pytest.MonkeyPatch,
    house: dict[str, Any],
) -> None:
    """The 503s a page is told to retry after (Retry-After, which it may read): a worker's
    bytes in flight full (held here as other requests would hold them), and a worker told
    to stop, whose /ready says so."""
    budget = service.body_bytes
    with budget.claim(budget.capacity):
        busy = early_client.post("/v1/predictions", json=[house], headers={"Origin": ALLOWED})
    assert busy.status_code == 503 and busy.headers["retry-after"]
    assert busy.headers["access-control-allow-origin"] == ALLOWED
    monkeypatch.setattr(draining, "_draining", True)
    ready = early_client.get("/ready", headers={"Origin": ALLOWED})
    assert ready.status_code == 503
    assert ready.headers["access-control-allow-origin"] == ALLOWED


def test_a_preflight_for_a_path_the_api_lacks_is_approved_and_its_404_readable(
    cors_client: TestClient,
) -> None:
    """Starlette's policy is path-blind, and kept so: refused, the preflight would show the
    page a CORS failure where the request's 404 tells it the path is wrong."""
    preflight = cors_client.options(
        "/v1/prediction",
        headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    missing = cors_client.post("/v1/prediction", json=[], headers={"Origin": ALLOWED})
    assert missing.status_code == 404
    assert missing.headers["access-control-allow-origin"] == ALLOWED
