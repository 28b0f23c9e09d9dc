"""CORS as Starlette's middleware does it, with a refused preflight answered as a problem.

Starlette answers a preflight asking for an origin, method or header the policy does not allow
with a plain-text 400 (``Disallowed CORS origin``): the one refusal of this API that was not
``application/problem+json``. ``ProblemCORSMiddleware`` keeps every decision and header of
Starlette's and words the refusal as the other 400s are: which parts of the preflight were not
allowed, never their values.

Every answer must carry the policy's headers for the page's origin, refusals first: without
``Access-Control-Allow-Origin`` a browser hides the answer from the page, which sees a bare
network failure instead of the problem saying what to fix. ``ProblemCORSMiddleware`` sits
outside every layer of the app that answers early (api/app.py: a body too large or too deep,
of another type, a budget full, a bad Host or query, a draining worker's ``/ready``), so it
marks theirs too. The connection guard's 503 past the connection cap is answered before the
app runs (api/connection_guard.py): ``CorsMarked`` gives it the same headers, from the same
policy (``cors_policy``). The guard's other answers cannot carry them: each refuses a request
whose head was not read whole (too slow, too large, not HTTP), so no Origin is known, or one
no browser sends (another HTTP version, HTTP/1.0 framing, a chunked body over HTTP/1.1).

A preflight is approved for any path, as Starlette's policy is path-blind: the real request to
a path the API lacks then gets its 404 (or 405) with these headers, which the page can read; a
preflight refused there would show the page a CORS failure in place of that answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import CorsPreflightProblem
from api.request_context import REQUEST_ID_HEADER


def cors_policy(origins: Sequence[str]) -> dict[str, Any]:
    """The API's CORS policy for pages of ``origins`` (``ML_API_CORS_ORIGINS``), as keyword
    arguments of Starlette's ``CORSMiddleware``."""
    return {
        "allow_origins": list(origins),
        "allow_methods": ["GET", "POST"],
        # Authorization: a page posting sale prices back sends its feedback token.
        "allow_headers": ["Content-Type", "Authorization", REQUEST_ID_HEADER],
        "expose_headers": [REQUEST_ID_HEADER, "Retry-After", "WWW-Authenticate"],
        "max_age": 600,
    }


#: How Starlette's refusal begins; the parts it refused follow, comma-separated
#: (tests/test_cors.py holds this to the installed Starlette).
STARLETTE_REFUSAL = "Disallowed CORS "
#: Starlette's names of the parts of a preflight, as the problem words them.
PART_NAMES = {"private-network": "private network access"}


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's ``CORSMiddleware``, a refused preflight answered as a problem (see the
    module's docstring)."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        text = bytes(response.body).decode()
        parts = text.removeprefix(STARLETTE_REFUSAL).split(", ")
        problem = CorsPreflightProblem([PART_NAMES.get(part, part) for part in parts])
        headers = {
            name: value
            for name, value in response.headers.items()
            if name not in ("content-length", "content-type")
        }
        return Response(
            json.dumps(problem.body()),
            status_code=problem.status,
            headers=headers,
            media_type="application/problem+json",
        )


class CorsMarked:
    """``app``'s answers marked with the headers the CORS policy of ``origins`` gives an answer
    to the request's origin, as ``ProblemCORSMiddleware`` marks the app's; a preflight is
    answered by ``app`` too, not approved: for an answer given in place of the app's (the
    connection guard's 503), whatever the request.

    Starlette's ``CORSMiddleware.simple_response`` does the marking (the path its ``__call__``
    takes for a request that is no preflight); tests/test_upstream_fingerprints.py holds it and
    the ``send`` it wraps to their source as checked.
    """

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.policy = ProblemCORSMiddleware(app, **cors_policy(origins))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.policy.simple_response(scope, receive, send, Headers(scope=scope))
