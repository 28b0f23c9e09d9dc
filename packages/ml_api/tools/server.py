"""Start the real service (gunicorn, as ``make run`` does) on a free loopback port, for tests.

Only ever binds 127.0.0.1. The context manager stops the server, and everything it started,
on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def workers(self) -> list[int]:
        """Pids of the master's live worker processes."""
        return worker_pids(self.process.pid)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def worker_cpu(self) -> dict[int, float]:
        """Each live worker's CPU seconds so far, by pid (``processes_cpu``)."""
        return processes_cpu(self.workers())


def processes_cpu(pids: Iterable[int]) -> dict[int, float]:
    """Each process's CPU seconds so far, by pid (``cpu_seconds``); one that exits meanwhile (a
    worker recycled) is left out."""
    readings = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            readings[pid] = cpu_seconds(pid)
    return readings


def cpu_seconds(pid: int) -> float:
    """The CPU seconds process ``pid`` has used, to the nanosecond: its live threads' time on a
    CPU (``/proc/<pid>/task/*/schedstat``). /proc's utime and stime count ticks of 10 ms, too
    coarse for what one request costs a worker: the attack suite's blank 10 MiB body read as
    3 ticks, so a body costing 3 times as much passed or failed its bound by a tick. A thread
    that has ended no longer counts.

    Raises
    ------
    OSError
        If the process is gone.
    """
    nanoseconds = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError, ValueError):  # a thread that ended meanwhile
            schedstat = Path(f"/proc/{pid}/task/{task}/schedstat").read_text()
            nanoseconds += int(schedstat.split(maxsplit=1)[0])
    return nanoseconds / 1e9


def cpu_used(before: Mapping[int, float], after: Mapping[int, float]) -> dict[int, float]:
    """Each worker's CPU seconds between two ``Server.worker_cpu`` readings (all of a worker's
    own for one that started in between, replacing a recycled one)."""
    return {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}


def spread(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """How evenly the workers worked between two ``Server.worker_cpu`` readings: the least
    busy one's CPU seconds over the busiest one's (1: even; 0: one worker did all the work)."""
    used = cpu_used(before, after).values()
    busiest = max(used, default=0.0)
    return min(used) / busiest if busiest > 0 else 1.0


def worker_pids(master_pid: int) -> list[int]:
    """Pids of a gunicorn master's live workers: its children that are not zombies."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        pids = [int(pid) for pid in children.read_text().split()]
    except OSError:
        return []
    return [pid for pid in pids if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def start(
    log: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    *,
    root: Path = ROOT,
    gunicorn_args: Sequence[str] = (),
) -> Server:
    """Start gunicorn with the service's own config, from the package folder ``root`` (this
    tree, or a worktree of an older commit); return at once (see ``wait_ready``).
    ``gunicorn_args`` come after the config, and override it (another app: tools/floor.py)."""
    port = free_port()
    environment = {
        **os.environ,
        "ML_API_HOST": "127.0.0.1",
        "ML_API_PORT": str(port),
        "ML_API_WORKERS": str(workers),
        **(env or {}),
    }
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", *gunicorn_args],
        cwd=root,
        env=environment,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    return Server(process=process, url=f"http://127.0.0.1:{port}", log=log)


#: What uvicorn logs once a worker's app has started (its lifespan's startup): it serves.
WORKER_STARTED = "Application startup complete"


def wait_ready(server: Server, *, timeout: float = 60.0, workers: int = 2) -> None:
    """Wait until /ready answers and ``workers`` workers have started their app, or fail with
    the server's log. A worker process counted while it still started was stopped there by a
    test's signal, before it had anything to stop (it then logged no shutdown of its app)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited ({server.process.returncode}):\n{server.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if (
                httpx.get(f"{server.url}/ready", timeout=2).status_code == 200
                and len(server.workers()) >= workers
                and server.output().count(WORKER_STARTED) >= workers
            ):
                return
        time.sleep(0.1)
    raise TimeoutError(f"server not ready after {timeout} s:\n{server.output()}")


def stop(server: Server, *, timeout: float = 30.0) -> int:
    """SIGTERM the server, then SIGKILL its process group if it lingers; its exit code."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)  # any orphaned worker
    return server.process.returncode


@contextlib.contextmanager
def running(
    log: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    *,
    root: Path = ROOT,
    timeout: float = 60.0,
    gunicorn_args: Sequence[str] = (),
) -> Iterator[Server]:
    """A ready server for the ``with`` block (``start``, ``wait_ready``), stopped after it."""
    server = start(log, env, workers, root=root, gunicorn_args=gunicorn_args)
    try:
        wait_ready(server, timeout=timeout, workers=workers)
        yield server
    finally:
        stop(server)


def metric_samples(url: str) -> list[Sample]:
    """Every sample a server's ``/metrics`` gives (on a fresh connection)."""
    text = httpx.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=10).text
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]
