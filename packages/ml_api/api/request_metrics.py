"""One place that sees every request: counts it, times it, and logs one line for it.

It sits outside Connexion's exception handling, so refused requests (400, 404, 413 ...) are
counted and logged like the others. Routes are label-safe: a path of the spec or ``unmatched``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from api.request_context import RequestFacts, request_facts

logger = logging.getLogger("api.access")


class RequestMetricsMiddleware:
    """Record each HTTP request's count and latency by route and status; log it once."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[str]) -> None:
        self.app = app
        self.routes = frozenset(routes)

    def route(self, path: str) -> str:
        if path in self.routes:
            return path
        if path == "/ui" or path.startswith("/ui/"):
            return "/ui/"
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        facts = RequestFacts(route=self.route(scope["path"]))
        token = request_facts.set(facts)
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            duration = time.perf_counter() - started
            method, route = scope["method"], facts.route
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(duration)
            logger.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "route": route,
                    "method": method,
                    "status": status,
                    "rows": facts.rows,
                    "duration_ms": round(duration * 1000, 3),
                },
            )
            request_facts.reset(token)
