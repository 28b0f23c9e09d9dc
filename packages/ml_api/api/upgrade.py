"""The API speaks HTTP/1.1 only: a request asking to upgrade its connection (WebSocket, h2c) is
answered as if it had not asked, which RFC 9110 (7.8) lets a server do.

The workers upgrade nothing (uvicorn's ``ws="none"``, api/worker.py), but werkzeug's router,
behind Connexion's, still reads the request's ``Upgrade``: with ``Connection: upgrade`` and
``Upgrade: websocket`` it routes the request as a WebSocket, which no route of the API is, and
answered its vague 400 ("The browser (or proxy) sent a request that this server could not
understand"): ``GET /health`` got it (a docs probe's). The header is dropped before any router
reads it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class IgnoreUpgradeMiddleware:
    """A request's ``Upgrade`` header dropped, so that it is routed as the HTTP it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            if any(name == b"upgrade" for name, _ in headers):
                kept = [(name, value) for name, value in headers if name != b"upgrade"]
                scope = {**scope, "headers": kept}
        await self.app(scope, receive, send)
