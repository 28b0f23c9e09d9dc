"""The gunicorn worker: uvicorn's, with connection limits and a short drain before shutdown.

Every connection is served by ``GuardedHttpToolsProtocol`` (api/connection_guard.py), which
keeps the connection limits of ``ServerSettings`` and never closes an idle keep-alive connection
under a client's feet when the worker is recycled.

On SIGTERM gunicorn's master closes its copy of the listening socket and signals the workers;
uvicorn then closes the worker's copy at once, and the kernel resets every connection still
waiting in the accept queue: requests the client has already sent, lost. Here a worker goes on
accepting for ``ML_API_DRAIN_SECONDS`` first, then shuts down as uvicorn does, finishing every
request it has.
"""

from __future__ import annotations

import sys
import threading
from types import FrameType

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from api.config import ServerSettings
from api.connection_guard import ConnectionLimits, GuardedHttpToolsProtocol


class DrainingServer(Server):
    """A uvicorn server that keeps accepting for a while after SIGTERM or SIGINT.

    uvicorn routes those two signals here; a second one during the drain shuts down at once.
    """

    drain_seconds: float = 1.0
    _drain: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain is not None or self.drain_seconds <= 0:
            if self._drain is not None:
                self._drain.cancel()
            super().handle_exit(sig, frame)
            return
        self._drain = threading.Timer(self.drain_seconds, super().handle_exit, (sig, frame))
        self._drain.daemon = True
        self._drain.start()


class DrainingUvicornWorker(UvicornWorker):  # type: ignore[misc]
    """``uvicorn_worker.UvicornWorker`` serving with ``DrainingServer`` and guarded connections."""

    async def _serve(self) -> None:
        settings = ServerSettings()
        self.config.app = self.wsgi
        self.config.http = GuardedHttpToolsProtocol.with_limits(
            ConnectionLimits(
                max_connections=settings.max_connections,
                header_timeout=settings.header_timeout,
                max_header_bytes=settings.max_header_bytes,
                max_header_field_bytes=settings.max_header_field_bytes,
            )
        )
        server = DrainingServer(config=self.config)
        server.drain_seconds = settings.drain_seconds
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
