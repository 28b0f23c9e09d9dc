"""Each body is checked once for its rules, yet every answer is the one of checking it all first.

Two checks are left out of the way of a valid body: the nesting limit is checked only for a body
the schema refuses (or cannot bound), and each house is checked by the model alone, the spec's
``HouseDetails`` only when the model refuses one. The reference is the validator as it was,
``CheckEverythingFirstValidator``: every body's nesting scanned before it is parsed, every house
checked against the spec before the handler runs. Both serve the same settings; every body
below, and any hypothesis makes, must get the same status and the same body from both.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
from connexion.exceptions import BadRequestProblem
from gradient_boosting_model import InvalidInputError, make_prediction
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import Scope

from api import app as app_module
from api import config
from api.body_validation import AllErrorsJSONBodyValidator
from api.json_depth import json_depth
from api.problems import FieldError, from_row_errors
from api.schema_bounds import json_schema, nesting_bound
from api.spec_document import prediction_request_schema, read_spec
from tests.houses import DROP, changed, without_ids

SETTINGS = config.Settings(
    environment="testing",
    max_rows=4,
    max_explained_rows=2,  # three houses are too many to explain: said after their faults
    max_string_length=16,
    max_json_depth=4,
    max_listed_errors=6,
)
JSON = {"content-type": "application/json"}


class CheckEverythingFirstValidator(AllErrorsJSONBodyValidator):
    """The validator before: every body's nesting checked before it is parsed, and every house
    checked against the spec (with the model's rules between fields) before the handler runs."""

    def _validate(self, body: Any) -> None:
        super()._validate(body)
        also: list[FieldError] = []
        try:  # the model's view of every house, its rules between fields included
            make_prediction(body)
        except InvalidInputError as refused:
            also = from_row_errors(refused.errors)
        self._check.refuse_if_invalid(body, also=also)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        chunks = [chunk async for chunk in stream]
        raw = b"".join(chunks)
        limit = SETTINGS.max_json_depth
        opening = raw.count(b"[") + raw.count(b"{")
        depth = json_depth(raw) if opening > limit else 0
        if depth > limit:
            raise BadRequestProblem(
                detail=f"Request body nests {depth} deep, past the limit of {limit}."
            )

        async def replay() -> AsyncGenerator[bytes, None]:
            for chunk in chunks:
                yield chunk

        return await super()._parse(replay(), scope)


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[TestClient, TestClient]]:
    """(before, now): the app checking everything first, and the app as it is."""
    now = app_module.create_app(SETTINGS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "AllErrorsJSONBodyValidator", CheckEverythingFirstValidator)
        before = app_module.create_app(SETTINGS)
    with before.test_client() as old, now.test_client() as new:
        yield old, new


def _answer(client: TestClient, body: bytes, query: str) -> tuple[int, str, Any]:
    response = client.post(f"/v1/predictions{query}", content=body, headers=JSON)
    return response.status_code, response.headers["content-type"], without_ids(response.json())


def _assert_same(clients: tuple[TestClient, TestClient], body: bytes, query: str = "") -> None:
    before, now = (_answer(client, body, query) for client in clients)
    assert now == before, body[:300]


def _nested(depth: int, leaf: Any = 1) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


#: One house changed: each kind of bad value the schema or the house rules refuse.
CHANGES: dict[str, dict[str, Any]] = {
    "valid": {},
    "string-for-number": {"GrLivArea": "big"},
    "numeric-string": {"LotArea": "8000"},
    "bool-for-integer": {"OverallQual": True},
    "bool-for-number": {"GrLivArea": False},
    "negative-area": {"GrLivArea": -10},
    "quality-11": {"OverallQual": 11},
    "old-year": {"YearBuilt": 1066},
    "half-a-bath": {"FullBath": 2.5},
    "whole-float": {"FullBath": 2.0},
    "unknown-code": {"Neighborhood": "Atlantis"},
    "unknown-grade": {"KitchenQual": "Superb"},
    "code-not-string": {"Neighborhood": 7},
    "numeric-code-unknown": {"MSSubClass": 21},
    "missing-required": {"OverallQual": DROP},
    "null-required": {"OverallQual": None, "Neighborhood": None},
    "null-optional": {"PoolQC": None, "LotFrontage": None},
    "unknown-field": {"LotAreaa": 8000},
    "long-unknown-field": {"X" * 500: 1},
    "long-code": {"Neighborhood": "N" * 5000},
    "huge-number": {"LotArea": 10**30},
    "endless-integer": {"LotArea": 10**400},
    "id-string": {"Id": "a"},
    "id-beyond-exact": {"Id": 2**53},
    "id-past-64-bits": {"Id": 2**64 + 1},
    "list-value": {"GrLivArea": [1710]},
    "object-value": {"Neighborhood": {"name": "NAmes"}},
    "nested-2": {"GrLivArea": _nested(2)},
    "nested-3": {"GrLivArea": _nested(3)},
    "nested-6": {"GrLivArea": _nested(6)},
    "nested-object": {"LotArea": {"a": {"b": {"c": {"d": 1}}}}},
    "house-rule": {"YearBuilt": 2010, "YearRemodAdd": 2010, "YrSold": 2006},
    "rule-and-range": {"YearBuilt": 2010, "YrSold": 2006, "GrLivArea": -1},
    "many-bad": {"GrLivArea": -1, "LotArea": -1, "OverallQual": 0, "MoSold": 13, "Street": 1},
}

