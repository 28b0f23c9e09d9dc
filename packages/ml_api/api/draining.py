"""Whether this worker is draining: told to stop (SIGTERM), it goes on serving for
``ML_API_DRAIN_SECONDS`` so that no request already queued is reset (api/worker.py), but it is
no longer ready for new traffic, and ``/ready`` says so.

A process-wide flag: the worker's signal handler sets it, the readiness handler reads it. It is
never cleared, as a draining worker never serves again after its drain. A plain global, not
a ``threading.Event``: setting an event takes a lock, which a signal arriving inside the handler
that holds it would wait for for ever.

A reload (``kill -HUP`` to the master) drains the old workers too, while the new ones serve: a
probe that reaches an old one meanwhile gets 503, the next one most likely a new worker's 200.
"""

from __future__ import annotations

_draining = False


def start_draining() -> None:
    """Mark this process as shutting down."""
    global _draining
    _draining = True


def is_draining() -> bool:
    """Whether this process has been told to shut down."""
    return _draining
