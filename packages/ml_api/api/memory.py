"""Keep worker memory near what is in use after large requests.

A 1459-house request allocates tens of MB for a moment (the body, its parsed rows, the
columns). glibc keeps what was freed, so a worker's resident size ratchets up by 40-60 MB.
Asking glibc to trim after each large request returns it; a fixed trim threshold would too, but
it also moves large allocations to mmap and slowed the 1459-house request by a third here.

glibc also gives each thread that allocates its own arena, up to 8 per core: a request's body
is parsed on the event loop's thread, priced on one of the handler pool's threads, and written
by the store's thread, each keeping its own free memory. ``limit_malloc_arenas`` caps them
(glibc's ``M_ARENA_MAX``): the interpreter's lock lets one thread allocate at a time anyway.
The largest worker after ``make bench``'s loads, 260-270 MB here with glibc's default, held
170-220 MB with 2 arenas.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

#: ``mallopt``'s parameter for the most arenas (glibc's malloc.h).
M_ARENA_MAX = -8


def _glibc(function: str) -> Callable[..., int] | None:
    """glibc's ``function``, or ``None`` where the C library is another (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        found: Callable[..., int] = getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return None
    return found


def _malloc_trim() -> Callable[[int], int] | None:
    return _glibc("malloc_trim")


def limit_malloc_arenas(arenas: int) -> bool:
    """Let the process's threads share at most ``arenas`` malloc arenas (0: glibc's default,
    left alone); whether the limit was set. Call it before threads start (gunicorn's master,
    before it forks the workers, which inherit it): arenas made before stay."""
    mallopt = _glibc("mallopt") if arenas > 0 else None
    return mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1


class ReleaseMemoryMiddleware:
    """After a request whose body exceeds ``min_bytes``, hand freed heap back to the system."""

    def __init__(self, app: ASGIApp, *, min_bytes: int) -> None:
        self.app = app
        self.min_bytes = min_bytes
        self._trim = _malloc_trim()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if self._trim is None or scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        large = length.isdigit() and int(length) >= self.min_bytes
        if large or headers.get("transfer-encoding", "").lower() == "chunked":
            await asyncio.to_thread(self._trim, 0)  # off the event loop
