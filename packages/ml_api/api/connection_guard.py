"""uvicorn's HTTP protocol with the connection-level limits a server needs without a proxy.

uvicorn (httptools) has none of these, so each is kept here, per worker, per connection:

- **Request head deadline**: a request line and headers must arrive whole within
  ``header_timeout`` of the connection opening or of the previous response. Slowloris clients
  and connections that never speak are cut (408 if they sent part of a head), so they cannot
  hold a worker's file descriptors for ever.
- **Request head size**: over ``max_header_bytes`` in all, or ``max_header_field_bytes`` in one
  field, is refused with 431 before it is parsed further (a URL over the latter with 414).
  httptools has no limit and joins a field's pieces by concatenation, which is quadratic in the
  field's length. The bytes are counted as they arrive, and again per request as the parser
  hands the URL and the fields over, so that a request pipelined behind another (whose head
  arrives in the same packet) is counted too, and so are a chunked body's trailer fields (which
  uvicorn would add to the headers of a request already under way; here they are counted and
  dropped).
- **Chunks of a body**: more than ``MAX_BODY_CHUNKS`` is refused (400): the body limit counts
  the bytes a body decodes to, and a 10 MiB body sent a byte a chunk is 60 MB on the wire and
  seconds of a worker's time.
- **A refusal ends the connection**: once a refusal is decided, nothing more it sent is parsed
  or run (a request whose URL was refused with 431 went on to the application, which spent
  2.7 s on its 9000 query parameters). A refusal of a request pipelined behind others waits
  for their answers, which go first, in order (RFC 9112 9.3.2): it was written at once and the
  connection closed, so that a client whose house was priced and recorded got only the 400 of
  the bytes after it.
- **A client that has sent all it will** (a half-close: ``shutdown(SHUT_WR)``, ``nc -N``) still
  gets the answers it is owed, then the connection closes: uvicorn closed it at the client's
  end of data, and the request, already run, was answered to no one.
- **HTTP versions**: a request of another version than 1.1 or 1.0 is answered 505 (RFC 9110
  6.2); uvicorn answered a 2.0 or 0.9 one as 1.1, and one its parser refuses for its version
  (``HTTP/1.2``, ``HTTP/3.0``) 400, as if the request line were malformed. (RFC 9110 6.2 has
  a server read a 1.2 request as the 1.1 it speaks; httptools refuses it before any of this
  sees it, and a 505 that says to send HTTP/1.1 is the plainest answer left.)
- **HTTP/1.0's framing**: a ``Transfer-Encoding`` in an HTTP/1.0 request is faulty framing
  (RFC 9112 6.1: a smuggling guard), refused with 400; its ``Expect: 100-continue`` is ignored
  (RFC 9110 10.1.1: no 1xx to an HTTP/1.0 client, which would take it for the answer).
- **Connection cap**: past ``max_connections`` open connections (or as many requests in flight),
  a request is answered 503 with ``Retry-After`` and its connection closed: a client is told to
  come back instead of getting an empty reply when descriptors run out. With CORS on, the 503
  carries the policy's headers for the request's origin, as the app's answers do (api/cors.py),
  so that a browser page reads it rather than a bare network failure.
- **Lingering close** (api/lingering_close.py): a connection closed while the client is still
  sending (a 503 or 413 answered before its body was read, to a client that asked for
  ``Connection: close``; a refusal behind answers) would reach the client as a reset, and its
  kernel could drop the answers with it.
- **Graceful drain**: when the worker shuts down (recycling after ``max_requests``, or
  SIGTERM), uvicorn closes idle keep-alive connections at once, racing any request the client
  is sending on them, and closes a connection whose response is under way right after it,
  though that response has promised keep-alive. Here such connections stay open until their
  next response, which says ``Connection: close``, or until their own timers cut them as on
  any other day.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from httptools import HttpParserError, HttpParserInvalidMethodError
from starlette.datastructures import Headers
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.cors import CorsMarked
from api.lingering_close import LingeringTransport
from api.problems import (
    ApiProblem,
    HeadTimeoutProblem,
    HeadTooLargeProblem,
    HttpOneTransferCodingProblem,
    HttpVersionProblem,
    MalformedRequestProblem,
    TooManyChunksProblem,
    TooManyConnectionsProblem,
    UnknownMethodProblem,
    UriTooLongProblem,
)
from api.request_context import REQUEST_ID_HEADER
from api.request_metrics import new_request_id, record_unread, request_id
from api.security_headers import API_HEADERS

_HEAD_END = b"\r\n\r\n"
#: Chunks a chunked request body may come in: a 10 MiB body in chunks of 100 bytes or more.
MAX_BODY_CHUNKS = 100_000
#: What the parser hands over of a field besides its name and value (": " and CRLF).
_FIELD_FRAMING = 4
#: A request line's method, as RFC 9110 (9.1) writes one (a token), and the space after it.
_METHOD = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ ")
#: The HTTP versions served (the parser's ``major.minor``); others are answered 505.
_HTTP_VERSIONS = frozenset({"1.0", "1.1"})
#: The parser's reason for a request line of digits ``HTTP/x.y`` whose version it does not
#: know (llhttp's ``HPE_INVALID_VERSION``: ``HTTP/1.2``, ``HTTP/3.0``); the digits are parsed.
#: Its only error of a version that is well formed (``HTTP/1.x`` is an "Invalid minor version").
PARSER_VERSION_REFUSAL = "Invalid HTTP version"
#: Bytes of a head's start kept to tell an unknown method from bytes that are not HTTP.
_METHOD_SEEN = 32


@dataclass(frozen=True)
class ConnectionLimits:
    """One worker's connection limits (``api.config.ServerSettings`` holds their values)."""

    max_connections: int
    header_timeout: float
    max_header_bytes: int
    max_header_field_bytes: int


