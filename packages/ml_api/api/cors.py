"""CORS as Starlette's middleware does it, with a refused preflight answered as a problem.

Starlette answers a preflight asking for an origin, method or header the policy does not allow
with a plain-text 400 (``Disallowed CORS origin``): the one refusal of this API that was not
``application/problem+json``. ``ProblemCORSMiddleware`` keeps every decision and header of
Starlette's and words the refusal as the other 400s are: which parts of the preflight were not
allowed, never their values.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from api.problems import CorsPreflightProblem

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
