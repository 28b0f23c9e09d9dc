"""The request target as the routers will read it: repeated slashes in its path collapsed into
one, and a query of more parameters than any operation takes refused, before anything routes it;
and the redirects they answer made paths.

Connexion's router found no route for ``//health`` (nor ``/%2Fhealth``, which decodes to it),
while werkzeug's, behind it, routed it to the handler, which then failed for want of the
operation Connexion sets (500). Collapsing them first, as nginx does (``merge_slashes``), gives
both routers the same path: ``//health`` is ``/health``.

Connexion reads a query's parameters into a dict of lists, each list by a scan of all of them:
quadratic in their count (9000 parameters in a URL within the header limits took a worker
2.7 s). No operation takes more than ``MAX_QUERY_PARAMETERS``, so a query of more is refused
(400) before Connexion reads it.

Starlette's router redirects a path with a trailing slash to the one without
(``/v1/predictions/``), writing the URL with the request's Host header in it:
``Host: evil.example`` got ``Location: http://evil.example/v1/predictions``, a redirect to a
site the client named and an entry to poison in any cache in front. A redirect to the host the
request named is answered with the path alone, which the client resolves against the URL it
used (RFC 9110, 10.2.2).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import TooManyQueryParametersProblem

_REPEATED_SLASHES = re.compile("/{2,}")

#: Query parameters a request may carry: far more than any operation of the spec takes (two),
#: so that an unknown one is still named by the spec's check, under a millisecond.
MAX_QUERY_PARAMETERS = 50


class MergeSlashesMiddleware:
    """Repeated slashes in the path made one: before the exception middleware, as routing sees
    the path first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            path = _REPEATED_SLASHES.sub("/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class QueryLimitMiddleware:
    """A query of more than ``MAX_QUERY_PARAMETERS`` refused (400): inside the exception
    middleware, which answers the problem, and before the routing that reads the query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope["query_string"]
            if query and query.count(b"&") >= MAX_QUERY_PARAMETERS:  # parameters - 1
                raise TooManyQueryParametersProblem(MAX_QUERY_PARAMETERS)
        await self.app(scope, receive, send)


class RelativeRedirectsMiddleware:
    """A redirect to the request's own host answered with its path alone: around the routers
    (Swagger UI's ``/ui`` to ``/ui/`` is a path already; tested too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                host = Headers(scope=scope).get("host", "")
                message = {
                    **message,
                    "headers": [
                        (name, _path_on(host, value) if name == b"location" else value)
                        for name, value in message.get("headers", [])
                    ],
                }
            await send(message)

        await self.app(scope, receive, relative)


def _path_on(host: str, location: bytes) -> bytes:
    """``location``'s path and query if it names ``host``; else ``location`` as it is."""
    url = urlsplit(location.decode("latin-1"))
    if not url.netloc or url.netloc.lower() != host.lower() or url.path.startswith("//"):
        return location  # (a path of "//" would name a host itself)
    return (url.path + (f"?{url.query}" if url.query else "")).encode("latin-1")
