"""The gunicorn worker: uvicorn's, with a short drain before a graceful shutdown.

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
    """``uvicorn_worker.UvicornWorker`` serving with ``DrainingServer``."""

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        server.drain_seconds = ServerSettings().drain_seconds
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
