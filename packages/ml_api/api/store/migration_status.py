"""What ``make migrate`` (``python -m api.store.database``) tells Prometheus while it runs.

On Kubernetes each replica migrates in its init container, one at a time (``MIGRATION_LOCK``):
a replica waits, unbounded, for another's migration. A Prometheus job that scrapes pods still
starting (a PodMonitor does: it drops only Failed and Succeeded pods) found nothing on the
server's port all that while: ``up`` 0, and ``MlApiDown`` fired for a replica that was only
waiting its turn; a job that drops them (the Helm chart's kubernetes-pods) saw nothing at all,
so a migration hung for good went unseen. While it runs, the command answers ``/metrics`` on the
server's own host and port (``ML_API_HOST``, ``ML_API_PORT``: the port Prometheus is told to
scrape), with when it started and whether it waits for another's migration
(``MlApiMigrationSlow`` in docker/prometheus/alerts.yml reads them); every other path is a 503,
so that no health check or proxy takes the pod for a server. Its own registry: the server's
metrics (api/metrics.py) are not the command's to export.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class _MigrationStatus(Collector):
    """When the command started serving its status, and whether it waits for another
    replica's migration: plain values, collected when scraped.

    Not prometheus_client's ``Gauge``: in its multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
    which the server sets before it imports this module, through ``api.store.database``) a
    gauge writes its value into the folder every worker's metrics are read from, whatever
    registry it is in. Every worker of a healthy server so exported a start at 0, and
    ``MlApiMigrationSlow`` (critical) fired at its first evaluation."""

    def __init__(self) -> None:
        self.started = math.nan  # set by ``serve``
        self.waiting = False

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "ml_api_migration_start_time_seconds",
            "When make migrate started (Unix time): exported only while it runs, before the "
            "server starts.",
            value=self.started,
        )
        yield GaugeMetricFamily(
            "ml_api_migration_waiting",
            "1 while make migrate waits for another replica's migration of the same database to "
            "end, 0 while it checks or migrates the database itself.",
            value=float(self.waiting),
        )


STATUS = _MigrationStatus()
REGISTRY = CollectorRegistry()
REGISTRY.register(STATUS)


def note_waiting(waiting: bool) -> None:
    """Say whether the migration waits for another replica's (``ml_api_migration_waiting``)."""
    STATUS.waiting = waiting


_StartResponse = Callable[..., Any]


class _Server(ThreadingMixIn, WSGIServer):
    """A thread a request, never waited for (as prometheus_client's own server): a client that
    connects and sends nothing (a browser's preconnect, a port scan) held the one serving
    thread, and ``shutdown`` at the command's end waited for it for ever, so the migration
    done, the command never exited and the server never started."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape: the command's output is its result."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _app(environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/metrics":
        served: Iterable[bytes] = make_wsgi_app(REGISTRY)(environ, start_response)
        return served
    start_response(
        "503 Service Unavailable",
        [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "5")],
    )
    return [b"migrating the prediction store: the server is not started yet\n"]


def serve(host: str, port: int) -> WSGIServer:
    """Start answering ``/metrics`` on ``host:port`` in a daemon thread, from now. ``host`` as
    gunicorn takes it (``ML_API_HOST``): an IPv6 address in brackets (``[::]``), or bare.

    Raises
    ------
    OSError
        If the address cannot be bound (a server already on the port).
    """
    STATUS.started = time.time()
    note_waiting(False)
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    # The family of the address (an IPv6 one's bind failed: WSGIServer is IPv4 alone).
    family = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)

    class _OfFamily(_Server):
        address_family = family[0][0]

    server = make_server(bare, port, _app, server_class=_OfFamily, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="migration-status", daemon=True).start()
    return server
