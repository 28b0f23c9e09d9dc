"""``/openapi.json`` and ``/openapi.yaml``: the served document as written, components named.

Connexion serves its copy with every ``$ref`` inlined, so a client generated from it names its
classes after the operation (``ApiControllerPredictBodyItem``) instead of ``HouseDetails``, and it
replaces ``servers`` with an empty base path, which Swagger UI shows as an empty "Servers" box.
This middleware answers those two paths itself, from the document ``create_app`` served, and
redirects each with a trailing slash to it, as the router redirects the API's own paths
(``/v1/predictions/``): ``/openapi.json/`` was a 404.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import MethodNotAllowedProblem

#: The methods the document's paths take.
_ALLOWED = "GET, HEAD"
#: The document's paths, each with its media type.
DOCUMENT_PATHS = {"/openapi.json": "application/json", "/openapi.yaml": "text/yaml"}
#: Each document's path with a trailing slash, and the path it is redirected to.
_SLASHED = {f"{path}/": path for path in DOCUMENT_PATHS}


class SpecDocumentMiddleware:
    """Answers ``GET`` (and ``HEAD``) of the document's two paths with bytes made once, any
    other method of them 405."""

    def __init__(self, app: ASGIApp, document: dict[str, Any]) -> None:
        self.app = app
        written = {
            "/openapi.json": orjson.dumps(document),
            "/openapi.yaml": yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode(),
        }
        self._documents = {path: (written[path], kind) for path, kind in DOCUMENT_PATHS.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in _SLASHED:
            query = scope["query_string"].decode("latin-1")
            location = _SLASHED[scope["path"]] + (f"?{query}" if query else "")
            await RedirectResponse(location, status_code=307)(scope, receive, send)
            return
        served = self._documents.get(scope["path"]) if scope["type"] == "http" else None
        if served is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in {"GET", "HEAD"}:
            raise MethodNotAllowedProblem(_ALLOWED)
        body, media_type = served
        await Response(body, media_type=media_type)(scope, receive, send)
