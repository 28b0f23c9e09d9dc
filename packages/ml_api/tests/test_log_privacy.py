"""No value a client sent reaches a log line; a refusal is logged with its fields and rows.

Each request carries a distinctive value (``Zyxwv-q81``, or digits ``987654``) in a place
that could reach the log: a valid house, invalid values of each kind, an unknown field's
name, a house sent as an object, JSON that does not parse, a number or a string past its
limit, an explanation. Its answer may quote the value; no log line may, at any level, from
any logger: the app's, Connexion's, and (with the real server) gunicorn's and uvicorn's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from connexion import FlaskApp
from starlette.testclient import TestClient

import api.service
from api.logs import ServiceJsonFormatter
from tests.conftest import FEEDBACK_TOKEN
from tools import server as real_server

pytestmark = pytest.mark.integration

WORD = "Zyxwv-q81"
#: Digits as sent (987654.321, -987654.321, 9876543219876543219876543) and as a validator
#: writes the last one back (9.876543219876543e+24).
DIGITS = ("987654", "876543")
RULE = "98765.4321"  # a first floor larger than the living area
MARKERS = (WORD, *DIGITS, RULE)


@dataclass(frozen=True)
class Sent:
    """A request body with a marked value, and what its refusal must log (if refused)."""

    name: str
    body: bytes
    status: int
    #: The (row, field) pairs the refusal line must name, in order.
    fields: list[tuple[int | None, str]] = field(default_factory=list)
    query: str = ""


def _with(house: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps([{**house, **changes}]).encode()


def bodies(house: dict[str, Any]) -> list[Sent]:
    house = {**house, "LotArea": 11622}  # a plain house: the cases add their own mark
    unknown = {**house, WORD: 1}
    return [
        Sent("valid", _with(house, LotArea=987654.321), 200),
        Sent("explained", _with(house, LotArea=987654.321), 200, query="?explain=true"),
        Sent("wrong type", _with(house, OverallQual=WORD), 400, [(0, "OverallQual")]),
        Sent("below minimum", _with(house, GrLivArea=-987654.321), 400, [(0, "GrLivArea")]),
        Sent("unknown code", _with(house, Neighborhood=WORD), 400, [(0, "Neighborhood")]),
        Sent("unknown field", json.dumps([unknown]).encode(), 400, [(0, "_unknown")]),
        Sent(
            "house as object",
            json.dumps({**house, "Neighborhood": WORD}).encode(),
            400,
            [(None, "_request")],
        ),
        Sent("row not an object", json.dumps([house, WORD]).encode(), 400, [(1, "_house")]),
        Sent("object as value", _with(house, LotArea={WORD: 987654.321}), 400, [(0, "LotArea")]),
        Sent("huge number", _with(house, LotArea=9876543219876543219876543), 400, [(0, "LotArea")]),
        Sent("long string", _with(house, Neighborhood=WORD * 20), 400, [(0, "Neighborhood")]),
        Sent("not JSON", f'[{{"Neighborhood": {WORD}, "LotArea": 987654.321}}]'.encode(), 400),
        Sent("not UTF-8", f'[{{"Neighborhood": "{WORD}\xff"}}]'.encode("latin-1"), 400),
        Sent(
            "house-level rule",
            _with(house, GrLivArea=500, **{"1stFlrSF": float(RULE)}),
            422,
            [(0, "1stFlrSF")],
        ),
    ]


def _leaks(lines: list[str], body: bytes) -> list[str]:
    marks = [mark for mark in MARKERS if mark.encode() in body]
    assert marks, "every body carries a marked value"
    return [line for line in lines if any(mark in line for mark in marks)]


def test_no_log_line_carries_a_value_from_a_request_body(
    client: TestClient, caplog: pytest.LogCaptureFixture, house: dict[str, Any]
) -> None:
    formatter = ServiceJsonFormatter()
    for number, sent in enumerate(bodies(house)):
        rid = f"privacy-{number}"
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            response = client.post(
                f"/v1/predictions{sent.query}",
                content=sent.body,
                headers={"Content-Type": "application/json", "X-Request-ID": rid},
            )
        assert response.status_code == sent.status, (sent.name, response.text)
        lines = [formatter.format(record) for record in caplog.records]
        assert not _leaks(lines, sent.body), sent.name
        mine = [r for r in caplog.records if getattr(r, "request_id", None) == rid]
        [access] = [r for r in mine if r.name == "api.access"]
        assert access.status == sent.status  # type: ignore[attr-defined]
        refusals = [r for r in mine if r.name == "api.errors"]
        if sent.status == 200:
            assert refusals == [], sent.name
            continue
        [refusal] = refusals  # a refusal is logged, once, with its fields and rows
        assert refusal.status == sent.status  # type: ignore[attr-defined]
        assert refusal.route == "/v1/predictions"  # type: ignore[attr-defined]
        logged = [(f["row"], f["field"]) for f in refusal.fields]  # type: ignore[attr-defined]
        assert logged == sent.fields, sent.name
        for row, name in sent.fields:
            assert name in refusal.getMessage()
            assert row is None or f"row {row} " in refusal.getMessage()


def test_the_answer_still_quotes_the_value_the_log_leaves_out(
    client: TestClient, caplog: pytest.LogCaptureFixture, house: dict[str, Any]
) -> None:
    """The leak test above could pass on a body that never reached a message: these do (a
    code, and a house rule's refusal, which names both values)."""
    with caplog.at_level(logging.DEBUG):
        response = client.post("/v1/predictions", json=[{**house, "Neighborhood": WORD}])
        rule = client.post(
            "/v1/predictions", json=[{**house, "GrLivArea": 500, "1stFlrSF": float(RULE)}]
        )
    assert WORD in response.json()["detail"]
    assert RULE in rule.json()["detail"]
    assert all(
        WORD not in record.getMessage() and RULE not in record.getMessage()
        for record in caplog.records
    )


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        ("/v1/monitoring", f"predictions={WORD}", "query parameter predictions"),
        ("/v1/monitoring", f"sales=-{DIGITS[0]}", "query parameter sales"),
        ("/v1/monitoring", f"predictions=1&predictions={DIGITS[0]}", "query parameter predictions"),
        ("/v1/predictions", f"explain={WORD}", "query parameter explain"),
        ("/v1/monitoring", f"{WORD}=1", "1 unknown query parameter"),
        ("/v1/monitoring", f"{WORD}=1&{DIGITS[0]}=2", "2 unknown query parameters"),
    ],
    ids=["not an integer", "below minimum", "given twice", "not a boolean", "unknown", "two"],
)
def test_a_refused_parameter_is_logged_by_its_name_not_its_value(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, query: str, named: str
) -> None:
    """As a body's refusal names its fields: the line said ``400 Bad Request`` and no more, so
    that which parameter a client got wrong was in its answer alone. A name the spec does not
    declare is the client's, and is counted, not named."""
    rid = "parameter-refusal"
    headers = {"X-Request-ID": rid, "Authorization": f"Bearer {FEEDBACK_TOKEN}"}
    with caplog.at_level(logging.DEBUG):
        response = client.request(
            "POST" if path == "/v1/predictions" else "GET",
            f"{path}?{query}",
            headers=headers,
            json=[] if path == "/v1/predictions" else None,
        )
    assert response.status_code == 400
    served = [r for r in caplog.records if not r.name.startswith("httpx")]  # the client's
    lines = [ServiceJsonFormatter().format(record) for record in served]
    assert served and not _leaks(lines, query.encode())
    mine = [r for r in caplog.records if getattr(r, "request_id", None) == rid]
    [refusal] = [r for r in mine if r.name == "api.errors"]
    assert (
        refusal.getMessage()
        == f"refused {response.request.method} {path}: 400 Bad Request, {named}"
    )
    if "unknown" in named:
        assert not hasattr(refusal, "parameter")
    else:
        name = named.rsplit(" ", 1)[1]
        assert response.json()["detail"].startswith(f"{named}: ")  # the answer said it already
        assert refusal.parameter == {"in": "query", "name": name}  # type: ignore[attr-defined]


