"""Every answer carries the headers that keep a browser from misreading, framing or caching it
(api/security_headers.py): the API's answers, errors included, and Swagger UI's page and
files, each with its own policy. (The connection guard's 503: test_connection_limits.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

pytestmark = pytest.mark.integration

API_POLICY = "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/health", None, 200),
        ("get", "/v1/model", None, 200),
        ("get", "/metrics", None, 200),
        ("get", "/openapi.json", None, 200),
        ("post", "/v1/predictions", "house", 200),
        ("post", "/v1/predictions", [{"GrLivArea": -1}], 400),
        ("get", "/nowhere", None, 404),
        ("get", "/ui/nowhere.js", None, 404),
        ("put", "/health", None, 405),
    ],
)
def test_an_api_answer_is_never_sniffed_framed_or_kept(
    client: TestClient, house: dict[str, Any], method: str, path: str, body: Any, status: int
) -> None:
    response = client.request(method, path, json=[house] if body == "house" else body)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == API_POLICY
    assert response.headers["cache-control"] == "no-store"
    for name in ("content-security-policy", "cache-control", "x-request-id"):
        assert len(response.headers.get_list(name)) == 1


@pytest.mark.parametrize("path", ["/ui/", "/ui/swagger-ui.css", "/ui/swagger-ui-bundle.js"])
def test_swagger_ui_may_run_its_own_page_but_is_never_framed(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"  # its own files, and no other origin's
    assert policy["connect-src"] == "'self'"  # the spec and the API tried, on this origin
    assert "cache-control" not in response.headers  # static files, cached as usual
