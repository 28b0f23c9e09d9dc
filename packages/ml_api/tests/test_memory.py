"""api/memory.py: the arena limit a worker starts with, checked on the C library itself, and
freed heap handed back after large requests."""

from __future__ import annotations

import asyncio
import ctypes.util
import gc
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest

from api import memory
from api.config import MIB

ROOT = Path(__file__).resolve().parent.parent

#: Threads allocating at once, then the arenas glibc's malloc_info lists (one <heap> each).
_COUNT_ARENAS = """
import ctypes, ctypes.util, sys, tempfile, threading
from api.memory import limit_malloc_arenas
arenas = int(sys.argv[1])
assert limit_malloc_arenas(arenas) == (arenas > 0)
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(8)
def allocate():
    barrier.wait()
    blocks = [libc.malloc(1000) for _ in range(1000)]
    barrier.wait()
    for block in blocks:
        libc.free(block)
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with tempfile.NamedTemporaryFile(suffix=".xml") as report:
    handle = libc.fopen(report.name.encode(), b"w")
    libc.malloc_info(0, handle)
    libc.fclose(handle)
    print(open(report.name).read().count("<heap nr="))
"""


def _arenas(limit: int) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _COUNT_ARENAS, str(limit)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(run.stdout)


glibc_only = pytest.mark.skipif(
    memory._glibc("malloc_info") is None or ctypes.util.find_library("c") is None,
    reason="the arena limit is glibc's",
)


@glibc_only
def test_threads_share_at_most_the_arenas_allowed() -> None:
    assert _arenas(2) <= 2
    assert _arenas(1) == 1


@glibc_only
def test_zero_leaves_glibc_default() -> None:
    """Eight threads allocating at once get arenas of their own by default (the count the
    limit cuts; if this fails, the test above proves nothing)."""
    assert _arenas(0) > 2


def test_the_server_config_limits_arenas_before_loading_the_app() -> None:
    """gunicorn.conf.py sets the limit at its top (before the app, preloaded, starts any
    thread), from the server's settings."""
    text = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    assert "limit_malloc_arenas(_server.malloc_arenas)" in text
    assert text.index("limit_malloc_arenas(_server") < text.index("wsgi_app =")


@pytest.mark.parametrize(
    ("headers", "released"),
    [
        ([(b"content-length", str(memory.RELEASE_AFTER_BYTES).encode())], 1),
        ([(b"content-length", str(memory.RELEASE_AFTER_BYTES - 1).encode())], 0),
        ([(b"transfer-encoding", b"chunked")], 1),  # of unknown size
        ([], 0),
    ],
)
def test_freed_heap_is_released_after_a_large_request_only(
    monkeypatch: pytest.MonkeyPatch, headers: list[tuple[bytes, bytes]], released: int
) -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    monkeypatch.setattr(memory, "_malloc_trim", trim)
    answered: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        answered.append(scope["path"])

    scope = {"type": "http", "path": "/v1/predictions", "headers": headers}
    asyncio.run(memory.ReleaseMemoryMiddleware(app)(scope, None, None))  # type: ignore[arg-type]
    assert answered == ["/v1/predictions"]
    assert len(calls) == released


class _Cycle:
    """An object in a reference cycle: only the garbage collector frees it."""

    def __init__(self) -> None:
        self.itself = self
        self.body = bytearray(1024)


@pytest.mark.parametrize(
    ("status", "collected"), [(400, True), (422, True), (503, True), (200, False)]
)
def test_a_large_refused_request_leaves_no_garbage_in_cycles(status: int, collected: bool) -> None:
    """A refused request's traceback holds the frames that read its body in cycles; a worker
    that goes quiet would keep them until it next allocated enough to collect."""
    left: list[weakref.ref[_Cycle]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        left.append(weakref.ref(_Cycle()))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        pass

    scope = {"type": "http", "path": "/", "headers": [(b"content-length", b"%d" % MIB)]}
    gc.disable()  # only the middleware's collection, if any, may free it
    try:
        asyncio.run(memory.ReleaseMemoryMiddleware(app)(scope, None, send))  # type: ignore[arg-type]
        assert (left[0]() is None) is collected
    finally:
        gc.enable()
        gc.collect()


#: A worker's app, built as gunicorn's master builds it, then the heavy libraries it imported.
_WORKER_IMPORTS = """
import sys, tempfile
from api.app import create_app
from api.config import Settings
with tempfile.TemporaryDirectory() as state:
    create_app(Settings(environment="testing", state_dir=state, recording=False))
print(sorted({name.split(".")[0] for name in sys.modules} & {"scipy", "sklearn", "pandas"}))
"""


def test_a_worker_imports_neither_scipy_nor_scikit_learn() -> None:
    """Each library is resident in every worker: scipy's statistics, imported once for an exact
    sign test (``comparison.at_least_as_many_heads`` now), cost each about 70 MB of its 200."""
    run = subprocess.run(
        [sys.executable, "-c", _WORKER_IMPORTS], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines()[-1] == "[]"
