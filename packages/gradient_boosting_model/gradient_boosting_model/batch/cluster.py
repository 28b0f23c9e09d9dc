"""The Dask cluster a job runs on: a local one sized to the machine, or one at an address.

Workers run one thread each (the model's code holds the GIL most of the time) with
``OMP_NUM_THREADS=1``, which Dask's nanny sets in every worker by default. Each worker loads the
model before the job starts, and prices a house with it (``scoring.warm_up``), so that what is
made on first use (the compiled plan's gather order, Arrow's readers) is made before the first
chunk, not in it; this also checks that it has this package at this version.

A local cluster's workers start without the ``MALLOC_TRIM_THRESHOLD_`` that Dask's nanny sets by
default (``distributed.nanny.pre-spawn-environ``), to hand freed memory back to the system sooner:
setting it fixes glibc's mmap threshold at 128 KiB, so that every array of a chunk above that
(most of them) is mapped, faulted in page by page and unmapped again. With it a house took 1.5
times the CPU (6.6 times the page faults, ``MALLOC_TRIM_THRESHOLD_=65536`` against none, in one
process). A worker's memory is bounded by its chunks in flight either way. Workers started
elsewhere (``--scheduler``) keep their own environment: a ``MALLOC_TRIM_THRESHOLD_: null`` under
that setting in their Dask configuration does the same there.

A local cluster also watches itself less often (``LOCAL_SETTINGS``): Dask's statistical profiler
(for the dashboard, which no one watches here), its event-loop ticks and its system and memory
monitors cost an idle cluster of 2 workers 1.2 CPU seconds in 10 (0.2 with these settings) on a
machine of 2 cores, which a job shares with them.

And its workers are forked by one server process (Dask's ``forkserver`` method) that imports
Dask and the model's code first (``FORKSERVER_PRELOAD``), once for all of them: each spawned
worker imported them itself (scikit-learn, scipy and pandas most of it, 1.5 to 3 CPU seconds a
worker), which was most of the command's start. The server starts first, before this process
imports Dask, so that both import at once (``start_worker_server``). A worker still loads the
model and warms it up in ``prepare_workers``, and checks its version; loading it imports neither
scikit-learn nor scipy (the artifact's pricing forms, ``trained_model.Pricing``). The server is
single-threaded but for pyarrow's jemalloc background thread, which jemalloc restores in a forked
child (Dask's own forkserver preload, pandas, imports pyarrow too).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gradient_boosting_model import __version__
from gradient_boosting_model.batch.errors import ClusterError
from gradient_boosting_model.batch.signals import handlers, in_main_thread

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

#: How long to wait for a scheduler, and for its first worker, before giving up.
CONNECT_TIMEOUT = 5.0
#: Dask's settings for a local cluster (see the module), read as its scheduler, nannies and
#: workers are made. ``None`` unsets the variable Dask's nanny would set in its workers.
LOCAL_SETTINGS = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # Dask's own values, declared here too: the process that forks the workers starts with
    # them, before this process has imported Dask (``start_worker_server``).
    "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1,
    "distributed.nanny.pre-spawn-environ.MKL_NUM_THREADS": 1,
    "distributed.nanny.pre-spawn-environ.OPENBLAS_NUM_THREADS": 1,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",  # 20 ms
    "distributed.admin.system-monitor.interval": "5s",  # 500 ms
    "distributed.worker.memory.monitor-interval": "1s",  # 100 ms
    "distributed.worker.multiprocessing-method": "forkserver",
}
#: What the process that forks a local cluster's workers imports first, once for all of them.
FORKSERVER_PRELOAD = ("distributed", "gradient_boosting_model.batch.scoring")


def machine_workers() -> int:
    """One worker a core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_model() -> str:
    """Run on each worker: load the packaged model and price a house with it now, so that the
    first chunk does not wait for either; returns the package's version."""
    from gradient_boosting_model.batch.scoring import warm_up

    warm_up()
    # What is loaded now (the model, Dask, the libraries) lives as long as the worker: out of
    # the collector's sight, so that the ten thousand lists of a chunk's warnings no longer set
    # off full collections that walk all of it.
    gc.freeze()
    return __version__


def prepare_workers(client: Client) -> None:
    """Load the model on every worker; refuse workers with another version of this package."""
    try:
        versions = client.run(load_model)
    except Exception as error:  # raised on a worker: any type
        raise ClusterError(
            f"the workers cannot load the model ({type(error).__name__}: {error}); install "
            f"gradient-boosting-model[batch]=={__version__} on every worker"
        ) from error
    others = {worker: version for worker, version in versions.items() if version != __version__}
    if others:
        raise ClusterError(
            f"workers with another model version than this client's {__version__}: {others}"
        )


#: Where ``LOCAL_SETTINGS`` name the environment Dask's nanny gives a worker.
_WORKER_ENVIRONMENT = "distributed.nanny.pre-spawn-environ."


