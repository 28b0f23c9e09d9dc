"""Refuse request bodies over a size limit, before they are read whole or parsed.

Neither Connexion, Starlette nor uvicorn limit a body's size. A declared Content-Length over the
limit is refused at once; a chunked body (no Content-Length) is read up to the limit and then
handed on with its length declared, since Connexion's validator takes a body without a
Content-Length for a missing one.
"""

from __future__ import annotations

from connexion.exceptions import ProblemException
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class PayloadTooLargeProblem(ProblemException):  # type: ignore[misc]
    def __init__(self, limit: int) -> None:
        super().__init__(
            status=413,
            title="Payload Too Large",
            detail=f"Request body is larger than the limit of {limit} bytes.",
        )


class BodySizeLimitMiddleware:
    """Raise ``PayloadTooLargeProblem`` (413) once a body is known to exceed ``max_bytes``."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                raise PayloadTooLargeProblem(self.max_bytes)
            await self.app(scope, receive, send)  # the server holds the body to its length
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_bounded(receive)
            await self.app(*_with_body(scope, body, receive), send)
        else:
            await self.app(scope, receive, send)

    async def _read_bounded(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise PayloadTooLargeProblem(self.max_bytes)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _with_body(scope: Scope, body: bytes, receive: Receive) -> tuple[Scope, Receive]:
    """The scope with the body's length declared, and a receive channel that replays it."""
    scope = {**scope, "headers": list(scope["headers"])}
    headers = MutableHeaders(scope=scope)
    del headers["transfer-encoding"]
    headers["content-length"] = str(len(body))
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:  # then wait for what the client does next, as the server's channel would
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return scope, replay
