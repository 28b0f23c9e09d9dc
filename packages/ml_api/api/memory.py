"""Keep worker memory near what is in use after large requests.

A 1459-house request allocates tens of MB for a moment (the body, its parsed rows, the
columns). glibc keeps what was freed, so a worker's resident size ratchets up by 40-60 MB.
Asking glibc to trim after each large request returns it; a fixed trim threshold would too, but
it also moves large allocations to mmap and slowed the 1459-house request by a third here. The
store's writer trims too, after writing a batch as large (a recorded request's houses outlive
its answer until they are written: 1459-house requests in turns, recording on, left a worker at
206-212 MB without it, 196-203 with it, 187 with recording off).

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

from api.config import MIB

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


#: Freed at once, this much is worth handing back to the system (a trim takes about 1.5 ms):
#: a request's body, or a batch of documents the store's writer has written.
RELEASE_AFTER_BYTES = MIB

_malloc_trim = _glibc("malloc_trim")


def release_freed_memory() -> None:
    """Hand the heap glibc keeps free back to the system (nothing elsewhere)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def limit_malloc_arenas(arenas: int) -> bool:
    """Let the process's threads share at most ``arenas`` malloc arenas (0: glibc's default,
    left alone); whether the limit was set. Call it before threads start (gunicorn's master,
    before it forks the workers, which inherit it): arenas made before stay."""
    mallopt = _glibc("mallopt") if arenas > 0 else None
    return mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1


class ReleaseMemoryMiddleware:
    """After a request whose body exceeds ``min_bytes``, hand freed heap back to the system."""

    def __init__(self, app: ASGIApp, *, min_bytes: int = RELEASE_AFTER_BYTES) -> None:
        self.app = app
        self.min_bytes = min_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if _malloc_trim is None or scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        length = headers.get("content-length", "")
        large = length.isdigit() and int(length) >= self.min_bytes
        if large or headers.get("transfer-encoding", "").lower() == "chunked":
            await asyncio.to_thread(release_freed_memory)  # off the event loop
