"""A connection's close that lingers, as nginx's ``lingering_close`` does.

A connection closed while the client is still sending (a request body answered before it was
read, 503 or 413, to a client that asked for ``Connection: close``; or more requests behind a
refused one) reaches the client as a reset, and its kernel may drop the answers with it. Here
the answers go, then the write side is shut (FIN), and what the client still sends is read and
dropped until it closes its side or ``LINGER_SECONDS`` pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

#: Seconds a closing connection goes on reading (and dropping) what the client still sends.
LINGER_SECONDS = 5.0


class LingeringTransport:
    """A connection's transport whose ``close`` lingers while a request body is unread
    (``reading_body``), and which can be told to ``linger`` whatever it reads. The protocol
    drops what it reads while ``lingering``."""

    def __init__(
        self,
        transport: asyncio.Transport,
        *,
        reading_body: Callable[[], bool],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._transport = transport
        self._reading_body = reading_body
        self._loop = loop
        self.lingering = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.lingering or self._transport.is_closing():
            return
        if self._reading_body():
            self.linger()  # the answer, then FIN: the client reads it whole
        else:
            self._transport.close()

    def close_now(self) -> None:
        self._transport.close()

    def linger(self) -> None:
        """Close after the answers written: FIN, then what the client still sends read until
        it closes its side or ``LINGER_SECONDS`` pass."""
        if self.lingering or self._transport.is_closing():
            return
        self.lingering = True
        self._transport.write_eof()
        self._transport.resume_reading()
        self._loop.call_later(LINGER_SECONDS, self._transport.close)
