"""How a request is framed, apart from its houses: path, content type, size in flight, and the
bodies built to cost a worker time (escaped quotes, endless integers)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import pytest
from connexion.exceptions import ProblemException
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import body_validation, json_codec
from api.body_limit import BodyLimitsMiddleware
from api.body_validation import WIDTH_SLACK
from api.config import Settings
from api.content_type import MAX_MEDIA_TYPE_LENGTH
from api.inflight import InflightBudget
from api.json_depth import JsonShape, json_depth, json_shape, text_depth, value_depth
from api.schema_bounds import clip_strings, container_bound, member_bound, value_bound
from api.service import PredictionService

JSON = {"content-type": "application/json"}

#: Houses in one request for the tests' client (conftest's app, the settings' default).
MAX_ROWS = Settings(environment="testing").max_rows


@pytest.mark.integration
def test_a_query_of_more_parameters_than_any_operation_takes_is_refused(
    client: TestClient,
) -> None:
    """Connexion reads a query's parameters in a time quadratic in their count: 9000 in a URL
    within the header limits took a worker 2.7 s."""
    from api.paths import MAX_QUERY_PARAMETERS

    many = "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMETERS + 1))
    refused = client.get(f"/health?{many}")
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert f"more than {MAX_QUERY_PARAMETERS} parameters" in refused.json()["detail"]
    fewer = "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMETERS))
    named = client.get(f"/health?{fewer}").json()["detail"]  # the spec's check names them
    assert "p0" in named


@pytest.mark.integration
@pytest.mark.parametrize("path", ["//health", "///health", "/%2Fhealth"])
def test_repeated_slashes_are_one(client: TestClient, path: str) -> None:
    response = client.get(f"http://testserver{path}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("POST", "/v1/predictions/", "/v1/predictions"),
        ("POST", "/v1/predictions/?explain=true", "/v1/predictions?explain=true"),
        ("GET", "/ui", "/ui/"),
        ("GET", "/openapi.json/", "/openapi.json"),
        ("GET", "/openapi.yaml/?v=1", "/openapi.yaml?v=1"),
    ],
)
def test_a_redirect_names_no_host_the_client_sent(
    client: TestClient, method: str, path: str, location: str
) -> None:
    """Starlette's routers wrote the Host header into Location: a redirect to any site."""
    response = client.request(
        method, path, headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code in {307, 308}, response.text
    assert response.headers["location"] == location


def test_a_location_is_made_a_path_only_on_the_request_origin() -> None:
    from api.paths import _path_on

    on = "http://Evil.Example"
    assert _path_on(on, b"http://evil.example/v1/model?a=1") == b"/v1/model?a=1"
    assert _path_on(on, b"https://evil.example/x") == b"https://evil.example/x"  # another scheme
    assert _path_on(on, b"http://evil.example.org/x") == b"http://evil.example.org/x"
    assert _path_on(on, b"http://evil.example//elsewhere/x") == b"http://evil.example//elsewhere/x"
    assert _path_on(on, b"/already/a/path") == b"/already/a/path"


@pytest.mark.integration
@pytest.mark.parametrize(
    "host", ["evil.example/x", "evil.example?", "evil.example#", "user@evil.example", "a b"]
)
def test_a_host_header_that_is_not_a_host_is_refused(client: TestClient, host: str) -> None:
    """Starlette wrote it into a redirect's Location: ``evil.example/x`` made the path's start."""
    response = client.post(
        "/v1/predictions/", headers={"Host": host}, json=[], follow_redirects=False
    )
    assert response.status_code == 400, response.text
    assert "Host header" in response.json()["detail"]


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/health", "/v1/model", "/openapi.json", "/ui/"])
@pytest.mark.parametrize("host", ["a" * 64, "a..b"])
def test_a_host_name_that_is_no_dns_name_gets_one_answer_everywhere(
    client: TestClient, path: str, host: str
) -> None:
    """Flask's router refused these with its own vague 400 on some paths, and the spec
    document and Swagger UI served them (a probe's)."""
    response = client.get(path, headers={"Host": host})
    assert response.status_code == 400, response.text
    assert "not a DNS name" in response.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "version", "refused"),
    [
        ([(b"host", b"api.example:5000")], "1.1", None),
        ([(b"host", b"[::1]:5000")], "1.1", None),
        ([(b"host", b"127.0.0.1")], "1.1", None),
        ([], "1.0", None),  # HTTP/1.0 has no Host to require
        ([], "1.1", "no Host header"),
        ([(b"host", b"a"), (b"host", b"b")], "1.1", "2 Host headers"),
        ([(b"host", b"a:80x")], "1.1", "not a host name"),
        ([(b"host", b"a" * 63 + b".example:5000")], "1.1", None),
        ([(b"host", b"a" * 64)], "1.1", "not a DNS name"),
        ([(b"host", b"a..b")], "1.1", "not a DNS name"),
        ([(b"host", b".a")], "1.1", "not a DNS name"),
    ],
)
def test_an_http_1_1_request_has_one_host_header(
    headers: list[tuple[bytes, bytes]], version: str, refused: str | None
) -> None:
    from api.paths import HostCheckMiddleware

    reached: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope)

    scope = {"type": "http", "http_version": version, "headers": headers}
    check = HostCheckMiddleware(app)
    if refused is None:
        asyncio.run(check(scope, _whole(0), _send))
        assert reached == [scope]
        return
    with pytest.raises(ProblemException) as problem:
        asyncio.run(check(scope, _whole(0), _send))
    assert problem.value.status == 400
    assert refused in str(problem.value.detail)


