"""Every response carries an X-Request-ID, as the spec declares it, and each error is logged
once under it."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from jsonschema import Draft4Validator
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from api.config import Settings
from api.request_context import MAX_REQUEST_ID, REQUEST_ID_HEADER
from api.request_metrics import request_id
from api.spec_document import operations, read_spec

SPEC = read_spec(Settings(environment="testing"))
COMPONENTS = SPEC["components"]
HEADER_REF = {"$ref": "#/components/headers/RequestId"}
PARAMETER_REF = {"$ref": "#/components/parameters/RequestId"}
#: What the spec declares a sane id to be: the schema of the response header.
DECLARED_ID = Draft4Validator(COMPONENTS["headers"]["RequestId"]["schema"])
#: Every response the spec declares: (operation, status, the response, references followed).
RESPONSES: list[tuple[str, str, dict[str, Any]]] = [
    (
        f"{method.upper()} {path}",
        status,
        COMPONENTS["responses"][response["$ref"].rsplit("/", 1)[1]]
        if "$ref" in response
        else response,
    )
    for path, method, operation in operations(SPEC)
    for status, response in operation["responses"].items()
]


@pytest.mark.parametrize(
    ("operation", "status", "response"), RESPONSES, ids=[f"{o} {s}" for o, s, _ in RESPONSES]
)
def test_every_response_of_every_operation_declares_the_request_id(
    operation: str, status: str, response: dict[str, Any]
) -> None:
    """By the one header object, so that no response, a new one included, goes without it."""
    assert response.get("headers", {}).get(REQUEST_ID_HEADER) == HEADER_REF


def test_every_operation_takes_a_request_id() -> None:
    """Declared once a path (its operations share it), under the name the service reads."""
    assert COMPONENTS["parameters"]["RequestId"]["name"] == REQUEST_ID_HEADER
    for path, method, operation in operations(SPEC):
        declared = SPEC["paths"][path].get("parameters", []) + operation.get("parameters", [])
        assert PARAMETER_REF in declared, f"{method.upper()} {path}"


def test_the_request_parameter_refuses_no_value() -> None:
    """Connexion checks a header parameter with its schema, and refuses one that breaks it
    with a 400: the service replaces an insane id instead, so the schema must take any."""
    assert COMPONENTS["parameters"]["RequestId"]["schema"] == {"type": "string"}


def test_the_request_parameter_has_no_example_for_swagger_ui_to_send() -> None:
    """Swagger UI's "Try it out" fills a parameter with its example and sends it: every request
    made from /ui carried the same id (``trace-42.a_b``), and an id is one request's."""
    parameter = COMPONENTS["parameters"]["RequestId"]
    assert "example" not in parameter and "examples" not in parameter
    assert "example" not in parameter["schema"]


# Each latin-1 character alone (as many as a header value may hold), and the lengths either
# side of the longest taken, by the spec and by the code (MAX_REQUEST_ID, the store's column).
_LONGEST = COMPONENTS["headers"]["RequestId"]["schema"]["maxLength"]
CANDIDATES = [chr(code) for code in range(1, 256)] + [
    "t" * length
    for length in sorted({1, _LONGEST, _LONGEST + 1, MAX_REQUEST_ID, MAX_REQUEST_ID + 1})
]
CANDIDATES += ["trace-42.a_b", "A:b.c-d_e", "bad id", "a,b", "a/b", ""]


def test_the_spec_says_which_ids_the_service_keeps() -> None:
    """The spec's schema and the service's check (``request_id``) take the same ids: the
    characters, and the length."""
    differ = [
        candidate
        for candidate in CANDIDATES
        if DECLARED_ID.is_valid(candidate)
        != (request_id(Headers({REQUEST_ID_HEADER: candidate})) == candidate)
    ]
    assert differ == []
    assert sum(map(DECLARED_ID.is_valid, CANDIDATES)) > 26 * 2 + 10 + 5  # and some long


