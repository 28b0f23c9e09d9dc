"""The request middleware's counts (api/request_metrics.py): each (method, route, status) counted
under its own labels, a method the API does not answer as ``other``, its labelled series kept
for reuse, and no more of them than the bound."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY
from starlette.types import Message, Receive, Scope, Send

from api import config, request_metrics
from api.request_metrics import ANSWERED_METHODS, OTHER_METHOD, RequestContextMiddleware
from api.spec_document import operations, read_spec

ROUTE = "/v1/predictions"


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the status the query string names."""
    status = int(scope["query_string"] or b"200")
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _call(
    middleware: RequestContextMiddleware, method: str, status: int, path: str = ROUTE
) -> None:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [],
        "query_string": str(status).encode(),
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    asyncio.run(middleware(scope, receive, send))


def _count(method: str, status: int) -> float:
    labels = {"method": method, "route": ROUTE, "status": str(status)}
    return REGISTRY.get_sample_value("ml_api_http_requests_total", labels) or 0.0


def _observed(method: str, status: int = 200) -> float:
    labels = {"method": method, "route": ROUTE, "status": str(status)}
    return REGISTRY.get_sample_value("ml_api_http_request_duration_seconds_count", labels) or 0.0


def test_each_status_is_counted_under_its_own_labels() -> None:
    middleware = RequestContextMiddleware(_answer, routes=[ROUTE])
    before = {status: _count("OPTIONS", status) for status in (200, 404, 503)}
    observed = {status: _observed("OPTIONS", status) for status in (200, 404, 503)}
    for status in (200, 404, 200, 503, 200):
        _call(middleware, "OPTIONS", status)
    for status, count in ((200, 3), (404, 1), (503, 1)):  # latencies by status too (a probe's)
        assert _count("OPTIONS", status) - before[status] == count
        assert _observed("OPTIONS", status) - observed[status] == count


def test_a_method_the_api_does_not_answer_is_counted_as_other() -> None:
    """A client chose the method label: each of the 34 methods the HTTP parser knows, refused
    on every route, was a series of its own, and a few thousand requests made ``/metrics``
    several times larger. Now they share one."""
    middleware = RequestContextMiddleware(_answer, routes=[ROUTE])
    before = _count(OTHER_METHOD, 405)
    for method in ("PROPFIND", "MKCOL", "PURGE", "M-SEARCH", "PATCH"):
        _call(middleware, method, 405)
        assert _count(method, 405) == 0
    assert _count(OTHER_METHOD, 405) - before == 5
    assert len(middleware._series) == 1


def test_the_answered_methods_are_the_specs_and_head_and_options() -> None:
    """One declaration per fact: the spec's methods, each a label of its own."""
    spec = read_spec(config.Settings(environment="testing"))
    methods = {method.upper() for _, method, _ in operations(spec)}
    assert methods | {"HEAD", "OPTIONS"} == ANSWERED_METHODS


def test_the_kept_series_are_bounded_and_counting_goes_on_past_the_bound() -> None:
    routes = [f"/r{index}" for index in range(request_metrics._MAX_SERIES + 5)]
    middleware = RequestContextMiddleware(_answer, routes=routes)
    for route in routes:
        _call(middleware, "GET", 200, route)
    assert len(middleware._series) == request_metrics._MAX_SERIES
    last = {"method": "GET", "route": routes[-1], "status": "200"}
    _call(middleware, "GET", 200, routes[-1])  # not kept: looked up again, counted all the same
    assert REGISTRY.get_sample_value("ml_api_http_requests_total", last) == 2
    assert REGISTRY.get_sample_value("ml_api_http_request_duration_seconds_count", last) == 2
