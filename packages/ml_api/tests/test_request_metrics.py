"""The request middleware's counts (api/request_metrics.py): each (method, route, status) counted
under its own labels, its labelled series kept for reuse, and no more of them than the bound."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY
from starlette.types import Message, Receive, Scope, Send

from api import request_metrics
from api.request_metrics import RequestContextMiddleware

ROUTE = "/v1/predictions"


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the status the query string names."""
    status = int(scope["query_string"] or b"200")
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _call(middleware: RequestContextMiddleware, method: str, status: int) -> None:
    scope = {
        "type": "http",
        "method": method,
        "path": ROUTE,
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
    before = {status: _count("PATCH", status) for status in (200, 404, 503)}
    observed = {status: _observed("PATCH", status) for status in (200, 404, 503)}
    for status in (200, 404, 200, 503, 200):
        _call(middleware, "PATCH", status)
    for status, count in ((200, 3), (404, 1), (503, 1)):  # latencies by status too (a probe's)
        assert _count("PATCH", status) - before[status] == count
        assert _observed("PATCH", status) - observed[status] == count


def test_the_kept_series_are_bounded_and_counting_goes_on_past_the_bound() -> None:
    middleware = RequestContextMiddleware(_answer, routes=[ROUTE])
    methods = [f"M{index}" for index in range(request_metrics._MAX_SERIES + 5)]
    for method in methods:
        _call(middleware, method, 200)
    assert len(middleware._series) == request_metrics._MAX_SERIES
    last = methods[-1]
    _call(middleware, last, 200)  # not kept: looked up again, and counted all the same
    assert _count(last, 200) == 2
    assert _observed(last) == 2