async def _busy(scope: Any, receive: Any, send: Any) -> None:
    """The answer past the connection cap: 503, come back shortly, and this connection closes
    (with the request's id, and its line in the access log, as every answer has)."""
    problem = TooManyConnectionsProblem()
    body = json.dumps(problem.body()).encode("ascii")
    headers = [(name.lower().encode(), value.encode()) for name, value in problem.headers.items()]
    sent_id = request_id(Headers(scope=scope))
    headers.append((REQUEST_ID_HEADER.lower().encode(), sent_id.encode()))
    record_unread(scope["method"], problem.status, sent_id=sent_id)
    await send(
        {
            "type": "http.response.start",
            "status": problem.status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
                *API_HEADERS,
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with ``limits`` (see the module's docstring).

    uvicorn builds one per connection from its config; ``with_limits`` makes the subclass that
    carries a worker's limits.
    """

    limits: ConnectionLimits
    #: The answer past the connection cap (an ASGI app run in the application's place).
    busy_answer = staticmethod(_busy)

    @classmethod
    def with_limits(
        cls, limits: ConnectionLimits, *, cors_origins: Sequence[str] = ()
    ) -> type[GuardedHttpToolsProtocol]:
        """The protocol with ``limits``, its 503 past the cap marked for CORS as the app's
        answers are when ``cors_origins`` (``ML_API_CORS_ORIGINS``) lists any."""
        busy = CorsMarked(_busy, cors_origins) if cors_origins else _busy
        return type(cls.__name__, (cls,), {"limits": limits, "busy_answer": staticmethod(busy)})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._head_bytes = 0
        self._head_tail = b""  # the last bytes of the head so far: "\r\n\r\n" may be split
        self._head_start = b""  # its first bytes: a method, or what the parser refused
        self._request_read = False
        self._draining = False
        #: A refusal was decided: nothing more is parsed or run.
        self._refused = False
        #: A refusal waiting for the answers owed before it (``_refuse``).
        self._refusal_due: ApiProblem | None = None
        #: The client has sent all it will (``eof_received``).
        self._client_done = False
        #: This request's head as the parser has handed it over (its trailers included), and
        #: whether its fields are all in (a field after them is a trailer), and its chunks.
        self._request_head = 0
        self._fields_done = False
        self._chunks = 0

    # The request head: its deadline and its size.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._lingering = LingeringTransport(
            transport, reading_body=self.reading_body, loop=self.loop
        )
        self.transport = self._lingering  # type: ignore[assignment]
        self._await_head()

    def reading_body(self) -> bool:
        """Whether a request's head has come and the rest of its body is still to come."""
        return not self._reading_head and not self._request_read

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        self._count_next_head()
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.limits.header_timeout, self._head_too_slow)

    def _count_next_head(self) -> None:
        """Count what arrives from now on as the next request's head."""
        self._reading_head, self._head_bytes, self._head_tail = True, 0, b""
        self._head_start = b""

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self._refused:
            return
        if self._head_bytes:  # part of a head came
            self._refuse(HeadTimeoutProblem(self.limits.header_timeout))
        else:  # nothing sent: close quietly, as an idle keep-alive connection is
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._refused:  # answered and closed: nothing more is read
            return
        if self._lingering.lingering:  # answered and closing: the body is only counted out
            super().data_received(data)
            if self._request_read:
                self._lingering.close_now()
            return
        if self._reading_head and data:
            if len(self._head_start) < _METHOD_SEEN:
                self._head_start += data[: _METHOD_SEEN - len(self._head_start)]
            seen = self._head_tail + data
            end = seen.find(_HEAD_END)
            head_part = len(data) if end < 0 else end + len(_HEAD_END) - len(self._head_tail)
            self._head_bytes += head_part
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse_large_head(f"{self.limits.max_header_bytes} bytes in all")
                return
            if end < 0:  # else the parser's on_headers_complete ends the head, in this feed
                self._head_tail = seen[-(len(_HEAD_END) - 1) :]
        super().data_received(data)

    def on_message_begin(self) -> None:
        if self._refused:
            return
        self._request_head, self._fields_done, self._chunks = 0, False, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self._refused or not self._counted_head(len(url)):
            return
        super().on_url(url)
        if len(self.url) > self.limits.max_header_field_bytes:
            self._refuse(UriTooLongProblem(self.limits.max_header_field_bytes))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        if len(name) + len(value) > self.limits.max_header_field_bytes:
            self._refuse_large_head(f"{self.limits.max_header_field_bytes} bytes in one field")
            return
        if self._counted_head(len(name) + len(value) + _FIELD_FRAMING) and not self._fields_done:
            super().on_header(name, value)  # (a trailer is counted, not kept: see above)

    def _counted_head(self, size: int) -> bool:
        """Count ``size`` more bytes of this request's head; whether they are within the limit
        (else the request is refused)."""
        self._request_head += size
        if self._request_head > self.limits.max_header_bytes:
            self._refuse_large_head(f"{self.limits.max_header_bytes} bytes in all")
            return False
        return True

    def on_chunk_header(self) -> None:
        if self._refused:
            return
        self._chunks += 1
        if self._chunks > MAX_BODY_CHUNKS:
            self._refuse(TooManyChunksProblem(MAX_BODY_CHUNKS))

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def _refuse_large_head(self, limit: str) -> None:
        self._refuse(HeadTooLargeProblem(limit))

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refused (plain text, "Invalid HTTP request
        received."), as problem+json: 501 for a method it does not know (RFC 9110 9.1), 400
        for the rest. uvicorn calls this while it handles the parser's error, which says the
        method was refused (``test_connection_limits`` fails if it stops doing so); so it says
        of bytes that are not HTTP (a TLS handshake, a lower-case or tab-separated line), told
        apart by the head's start: a method is a token and a space. (The start of a head
        pipelined behind another in one packet is not known here: 400.) A well-formed version
        the parser does not take (``HTTP/1.2``, ``HTTP/3.0``) is 505, as one it takes but this
        server does not serve is (``on_headers_complete``); by llhttp's reason for it, which
        tests/test_upstream_fingerprints.py holds to the installed httptools."""
        error = sys.exception()
        if isinstance(error, HttpParserInvalidMethodError) and _METHOD.match(self._head_start):
            self._refuse(UnknownMethodProblem())
        elif isinstance(error, HttpParserError) and str(error) == PARSER_VERSION_REFUSAL:
            self._refuse(HttpVersionProblem(self.parser.get_http_version()))
        else:
            self._refuse(MalformedRequestProblem())

    def _refuse(self, problem: ApiProblem) -> None:
        """Answer ``problem`` and close: nothing more of the connection is parsed, and no
        request of it not yet started is run. A refusal of a request behind others still to be
        answered (its head, or its body or trailers while it waits its turn) is written once
        their answers have gone (``on_response_complete``), in order; of the request being
        answered, or of the only one, at once. The answer has an id, as every answer has, its
        line in the access log and its count in the request counter (method and route
        unknown: ``-``, ``unmatched``). The first refusal of a connection is its answer."""
        if self._refused:
            return
        self._refused = True
        self._cancel_head_deadline()
        queued = bool(self.pipeline) and self.pipeline[0][0] is self.cycle
        if queued and not self._reading_head:
            self.pipeline.popleft()  # read while another is answered, and queued: never run
            self._refusal_due = problem
        elif self._reading_head and self._owes_answers():  # the next head, behind answers
            self._refusal_due = problem
        else:
            self._write_refusal(problem, linger=False)

    def _write_refusal(self, problem: ApiProblem, *, linger: bool) -> None:
        """Write the refusal, then close: at once, or (``linger``: behind answers already
        sent) as ``LingeringTransport.linger`` does."""
        self._refusal_due = None
        if not self.transport.is_closing():
            sent_id = new_request_id()
            self.transport.write(problem.http_response(sent_id))
            if linger:
                self._lingering.linger()
            else:
                self._lingering.close_now()
            record_unread("-", problem.status, sent_id=sent_id)

    def _owes_answers(self) -> bool:
        """Whether a request read on this connection is still to be answered. uvicorn answers
        in order and ``cycle`` is the last request read, so it is answered last."""
        return self.cycle is not None and not self.cycle.response_complete

    def eof_received(self) -> bool:  # type: ignore[override]  # asyncio.Protocol's: bool | None
        """The client has sent all it will: keep the connection open for the answers owed to
        requests it sent whole, and a refusal due after them (``on_response_complete`` closes
        it after them); close it now if none is owed, or if a request's body is cut short (it
        cannot be answered)."""
        self._client_done = True
        if self._refused:  # all that is left to send is a refusal due, if any
            keep_open = self._refusal_due is not None
        else:
            keep_open = self._owes_answers() and not self.reading_body()
        if keep_open:
            self._cancel_head_deadline()
        return keep_open

    # The connection cap, and the drain.

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        version = self.parser.get_http_version()
        if version not in _HTTP_VERSIONS:
            self._refuse(HttpVersionProblem(version))
            return
        if version == "1.0":
            if any(name == b"transfer-encoding" for name, _ in self.headers):
                self._refuse(HttpOneTransferCodingProblem())
                return
            self.expect_100_continue = False
        self._fields_done = True
        self._cancel_head_deadline()
        self._reading_head = False
        self._request_read = False
        cap = self.limits.max_connections
        if len(self.connections) > cap or len(self.tasks) >= cap:
            app, self.app = self.app, self.busy_answer
            try:
                super().on_headers_complete()
            finally:
                self.app = app
        else:
            super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._request_read = True
        # What comes next is the next request's head: counted as it arrives, as the first one
        # was, though its deadline starts only once this request is answered.
        self._count_next_head()
        self._next_head_if_done()

    def on_response_complete(self) -> None:
        started_next = bool(self.pipeline)  # uvicorn starts the next request queued, if any
        super().on_response_complete()
        if started_next:
            return
        if self._refusal_due is not None:
            self._write_refusal(self._refusal_due, linger=True)
        elif self._client_done:
            self.transport.close()
        else:
            self._next_head_if_done()

    def _next_head_if_done(self) -> None:
        """Once a request is read whole and answered, the next head is awaited. Not before: a
        response may go (413, 503) while the body it refused is still arriving."""
        done = self._request_read and self.cycle is not None and self.cycle.response_complete
        if done and not self.transport.is_closing():
            self._await_head()

    def shutdown(self) -> None:
        """Called when the worker shuts down: finish, but never close under a client's feet."""
        self._draining = True
        if self.cycle is not None and not self.cycle.response_started:
            self.cycle.keep_alive = False  # its response, still to come, says so
        # A response under way has sent its headers without "Connection: close": closing after
        # it would fail the client's next request, so that connection, like an idle one, stays
        # until its next response (which says close) or its own timers.
