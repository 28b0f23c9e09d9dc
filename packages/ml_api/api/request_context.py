"""The one place a request's facts travel: a ``RequestContext`` in one context variable.

``RequestContextMiddleware`` (api/request_metrics.py) opens it for every HTTP request; what
learns something about the request writes it there, in a declared field, and what needs it
reads it there:

- ``id``: sent back as ``X-Request-ID``, and stamped on every log line (api/logs.py);
- ``route``: the spec's route template (or ``unmatched``), what logs and metrics name, never
  the path as sent;
- ``rows``: how many houses the request carried (the service notes it), for the access log;
- ``client``: the name of the feedback token the request sent, if one was taken
  (api/feedback_auth.py), for the access log: who posted a batch of sales;
- ``body``: the body as read and as parsed by the validator (api/body_validation.py), which
  the handler takes (``api.controller.validated_body``) rather than have Flask read and parse
  2.3 MB again.

Connexion runs Flask handlers in threads with a copy of the request's context: the copy refers
to the same ``RequestContext``, so the handler's thread and the middleware share it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
#: The longest request id a client may give (a longer one is replaced by the service's own),
#: which the prediction store keeps beside each house.
MAX_REQUEST_ID = 128
#: The route of a request that matches none of the spec's paths (or was never read).
UNMATCHED = "unmatched"
#: The route of Swagger UI's page and files.
UI_ROUTE = "/ui/"


@dataclass
class RequestContext:
    """What is known about the current request."""

    id: str
    route: str
    rows: int | None = None
    #: The name of the feedback token taken (``config.FeedbackToken``; not a secret).
    client: str | None = None
    #: The body as read (bytes) and as parsed, once the validator has parsed it.
    body: tuple[bytes, Any] | None = None


_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_request() -> RequestContext | None:
    """The request being served, or ``None`` outside one (start-up, a background task)."""
    return _current.get()


def open_request(context: RequestContext) -> Token[RequestContext | None]:
    """Make ``context`` the current request's; returns the token ``close_request`` takes."""
    return _current.set(context)


def close_request(token: Token[RequestContext | None]) -> None:
    _current.reset(token)