def test_a_refusal_in_a_traceback_says_only_its_log_reason(house: dict[str, Any]) -> None:
    """A refusal that escaped the app (a 431 whose request ran on) was logged by uvicorn with
    its traceback, which quoted the house as Starlette's ``str`` of the problem does."""
    from api.problems import FieldError, InvalidHousesProblem

    problem = InvalidHousesProblem(
        [FieldError(0, "Neighborhood", f"{WORD!r} is not one of the neighborhoods")],
        listed_limit=10,
        detail_limit=3,
    )
    assert WORD in problem.detail
    for text in (
        str(problem),
        repr(problem),
        logging.Formatter().formatException((type(problem), problem, None)),
    ):
        assert WORD not in text and "invalid field" in text


def test_an_unexpected_error_logs_its_stack_but_not_its_message(
    app: FlaskApp,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    house: dict[str, Any],
) -> None:
    def explode(houses: Any, **options: Any) -> Any:
        try:
            int(str(houses[0]["LotArea"]))  # its message quotes the value
        except ValueError as error:
            raise RuntimeError(f"pricing failed on {houses[0]['LotArea']}") from error
        return None

    monkeypatch.setattr(api.service, "make_prediction", explode)
    with (
        caplog.at_level(logging.DEBUG),
        TestClient(app.middleware, raise_server_exceptions=False) as client,
    ):
        response = client.post("/v1/predictions", json=[{**house, "LotArea": 987654.321}])
    assert response.status_code == 500
    formatter = ServiceJsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    assert not [line for line in lines if DIGITS[0] in line]
    [failed] = [r for r in caplog.records if r.name == "api.errors"]
    assert failed.levelno == logging.ERROR
    stack: str = failed.stack  # type: ignore[attr-defined]
    assert "ValueError" in stack and "RuntimeError" in stack and "explode" in stack


@pytest.mark.server
def test_the_real_server_logs_no_value_from_a_request_body(
    tmp_path: Path, house: dict[str, Any]
) -> None:
    """gunicorn's and uvicorn's own lines too, at DEBUG, in the file the server writes."""
    sent = bodies(house)
    env = {"ML_API_LOG_LEVEL": "DEBUG"}
    with (
        real_server.running(tmp_path / "server.log", env=env, workers=1) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        for number, case in enumerate(sent):
            response = http.post(
                f"/v1/predictions{case.query}",
                content=case.body,
                headers={"Content-Type": "application/json", "X-Request-ID": f"real-{number}"},
            )
            assert response.status_code == case.status, (case.name, response.text)
    lines = server.output().splitlines()
    everything = b"".join(case.body for case in sent)
    assert not _leaks(lines, everything)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    refusals = {r["request_id"]: r for r in records if r["logger"] == "api.errors"}
    for number, case in enumerate(sent):
        if case.status != 200:
            logged = [(f["row"], f["field"]) for f in refusals[f"real-{number}"]["fields"]]
            assert logged == case.fields, case.name