def start_worker_server() -> None:
    """Start the process that forks the workers (see the module) now, before this process
    imports Dask, so that its imports (``FORKSERVER_PRELOAD``, 0.8 s) run beside this process's
    (Dask, 0.4 s) and the scheduler's start: the cluster is up 0.6 s sooner.

    It starts in the environment Dask's nanny gives a worker (``LOCAL_SETTINGS``): numpy reads
    its thread counts when the server imports it, and the nanny sets them only just before a
    worker's spawn, so a server started earlier would give each worker's numpy two threads (on
    2 cores, half the throughput). This process's environment is put back at once. Does
    nothing when the server is running already.
    """
    from multiprocessing import forkserver  # the server Dask's forkserver context uses

    # As the nanny does, a variable already set keeps its value, and None sets nothing.
    added = {
        name: str(value)
        for key, value in LOCAL_SETTINGS.items()
        if key.startswith(_WORKER_ENVIRONMENT)
        and value is not None
        and (name := key.removeprefix(_WORKER_ENVIRONMENT)) not in os.environ
    }
    os.environ.update(added)
    try:
        # Dask sets its own preload when it first asks for this context: after the server has
        # started, which keeps this one.
        forkserver.set_forkserver_preload(list(FORKSERVER_PRELOAD))
        with _interrupts_ignored_by_children():
            forkserver.ensure_running()
    finally:
        for name in added:
            del os.environ[name]


@contextmanager
def _interrupts_ignored_by_children() -> Iterator[None]:
    """SIGINT ignored by the processes started meanwhile, and by theirs: a terminal's Ctrl-C
    goes to its foreground job's whole process group, workers too, and each printed its own
    ``KeyboardInterrupt`` traceback besides the command's one line. The command stops its
    workers itself (closing the cluster). Python starts with a signal ignored when it was so at
    its start; the fork server forks each worker with the handlers it started with.

    This process ignores SIGINT meanwhile too (a few milliseconds, in the main thread only,
    where a handler can be set)."""
    with handlers({signal.SIGINT: signal.SIG_IGN}):
        yield


@contextmanager
def local_cluster(workers: int) -> Iterator[Client]:
    """A cluster of ``workers`` processes on 127.0.0.1, closed on exit; an interrupt is held
    while it starts and while it closes (``_interrupts_held``)."""
    from distributed import Client

    with _interrupts_held():
        cluster = _start_local_cluster(workers)
        try:
            client = Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
    try:
        yield client
    finally:
        with _interrupts_held():
            try:
                client.close()
            finally:
                cluster.close()


def _start_local_cluster(workers: int) -> LocalCluster:
    start_worker_server()
    import dask
    from distributed import LocalCluster

    try:
        with dask.config.set(LOCAL_SETTINGS):
            return LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # Each process also serves HTTP (health, metrics): on loopback, on a free port.
                # With no address, the scheduler would take 8787 on every interface.
                dashboard_address="127.0.0.1:0",
                worker_dashboard_address="127.0.0.1:0",
                # The workers' own logs, errors too: a worker's failure reaches the job as its
                # chunk's, said in one line; a heartbeat's traceback as the cluster closed
                # after a Ctrl-C was one more (a CLI probe's).
                silence_logs=logging.CRITICAL,
            )
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"could not start a local cluster: {error}") from error


#: The signals that stop the command (``cli``), held while a local cluster starts.
_HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """SIGINT and SIGTERM held while a local cluster starts or closes (a second or so), and
    delivered after: one that stopped it half made (or half closed) left it to Dask's exit
    hook, which failed on it ("Exception ignored in atexit callback close_clusters ...
    AssertionError: Status.init"); made, it is closed as the command stops. A second signal is
    delivered at once (a start that hangs). In the main thread only, where a handler can be
    set."""
    if not in_main_thread():
        yield
        return
    held: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in _HELD_SIGNALS}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        previous.clear()

    def hold(signum: int, frame: object) -> None:
        if held:  # the second: now, by the command's own handler
            restore()
            held.clear()
            signal.raise_signal(signum)
        else:
            held.append(signum)

    for sig in _HELD_SIGNALS:
        signal.signal(sig, hold)
    try:
        yield
    finally:
        restore()
        if held:
            signal.raise_signal(held[0])


@contextmanager
def remote_cluster(address: str, *, timeout: float = CONNECT_TIMEOUT) -> Iterator[Client]:
    """A client of the scheduler at ``address``; fails within ``timeout`` seconds when it cannot
    be reached or has no worker."""
    from distributed import Client

    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(
            f"cannot reach a Dask scheduler at {address} within {timeout:g} s ({error})"
        ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ClusterError(f"the Dask scheduler at {address} has no worker") from None
        yield client
    finally:
        client.close()