@pytest.mark.integration
def test_a_repeated_slash_before_an_operation_reaches_it(
    client: TestClient, house: dict[str, Any]
) -> None:
    response = client.post("http://testserver//v1/predictions", json=[house])
    assert response.status_code == 200, response.text


@pytest.mark.integration
@pytest.mark.parametrize(
    "content_type",
    [
        "APPLICATION/JSON",
        "Application/Json; Charset=UTF-8",
        "application/json;charset=utf-8",
        # RFC 9110 5.6.6: whitespace around a parameter's ";" (Connexion read "application/json ")
        "application/json ; charset=utf-8",
        "application/json\t;charset=utf-8",
        "application/json;",
        " application/json",
    ],
)
def test_content_types_match_whatever_their_case_and_spacing(
    client: TestClient, house: dict[str, Any], content_type: str
) -> None:
    response = client.post(
        "/v1/predictions", content=json.dumps([house]), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text
    invalid = client.post(
        "/v1/predictions",
        content=json.dumps([{**house, "GrLivArea": -1}]),
        headers={"content-type": content_type},
    )
    assert invalid.status_code == 400  # validated, not waved through
    assert invalid.json()["errors"][0]["field"] == "GrLivArea"


@pytest.mark.integration
def test_a_body_without_a_content_type_is_refused_with_415(
    client: TestClient, house: dict[str, Any]
) -> None:
    response = client.post("/v1/predictions", content=json.dumps([house]).encode())
    assert response.status_code == 415
    assert "no Content-Type" in response.json()["detail"]


@pytest.mark.integration
@pytest.mark.parametrize("path", ["/v1/predictions", "/v1/predictions?explain=true"])
def test_two_content_types_are_refused_with_415_not_a_500(
    client: TestClient, house: dict[str, Any], path: str
) -> None:
    """Connexion's validator read the first, Flask joined both for the handler: a 500."""
    response = client.post(
        path,
        content=json.dumps([house]).encode(),
        headers=[("content-type", "application/json"), ("content-type", "application/json")],
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "2 Content-Type headers" in response.json()["detail"]


@pytest.mark.integration
@pytest.mark.parametrize(
    "codings", [["gzip"], ["br"], ["GZIP, identity"], ["identity", "gzip"]], ids=repr
)
def test_a_coded_body_is_refused_with_415(
    client: TestClient, house: dict[str, Any], codings: list[str]
) -> None:
    """A gzip body was refused as bad UTF-8, and a plain one labelled gzip priced as if not."""
    response = client.post(
        "/v1/predictions",
        content=json.dumps([house]).encode(),
        headers=[*JSON.items(), *(("content-encoding", coding) for coding in codings)],
    )
    assert response.status_code == 415, response.text
    assert "Content-Encoding" in response.json()["detail"]
    assert response.headers["accept-encoding"] == "identity"  # RFC 9110 15.5.16
    plain = client.post(
        "/v1/predictions",
        content=json.dumps([house]).encode(),
        headers={**JSON, "content-encoding": "identity"},
    )
    assert plain.status_code == 200, plain.text


@pytest.mark.integration
@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=latin-1",
        "APPLICATION/JSON; CHARSET=UTF-16",
        'application/json; charset=""',
        # a second charset behind a UTF-8 one (a reader taking the last would read Latin-1)
        "application/json; charset=utf-8; charset=latin-1",
    ],
)
def test_a_body_in_a_charset_other_than_utf8_is_refused_with_415(
    client: TestClient, house: dict[str, Any], content_type: str
) -> None:
    """Its bytes were read as UTF-8 all the same: priced if they happened to be ASCII, else
    refused as bad JSON or bad UTF-8."""
    response = client.post(
        "/v1/predictions", content=json.dumps([house]), headers={"content-type": content_type}
    )
    assert response.status_code == 415, response.text
    assert "JSON is UTF-8" in response.json()["detail"]
    for utf8 in ("application/json; charset=UTF-8", 'application/json; charset="utf-8"'):
        taken = client.post(
            "/v1/predictions", content=json.dumps([house]), headers={"content-type": utf8}
        )
        assert taken.status_code == 200, taken.text


