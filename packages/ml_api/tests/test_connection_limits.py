"""Connection-level limits the app keeps without a proxy, against the real server on 127.0.0.1.

The server runs with small limits (a 1 s head deadline, three connections a worker) so each is
reached in a few sockets and seconds. The attack suite (``make attack-test``) reaches the
default limits at scale.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api.security_headers import API_HEADERS
from tools import server as real_server

pytestmark = [pytest.mark.integration, pytest.mark.server]

LIMITS = {
    "ML_API_HEADER_TIMEOUT": "1",
    "ML_API_BODY_TIMEOUT": "1",
    "ML_API_MAX_CONNECTIONS": "3",
    "ML_API_MAX_HEADER_BYTES": "8192",
    "ML_API_MAX_HEADER_FIELD_BYTES": "2048",
    # The page whose browser must be able to read the 503 past the cap (api/cors.py).
    "ML_API_CORS_ORIGINS": "https://prices.example",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[real_server.Server]:
    log = tmp_path_factory.mktemp("limits") / "server.log"
    with real_server.running(log, env=LIMITS, workers=1) as running:
        yield running


@contextlib.contextmanager
def connection(server: real_server.Server) -> Iterator[socket.socket]:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        yield sock


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of the response on ``sock`` (read to its close)."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


def problem(body: bytes, status: int) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(body)
    assert parsed["status"] == status
    return parsed


@pytest.mark.parametrize(
    ("head", "limit"),
    [
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n", "one field"),
        (
            b"GET /health HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 100) for i in range(100))
            + b"\r\n",
            "in all",
        ),
        # Never finished: refused once past the limit, not held while it grows.
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000, "in all"),
    ],
)
def test_a_large_request_head_is_refused_with_431(
    server: real_server.Server, head: bytes, limit: str
) -> None:
    with connection(server) as sock:
        with contextlib.suppress(OSError):  # the server may close before all is sent
            sock.sendall(head)
        status, headers, body = answer(sock)
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    assert limit in problem(body, 431)["detail"]
    assert_identified(server, headers, 431)


def test_a_long_url_is_refused_with_414(server: real_server.Server) -> None:
    """RFC 9110 (15.5.15): a URL longer than the server takes has a status of its own (it was
    431, the one for header fields)."""
    with connection(server) as sock:
        sock.sendall(b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = answer(sock)
    assert status == 414
    assert headers["content-type"] == "application/problem+json"
    refused = problem(body, 414)
    assert "URL is longer than the limit of" in refused["detail"]
    # As the spec's example says (a probe's: it said "URI Too Long", RFC 9110's name, and the
    # service Python's older "Request-URI Too Long").
    spec = yaml.safe_load((Path(__file__).parent.parent / "api/spec/api.yaml").read_text())
    example = spec["components"]["responses"]["UriTooLong"]["content"]
    assert refused["title"] == example["application/problem+json"]["example"]["title"]
    assert_identified(server, headers, 414)


def _access_lines(server: real_server.Server, marker: str) -> list[str]:
    return [line for line in server.output().splitlines() if marker in line]


def assert_identified(
    server: real_server.Server, headers: Mapping[str, str], status: int, sent_id: str = ""
) -> None:
    """An answer of the connection guard has a date, an id (``sent_id``, the client's, if it
    was read) and the headers that keep a browser from sniffing, framing or keeping it
    (``api.security_headers``), as every answer has, and its line in the access log under
    that id."""
    request_id = headers["x-request-id"]
    assert request_id == sent_id if sent_id else re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert headers["date"].lower().endswith(" gmt")
    for name, value in API_HEADERS:  # ``answer`` reads a head in lower case
        assert headers[name.decode()].lower() == value.decode().lower(), name
    deadline = time.monotonic() + 5
    while not (lines := _access_lines(server, request_id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    [line] = lines
    assert json.loads(line)["status"] == status


@pytest.mark.parametrize("upgrade", [b"websocket", b"h2c"])
@pytest.mark.parametrize(
    ("target", "status", "kind"),
    [
        ("/v1/sales?access_token={secret}", 405, "application/problem+json"),
        ("/health", 200, "application/json"),
    ],
)
def test_an_upgrade_request_is_answered_by_the_app_and_logs_no_value(
    upgrade: bytes, target: str, status: int, kind: str, server: real_server.Server
) -> None:
    """A probe's: uvicorn took a WebSocket upgrade past the app, answered a bare 403 with no id
    and no security headers, and logged the path as sent, a token in its query included. The
    workers speak no WebSocket: the app answers (a GET of /v1/sales: 405), as any request. A
    docs probe's: werkzeug's router then took a WebSocket upgrade for a WebSocket, which no
    route is, and refused a GET of /health with its vague 400."""
    secret = "SECRETMARK-probe-token-0123456789abcdef"
    with connection(server) as sock:
        sock.sendall(
            b"GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: %s\r\n"
            b"Connection: Upgrade, close\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n" % (target.format(secret=secret).encode(), upgrade)
        )
        status_sent, headers, body = answer(sock)
    assert status_sent == status and headers["content-type"] == kind, body
    for name, value in API_HEADERS:
        assert headers[name.decode()].lower() == value.decode().lower(), name
    deadline = time.monotonic() + 5
    while (
        not (lines := _access_lines(server, headers["x-request-id"]))
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    records = [json.loads(line) for line in lines]
    assert [r["status"] for r in records if r["logger"] == "api.access"] == [status], records
    logged = server.output()
    assert secret not in logged
    assert "Unsupported upgrade" not in logged and "WebSocket library" not in logged


@pytest.mark.parametrize(
    "pipelined",
    [b"", b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 5],
    ids=["alone", "with requests pipelined behind it"],
)
def test_a_request_refused_for_its_head_is_not_run(
    server: real_server.Server, pipelined: bytes
) -> None:
    """Its refusal (431 then, 414 for its URL now) was written, and the parser went on: the
    application ran the request (2.7 s on 9000 query parameters), and with requests pipelined
    behind it logged a traceback quoting what the body held."""
    marker = f"refused{time.monotonic_ns()}"
    query = "&".join(f"{marker}{i}=1" for i in range(200)).encode()
    body = json.dumps([{"MSZoning": f"SECRET-{marker}"}]).encode()
    head = (
        b"POST /v1/predictions?" + query + b" HTTP/1.1\r\nHost: x\r\n"
        b"X-Request-ID: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (marker.encode(), len(body))
    )
    with connection(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head + body + pipelined)
        status, _, _ = answer(sock)
    assert status == 414
    time.sleep(0.5)  # what a worker would log of it, if it ran it
    assert not _access_lines(server, marker)
    assert "Traceback" not in server.output()


def test_trailers_count_toward_the_head(server: real_server.Server) -> None:
    """A chunked body's trailer fields had no limit (3 million of them: 577 MB and 2.4 s)."""
    body = b"[]"
    chunked = b"%x\r\n%s\r\n0\r\n" % (len(body), body)
    head = (
        b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    with connection(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head + chunked + b"X-T: a\r\n" * 2000 + b"\r\n")
        status, _, body_sent = answer(sock)
    assert status == 431
    assert "in all" in problem(body_sent, 431)["detail"]
    with connection(server) as sock:  # a few trailers: counted, dropped, the request served
        sock.sendall(head + chunked + b"X-T: a\r\n" * 10 + b"\r\n")
        assert answer_once(sock)[0] == 400  # the empty list's own answer


def test_a_body_in_too_many_chunks_is_refused(server: real_server.Server) -> None:
    """A byte a chunk: 60 MB on the wire for a 10 MiB body, and seconds of a worker's time."""
    from api.connection_guard import MAX_BODY_CHUNKS

    head = (
        b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    with connection(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head + b"1\r\n \r\n" * (MAX_BODY_CHUNKS + 1) + b"0\r\n\r\n")
        status, _, body = answer(sock)
    assert status == 400
    assert f"more than {MAX_BODY_CHUNKS} chunks" in problem(body, 400)["detail"]


def answer_once(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of one response on a kept-alive ``sock`` (by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body


#: What the guard says of a request the parser refuses: a malformed one, an unknown method.
_MALFORMED = (400, "not valid HTTP/1.1")
_UNKNOWN_METHOD = (501, "method is not one this server knows")


@pytest.mark.parametrize(
    ("request_bytes", "refusal"),
    [
        (b"GET\t/health HTTP/1.1\r\nHost: x\r\n\r\n", _MALFORMED),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", _MALFORMED),
        (b" GET /health HTTP/1.1\r\nHost: x\r\n\r\n", _MALFORMED),
        (b"HTTP/1.1 200 OK\r\nHost: x\r\n\r\n", _MALFORMED),
        (b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", _MALFORMED),
        (
            b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n[]",  # two framings: a smuggling attempt
            _MALFORMED,
        ),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n", _MALFORMED),
        (
            b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: gzip\r\n\r\n[]",  # a coding it cannot frame
            _MALFORMED,
        ),
        (b"GET /health HTTP/1.x\r\nHost: x\r\n\r\n", _MALFORMED),  # a version, but no digit
        (b"FOO /health HTTP/1.1\r\nHost: x\r\n\r\n", _UNKNOWN_METHOD),
        # methods are case-sensitive
        (b"get /health HTTP/1.1\r\nHost: x\r\n\r\n", _UNKNOWN_METHOD),
        (b"GETX /health HTTP/1.1\r\nHost: x\r\n\r\n", _UNKNOWN_METHOD),
    ],
    ids=[
        "tab after the method",
        "TLS handshake",
        "space before the method",
        "a response line",
        "negative length",
        "length and chunked",
        "NUL in a header",
        "gzip framing",
        "a version not of digits",
        "unknown method",
        "lower-case method",
        "a known method's start",
    ],
)
def test_a_request_the_parser_refuses_gets_a_problem(
    server: real_server.Server, request_bytes: bytes, refusal: tuple[int, str]
) -> None:
    """uvicorn answered these in plain text ("Invalid HTTP request received."), all 400. RFC
    9110 (9.1): a method the server does not know is answered 501, though the parser refuses
    it as it refuses a malformed request. (One pipelined behind another request in the same
    packet is 400: where its head starts is the parser's to know.)"""
    status, detail = refusal
    with connection(server) as sock:
        sock.sendall(request_bytes)
        answered, headers, body = answer(sock)
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    assert detail in problem(body, status)["detail"]
    assert_identified(server, headers, status)


def test_a_refused_requests_log_lines_all_carry_its_id(server: real_server.Server) -> None:
    """uvicorn warns of a request its parser refused before the guard has given it an id;
    that line, with none, is left out (api/logs.py): the guard's access line says it all."""
    before = len(server.output().splitlines())
    with connection(server) as sock:
        sock.sendall(b"GET\t/health HTTP/1.1\r\nHost: x\r\n\r\n")
        _, headers, _ = answer(sock)
    assert_identified(server, headers, 400)  # its access line, under its id
    lines = [json.loads(line) for line in server.output().splitlines()[before:] if line]
    unnamed = [line for line in lines if line["level"] == "WARNING" and line["request_id"] == "-"]
    assert unnamed == []  # uvicorn's line, were its words to change, would be one


def _guard_answers(server: real_server.Server) -> dict[str, float]:
    """``ml_api_http_requests_total`` of the requests answered before the app read them
    (route ``unmatched``, method ``-``), by status."""
    return {
        sample.labels["status"]: sample.value
        for sample in real_server.metric_samples(server.url)
        if sample.name == "ml_api_http_requests_total"
        and sample.labels["route"] == "unmatched"
        and sample.labels["method"] == "-"
    }


def test_the_guards_answers_are_counted_as_every_answer_is(server: real_server.Server) -> None:
    """A flood of requests the parser refuses was in the access log but not in the request
    counter, whose dashboards it escaped."""
    refused = {
        "400": b"GET\t/health HTTP/1.1\r\nHost: x\r\n\r\n",
        "501": b"FOO /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "431": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n",
        "414": b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    before = _guard_answers(server)
    for request_bytes in refused.values():
        with connection(server) as sock:
            with contextlib.suppress(OSError):  # the server may close before all is sent
                sock.sendall(request_bytes)
            answer(sock)
    after = _guard_answers(server)
    for status in refused:
        assert after[status] == before.get(status, 0) + 1, status


def test_a_head_within_the_limits_is_served(server: real_server.Server) -> None:
    with connection(server) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Ok: "
            + b"a" * 1500
            + b"\r\n\r\n"
        )
        assert answer(sock)[0] == 200


def test_a_slow_head_is_cut_with_408_at_its_deadline(server: real_server.Server) -> None:
    with connection(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        status, headers, body = answer(sock)
        waited = time.monotonic() - started
    assert status == 408, body
    assert "1 s" in problem(body, 408)["detail"]
    assert 0.9 < waited < 5
    assert_identified(server, headers, 408)


def test_a_connection_that_never_speaks_is_closed_at_the_deadline(
    server: real_server.Server,
) -> None:
    with connection(server) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""
        assert 0.9 < time.monotonic() - started < 5


def test_a_stalled_body_is_cut_with_408(server: real_server.Server) -> None:
    with connection(server) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n[{"
        )
        status, headers, body = answer(sock)
    assert status == 408
    assert headers["connection"] == "close"
    assert "stopped arriving" in problem(body, 408)["detail"]


def test_a_trickled_body_is_cut_with_408_at_the_minimum_rate(server: real_server.Server) -> None:
    """A byte every 0.3 s meets the 1 s each part may take; the body's average rate, past its
    first second, does not (ML_API_MIN_BODY_RATE, 64 KiB a second by default)."""
    with connection(server) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n["
        )
        sock.settimeout(0.3)
        received = b""
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            while time.monotonic() - started < 5 and not received:
                sock.sendall(b" ")
                with contextlib.suppress(TimeoutError):
                    received = sock.recv(65536)
        waited = time.monotonic() - started
        sock.settimeout(5)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):  # the rest of the answer, to the close
                received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), received
    assert "slower than 65536 bytes a second" in problem(body, 408)["detail"]
    assert 0.9 < waited < 4.5  # cut near 1 s; the bound leaves a loaded machine room


def test_an_answer_before_the_body_reaches_a_client_that_asked_to_close(
    server: real_server.Server,
) -> None:
    """413 is answered from the declared length, before the body is read. The client goes on
    sending it: closing at once would reset the connection and drop the 413 with it."""
    size = 11 * 1024 * 1024  # over the default 10 MiB
    with connection(server) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % size
        )
        time.sleep(0.2)  # the 413 is on its way
        sock.sendall(b" " * size)
        status, _, body = answer(sock)
    assert status == 413
    assert "larger than the limit" in problem(body, 413)["detail"]


def test_past_the_connection_cap_a_request_gets_503_and_retry_after(
    server: real_server.Server,
) -> None:
    with contextlib.ExitStack() as held:
        for _ in range(3):  # open and silent: the worker's cap of three is reached
            held.enter_context(connection(server))
        time.sleep(0.2)
        sent_id = f"past-the-cap-{time.monotonic_ns()}"
        refused = httpx.get(
            f"{server.url}/health",
            headers={"X-Request-ID": sent_id, "Origin": "https://prices.example"},
            timeout=5,
        )
        other = httpx.get(
            f"{server.url}/health", headers={"Origin": "https://elsewhere.example"}, timeout=5
        )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert_identified(server, refused.headers, 503, sent_id)
    # A browser page of an allowed origin may read it, and its Retry-After, as any answer of
    # the app's: the CORS headers were the app's to add, and the app never ran.
    assert refused.headers["access-control-allow-origin"] == "https://prices.example"
    assert "retry-after" in refused.headers["access-control-expose-headers"].lower()
    assert "origin" in refused.headers["vary"].lower()
    assert other.status_code == 503 and "access-control-allow-origin" not in other.headers
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200  # once they go


def test_recycling_under_keep_alive_load_fails_no_request(tmp_path: Path) -> None:
    """Workers recycled every 60 or so requests while keep-alive clients post without pause."""
    env = {"ML_API_MAX_REQUESTS": "60", "ML_API_MAX_REQUESTS_JITTER": "20"}
    failures: list[str] = []
    statuses: list[int] = []
    with real_server.running(tmp_path / "server.log", env=env) as server:
        first = set(server.workers())

        def client() -> None:
            # One keep-alive connection. A request may wait for a worker booting (the model
            # loaded) while both recycle: generous for a loaded machine, as no request may fail.
            with httpx.Client(timeout=30) as session:
                for _ in range(150):
                    try:
                        statuses.append(session.get(f"{server.url}/health").status_code)
                    except httpx.HTTPError as error:
                        failures.append(type(error).__name__)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        recycled = not first & set(server.workers())
    assert failures == []
    assert statuses == [200] * 600
    assert recycled, "no worker was recycled: the test did not test recycling"
