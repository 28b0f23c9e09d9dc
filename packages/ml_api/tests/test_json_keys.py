"""A key given twice in one JSON object is refused, naming its row and field, not resolved
silently (the parser keeps the last value)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from api import json_keys
from api.json_depth import byte_counts, opening_brackets
from api.json_keys import may_repeat_keys, repeated_keys
from api.problems import FieldError

JSON = {"content-type": "application/json"}
REPEATED = "is given more than once (a JSON object's keys must be unique)"


def _may_repeat(text: bytes) -> bool:
    colons = byte_counts(text, b":")[0]
    return may_repeat_keys(orjson.loads(text), colons=colons, opening=opening_brackets(text))


def _with_area_twice(house: dict[str, Any], area: int) -> str:
    """``house`` as JSON text, its ``GrLivArea`` given first as ``area``, then as it is."""
    text = json.dumps(house)
    return text.replace('"GrLivArea": ', f'"GrLivArea": {area}, "GrLivArea": ', 1)


@pytest.mark.integration
def test_a_house_with_a_key_given_twice_is_refused_naming_row_and_field(
    client: TestClient, house: dict[str, Any]
) -> None:
    body = f"[{json.dumps(house)}, {_with_area_twice(house, 5000)}]"
    response = client.post("/v1/predictions", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"] == [{"row": 1, "field": "GrLivArea", "message": REPEATED}]
    assert problem["detail"].startswith("1 invalid field in 1 house: row 1, GrLivArea: ")


@pytest.mark.integration
def test_a_key_given_twice_inside_a_field_is_named_by_the_field(
    client: TestClient, house: dict[str, Any]
) -> None:
    text = json.dumps({**house, "LotArea": {"x": 1}}).replace('"x": 1', '"x": 1, "x": 2')
    response = client.post("/v1/predictions", content=f"[{text}]", headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [
        {"row": 0, "field": "LotArea", "message": 'holds an object that gives "x" more than once'}
    ]


@pytest.mark.integration
def test_a_colon_inside_a_string_is_no_repeated_key(
    client: TestClient, house: dict[str, Any]
) -> None:
    """More colons than members sends the text to the second parse, which finds no key twice:
    the body is answered as it would be without the check."""
    body = json.dumps([{**house, "Neighborhood": "a:b"}])
    response = client.post("/v1/predictions", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Neighborhood"
    assert "more than once" not in response.text


@pytest.mark.integration
def test_a_body_with_no_repeated_key_is_parsed_once(
    client: TestClient, request_rows: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its colons match its members: the second parse never runs."""

    def second_parse(text: bytes) -> list[FieldError]:
        raise AssertionError("a body with no repeated key was parsed again")

    monkeypatch.setattr("api.body_validation.repeated_keys", second_parse)
    response = client.post("/v1/predictions", json=request_rows, headers=JSON)
    assert response.status_code == 200, response.text


def test_an_object_body_names_no_row() -> None:
    assert repeated_keys(b'{"a": 1, "b": 2, "a": 3}') == [FieldError(None, "a", REPEATED)]


def test_a_row_that_is_a_list_names_no_field() -> None:
    found = repeated_keys(b'[[{"a": 1, "a": 2}]]')
    assert found == [FieldError(0, None, 'holds an object that gives "a" more than once')]


def test_a_long_key_is_clipped() -> None:
    key = "k" * 5000
    (found,) = repeated_keys(json.dumps([{key: 1}]).replace("1", f'1, "{key}": 2').encode())
    assert found.field is not None and len(found.field) < 200


def test_a_text_the_standard_library_refuses_is_not_known_to_repeat() -> None:
    assert repeated_keys(b"[1, ") == []


_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=5)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=20,
)


@given(_documents)
def test_a_document_may_repeat_a_key_only_if_its_strings_hold_a_colon(document: Any) -> None:
    """A parsed document (no key twice) has one member per colon of its text outside strings:
    no second parse for it unless a string holds a colon."""
    assert _may_repeat(json.dumps(document).encode()) == (_string_colons(document) > 0)


@given(st.lists(st.dictionaries(st.text(max_size=4), _scalars, min_size=1), min_size=1))
def test_every_key_given_twice_is_found_in_its_row(rows: list[dict[str, Any]]) -> None:
    """Each row's first key given again at its end: found, in that row, and only there."""
    texts = [
        json.dumps(row)[:-1] + f", {json.dumps(next(iter(row)))}: 0}}" if index % 2 else
        json.dumps(row)
        for index, row in enumerate(rows)
    ]  # fmt: skip
    text = f"[{', '.join(texts)}]".encode()
    assert _may_repeat(text) or len(rows) == 1
    found = repeated_keys(text)
    assert [(error.row, error.message) for error in found] == [
        (index, REPEATED) for index in range(1, len(rows), 2)
    ]


def _string_colons(document: Any) -> int:
    """The colons in the document's strings, its keys' included."""
    if isinstance(document, dict):
        return sum(key.count(":") + _string_colons(value) for key, value in document.items())
    if isinstance(document, list):
        return sum(_string_colons(item) for item in document)
    return document.count(":") if isinstance(document, str) else 0


def test_members_are_counted_in_nested_documents() -> None:
    document = [{"a": {"b": [1, {"c": 2, "d": 3}]}}, {"e": []}]
    assert (
        json_keys._members(document, opening=opening_brackets(json.dumps(document).encode())) == 5
    )


@given(st.binary(max_size=64), st.integers(0, 3))
def test_byte_counts_are_bytes_counts_on_short_and_long_texts(piece: bytes, scale: int) -> None:
    """Counted by numpy past 16 KiB, a quarter of a MiB at a time: the same counts."""
    text = piece * (1 + (300_000 * scale) // max(len(piece), 1))
    wanted = (b"[", b"{", b":")
    assert byte_counts(text, *wanted) == [text.count(byte) for byte in wanted]