RAW_BODIES: dict[str, bytes] = {
    "empty-list": b"[]",
    "null": b"null",
    "object-not-list": b'{"GrLivArea": 1710}',
    "rows-not-objects": b"[1, null]",
    "string": b'"houses"',
    "number": b"7",
    "not-json": b"[{not json",
    "nan-literal": b'[{"GrLivArea": NaN}]',
    "infinity": b"[1e400]",
    "not-utf8": b"[\xff\xfe]",
    "deep-list": b"[" * 5 + b"]" * 5,
    "just-deep-enough": b"[" * 4 + b"]" * 4,
    "deep-and-not-json": b"[" * 6 + b"{x",
    "deep-and-not-utf8": b"[" * 6 + b"\xff" + b"]" * 6,
    "beyond-the-parser": b"[" * 5000 + b"]" * 5000,
    "deep-in-a-string": b'[{"Neighborhood": "[[[[[[[[[["}]',
    "escaped-quotes-deep": b'[{"Neighborhood": "\\"[[[[[[", "x": [[[[[1]]]]]}]',
    "too-many-rows": b"[" + b",".join([b"{}"] * 5) + b"]",
}


def _bodies(request_rows: list[dict[str, Any]]) -> dict[str, bytes]:
    first, good = request_rows[0], request_rows[1]
    bodies = {
        name: json.dumps([good, changed(first, **changes)]).encode()
        for name, changes in CHANGES.items()
    }
    bodies["two-bad-rows"] = json.dumps(
        [changed(first, GrLivArea=-1), good, changed(request_rows[2], MSZoning="Downtown")]
    ).encode()
    bodies["a-400-row-and-a-422-row"] = json.dumps(
        [changed(first, YearBuilt=2010, YrSold=2006), changed(first, GrLivArea="x")]
    ).encode()
    bodies["too-many-valid-rows"] = json.dumps(request_rows[:5]).encode()
    bodies["deep-row-in-many"] = json.dumps([good] * 3 + [_nested(4, good)]).encode()
    return {**bodies, **RAW_BODIES}


@pytest.mark.integration
def test_every_answer_is_the_one_of_checking_everything_first(
    clients: tuple[TestClient, TestClient], request_rows: list[dict[str, Any]]
) -> None:
    for body in _bodies(request_rows).values():
        _assert_same(clients, body)
        # The explain limit and budget come after the body's own checks, as before.
        _assert_same(clients, body, "?explain=true")


@pytest.fixture(scope="module")
def first_house(request_rows: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(request_rows[0])


#: Any JSON value, nesting up to 7 deep: scalars, lists and objects of them.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    # "[" and '"' in strings test the depth scan's handling of them.
    | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)


@pytest.mark.integration
@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(["GrLivArea", "Neighborhood", "Id", "OverallQual", "Alley", "Other"]),
    value=JSON_VALUES,
    wrap=st.integers(min_value=0, max_value=4),
)
def test_any_value_anywhere_gets_the_same_answer(
    clients: tuple[TestClient, TestClient],
    first_house: dict[str, Any],
    field: str,
    value: Any,
    wrap: int,
) -> None:
    body = _nested(wrap, [{**first_house, field: value}])
    _assert_same(clients, json.dumps(body).encode())


def _request_schema() -> dict[str, Any]:
    converted: dict[str, Any] = json_schema(prediction_request_schema(read_spec(SETTINGS)))
    return converted


def test_a_list_of_houses_nests_two_deep() -> None:
    assert nesting_bound(_request_schema()) == 2


@pytest.mark.parametrize(
    ("schema", "bound"),
    [
        ({"type": ["string", "null"]}, 0),
        ({"type": "array", "items": {"type": "integer"}}, 1),
        ({"type": "array"}, math.inf),  # items of any kind
        ({"type": "array", "items": [{"type": "integer"}]}, math.inf),
        ({"type": "object", "properties": {"a": {"type": "number"}}}, math.inf),  # open
        (
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"a": {"type": "array", "items": {"type": "number"}}},
            },
            2,
        ),
        ({"type": "object", "additionalProperties": False, "patternProperties": {}}, math.inf),
        ({"enum": [[1]]}, math.inf),  # no type
        ({"$ref": "#/definitions/house"}, math.inf),
    ],
)
def test_nesting_bound_is_open_unless_the_schema_closes_it(
    schema: dict[str, Any], bound: float
) -> None:
    assert nesting_bound(schema) == bound
