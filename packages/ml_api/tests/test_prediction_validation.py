"""Bad requests get the right 4xx, as problem+json naming each bad field and its row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.config import Settings
from api.problems import ACCEPTED_MEDIA_TYPE
from api.spec_document import read_spec
from tests.conftest import FEEDBACK_TOKEN
from tests.houses import DROP, changed

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
SPEC = read_spec(Settings(environment="testing"))


BAD_FIELDS = [
    pytest.param({"GrLivArea": "big"}, "GrLivArea", "is not of type", id="string-for-number"),
    pytest.param({"OverallQual": True}, "OverallQual", "is not of type", id="boolean-for-integer"),
    pytest.param({"GrLivArea": -10}, "GrLivArea", "less than the minimum of 0", id="negative-area"),
    pytest.param(
        {"OverallQual": 11}, "OverallQual", "greater than the maximum of 10", id="quality-11"
    ),
    pytest.param({"YearBuilt": 1066}, "YearBuilt", "less than the minimum of 1800", id="old-year"),
    pytest.param({"FullBath": 2.5}, "FullBath", '"integer"', id="half-a-bath"),
    pytest.param({"Neighborhood": "Atlantis"}, "Neighborhood", "is not one of", id="unknown-code"),
    pytest.param({"KitchenQual": "Superb"}, "KitchenQual", "is not one of", id="unknown-grade"),
    # A code in another case, or close to one: the enum's message may not list it.
    pytest.param(
        {"Neighborhood": "names"}, "Neighborhood", 'did you mean "NAmes"?', id="code-in-lowercase"
    ),
    pytest.param(
        {"Neighborhood": "NAmse"}, "Neighborhood", 'did you mean "NAmes"?', id="code-misspelt"
    ),
    pytest.param({"OverallQual": DROP}, "OverallQual", "is required", id="missing-required"),
    pytest.param({"OverallQual": None}, "OverallQual", "null is not of type", id="null-required"),
    pytest.param({"LotAreaa": 8000}, "LotAreaa", "not a known house detail", id="unknown-field"),
    pytest.param(  # its name cut, and said to be
        {"X" * 5000: 1}, "X" * 64 + "...", "not a known house detail", id="long-unknown-field"
    ),
    pytest.param({"LotArea": 10**30}, "LotArea", "greater than the maximum", id="huge-number"),
]


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.parametrize(("changes", "field", "message"), BAD_FIELDS)
def test_prediction_validation(
    client: TestClient,
    request_rows: list[dict[str, Any]],
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    good = dict(request_rows[1])
    body = _assert_problem(
        client.post("/v1/predictions", json=[good, good, changed(request_rows[0], **changes)]), 400
    )
    errors = body["errors"]
    assert [(error["row"], error["field"]) for error in errors] == [(2, field)]
    assert message in errors[0]["message"]
    assert f"row 2, {field}" in body["detail"]


def test_no_code_is_suggested_for_a_value_like_none(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    house = changed(request_rows[0], Neighborhood="Atlantis", KitchenQual="Superb")
    errors = _assert_problem(client.post("/v1/predictions", json=[house]), 400)["errors"]
    assert len(errors) == 2
    assert not any("did you mean" in error["message"] for error in errors), errors


def test_house_level_rules_are_checked_by_the_model_schema(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """Rules between fields are beyond the spec: marshmallow refuses them, in the same shape."""
    rows = [dict(row) for row in request_rows[:3]]
    rows[2].update(YearBuilt=2010, YearRemodAdd=2010, YrSold=2006)
    body = _assert_problem(client.post("/v1/predictions", json=rows), 422)
    assert body["title"] == "Unprocessable Entity"
    assert body["errors"] == [
        {
            "row": 2,
            "field": "YearBuilt",
            "message": "2010 is more than a year after the sale (YrSold 2006).",
        }
    ]


def test_every_bad_field_of_every_bad_row_is_listed(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    rows = [dict(row) for row in request_rows[:5]]
    rows[1]["GrLivArea"] = -1
    rows[1]["MSZoning"] = "Downtown"
    rows[4]["MoSold"] = 13
    body = _assert_problem(client.post("/v1/predictions", json=rows), 400)
    listed = [(error["row"], error["field"]) for error in body["errors"]]
    assert listed == [(1, "GrLivArea"), (1, "MSZoning"), (4, "MoSold")]
    assert body["detail"].startswith("3 invalid fields in 2 houses")


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        pytest.param(b"[{not json", 400, "not valid JSON", id="not-json"),
        pytest.param(b'[{"GrLivArea": NaN}]', 400, "NaN is not a JSON number", id="nan-literal"),
        pytest.param(b'[{"GrLivArea": Infinity}]', 400, "Infinity", id="infinity-literal"),
        pytest.param(b"[\xff\xfe]", 400, "not valid utf-8", id="not-utf8"),
        pytest.param(b"[]", 400, "[] has less than 1 item", id="empty-list"),
        pytest.param(
            b'{"GrLivArea": 1710}',
            400,
            'Request body: an object is not of type "array"',
            id="object-not-list",
        ),
        pytest.param(b"[1, null]", 400, 'row 0: 1 is not of type "object"', id="rows-not-objects"),
    ],
)
def test_malformed_bodies_are_refused(
    client: TestClient, body: bytes, status: int, detail: str
) -> None:
    response = client.post(
        "/v1/predictions", content=body, headers={"content-type": "application/json"}
    )
    problem = _assert_problem(response, status)
    assert detail in problem["detail"]


def test_an_empty_body_is_refused_saying_what_to_send(client: TestClient) -> None:
    """In the service's words, whether it came with a Content-Length of 0 or chunked (which
    api/body_limit.py declares as 0): Connexion's own said "RequestBody is required"."""
    token = {"authorization": f"Bearer {FEEDBACK_TOKEN}"}
    for path, headers, noun in (("/v1/predictions", {}, "houses"), ("/v1/sales", token, "sales")):
        for body in (b"", iter([b""])):  # an iterable is sent chunked
            response = client.post(
                path, content=body, headers={"content-type": "application/json", **headers}
            )
            detail = _assert_problem(response, 400)["detail"]
            assert detail == f"The request has no body: send a JSON array of {noun}.", detail


