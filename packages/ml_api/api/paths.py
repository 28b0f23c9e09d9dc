"""The request target as the routers will read it: repeated slashes in its path collapsed into
one, a query of more parameters than any operation takes refused, and the Host header checked,
before anything routes it; and the redirects they answer made paths.

Connexion's router found no route for ``//health`` (nor ``/%2Fhealth``, which decodes to it),
while werkzeug's, behind it, routed it to the handler, which then failed for want of the
operation Connexion sets (500). Collapsing them first, as nginx does (``merge_slashes``), gives
both routers the same path: ``//health`` is ``/health``.

Connexion reads a query's parameters into a dict of lists, each list by a scan of all of them:
quadratic in their count (9000 parameters in a URL within the header limits took a worker
2.7 s). No operation takes more than ``MAX_QUERY_PARAMETERS``, so a query of more is refused
(400) before Connexion reads it.

A Host header is checked as RFC 9112 (3.2) has a server do (400 if an HTTP/1.1 request has
none, or two, or one that is not a host and port): Starlette's router writes it into the
redirects it answers (a path with a trailing slash, ``/v1/predictions/``, to the one without),
where ``Host: evil.example/x`` would send the client to ``http://evil.example/x/v1/predictions``.
Even a well-formed Host is the client's word: ``Host: evil.example`` got ``Location:
http://evil.example/v1/predictions``, a redirect to a site the client named and an entry to
poison in any cache in front. So a redirect to the request's own origin is answered with the
path alone, which the client resolves against the URL it used (RFC 9110, 10.2.2).
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import BadHostProblem, TooManyQueryParametersProblem

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


#: RFC 9110's Host: RFC 3986's uri-host (an IP literal in brackets, or a reg-name or IPv4
#: address: unreserved characters, percent-escapes and sub-delims), then an optional port.
_HOST = re.compile(
    rb"(?:\[[0-9A-Za-z:._~!$&'()*+,;=-]+\]|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::[0-9]*)?"
)


class HostCheckMiddleware:
    """An HTTP/1.1 request's one Host header, checked before anything routes it (400)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            hosts = [value for name, value in scope["headers"] if name == b"host"]
            if len(hosts) != 1:
                if hosts or scope.get("http_version") != "1.0":
                    raise BadHostProblem(len(hosts))
            elif not _HOST.fullmatch(hosts[0]):
                raise BadHostProblem(1)
            elif not _is_dns_name(hosts[0]):
                raise BadHostProblem(1, labels=True)
        await self.app(scope, receive, send)


def _is_dns_name(host: bytes) -> bool:
    """Whether a Host that ``_HOST`` matched names its host as werkzeug's router takes it: an
    IP literal, or a name IDNA encodes (labels of 1 to 63 characters). The router refused the
    rest with its own vague 400 ("The browser (or proxy) sent a request that this server could
    not understand"), on some paths and not others."""
    if host.startswith(b"["):
        return True
    try:
        host.decode("ascii").partition(":")[0].encode("idna")
    except UnicodeError:
        return False
    return True


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
                origin = f"{scope['scheme']}://{Headers(scope=scope).get('host', '')}"
                message = {
                    **message,
                    "headers": [
                        (name, _path_on(origin, value) if name == b"location" else value)
                        for name, value in message.get("headers", [])
                    ],
                }
            await send(message)

        await self.app(scope, receive, relative)


def _path_on(origin: str, location: bytes) -> bytes:
    """``location`` without ``origin`` (``scheme://host`` as the request named it) if it
    starts with it and a path follows; else ``location`` as it is."""
    text = location.decode("latin-1")
    rest = text[len(origin) :]
    if not text.lower().startswith(origin.lower()) or not rest.startswith("/"):
        return location
    if rest.startswith("//"):  # a path of "//" would name a host itself
        return location
    return rest.encode("latin-1")