def _declared(path: str, method: str, status: int) -> dict[str, Any]:
    """The response ``method path`` declares for ``status``, references followed."""
    [response] = [
        response
        for operation, declared_status, response in RESPONSES
        if (operation, declared_status) == (f"{method.upper()} {path}", str(status))
    ]
    return response


def _request(kind: str, house: dict[str, Any]) -> dict[str, Any]:
    """The arguments of a request of ``kind`` (made when the test runs, that kind's alone: the
    body too large is 10 MB)."""
    if kind == "a body too large":
        too_large = b"[" + b" " * Settings(environment="testing").max_body_bytes + b"]"
        return {"content": too_large, "headers": {"content-type": "application/json"}}
    requests: dict[str, dict[str, Any]] = {
        "none": {},
        "a house": {"json": [house]},
        "an invalid house": {"json": [{**house, "GrLivArea": -1}]},
        "a house built after its sale": {"json": [{**house, "YearBuilt": 2015}]},
        "a window of no number": {"params": {"sales": "abc"}},
    }
    return requests[kind]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "kind", "status"),
    [
        ("get", "/health", "none", 200),
        ("post", "/v1/predictions", "a house", 200),
        ("post", "/v1/predictions", "an invalid house", 400),
        ("post", "/v1/predictions", "a house built after its sale", 422),
        ("post", "/v1/predictions", "a body too large", 413),
        ("get", "/v1/monitoring", "a window of no number", 400),
        ("get", "/nowhere", "none", 404),
        ("put", "/health", "none", 405),
    ],
)
def test_every_response_has_a_request_id_as_declared(
    client: TestClient, house: dict[str, Any], method: str, path: str, kind: str, status: int
) -> None:
    """A new id (none was sent), which is a sane one; on the answers of an operation, under a
    response that declares it (a 404 or 405 has no operation)."""
    response = client.request(method, path, **_request(kind, house))
    assert response.status_code == status, response.text
    sent = response.headers.get_list(REQUEST_ID_HEADER)
    assert len(sent) == 1 and re.fullmatch(r"[0-9a-f]{32}", sent[0])
    assert DECLARED_ID.is_valid(sent[0])
    if status not in (404, 405):
        assert _declared(path, method, status)["headers"][REQUEST_ID_HEADER] == HEADER_REF


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "request_args"),
    [
        ("get", "/health", {}),
        ("post", "/v1/predictions", {"json": None, "params": {"explain": "false"}}),
    ],
)
def test_a_sane_incoming_id_is_kept_and_an_insane_one_replaced(
    client: TestClient,
    house: dict[str, Any],
    method: str,
    path: str,
    request_args: dict[str, Any],
) -> None:
    """By an operation that takes no body and one that takes a body and a query: Connexion
    checks each's parameters, and would refuse a header that breaks the parameter's schema."""
    if "json" in request_args:
        request_args = {**request_args, "json": [house]}

    def sent_back(*headers: tuple[str, str]) -> str:
        response = client.request(method, path, headers=list(headers), **request_args)
        assert response.status_code == 200, response.text
        answered: str = response.headers[REQUEST_ID_HEADER]
        assert DECLARED_ID.is_valid(answered)
        return answered

    assert sent_back((REQUEST_ID_HEADER, "trace-42.a_b")) == "trace-42.a_b"
    for insane in ("bad id\twith spaces", "a/b", "~"):
        assert re.fullmatch(r"[0-9a-f]{32}", sent_back((REQUEST_ID_HEADER, insane))), insane
    # As long as the store keeps one (MAX_REQUEST_ID), and no longer.
    longest = "t" * MAX_REQUEST_ID
    assert sent_back((REQUEST_ID_HEADER, longest)) == longest
    assert re.fullmatch(r"[0-9a-f]{32}", sent_back((REQUEST_ID_HEADER, longest + "t")))
    # Two are one list (RFC 9110 5.3): "abc, def", not an id; the first was taken.
    twice = sent_back((REQUEST_ID_HEADER, "abc"), (REQUEST_ID_HEADER, "def"))
    assert re.fullmatch(r"[0-9a-f]{32}", twice)


@pytest.mark.integration
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
