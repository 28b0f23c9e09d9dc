"""What an attack is aimed at: a URL on 127.0.0.1 plus the gunicorn master's process.

The app alone runs from a package folder (this tree, or a worktree of an older commit for the
'before' figures), started as ``make run`` starts it. Under compose the master is the api
container's first process; rootful podman runs it as a host process, so its workers are found,
measured and killed through the host's /proc exactly as for a local server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tools import server as real_server
from tools.attacks.net import Endpoint
from tools.container import app_metrics, engine

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Target:
    """A server under attack: where it answers and which process is its gunicorn master; behind
    the proxy, the api container too, in which the app's /metrics is read (the proxy answers
    404 for it)."""

    url: str
    master_pid: int
    app_container: str | None = None

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint.from_url(self.url)

    def workers(self) -> list[int]:
        """Live worker pids: the master's children that are not zombies."""
        return real_server.worker_pids(self.master_pid)

    def kill_worker(self, pid: int) -> None:
        if pid not in self.workers():
            raise ValueError(f"{pid} is not a worker of {self.master_pid}")
        os.kill(pid, signal.SIGKILL)

    def rss_mib(self) -> dict[int, float]:
        """Each live worker's resident memory (VmRSS), in MiB."""
        sizes = {pid: rss_mib(pid) for pid in self.workers()}
        return {pid: size for pid, size in sizes.items() if size is not None}

    def cpu_seconds(self) -> float:
        """CPU time the live workers have used so far, in seconds (``server.cpu_seconds``)."""
        return sum(real_server.processes_cpu(self.workers()).values())

    def metrics_text(self) -> str:
        """The service's own /metrics (in its container if it has one). Raises if there is none
        to read (httpx.HTTPStatusError)."""
        if self.app_container:
            return app_metrics(engine(), self.app_container)
        response = httpx.get(f"{self.url}/metrics", timeout=10)
        return response.raise_for_status().text

    def statuses_served(self) -> Counter[str]:
        """Requests answered so far by status, from the service's own /metrics."""
        counts: Counter[str] = Counter()
        for line in self.metrics_text().splitlines():
            if line.startswith("ml_api_http_requests_total{"):
                labels, value = line.rsplit(" ", 1)
                status = labels.split('status="', 1)[1].split('"', 1)[0]
                counts[status] += int(float(value))
        return counts


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def container_master_pid(container: str) -> int:
    """The host pid of a container's first process (gunicorn's master in the api container)."""
    pid = subprocess.run(
        [engine(), "inspect", "--format", "{{.State.Pid}}", container],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return int(pid)


@contextlib.contextmanager
def local_app(
    root: Path, log: Path, env: Mapping[str, str] | None = None, workers: int = 2
) -> Iterator[Target]:
    """The app alone, started from ``root`` as ``make run`` does (``tools.server.running``), with
    production settings, on a free loopback port."""
    environment = {"PYTHONPATH": str(root), "ML_API_ENVIRONMENT": "production", **(env or {})}
    with real_server.running(log, environment, workers, root=root, timeout=120) as server:
        yield Target(url=server.url, master_pid=server.process.pid)


@dataclass
class RssPeaks:
    """Worker memory seen while sampling: the highest of each worker and of their sum (MiB)."""

    start_sum: float = 0.0
    per_worker: dict[int, float] = field(default_factory=dict)
    sum_max: float = 0.0

    @property
    def worker_max(self) -> float:
        return max(self.per_worker.values(), default=0.0)

    @property
    def growth(self) -> float:
        return self.sum_max - self.start_sum

    def summary(self) -> str:
        return (
            f"worker RSS peak {self.worker_max:.0f} MiB, sum peak {self.sum_max:.0f} MiB "
            f"(+{self.growth:.0f} MiB)"
        )


async def sample_rss(target: Target, stop: asyncio.Event, *, every_s: float = 0.05) -> RssPeaks:
    """Sample the workers' VmRSS every ``every_s`` until ``stop``."""
    peaks = RssPeaks(start_sum=sum(target.rss_mib().values()))
    while not stop.is_set():
        sizes = target.rss_mib()
        for pid, size in sizes.items():
            peaks.per_worker[pid] = max(size, peaks.per_worker.get(pid, 0.0))
        peaks.sum_max = max(peaks.sum_max, sum(sizes.values()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
    return peaks
