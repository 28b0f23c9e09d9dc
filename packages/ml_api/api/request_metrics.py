"""One place that sees every request: gives it an id, counts it, times it, logs one line for it.

It sits outside Connexion's exception handling, so refused requests (400, 404, 413 ...) are
counted and logged like the others, and every response, errors included, carries the request's
id (the client's, if it sent a sane one) and the headers that keep a browser from misreading,
framing or caching it (``api.security_headers``). Routes are label-safe: a path of the spec,
``/ui/`` or ``unmatched``; methods are those the API answers, any other ``other``
(``method_label``). It opens the request's ``RequestContext`` (api/request_context.py).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from api.request_context import (
    MAX_REQUEST_ID,
    REQUEST_ID_HEADER,
    UI_ROUTE,
    UNMATCHED,
    RequestContext,
    close_request,
    open_request,
)
from api.security_headers import security_headers

logger = logging.getLogger("api.access")

#: An id a client may give, kept as given: what the spec's ``RequestId`` header says (its
#: schema; tests/test_request_id.py holds the two equal).
_SANE_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_REQUEST_ID}}}")
_MAX_SERIES = 1000

#: The methods the API answers: its operations' (the spec's, GET and POST; a test holds this to
#: it), HEAD for each GET, and a browser's CORS preflight. Each is a label of its own.
ANSWERED_METHODS = frozenset({"GET", "HEAD", "POST", "OPTIONS"})
#: The label of every other method. The HTTP parser takes 34 (PROPFIND, MKCOL, PURGE...), each
#: refused (405, 404): labelled apart, 1020 requests (each on every route, three ways) took a
#: fresh server's ``/metrics`` from 24 KB to 0.9 MB a scrape, 686 series; so, 196 KB and 100.
OTHER_METHOD = "other"


def method_label(method: str) -> str:
    """``method`` as the request metrics label it: one the API answers, or ``other``
    (``-``, where the parser read none, is kept)."""
    return method if method in ANSWERED_METHODS or method == "-" else OTHER_METHOD


def request_id(headers: Headers) -> str:
    """The request's id: the client's ``X-Request-ID`` if it sent one and it is sane, else a
    new one (two are a list, ``a, b`` as RFC 9110 5.3 joins them, which is not an id)."""
    given = headers.getlist(REQUEST_ID_HEADER)
    return given[0] if len(given) == 1 and _SANE_ID.fullmatch(given[0]) else new_request_id()


def new_request_id() -> str:
    return uuid.uuid4().hex


def record_unread(method: str, status: int, *, sent_id: str) -> None:
    """Count a request answered before the application read it (the connection guard's:
    ``method`` one the HTTP parser knows, or ``-``), as every request is counted, and give it
    its access-log line under its id ``sent_id``. Its time is not observed: it was not served."""
    HTTP_REQUESTS.labels(method_label(method), UNMATCHED, str(status)).inc()
    token = open_request(RequestContext(id=sent_id, route=UNMATCHED))
    try:
        log_request(method, UNMATCHED, status, 0.0)
    finally:
        close_request(token)


def log_request(
    method: str,
    route: str,
    status: int,
    duration: float,
    *,
    rows: int | None = None,
    client: str | None = None,
) -> None:
    """The access log's one line for a request (the current request's id on it), with who
    sent it where a feedback token said (``client``: the token's name)."""
    logger.info(
        "%s %s %s",
        method,
        route,
        status,
        extra={
            "route": route,
            "method": method,
            "status": status,
            "rows": rows,
            "client": client,
            "duration_ms": round(duration * 1000, 3),
        },
    )


class RequestContextMiddleware:
    """Open each HTTP request's context; record its count and latency by route and status;
    send its id back; log it once."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[str]) -> None:
        self.app = app
        self.routes = frozenset(routes)
        #: The labelled counter and histogram of each (method, route, status) seen: looked up
        #: once, not on every request (``labels`` validates and locks each time).
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _count(self, method: str, route: str, status: int, duration: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                HTTP_LATENCY.labels(method, route, str(status)),
            )
            # Bounded: routes are the spec's, statuses HTTP's, methods method_label's; past
            # _MAX_SERIES (never reached) none is kept here all the same.
            if len(self._series) < _MAX_SERIES:
                self._series[method, route, status] = series
        series[0].inc()
        series[1].observe(duration)

    def route(self, path: str) -> str:
        if path in self.routes:
            return path
        if path == "/ui" or path.startswith(UI_ROUTE):
            return UI_ROUTE
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(
            id=request_id(Headers(scope=scope)), route=self.route(scope["path"])
        )
        token = open_request(context)
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = context.id
                # A refusal under /ui (a file it lacks) is a problem document, data like any.
                ui_page = context.route == UI_ROUTE and status < 400
                headers.raw.extend(security_headers(ui=ui_page))
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            duration = time.perf_counter() - started
            method, route = scope["method"], context.route
            self._count(method_label(method), route, status, duration)
            log_request(method, route, status, duration, rows=context.rows, client=context.client)
            close_request(token)
