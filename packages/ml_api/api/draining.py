"""Whether this worker is draining: told to stop (SIGTERM), it goes on serving for
``ML_API_DRAIN_SECONDS`` so that no request already queued is reset (api/worker.py), but it is
no longer ready for new traffic, and ``/ready`` says so.

A process-wide flag: the worker's signal handler sets it, the readiness handler reads it. It is
never cleared, as a draining worker never serves again after its drain.
"""

from __future__ import annotations

import threading

_draining = threading.Event()


def start_draining() -> None:
    """Mark this process as shutting down."""
    _draining.set()


def is_draining() -> bool:
    """Whether this process has been told to shut down."""
    return _draining.is_set()
