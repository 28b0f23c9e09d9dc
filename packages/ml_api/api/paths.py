"""Repeated slashes in a request path collapsed into one, before anything routes it.

Connexion's router found no route for ``//health`` (nor ``/%2Fhealth``, which decodes to it),
while werkzeug's, behind it, routed it to the handler, which then failed for want of the
operation Connexion sets (500). Collapsing them first, as nginx does (``merge_slashes``), gives
both routers the same path: ``//health`` is ``/health``.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_REPEATED_SLASHES = re.compile("/{2,}")


class MergeSlashesMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            path = _REPEATED_SLASHES.sub("/", scope["path"])
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
