"""Bound what reading request bodies can cost a worker: size, bytes in flight, and time.

Neither Connexion, Starlette nor uvicorn limit any of these:

- **Size**: a declared Content-Length over ``max_bytes`` is refused at once (413); a chunked body
  (no Content-Length) is read up to the limit and then handed on with its length declared,
  since Connexion's validator takes a body without a Content-Length for a missing one.
- **Bytes in flight**: a worker holds at most ``max_inflight_bytes`` of bodies at once. A
  request whose declared length would pass that, while others are in flight, is refused before
  its body is read (503 with ``Retry-After``): a 10 MB body becomes some hundred MB of Python
  objects while it is priced, and 32 at once took one worker past 1.6 GB. One request alone is
  always taken. A body is claimed as its bytes arrive, not from its declared length, so that a
  client cannot hold the budget with heads alone (three heads declaring 10 MiB each, their
  bodies never sent, would have held a worker's 24 MiB and refused every other body); one whose
  bytes then do not fit is refused part way (503, and the connection closes).
- **Time**: each part of a body must arrive within ``read_timeout`` seconds of the previous one,
  and the body must keep up ``min_rate`` bytes a second, never more than ``read_timeout``
  seconds behind: its first part buys ``read_timeout`` seconds, each byte ``1 / min_rate``
  seconds more, and no more than ``read_timeout`` seconds can be bought ahead (408, and the
  connection closes). So a client can hold neither a
  request nor the bytes it has sent by trickling: a byte every 9 s met the first rule alone,
  and 8 MiB sent at once, then a byte every 9 s, met a plain average for two minutes. To hold
  a body's bytes a minute, a client sends ``min_rate`` bytes a second all that minute.

A body framed by any other transfer coding than ``chunked`` alone (``gzip, chunked``, which the
HTTP parser frames as chunked all the same) is refused (501): it went past every limit above.
"""

from __future__ import annotations

import asyncio
import math

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.inflight import Claim, InflightBudget
from api.problems import (
    BodyTimeoutProblem,
    BusyProblem,
    PayloadTooLargeProblem,
    SlowBodyProblem,
    TransferCodingProblem,
)


class BodyLimitsMiddleware:
    """Raise the problems above (413, 503, 408) as soon as a body is known to break a limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        inflight: InflightBudget,
        read_timeout: float,
        min_rate: int = 0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        #: Bytes a second a body keeps up, at most ``read_timeout`` seconds behind; 0: none.
        self.min_rate = min_rate
        #: This worker's bytes of bodies being read and priced (the prediction service's).
        self.inflight = inflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            length = int(declared) if declared.isdigit() else self.max_bytes + 1
            if length > self.max_bytes:
                raise PayloadTooLargeProblem(self.max_bytes)
            if self.inflight.would_refuse(length):  # known not to fit: before reading
                raise BusyProblem(self.inflight.doing)
            with self.inflight.claim() as held:
                # The server holds the body to its declared length.
                await self.app(scope, self._paced(receive, held), send)
        elif codings := headers.getlist("transfer-encoding"):
            if [coding.strip().lower() for coding in codings] != ["chunked"]:
                raise TransferCodingProblem()
            with self.inflight.claim() as held:
                body = await _read_whole(self._paced(receive, held))
                await self.app(*_with_body(scope, body, receive), send)
        else:
            await self.app(scope, receive, send)

    def _paced(self, receive: Receive, held: Claim) -> Receive:
        """``receive``, each part of the body claimed in ``held`` as it arrives, and refused
        when it is late or the body too slow (408), too large (413: a chunked body's), or when
        it does not fit beside the other bodies in flight (503). Only the time spent waiting in
        ``receive`` counts: not the worker's own between two reads (though the event loop's
        time on other requests meanwhile does, a fraction of a second against these limits).
        Once the body is whole the app may wait as long as it likes (for a disconnect)."""
        whole = False
        waited = 0.0
        #: The waited time the body's bytes have bought at ``min_rate``: its first part buys
        #: ``read_timeout`` seconds (until then, and with no minimum, the part's own limit).
        paid_until = math.inf
        loop = asyncio.get_running_loop()

        async def paced() -> Message:
            nonlocal whole, waited, paid_until
            if whole:
                return await receive()
            # Compared as the cap was set (waited + read_timeout), not by subtraction: a part
            # just in, bought up to the cap, waits read_timeout whatever the rounding.
            slow = paid_until < waited + self.read_timeout
            limit = paid_until - waited if slow else self.read_timeout
            started = loop.time()
            try:
                async with asyncio.timeout(limit):  # no task per part, as wait_for
                    message = await receive()
            except TimeoutError:
                if slow:
                    raise SlowBodyProblem(self.min_rate, self.read_timeout) from None
                raise BodyTimeoutProblem(self.read_timeout) from None
            finally:
                waited += loop.time() - started
            if message["type"] != "http.request":  # the client went away
                whole = True
                return message
            part = len(message.get("body", b""))
            if held.units + part > self.max_bytes:
                raise PayloadTooLargeProblem(self.max_bytes)
            held.add(part, closing=True)
            if self.min_rate:
                paid_until = min(paid_until + part / self.min_rate, waited + self.read_timeout)
            whole = not message.get("more_body", False)
            return message

        return paced


async def _read_whole(receive: Receive) -> bytes:
    """A body's parts joined (as far as they came, if the client went away)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
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