def test_a_body_of_null_is_refused_for_what_it_is(client: TestClient) -> None:
    """It was refused as empty ("Request body must not be empty"), which it is not; and not
    as "1 invalid field", as if it had one."""
    token = {"authorization": f"Bearer {FEEDBACK_TOKEN}"}
    for path, headers in (("/v1/predictions", {}), ("/v1/sales", token)):
        response = client.post(
            path, content=b"null", headers={"content-type": "application/json", **headers}
        )
        detail = _assert_problem(response, 400)["detail"]
        assert detail == 'Request body: null is not of type "array"', (path, detail)


def test_wrong_content_type_is_415(client: TestClient, house: dict[str, Any]) -> None:
    """As the spec's example says, in the words of the other 415s (Connexion's own ended with
    a Python list)."""
    response = client.post(
        "/v1/predictions",
        content=json.dumps([house]),
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    problem = _assert_problem(response, 415)
    answer = SPEC["components"]["responses"]["UnsupportedMediaType"]["content"][PROBLEM]
    assert problem["detail"] == answer["example"]["detail"]


@pytest.mark.parametrize(
    ("method", "url", "detail"),
    [
        (
            "POST",
            "/v1/predictions?explian=true",
            'Unknown query parameter "explian": this operation takes "explain".',
        ),
        (
            "POST",
            "/v1/predictions?a%2C%20b=1&=2",
            'Unknown query parameters "", "a, b": this operation takes "explain".',
        ),
        (
            "GET",
            "/v1/model?b=1&a=2",
            'Unknown query parameters "a", "b": this operation takes no query parameters.',
        ),
    ],
)
def test_an_unknown_query_parameter_is_named_beside_the_ones_taken(
    client: TestClient, house: dict[str, Any], method: str, url: str, detail: str
) -> None:
    """A misspelt parameter is seen for what it is (Connexion's words: "Extra query
    parameter(s) explian not in spec")."""
    response = client.request(method, url, json=[house] if method == "POST" else None)
    assert _assert_problem(response, 400)["detail"] == detail


def test_a_bad_query_value_is_quoted_as_the_bodies_quote_values(
    client: TestClient, house: dict[str, Any]
) -> None:
    """As JSON writes it, as every message about a body does (python-jsonschema's said
    ``'yes' is not of type 'boolean'``)."""
    response = client.post("/v1/predictions?explain=yes", json=[house])
    detail = _assert_problem(response, 400)["detail"]
    assert detail == 'query parameter explain: "yes" is not of type "boolean"'


def test_every_request_body_is_in_the_media_type_the_415s_name() -> None:
    bodies = [
        operation["requestBody"]
        for path in SPEC["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert bodies
    assert all(list(body["content"]) == [ACCEPTED_MEDIA_TYPE] for body in bodies)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/v1/predictions", 405), ("get", "/v2/predictions", 404), ("delete", "/health", 405)],
)
def test_unknown_routes_and_methods_are_problems(
    client: TestClient, method: str, path: str, status: int
) -> None:
    _assert_problem(client.request(method, path), status)


def test_a_400_also_names_the_house_rules_broken_in_other_fields(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """A client fixing the 400's fields must not meet a 422 for what was wrong all along."""
    rows = [dict(row) for row in request_rows[:3]]
    rows[0].update(YearBuilt=2010, YearRemodAdd=2010, YrSold=2006)  # a house rule
    rows[2]["LotArea"] = -1  # the spec's schema
    body = _assert_problem(client.post("/v1/predictions", json=rows), 400)
    assert [(error["row"], error["field"]) for error in body["errors"]] == [
        (0, "YearBuilt"),
        (2, "LotArea"),
    ]
    assert body["errors"][0]["message"] == "2010 is more than a year after the sale (YrSold 2006)."
    assert body["errors"][1]["message"] == "-1 is less than the minimum of 0"


def test_a_row_that_is_no_house_is_named_with_the_rules_the_others_break(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """A probe's: a row that is no object was refused by the framework's check of the list,
    alone, and the others' broken rules came only with the next answer."""
    broken = dict(request_rows[1], YearBuilt=2010, YearRemodAdd=2010, YrSold=2006)
    body = _assert_problem(client.post("/v1/predictions", json=[1, broken, request_rows[2]]), 400)
    assert [(error["row"], error["field"], error["message"]) for error in body["errors"]] == [
        (0, None, '1 is not of type "object"'),
        (1, "YearBuilt", "2010 is more than a year after the sale (YrSold 2006)."),
    ]


def test_a_400_names_the_house_rules_a_house_breaks_beside_its_own_bad_fields(
    client: TestClient, request_rows: list[dict[str, Any]]
) -> None:
    """The same, in one house: its bad field and the rule it breaks, together."""
    house = dict(request_rows[0], YearBuilt=2010, YearRemodAdd=2010, YrSold=2006, OverallQual=11)
    body = _assert_problem(client.post("/v1/predictions", json=[house]), 400)
    assert sorted((error["field"], error["message"]) for error in body["errors"]) == [
        ("OverallQual", "11 is greater than the maximum of 10"),
        ("YearBuilt", "2010 is more than a year after the sale (YrSold 2006)."),
    ]
