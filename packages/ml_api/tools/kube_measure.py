"""Measure what the Deployment's probes and resources are set from, with podman kube play.

    python -m tools.kube_measure startup --runs 5   # seconds from a container's start to /ready
    python -m tools.kube_measure memory --runs 5    # memory under the 1459-house request

Each run plays the local overlay's Deployment at 1 replica, published on 127.0.0.1 only
(tools/kube.py), so with its CPU and memory limits; everything is taken down after it.
deploy/kubernetes/base/deployment.yaml states the figures and what was derived from them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from gradient_boosting_model.data import read_dataset

from tools.kube import CONTAINERS_CONF, http_ok, inspect_field, played, podman_made, wait


def _started_at(container: str) -> float:
    return int(inspect_field(container, "{{.State.StartedAt.UnixNano}}")) / 1e9


def measure_startup(runs: int) -> list[float]:
    """Seconds from each run's container start (podman's StartedAt) to its first /ready 200."""
    figures = []
    with tempfile.TemporaryDirectory(prefix="kube_startup_") as name, podman_made():
        for _ in range(runs):
            with played(Path(name), replicas=1, publish=True) as pod:
                assert pod.url is not None
                wait(lambda: http_ok(f"{pod.url}/ready"), 120, "ready")
                # the answer came within the last poll: 0.1 s of resolution
                figures.append(time.time() - _started_at(pod.containers[0]))
                print(f"container start to /ready: {figures[-1]:.2f} s", flush=True)
    print(
        f"{runs} runs: min {min(figures):.2f} s, median {statistics.median(figures):.2f} s, "
        f"max {max(figures):.2f} s"
    )
    return figures


def measure_memory(repeats: int) -> None:
    """The container's memory (cgroup) and each process's resident size: idle, after
    1459-house requests one at a time (without, then with explain=true), then after as many
    large requests at once as the app's in-flight limits take."""
    rows = read_dataset("test.csv")
    probe = (
        "import os, pathlib\n"
        "g = pathlib.Path('/sys/fs/cgroup')\n"
        "v1 = g / 'memory' / 'memory.usage_in_bytes'\n"
        "peak = g / 'memory' / 'memory.max_usage_in_bytes'\n"
        "now = v1 if v1.exists() else g / 'memory.current'\n"
        "peak = peak if v1.exists() else g / 'memory.peak'\n"
        "stat = dict(l.split() for l in ((g / 'memory' / 'memory.stat') if v1.exists() "
        "else g / 'memory.stat').read_text().splitlines())\n"
        "rss = {p: [l for l in open(f'/proc/{p}/status') if l.startswith('VmRSS')][0].split()[1]"
        " for p in os.listdir('/proc') if p.isdigit() and p != str(os.getpid())}\n"
        "print(now.read_text().strip(), peak.read_text().strip(),"
        " stat.get('total_rss', stat.get('anon')), rss)"
    )
    with (
        tempfile.TemporaryDirectory(prefix="kube_memory_") as name,
        podman_made(),
        played(Path(name), replicas=1, publish=True) as pod,
    ):
        assert pod.url is not None
        wait(lambda: http_ok(f"{pod.url}/ready"), 120, "ready")

        def report(when: str) -> None:
            out = pod.exec(pod.containers[0], probe)
            usage, peak, anon, rss = out.split(" ", 3)
            print(
                f"{when}: cgroup usage {int(usage) / 2**20:.0f} MiB, peak {int(peak) / 2**20:.0f}"
                f" MiB, anonymous {int(anon) / 2**20:.0f} MiB; RSS by pid (KiB) {rss}"
            )

        def post(body: bytes, explain: bool) -> int:
            url = f"{pod.url}/v1/predictions?explain={str(explain).lower()}"
            headers = {"Content-Type": "application/json"}
            return httpx.post(url, content=body, headers=headers, timeout=120).status_code

        batch = json.dumps(rows).encode()
        report("idle")
        for explain in (False, True):
            for _ in range(repeats):
                assert post(batch, explain) == 200
            report(f"after {repeats} x {len(rows)} houses one at a time, explain={explain}")
        # The most the app's in-flight limits let in at once: bodies up to
        # ML_API_MAX_INFLIGHT_BODY_BYTES per worker, explained houses up to
        # ML_API_MAX_INFLIGHT_EXPLAINED_ROWS per worker; more is refused with 503.
        largest = json.dumps((rows * 4)[:5000]).encode()
        for body, explain, count in ((largest, False, 8), (batch, True, 6)):
            with ThreadPoolExecutor(count) as pool:
                statuses = list(pool.map(post, [body] * count, [explain] * count))
            report(
                f"after {count} at once of {len(body) / 1e6:.1f} MB, explain={explain} "
                f"(statuses {sorted(statuses)})"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["startup", "memory"])
    parser.add_argument("--runs", type=int, default=5, help="starts, or requests of each kind")
    arguments = parser.parse_args()
    os.environ.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    if arguments.command == "startup":
        measure_startup(arguments.runs)
    else:
        measure_memory(arguments.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
