"""Per-request context: the request id (sent back as X-Request-ID) and facts for the log line.

Both live in context variables; Connexion runs Flask handlers in threads with a copy of the
request's context, so a handler sees (and can fill in) the same ``RequestFacts``.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

request_id: ContextVar[str] = ContextVar("request_id", default="-")


@dataclass
class RequestFacts:
    """What the handler learns about a request that the access log reports."""

    rows: int | None = None
    #: The spec's route template (or ``unmatched``): what the log names, never the path as sent.
    route: str | None = None


request_facts: ContextVar[RequestFacts | None] = ContextVar("request_facts", default=None)


def note_rows(rows: int) -> None:
    """Record how many houses the current request carried."""
    facts = request_facts.get()
    if facts is not None:
        facts.rows = rows


class RequestIdMiddleware:
    """Give every HTTP request an id, visible to logging, and send it back on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        current = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(current)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = current
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
