"""The gunicorn worker: uvicorn's, with connection limits and a short drain before shutdown.

Every connection is served by ``GuardedHttpToolsProtocol`` (api/connection_guard.py), which
keeps the connection limits of ``ServerSettings`` and never closes an idle keep-alive connection
under a client's feet when the worker is recycled.

On SIGTERM gunicorn's master closes its copy of the listening socket and signals the workers;
uvicorn then closes the worker's copy at once, and the kernel resets every connection still
waiting in the accept queue: requests the client has already sent, lost. Here a worker goes on
accepting for ``ML_API_DRAIN_SECONDS`` first, then shuts down as uvicorn does, finishing every
request it has. While it drains, ``/ready`` answers 503 (api/draining.py): a load balancer that
asks takes it out before it stops accepting.

Only public hooks are used: uvicorn-worker's ``CONFIG_KWARGS`` (keyword arguments for uvicorn's
``Config``, whose ``http`` takes a protocol class), gunicorn's ``Worker.run`` (a worker's main
loop, there to be overridden) and uvicorn's ``Server``, whose signal handlers call its
``handle_exit``. ``run`` does what ``UvicornWorker.run`` does, with ``DrainingServer``;
tests/test_upstream_fingerprints.py fails when the upstream code it copies or relies on changes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import threading
from types import FrameType
from typing import Any

from gunicorn.arbiter import Arbiter
from uvicorn.config import Config
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from api.config import ServerSettings
from api.connection_guard import ConnectionLimits, GuardedHttpToolsProtocol
from api.draining import start_draining

logger = logging.getLogger(__name__)


class DrainingServer(Server):
    """A uvicorn server that keeps accepting for ``drain_seconds`` after SIGTERM or SIGINT.

    uvicorn routes those two signals here; a second one during the drain shuts down at once.
    """

    def __init__(self, config: Config, *, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain_seconds = drain_seconds
        self._drain: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain is not None or self.drain_seconds <= 0:
            if self._drain is not None:
                self._drain.cancel()
            super().handle_exit(sig, frame)
            return
        # Set first: a second signal, even one arriving inside this handler, exits at once.
        self._drain = threading.Timer(self.drain_seconds, super().handle_exit, (sig, frame))
        self._drain.daemon = True
        start_draining()  # /ready answers 503 from now on
        # Said from a thread of its own: this runs in a signal handler, which may have
        # interrupted a write to the same stream (a reentrant write raises).
        threading.Thread(target=_say_draining, args=(self.drain_seconds,), daemon=True).start()
        self._drain.start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, then the app's own (its lifespan's end) if uvicorn skipped it.

        A quick shutdown (``force_exit``: gunicorn's SIGQUIT, or a second signal) skips the
        app's shutdown in uvicorn, and the app's lifespan, still waiting for it, was cancelled
        as the event loop closed: each worker logged that cancellation as an ERROR traceback
        at every Ctrl-C of ``make run``, and the store's writer was stopped by the
        cancellation's side effects, not by the app. Run here, it ends as at any stop: the
        queued houses written (for up to the writer's timeout, within the master's graceful
        timeout), "Application shutdown complete" logged.
        """
        await super().shutdown(sockets)
        if self.force_exit and self.started:
            await self.lifespan.shutdown()


def _say_draining(seconds: float) -> None:
    logger.info(
        "told to stop: accepting for %g s more (/ready answers 503), then finishing the "
        "requests in flight",
        seconds,
    )


class DrainingUvicornWorker(UvicornWorker):  # type: ignore[misc]
    """``uvicorn_worker.UvicornWorker`` serving with ``DrainingServer`` and guarded connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = ServerSettings()
        self.drain_seconds = settings.drain_seconds
        limits = ConnectionLimits(
            max_connections=settings.max_connections,
            header_timeout=settings.header_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_header_field_bytes=settings.max_header_field_bytes,
        )
        # The app's CORS policy, for the guard's 503 past the cap: the settings the app was built
        # with, by the master before it forks the workers (preload_app). Imported here, as the
        # worker is made: gunicorn imports this module before it loads the app.
        from api.asgi import settings as app_settings

        cors_origins = app_settings.cors_origins
        # UvicornWorker.__init__ hands these to uvicorn's Config, after its own settings.
        self.CONFIG_KWARGS = {
            **UvicornWorker.CONFIG_KWARGS,
            "http": GuardedHttpToolsProtocol.with_limits(limits, cors_origins=cors_origins),
            # The API speaks HTTP only. With a WebSocket library installed (the venv has one),
            # uvicorn took an upgrade request past the app: a bare 403, no id, no security
            # headers, and its access line with the path as sent, query and token included (a
            # probe's). Without, the request is answered as any other, by the app.
            "ws": "none",
        }
        super().__init__(*args, **kwargs)

    def run(self) -> None:
        """Serve until shutdown, in an event loop of the configured kind."""
        with asyncio.Runner(loop_factory=self.config.get_loop_factory()) as runner:
            runner.run(self.serve())

    async def serve(self) -> None:
        """``UvicornWorker``'s serving, with ``DrainingServer``."""
        self.config.app = self.wsgi
        server = DrainingServer(self.config, drain_seconds=self.drain_seconds)

        def quit_now() -> None:
            """SIGQUIT, gunicorn's quick shutdown (what its master sends the workers on SIGINT
            or SIGQUIT): stop now, with no drain and no wait for open connections. uvicorn
            takes no SIGQUIT (uvicorn#1116), and uvicorn-worker's handler, gunicorn's
            ``handle_exit``, only marks the worker not alive, which nothing here reads: each
            worker served on until the master killed it, ``ML_API_GRACEFUL_TIMEOUT`` later."""
            self.alive = False
            server.should_exit = server.force_exit = True

        asyncio.get_running_loop().add_signal_handler(signal.SIGQUIT, quit_now)
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