@pytest.mark.integration
def test_a_charset_is_not_read_where_no_json_body_is_sent(
    client: TestClient, house: dict[str, Any]
) -> None:
    """Another media type is named as such (Connexion's 415), and a request without a body
    is not refused for its header."""
    other = client.post(
        "/v1/predictions",
        content=json.dumps([house]),
        headers={"content-type": "text/plain; charset=latin-1"},
    )
    assert other.status_code == 415
    assert "text/plain" in other.json()["detail"]
    bodiless = client.get("/health", headers={"content-type": "application/json; charset=latin-1"})
    assert bodiless.status_code == 200, bodiless.text


@pytest.mark.integration
def test_a_media_type_longer_than_any_is_refused_without_quoting_it(
    client: TestClient, house: dict[str, Any]
) -> None:
    """Connexion's 415 names the media type sent: one of 5000 characters came back whole."""
    longest = f"application/{'x' * (MAX_MEDIA_TYPE_LENGTH - len('application/'))}"
    named = client.post("/v1/predictions", content=b"[]", headers={"content-type": longest})
    assert named.status_code == 415 and longest in named.json()["detail"]
    for sent in (longest + "x", f"application/{'x' * 5000}; charset=utf-8"):
        refused = client.post("/v1/predictions", content=b"[]", headers={"content-type": sent})
        assert refused.status_code == 415, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        detail = refused.json()["detail"]
        assert "RFC 6838" in detail and "xxxxx" not in detail and len(refused.content) < 400
    bodiless = client.get("/health", headers={"content-type": longest + "x"})
    assert bodiless.status_code == 200, bodiless.text


@pytest.mark.integration
@pytest.mark.parametrize("coding", ["gzip, chunked", "br, chunked"])
def test_a_transfer_coding_before_chunked_is_refused_with_501(
    client: TestClient, house: dict[str, Any], coding: str
) -> None:
    """Only ``chunked`` alone went through the body limits; a coding before it (which the HTTP
    parser frames as chunked all the same) went past them unread. (One it cannot frame is its
    400: tests/test_connection_limits.py.)"""
    response = client.post(
        "/v1/predictions",
        content=json.dumps([house]).encode(),
        headers={**JSON, "transfer-encoding": coding},
    )
    assert response.status_code == 501, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "Transfer-Encoding" in response.json()["detail"]


