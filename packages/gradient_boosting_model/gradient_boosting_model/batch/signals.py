"""Signal handlers set for a ``with`` block, in the main thread only (the one thread where
Python lets a handler be set; elsewhere, as in a test's thread, the block runs without them).

Light on purpose: the command's entry point (``command``) and its cluster (``cluster``) use it
before anything heavy is imported.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def in_main_thread() -> bool:
    """Whether this is the main thread, where signal handlers can be set."""
    return threading.current_thread() is threading.main_thread()


@contextmanager
def handlers(wanted: Mapping[signal.Signals, Handler]) -> Iterator[None]:
    """Each signal of ``wanted`` handled by its handler for the ``with`` block, the previous
    handlers set back after it (one not set from Python, as the default)."""
    if not in_main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig, handler in wanted.items()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
