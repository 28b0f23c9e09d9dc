"""The order of answers on a connection, against the real server on 127.0.0.1: requests
pipelined behind others, a refusal among them, a client that half-closes, and the HTTP
versions served.

Its own server (the head limits of test_connection_limits.py, but not its cap of three
connections, which a test here could meet through another's connection still closing).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_connection_limits import answer, assert_identified, connection, problem
from tools import server as real_server

pytestmark = [pytest.mark.integration, pytest.mark.server]

LIMITS = {"ML_API_MAX_HEADER_BYTES": "8192", "ML_API_MAX_HEADER_FIELD_BYTES": "2048"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[real_server.Server]:
    log = tmp_path_factory.mktemp("order") / "server.log"
    with real_server.running(log, env=LIMITS, workers=1) as running:
        yield running


def _responses(data: bytes) -> list[tuple[int, bytes]]:
    """Each whole response in ``data``, by Content-Length: its status and body."""
    found = []
    while b"\r\n\r\n" in data:
        head, _, rest = data.partition(b"\r\n\r\n")
        fields = dict(
            line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:] if b": " in line
        )
        length = int(fields.get(b"content-length", b"0"))
        if len(rest) < length:
            break
        found.append((int(head.split()[1]), rest[:length]))
        data = rest[length:]
    return found


def _read_responses(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """The first ``count`` responses on ``sock`` (fewer if it closes before them)."""
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while len(_responses(data)) < count and (chunk := sock.recv(65536)):
            data += chunk
    return _responses(data)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def test_a_head_pipelined_behind_another_is_counted(server: real_server.Server) -> None:
    """Only the first head of a packet was counted: a second one of 2.4 MB took 5.5 s (and any
    later head of a connection went uncounted until the first request was answered). Refused
    as it arrives, and answered after the first request's answer, which goes first."""
    fields = b"".join(b"X-%d: %s\r\n" % (i, b"b" * 100) for i in range(100))
    with connection(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(
                b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                + b"GET /health HTTP/1.1\r\nHost: x\r\n"
                + fields
                + b"\r\n"
            )
        responses = _responses(_read_all(sock))
    assert [status for status, _ in responses] == [200, 431]
    assert b"in all" in responses[1][1]


def _priced(house: dict[str, Any], marker: str) -> bytes:
    """A request pricing ``house``, its id ``marker``."""
    body = json.dumps([house]).encode()
    return (
        b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nX-Request-ID: %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (marker.encode(), len(body), body)
    )


_CHUNKED_HEAD = (
    b"POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


@pytest.mark.parametrize(
    ("after", "refused"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 3000 + b"\r\n\r\n", 431),
        # Its head taken and queued behind the others, then its trailers too large.
        (_CHUNKED_HEAD + b"2\r\n[]\r\n0\r\n" + b"X-T: a\r\n" * 2000 + b"\r\n", 431),
        # The first refusal is the answer, not what the parser says of the bytes after it.
        (b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", 414),
    ],
    ids=[
        "bytes that are not HTTP",
        "a head too large",
        "a queued request's trailers",
        "a long URL, then bytes that are not HTTP",
    ],
)
@pytest.mark.parametrize("half_closed", [False, True], ids=["open", "half-closed"])
def test_a_refusal_pipelined_behind_requests_comes_after_their_answers(
    server: real_server.Server,
    house: dict[str, Any],
    after: bytes,
    refused: int,
    half_closed: bool,
) -> None:
    """RFC 9112 (9.3.2): answers go in the order of their requests. The refusal of what
    followed a priced house was written at once and the connection closed: the client got only
    the refusal, though its house had been priced and recorded (a retry recorded it twice)."""
    marker = f"pipelined{time.monotonic_ns()}"
    with connection(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(_priced(house, marker) + _priced(house, marker + "b") + after)
            if half_closed:
                sock.shutdown(socket.SHUT_WR)
        responses = _read_responses(sock, 3)
        assert [status for status, _ in responses] == [200, 200, refused], responses
        assert all("predictions" in json.loads(body) for _, body in responses[:2])
        assert _read_all(sock) == b""  # then closed, with nothing more


@pytest.mark.parametrize("pipelined", [1, 2])
def test_a_client_that_has_sent_all_it_will_gets_its_answers(
    server: real_server.Server, house: dict[str, Any], pipelined: int
) -> None:
    """A half-close (``shutdown(SHUT_WR)``: ``nc -N``, some HTTP/1.0 tools) ends what the
    client sends, not what it reads (RFC 9112 9.6). uvicorn closed the connection at it: the
    house was priced and recorded, and no answer went."""
    marker = f"halfclosed{time.monotonic_ns()}"
    with connection(server) as sock:
        sock.sendall(b"".join(_priced(house, f"{marker}-{i}") for i in range(pipelined)))
        sock.shutdown(socket.SHUT_WR)
        responses = _responses(_read_all(sock))  # to the server's close: none is left open
    assert [status for status, _ in responses] == [200] * pipelined
    with connection(server) as sock:  # a body cut short can never be answered: closed
        whole = _priced(house, marker + "-cut")
        sock.sendall(whole[:-5])
        sock.shutdown(socket.SHUT_WR)
        assert _read_all(sock) == b""


@pytest.mark.parametrize(
    ("request_line", "version"),
    [
        (b"GET /health HTTP/2.0", "2.0"),
        (b"GET /health HTTP/0.9", "0.9"),
        (b"GET /health", "0.9"),
        (b"GET /health HTTP/1.2", "1.2"),
        (b"GET /health HTTP/3.0", "3.0"),
    ],
)
def test_a_request_of_another_http_version_is_answered_505(
    server: real_server.Server, request_line: bytes, version: str
) -> None:
    """RFC 9110 (6.2): a 2.0 or 0.9 request written as HTTP/1.1 is was answered as 1.1 (200),
    and one with no version was told it had no Host header; a 1.2 or 3.0 one, which the parser
    refuses, was told its request was not valid HTTP (400)."""
    with connection(server) as sock:
        sock.sendall(request_line + b"\r\nHost: x\r\n\r\n")
        status, headers, body = answer(sock)
    assert status == 505
    assert f"The request is HTTP/{version}" in problem(body, 505)["detail"]
    assert_identified(server, headers, 505)
    for served in (b"GET /health HTTP/1.1\r\nHost: x\r\n", b"GET /health HTTP/1.0\r\n"):
        with connection(server) as sock:
            sock.sendall(served + b"Connection: close\r\n\r\n")
            assert answer(sock)[0] == 200


def test_http_1_0_framing_and_expectations_are_as_rfc_9112_says(
    server: real_server.Server, house: dict[str, Any]
) -> None:
    """A Transfer-Encoding in an HTTP/1.0 request is faulty framing (RFC 9112 6.1): it was
    taken. And an HTTP/1.0 client that sent ``Expect: 100-continue`` got an interim
    ``HTTP/1.1 100 Continue``, which such a client takes for the answer (RFC 9110 10.1.1)."""
    body = json.dumps([house]).encode()
    with connection(server) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        )
        status, headers, refused = answer(sock)
    assert status == 400
    assert "HTTP/1.0 request cannot have a Transfer-Encoding" in problem(refused, 400)["detail"]
    assert_identified(server, headers, 400)
    with connection(server) as sock:
        sock.sendall(
            b"POST /v1/predictions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        time.sleep(0.5)  # what the server sends before the body, if anything
        sock.sendall(body)
        responses = _responses(_read_all(sock))
    assert [status for status, _ in responses] == [200]