@pytest.mark.integration
def test_an_endless_integer_is_a_400_that_names_no_interpreter_setting(
    client: TestClient,
) -> None:
    response = client.post(
        "/v1/predictions", content=b'[{"Id": ' + b"9" * 100_000 + b"}]", headers=JSON
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "100000 digits" in detail
    assert "sys." not in detail


@pytest.mark.integration
@pytest.mark.parametrize("escape", [b'\\"', b"\\\\", b"\\u0022"])
def test_a_long_escaped_string_is_refused_without_being_echoed(
    client: TestClient, escape: bytes
) -> None:
    body = b'[{"MSZoning": "' + escape * 500_000 + b'"}]'
    response = client.post("/v1/predictions", content=body, headers=JSON)
    assert response.status_code == 400
    assert len(response.content) < 5000
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert errors["MSZoning"] == "is longer than 64 characters"


_ROWS = {
    "type": "array",
    "maxItems": 3,
    "items": {
        "type": "object",
        "properties": {"a": {"type": "number"}, "c": {"type": "array", "items": {}}},
    },
}


def test_clipping_keeps_every_string_over_the_limit_over_it() -> None:
    body = [{"a" * 100: "b" * 100, "c": ["d" * 10, 1.5, None]}]
    # A key, which errors name, and a value, which they quote, are marked cut.
    assert clip_strings(body, 20, _ROWS) == [
        {"a" * 20 + "...": "b" * 20 + "...", "c": ["d" * 10, 1.5, None]}
    ]


def test_clipping_cuts_short_the_containers_where_the_schema_takes_none() -> None:
    rows = [{f"k{i}": i for i in range(10)}, {"a": [[1]] * 10, "b": {str(i): i for i in range(9)}}]
    assert clip_strings(rows, 20, _ROWS) == [
        {f"k{i}": i for i in range(10)},  # a row is whole: its every field is checked
        {"a": [[1]] * 4 + ["..."], "b": {**{str(i): i for i in range(4)}, "...": "..."}},
    ]
    # A row that is a list, a body that is an object: cut (a list marked so), and all within.
    assert clip_strings([[0] * 10**6, {}], 20, _ROWS) == [[0] * 4 + ["..."], {}]
    assert clip_strings({"x": [[0] * 10] * 10}, 20, _ROWS) == {
        "x": [[0] * 4 + ["..."]] * 4 + ["..."]
    }
    assert clip_strings([[0] * 4], 20, _ROWS) == [[0] * 4]  # nothing cut: no mark
    # A string is never cut below its own maxLength, whatever the limit for the others.
    dated = {"type": "string", "maxLength": 10}
    assert clip_strings("2010-06-30", 8, dated) == "2010-06-30"
    assert clip_strings("2010-06-30T00", 8, dated) == "2010-06-30..."
    # A list the schema takes: one more item than it may hold.
    assert clip_strings([{}] * 10, 20, _ROWS) == [{}] * 4
    assert clip_strings([{"c": list(range(10))}], 20, _ROWS) == [{"c": list(range(10))}]


def test_a_schema_bounds_the_arrays_and_objects_of_a_valid_body() -> None:
    house = {
        "type": "object",
        "properties": {"a": {"type": "number"}},
        "additionalProperties": False,
    }
    assert container_bound({"type": "array", "items": house, "maxItems": 5}) == 6
    assert container_bound({"type": "array", "items": {"type": "number"}}) == 1
    assert container_bound({"type": "array", "items": house}) == math.inf
    pair = {"type": "object", "properties": {"x": house, "y": house}, "additionalProperties": False}
    assert container_bound(pair) == 3
    assert container_bound({"type": "object"}) == math.inf  # open: anything may be in it


def test_a_schema_bounds_the_members_of_the_objects_of_a_valid_body() -> None:
    house = {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": ["string", "null"]}},
        "additionalProperties": False,
    }
    assert member_bound({"type": "array", "items": house, "maxItems": 5}) == 10
    assert member_bound({"type": "array", "items": {"type": "number"}, "maxItems": 5}) == 0
    assert member_bound({"type": "array", "items": house}) == math.inf
    pair = {"type": "object", "properties": {"x": house, "y": house}, "additionalProperties": False}
    assert member_bound(pair) == 6
    assert member_bound({"type": "object", "properties": {"a": {"type": "number"}}}) == math.inf
    assert value_bound({"type": "array", "items": house, "maxItems": 5}) == 15  # 5 + 5 * 2
    assert value_bound({"type": "array", "items": {"type": "number"}, "maxItems": 5}) == 5
    assert value_bound({"type": "array", "items": {"type": "number"}}) == math.inf
    assert value_bound(pair) == 6


def _refused_unparsed(client: TestClient, monkeypatch: pytest.MonkeyPatch, body: bytes) -> str:
    """The detail of the 400 that refuses ``body`` without parsing it (a parse is recorded,
    and fails the test)."""
    parsed: list[bytes] = []
    with monkeypatch.context() as patched:
        patched.setattr(json_codec, "loads", lambda raw: parsed.append(raw))
        response = client.post("/v1/predictions", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    assert not parsed
    detail: str = response.json()["detail"]
    return detail


@pytest.mark.integration
@pytest.mark.parametrize("what", ["members of objects", "values in arrays and objects"])
def test_a_body_of_more_members_or_values_than_any_valid_one_is_refused_before_its_parse(
    client: TestClient, house: dict[str, Any], monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """870,000 unknown keys in one house took a worker 16 s to list; a house that was a list of
    5 million numbers 3 s and 700 MB (415 MB once it was clipped: the validator's copy)."""
    members = MAX_ROWS * len(house)  # each house's fields: test.csv's rows have them all
    if what.startswith("members"):
        bound, separator, found = members, b":", members + WIDTH_SLACK + 1
        body = b"[{" + b",".join(b'"%d":0' % key for key in range(found)) + b"}]"
    else:  # the houses and their fields; a comma between two values
        bound, separator = MAX_ROWS + members, b","
        found = bound + WIDTH_SLACK + 1
        body = b"[[" + b",".join([b"0"] * (found + 1)) + b"]]"
    assert _refused_unparsed(client, monkeypatch, body) == (
        f"Request body holds {found} {what}, far past the {bound} that any body this "
        "operation takes can hold."
    )
    # Colons and commas in strings do not count.
    texts = json.dumps([{**house, "Neighborhood": separator.decode() * 200}] * 3000).encode()
    assert texts.count(separator) > (bound + WIDTH_SLACK) * 1.2
    detail = client.post("/v1/predictions", content=texts, headers=JSON).json()["detail"]
    assert what not in detail and "Neighborhood" in detail


@pytest.mark.integration
def test_a_house_of_many_unknown_fields_is_listed_from_its_first_ones(
    client: TestClient, house: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validator sees its known fields and one more unknown one than can be listed (a
    house of 450,000 took 5 s, listed whole and then cut)."""
    seen: list[int] = []
    clip = clip_strings

    def recorded(node: Any, limit: int, schema: Any, **options: Any) -> Any:
        clipped = clip(node, limit, schema, **options)
        seen.append(len(clipped))
        return clipped

    monkeypatch.setattr(body_validation, "clip_strings", recorded)
    extra = {f"extra{i}": i for i in range(20_000)}
    response = client.post("/v1/predictions", json=[{**house, **extra}])
    assert response.status_code == 400, response.text
    listed = response.json()["errors"]
    assert [error["field"] for error in listed[:3]] == ["extra0", "extra1", "extra10"]
    limit = len(listed)
    assert "more than" in response.json()["detail"] and limit < 20_000
    assert seen == [len(house) + limit + 1]


@pytest.mark.integration
def test_a_body_of_more_containers_than_any_valid_one_is_refused_before_its_parse(
    client: TestClient, house: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """3.5 million empty lists in 10 MiB took a worker's parse 280 MB of Python objects."""
    wide = b"[" + b",".join([b"[]"] * (MAX_ROWS + 1 + WIDTH_SLACK)) + b"]"
    assert _refused_unparsed(client, monkeypatch, wide) == (
        f"Request body holds {MAX_ROWS + 2 + WIDTH_SLACK} arrays and objects, far past the "
        f"{MAX_ROWS + 1} that any body this operation takes can hold."
    )
    within = b"[" + b",".join([b"[]"] * (MAX_ROWS + WIDTH_SLACK)) + b"]"  # parsed: too many items
    detail = client.post("/v1/predictions", content=within, headers=JSON).json()["detail"]
    assert f"more than the limit of {MAX_ROWS} items" in detail
    # Brackets in strings do not count, and nesting past the limit is said first.
    texts = json.dumps([{**house, "Neighborhood": "[" * 60}] * 3000).encode()  # 180,000 "["
    assert client.post("/v1/predictions", content=texts, headers=JSON).status_code == 400
    deep = b"[" + b",".join([b"[[[[[[[[[1]]]]]]]]]"] + [b"[]"] * (MAX_ROWS + 1000 + WIDTH_SLACK))
    deep += b"]"
    too_deep = client.post("/v1/predictions", content=deep, headers=JSON).json()["detail"]
    assert "nests 10 deep" in too_deep


@pytest.mark.integration
def test_a_long_value_is_quoted_marked_cut(client: TestClient, house: dict[str, Any]) -> None:
    """Its first 65 characters were quoted as if they were the value sent."""
    body = [{**house, "LotArea": "9" * 100_000, "Neighborhood": list("abcdef")}]
    response = client.post("/v1/predictions", json=body)
    assert response.status_code == 400, response.text
    messages = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert messages["LotArea"].startswith(f'"{"9" * 64}..." is not of type')
    assert messages["Neighborhood"].startswith('["a","b","c","d","..."] is not of type')


@pytest.mark.integration
def test_a_field_holding_lists_is_refused_without_walking_them(
    client: TestClient, house: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its depth is read from the request's text, its lists are cut short before the schema's
    message quotes them: a 10 MiB body of them took 7 s (it is now refused before it is
    parsed, as more containers than any valid body holds: here, as many as a body may)."""

    def walked(value: object) -> int:
        raise AssertionError("the body was walked")

    monkeypatch.setattr(body_validation, "value_depth", walked)
    body = json.dumps([{**house, "LotArea": [[]] * 4990}]).encode()
    response = client.post("/v1/predictions", content=body, headers=JSON)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "LotArea"
    assert error["message"].startswith('[[],[],[],[],"..."] is not'), error["message"]


def _depth(node: Any) -> int:
    if isinstance(node, list):
        return 1 + max(map(_depth, node), default=0)
    if isinstance(node, dict):
        return 1 + max(map(_depth, node.values()), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet='\\"[]{}:ab', max_size=8)
_JSON = st.recursive(
    st.none() | st.integers() | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY_TEXT, inner, max_size=3),
    max_leaves=20,
)


@given(_JSON)
def test_depth_counts_brackets_outside_strings_only(document: Any) -> None:
    assert json_depth(json.dumps(document).encode()) == _depth(document)


@given(_JSON, st.integers(min_value=0, max_value=6))
def test_a_values_depth_is_its_texts(document: Any, limit: int) -> None:
    depth = _depth(document)
    assert value_depth(document) == depth
    text = json.dumps(document).encode()
    found = text_depth(text, limit)  # exact, or 0 within the limit
    assert found == depth or (found == 0 and depth <= limit)
    shape = JsonShape(depth, _containers(document), _members(document), _commas(document))
    assert json_shape(text) == shape


def _containers(node: Any) -> int:
    if isinstance(node, list):
        return 1 + sum(map(_containers, node))
    if isinstance(node, dict):
        return 1 + sum(map(_containers, node.values()))
    return 0


def _commas(node: Any) -> int:
    items = list(node.values()) if isinstance(node, dict) else node
    if not isinstance(items, list):
        return 0
    return max(len(items) - 1, 0) + sum(map(_commas, items))


def _members(node: Any) -> int:
    if isinstance(node, list):
        return sum(map(_members, node))
    if isinstance(node, dict):
        return len(node) + sum(map(_members, node.values()))
    return 0


# The in-flight budget and the pace of a body, on the middleware alone: requests held open
# until released, their bodies sent part by part through a channel each.


class _HeldApp:
    """Reads each request's body, then answers 200 once ``release`` is set; records the
    requests that reached it and the bodies it read whole."""

    def __init__(self, *, between_reads: float = 0.0) -> None:
        self.release = asyncio.Event()
        self.reached = 0
        self.bodies: list[bytes] = []
        self.between_reads = between_reads  # the worker's own time between two reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
            await asyncio.sleep(self.between_reads)
        self.bodies.append(body)
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _scope(length: int) -> Scope:
    return {"type": "http", "headers": [(b"content-length", str(length).encode())]}


def _whole(length: int) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"x" * length, "more_body": False}

    return receive


def _channel(parts: asyncio.Queue[bytes | None]) -> Receive:
    """A body's parts as a client sends them (``None``: the last part was sent)."""

    async def receive() -> Message:
        part = await parts.get()
        if part is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": part, "more_body": True}

    return receive


async def _send(message: Message) -> None:
    pass


def _limits(app: ASGIApp, capacity: int, **pace: Any) -> BodyLimitsMiddleware:
    return BodyLimitsMiddleware(
        app,
        max_bytes=1000,
        inflight=InflightBudget(capacity, doing="reading"),
        read_timeout=pace.get("read_timeout", 5),
        min_rate=pace.get("min_rate", 0),
    )


def test_bodies_past_the_budget_in_flight_are_refused_with_503_and_retry_after() -> None:
    async def scenario() -> tuple[int, int, int]:
        held = _HeldApp()
        budget = _limits(held, 2500)
        first = asyncio.create_task(budget(_scope(1000), _whole(1000), _send))
        second = asyncio.create_task(budget(_scope(1000), _whole(1000), _send))
        await asyncio.sleep(0.01)
        with pytest.raises(ProblemException) as refused:
            await budget(_scope(1000), _whole(1000), _send)  # 3000 > 2500
        assert refused.value.status == 503
        assert refused.value.headers == {"Retry-After": "1"}  # its body is not read: no close
        small = asyncio.create_task(budget(_scope(400), _whole(400), _send))  # 2400 fits
        await asyncio.sleep(0.01)
        held.release.set()
        await asyncio.gather(first, second, small)
        await budget(_scope(1000), _whole(1000), _send)  # all released: room again
        return held.reached, budget.inflight.used, refused.value.status

    reached, left, _ = asyncio.run(scenario())
    assert reached == 4
    assert left == 0


def test_one_body_alone_is_always_taken() -> None:
    async def scenario() -> list[bytes]:
        held = _HeldApp()
        held.release.set()
        await _limits(held, 500)(_scope(1000), _whole(1000), _send)
        return held.bodies

    assert asyncio.run(scenario()) == [b"x" * 1000]


def test_heads_alone_hold_none_of_the_budget() -> None:
    """Bodies are claimed as their bytes arrive: three heads declaring as much as the budget
    holds, their bodies never sent, leave it free for a body that comes whole."""

    async def scenario() -> tuple[int, list[bytes]]:
        held = _HeldApp()
        held.release.set()
        budget = _limits(held, 2500)
        never: asyncio.Queue[bytes | None] = asyncio.Queue()
        heads = [
            asyncio.create_task(budget(_scope(1000), _channel(never), _send)) for _ in range(3)
        ]
        await asyncio.sleep(0.01)
        await budget(_scope(1000), _whole(1000), _send)
        for head in heads:
            head.cancel()
        await asyncio.gather(*heads, return_exceptions=True)
        return budget.inflight.used, held.bodies

    left, bodies = asyncio.run(scenario())
    assert bodies == [b"x" * 1000]
    assert left == 0  # the cancelled heads gave back what they held


def test_a_body_whose_bytes_do_not_fit_is_refused_part_way_and_closes() -> None:
    """Admitted while the budget was free, a body meets one that arrived whole meanwhile."""

    async def scenario() -> tuple[ProblemException, int, int]:
        held = _HeldApp()
        budget = _limits(held, 1500)
        parts: asyncio.Queue[bytes | None] = asyncio.Queue()
        slow = asyncio.create_task(budget(_scope(1000), _channel(parts), _send))
        await parts.put(b"x" * 400)
        await asyncio.sleep(0.01)
        whole = asyncio.create_task(budget(_scope(1000), _whole(1000), _send))  # 1400: fits
        await asyncio.sleep(0.01)
        await parts.put(b"x" * 400)  # 1800 > 1500
        with pytest.raises(ProblemException) as refused:
            await slow
        used = budget.inflight.used
        held.release.set()
        await whole
        return refused.value, used, budget.inflight.used

    refused, used_after_refusal, left = asyncio.run(scenario())
    assert refused.status == 503
    assert refused.headers == {"Retry-After": "1", "Connection": "close"}
    assert used_after_refusal == 1000  # the refused body's 400 bytes given back
    assert left == 0


def test_a_chunked_body_is_claimed_as_it_arrives_and_given_back_when_refused() -> None:
    """No Content-Length to refuse up front: the parts are claimed as they come, and a part
    past the budget refuses the body part way, giving back what it held."""

    async def scenario() -> tuple[ProblemException, int, int]:
        held = _HeldApp()
        budget = _limits(held, 1500)
        whole = asyncio.create_task(budget(_scope(1000), _whole(1000), _send))
        await asyncio.sleep(0.01)
        parts: asyncio.Queue[bytes | None] = asyncio.Queue()
        chunked = {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}
        streamed = asyncio.create_task(budget(chunked, _channel(parts), _send))
        await parts.put(b"x" * 300)
        await asyncio.sleep(0.01)
        used_while_streaming = budget.inflight.used
        await parts.put(b"x" * 300)  # 1600 > 1500
        with pytest.raises(ProblemException) as refused:
            await streamed
        held.release.set()
        await whole
        return refused.value, used_while_streaming, budget.inflight.used

    refused, used_while_streaming, left = asyncio.run(scenario())
    assert used_while_streaming == 1300  # the whole body's 1000 and the first part's 300
    assert refused.status == 503
    assert refused.headers == {"Retry-After": "1", "Connection": "close"}
    assert left == 0


def _trickled(every: float, parts: int, *, burst: int = 0) -> Receive:
    """A body a byte every ``every`` seconds, ``parts`` parts in all; its second part, if
    ``burst``, that many bytes at once (the first part buys time by a rule of its own)."""
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        sent += 1
        if sent == 2 and burst:
            return {"type": "http.request", "body": b"1" * burst, "more_body": True}
        await asyncio.sleep(every)
        return {"type": "http.request", "body": b"1", "more_body": sent < parts}

    return receive


def test_a_body_trickled_below_the_minimum_rate_is_cut_with_408() -> None:
    """Each byte well within the time a part may take (0.05 s of 0.3 s): only the average rate
    (100 bytes a second past the first 0.3 s) cuts the trickle, after about 0.38 s."""

    async def scenario(min_rate: int) -> list[bytes]:
        held = _HeldApp()
        held.release.set()
        limits = _limits(held, 2500, read_timeout=0.3, min_rate=min_rate)
        await limits(_scope(30), _trickled(0.05, 30), _send)  # 1.5 s in all
        return held.bodies

    with pytest.raises(ProblemException) as refused:
        asyncio.run(scenario(100))
    assert refused.value.status == 408
    assert refused.value.headers == {"Connection": "close"}
    assert "slower than 100 bytes a second" in str(refused.value.detail)
    assert asyncio.run(scenario(0)) == [b"1" * 30]  # no minimum: the trickle is taken


def test_a_body_that_stops_after_its_first_part_is_said_to_have_stopped() -> None:
    """Not "too slow": its first part, however late or small, buys the whole time a part may
    take (the message once depended on the first part's few microseconds of waiting)."""

    async def first_then_nothing() -> Receive:
        parts = 0

        async def receive() -> Message:
            nonlocal parts
            parts += 1
            if parts == 1:
                await asyncio.sleep(0.05)
                return {"type": "http.request", "body": b"[{", "more_body": True}
            await asyncio.Event().wait()  # never
            raise AssertionError

        return receive

    async def scenario() -> None:
        limits = _limits(_HeldApp(), 2500, read_timeout=0.2, min_rate=100)
        await limits(_scope(1000), await first_then_nothing(), _send)

    with pytest.raises(ProblemException) as refused:
        asyncio.run(scenario())
    assert refused.value.status == 408
    assert "stopped arriving" in str(refused.value.detail)


def test_bytes_sent_at_once_buy_no_more_than_the_time_a_part_may_take() -> None:
    """900 bytes at once, at 100 bytes a second, would pay for 9 s of trickle after them; only
    0.3 s of it may be banked, so a byte every 0.2 s after the burst is cut within a second."""

    async def scenario() -> list[bytes]:
        held = _HeldApp()
        held.release.set()
        limits = _limits(held, 2500, read_timeout=0.3, min_rate=100)
        await limits(_scope(920), _trickled(0.2, 21, burst=900), _send)  # 4 s of trickle
        return held.bodies

    started = time.monotonic()
    with pytest.raises(ProblemException) as refused:
        asyncio.run(scenario())
    assert refused.value.status == 408
    assert "slower than 100 bytes a second" in str(refused.value.detail)
    assert time.monotonic() - started < 2


def test_a_body_at_the_minimum_rate_is_taken_whatever_the_worker_spends_between_reads() -> None:
    """Only the client's time counts: a worker that takes 0.1 s between reads of a body that
    is there at once does not cut it."""

    async def scenario() -> list[bytes]:
        held = _HeldApp(between_reads=0.1)
        held.release.set()
        limits = _limits(held, 2500, read_timeout=0.2, min_rate=100)
        await limits(_scope(5), _trickled(0.0, 5), _send)  # 0.4 s of the worker's time
        return held.bodies

    assert asyncio.run(scenario()) == [b"1" * 5]


@pytest.mark.integration
def test_explanations_past_the_worker_budget_are_refused_with_503(
    service: PredictionService, client: TestClient, house: dict[str, Any]
) -> None:
    budget = service.explained_rows
    with budget.claim(budget.capacity - 1):  # another request explains all but one house
        refused = client.post("/v1/predictions?explain=true", json=[house, house])
        plain = client.post("/v1/predictions", json=[house, house])  # not explained: not held
        one = client.post("/v1/predictions?explain=true", json=[house])  # fits
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert "explaining" in refused.json()["detail"]
    assert plain.status_code == 200
    assert one.status_code == 200
    assert budget.used == 0
    assert client.post("/v1/predictions?explain=true", json=[house, house]).status_code == 200


def test_a_string_across_the_pieces_of_the_pass_keeps_its_brackets_out() -> None:
    """The pass reads a quarter of a MiB at a time: whether a piece starts inside a string is
    carried from the piece before."""
    document = [{"a": "[{:," * 100_000}, [[1, 2]], {"b": "x" * 300_000, "c": [{}], "d": "]"}]
    text = json.dumps(document).encode()
    assert len(text) > 2 * 2**18  # three pieces, the strings across two boundaries
    shape = JsonShape(
        _depth(document), _containers(document), _members(document), _commas(document)
    )
    assert json_shape(text) == shape


@pytest.mark.integration
@pytest.mark.parametrize(
    ("raw_id", "status"),
    [
        (b"9007199254740991", 200),  # 2^53 - 1: every JSON reader holds it exactly
        (b"-9007199254740991", 200),
        (b"9007199254740992", 400),  # 2^53: a double holds it, not 2^53 + 1 beside it
        (b"18446744073709551617", 400),  # 2^64 + 1: read as a float, another number
    ],
)
def test_an_id_is_taken_only_where_it_is_kept_exactly(
    client: TestClient, request_rows: list[dict[str, Any]], raw_id: bytes, status: int
) -> None:
    """A client's row id is stored with its house: one that would be stored as another number
    is refused, naming the field and the range."""
    house = json.dumps([{**request_rows[0], "Id": 0}]).encode()
    body = house.replace(b'"Id": 0', b'"Id": ' + raw_id)
    response = client.post("/v1/predictions", content=body, headers=JSON)
    assert response.status_code == status, response.text
    if status == 400:
        [error] = response.json()["errors"]
        assert error["row"] == 0 and error["field"] == "Id"
        assert "9007199254740991" in error["message"]
