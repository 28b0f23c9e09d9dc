"""gunicorn settings for the service, from ``ML_API_*`` environment variables (api.config)."""

import gc
import os
from typing import Any

from api.config import ServerSettings
from api.logs import GUNICORN_LOGCONFIG
from api.memory import limit_malloc_arenas
from api.metrics_folder import claim_metrics_folder

_server = ServerSettings()
# Before the app is loaded and any thread starts; the workers are forks of this process.
limit_malloc_arenas(_server.malloc_arenas)

wsgi_app = "api.asgi:app"
# The master loads the model and builds the app once; each worker is a fork of it. A worker that
# replaces one (recycled after max_requests, or killed) then serves within milliseconds rather
# than after the seconds a fresh load takes (2 to 7 s here under load), so capacity is back at
# once, and two workers recycling at the same moment leave no gap. The model's arrays are shared
# between the processes until written, which they never are.
preload_app = True
# uvicorn-worker's UvicornWorker, draining briefly on SIGTERM (api/worker.py).
worker_class = "api.worker.DrainingUvicornWorker"
bind = f"{_server.host}:{_server.port}"
workers = _server.workers
timeout = _server.timeout
graceful_timeout = _server.shutdown_seconds  # the drain, then ML_API_GRACEFUL_TIMEOUT
keepalive = _server.keepalive
max_requests = _server.max_requests
max_requests_jitter = _server.max_requests_jitter
# One JSON line per request comes from the app (api/request_metrics.py): no access log here.
accesslog = None
errorlog = "-"
logconfig_dict = GUNICORN_LOGCONFIG
# gunicorn 27 opens a control socket under $HOME by default: not wanted in a container.
control_socket_disable = True

# Prometheus metrics from every worker, in one folder per server (api/metrics_folder.py). Here,
# not in an on_starting hook: with preload_app the master writes its own metrics (the model's
# info, the start-up time) while loading the app, before on_starting runs. Once a process: a
# reload (SIGHUP) reads this file again, and must not empty the folder.
_metrics_folder = claim_metrics_folder()


def on_exit(server: Any) -> None:
    _metrics_folder.remove()


def pre_fork(server: Any, worker: Any) -> None:
    """Every object the master made (the app and the model: 130,000 that the garbage collector
    tracks) taken out of the collector's reach before a worker is forked from it, as Python's
    documentation advises for forks without exec. A worker's full collections otherwise walked
    them all, and wrote to pages the workers share: every few 1459-house requests, 4.2 ms a
    request on average by ``gc.callbacks`` (0.04 ms frozen). Over HTTP the median and the mean
    did not move measurably (69-75 ms either way, in turns); the slowest of 40 requests did:
    77-113 ms frozen, 132-164 ms not."""
    gc.freeze()


def when_ready(server: Any) -> None:
    """The master loaded the app (``preload_app``), and with it made a value of each live gauge
    without labels: 0, in a file of its own pid. It never serves, and it outlives every worker:
    its live gauges go as a dead worker's do, else the smallest ``ml_api_database_up`` of the
    live processes was the master's 0 for ever (and the alert on it never stopped firing)."""
    _forget_live_gauges(os.getpid())


def child_exit(server: Any, worker: Any) -> None:
    """A worker gone (killed, recycled): its live gauges no longer count."""
    _forget_live_gauges(worker.pid)


def _forget_live_gauges(pid: int) -> None:
    # Imported here, not above: prometheus-client picks its value store when first imported,
    # and must see PROMETHEUS_MULTIPROC_DIR (set above) when the workers import it.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
