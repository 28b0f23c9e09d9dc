"""Bound what reading request bodies can cost a worker: size, bytes in flight, and time.

Neither Connexion, Starlette nor uvicorn limit any of these:

- **Size**: a declared Content-Length over ``max_bytes`` is refused at once (413); a chunked body
  (no Content-Length) is read up to the limit and then handed on with its length declared,
  since Connexion's validator takes a body without a Content-Length for a missing one.
- **Bytes in flight**: a worker takes at most ``max_inflight_bytes`` of bodies at once. A
  request that would pass that, while others are in flight, is refused before its body is read
  (503 with ``Retry-After``): a 10 MB body becomes some hundred MB of Python objects while it is
  priced, and 32 at once took one worker past 1.6 GB. One request alone is always taken.
- **Time**: each part of a body must arrive within ``read_timeout`` seconds of the previous one
  (408, and the connection closes), so a client cannot hold a request open by trickling.

A body framed by any other transfer coding than ``chunked`` alone (``gzip, chunked``, which the
HTTP parser frames as chunked all the same) is refused (501): it went past every limit above.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.inflight import InflightBudget
from api.problems import (
    BodyTimeoutProblem,
    BusyProblem,
    PayloadTooLargeProblem,
    TransferCodingProblem,
)


class BodyLimitsMiddleware:
    """Raise the problems above (413, 503, 408) as soon as a body is known to break a limit."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, inflight: InflightBudget, read_timeout: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        #: This worker's bytes of bodies being read and priced (the prediction service's).
        self.inflight = inflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                raise PayloadTooLargeProblem(self.max_bytes)
            with self.inflight.claim(int(declared)):
                # The server holds the body to its declared length.
                await self.app(scope, self._timed(receive), send)
        elif codings := headers.getlist("transfer-encoding"):
            if [coding.strip().lower() for coding in codings] != ["chunked"]:
                raise TransferCodingProblem()
            body = await self._read_bounded(self._timed(receive))
            with self.inflight.claim(len(body), refusable=False):  # read already: counted
                await self.app(*_with_body(scope, body, receive), send)
        else:
            await self.app(scope, receive, send)

    def _timed(self, receive: Receive) -> Receive:
        """``receive``, refusing a body whose next part is late. Once the body is whole the
        app may wait as long as it likes (for a disconnect)."""
        whole = False

        async def timed() -> Message:
            nonlocal whole
            if whole:
                return await receive()
            try:
                async with asyncio.timeout(self.read_timeout):  # no task per part, as wait_for
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutProblem(self.read_timeout) from None
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        return timed

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
            if self.inflight.would_refuse(size):
                raise BusyProblem(self.inflight.doing)
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
