"""Every response carries an X-Request-ID, and each error is logged once under it."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.request_context import MAX_REQUEST_ID

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/health", None, 200),
        ("post", "/v1/predictions", [{"GrLivArea": -1}], 400),
        ("get", "/nowhere", None, 404),
        ("put", "/health", None, 405),
    ],
)
def test_every_response_has_a_request_id(
    client: TestClient, method: str, path: str, body: Any, status: int
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == status
    assert len(response.headers["x-request-id"]) == 32


def test_a_sane_incoming_id_is_kept_and_an_insane_one_replaced(client: TestClient) -> None:
    kept = client.get("/health", headers={"X-Request-ID": "trace-42.a_b"})
    assert kept.headers["x-request-id"] == "trace-42.a_b"
    replaced = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    # As long as the store keeps one (MAX_REQUEST_ID), and no longer.
    longest = "t" * MAX_REQUEST_ID
    assert (
        client.get("/health", headers={"X-Request-ID": longest}).headers["x-request-id"] == longest
    )
    too_long = client.get("/health", headers={"X-Request-ID": longest + "t"})
    assert re.fullmatch(r"[0-9a-f]{32}", too_long.headers["x-request-id"])
    # Two are one list (RFC 9110 5.3): "abc, def", not an id; the first was taken.
    twice = client.get("/health", headers=[("X-Request-ID", "abc"), ("X-Request-ID", "def")])
    assert re.fullmatch(r"[0-9a-f]{32}", twice.headers["x-request-id"])


def test_a_refused_request_is_logged_once_with_its_id(
    client: TestClient, caplog: pytest.LogCaptureFixture, house: dict[str, Any]
) -> None:
    house["OverallQual"] = 99
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/v1/predictions", json=[house], headers={"X-Request-ID": "refused-1"}
        )
    assert response.status_code == 400
    mine = [r for r in caplog.records if getattr(r, "request_id", None) == "refused-1"]
    errors = [r for r in mine if r.name == "api.errors"]
    assert len(errors) == 1
    assert "OverallQual" in errors[0].getMessage()
    [access] = [r for r in mine if r.name == "api.access"]  # and one line for the request
    # the houses it carried: the model checks them before the spec's 400 is made
    assert (access.status, access.rows, access.route) == (400, 1, "/v1/predictions")  # type: ignore[attr-defined]
    for record in mine:  # no house data in the log
        assert house["Neighborhood"] not in record.getMessage()
