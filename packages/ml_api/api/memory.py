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

A large request refused (4xx, or 503 when a budget is full) leaves more behind: its
exception's traceback holds the frames that read the body, in reference cycles that only the
garbage collector frees, and a worker that goes quiet after them collects nothing. Six refused
10 MiB bodies of escaped quotes left a process at 231-295 MiB, 170 after a collection (150
trimmed); the attack suite's workers reached 554-612 MiB that way (its bound 600). So after a
large request refused, the young generations are collected before the trim: as much freed as a
full collection (167 MiB left either way), in 0.2-0.5 ms rather than 1-2 (a full one walks
every live object, those of the bodies other requests are pricing too: with 32 maximum bodies
at once, their p50 went from 134-276 ms to 517 in one run). Not after a valid request: a 1459-house
request leaves some 50 objects in cycles.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def release_freed_memory(*, collect: bool = False) -> None:
    """Hand the heap glibc keeps free back to the system (nothing elsewhere); first, if
    ``collect``, free the garbage in reference cycles."""
    if collect:
        gc.collect(1)  # the young generations: where a request's cycles are, at a fraction
    if _malloc_trim is not None:
        _malloc_trim(0)


def limit_malloc_arenas(arenas: int) -> bool:
    """Let the process's threads share at most ``arenas`` malloc arenas (0: glibc's default,
    left alone); whether the limit was set. Call it before threads start (gunicorn's master,
    before it forks the workers, which inherit it): arenas made before stay."""
    mallopt = _glibc("mallopt") if arenas > 0 else None
    return mallopt is not None and mallopt(M_ARENA_MAX, arenas) == 1


class ReleaseMemoryMiddleware:
    """After a request whose body exceeds ``min_bytes``, hand freed heap back to the system,
    collecting the garbage in cycles first if the request was refused."""

    def __init__(self, app: ASGIApp, *, min_bytes: int = RELEASE_AFTER_BYTES) -> None:
        self.app = app
        self.min_bytes = min_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._large(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        status = 0

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, noted)
        refused = status >= 400
        if refused or _malloc_trim is not None:  # else nothing to do (not glibc)
            # Off the event loop: a trim takes about 1.5 ms, a collection 0.2-0.5.
            await asyncio.to_thread(release_freed_memory, collect=refused)

    def _large(self, headers: Headers) -> bool:
        length = headers.get("content-length", "")
        if length.isdigit():
            return int(length) >= self.min_bytes
        return headers.get("transfer-encoding", "").lower() == "chunked"
