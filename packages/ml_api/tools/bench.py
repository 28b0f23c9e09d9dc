"""Benchmark: the model in-process, then the real server over HTTP, in one run, as one table.

    python -m tools.bench        (make bench)

Starts gunicorn with production settings and 2 workers on 127.0.0.1, then measures: in-process
``make_prediction`` on 1 and 1459 rows; sequential single-row requests (p50/p95/p99); wrk at 16
connections for 10 s (throughput, p99, errors); the 1459-row batch over HTTP, without and with
``explain=true``; each worker's resident memory. Every HTTP figure is also given as a ratio to
its in-process floor. Figures are medians of repeats within this run; compare ratios, not
absolute times across machines. The run ends with one line per target, ``ok`` or ``MISSED``;
only a failed request under load exits 1: timings, throughput and memory vary with the machine's
load, so their misses are reported and do not fail it.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.predict import make_prediction

from tools import server as real_server
from tools.loadtest import run_wrk

SEQUENTIAL_REQUESTS = 1000
BATCH_REPEATS = 20


@dataclass(frozen=True)
class Target:
    """One figure against its bound; a miss fails the run only for a target that ``gates``."""

    name: str
    figure: float
    bound: Literal["<=", ">="]
    limit: float
    unit: str = ""
    gates: bool = False

    @property
    def met(self) -> bool:
        return self.figure <= self.limit if self.bound == "<=" else self.figure >= self.limit

    def line(self) -> str:
        verdict = "ok" if self.met else "MISSED"
        figure = f"{self.figure:.4g}{self.unit}"
        gate = "   (fails the run)" if self.gates else ""
        return (
            f"  {verdict:<8}{self.name:<40}{figure:>12}   target {self.bound} "
            f"{self.limit:g}{self.unit}{gate}"
        )


def _timings(action: Callable[[], Any], repeats: int) -> list[float]:
    action()  # warm up
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    rows = read_dataset("test.csv")
    one, batch = rows[:1], rows
    in_one = statistics.median(_timings(lambda: make_prediction(one), 2000))
    in_batch = statistics.median(_timings(lambda: make_prediction(batch), 30))
    in_explained = statistics.median(_timings(lambda: make_prediction(batch, explain=True), 20))

    with (
        tempfile.TemporaryDirectory() as scratch,
        real_server.running(
            Path(scratch) / "server.log", {"ML_API_ENVIRONMENT": "production"}, workers=2
        ) as server,
    ):
        url = f"{server.url}/v1/predictions"
        one_body = json.dumps(one).encode()
        batch_body = json.dumps(batch).encode()
        headers = {"Content-Type": "application/json"}
        with httpx.Client(timeout=30) as client:

            def post(body: bytes, target: str = url) -> None:
                response = client.post(target, content=body, headers=headers)
                response.raise_for_status()

            sequential = _timings(lambda: post(one_body), SEQUENTIAL_REQUESTS)
            http_batch = statistics.median(_timings(lambda: post(batch_body), BATCH_REPEATS))
            http_explained = statistics.median(
                _timings(lambda: post(batch_body, f"{url}?explain=true"), BATCH_REPEATS)
            )
        load = run_wrk(url, one_body, seconds=10, connections=16)
        memory = [_rss_mb(pid) for pid in server.workers()]

    p50, p95, p99 = (_percentile(sequential, share) for share in (0.50, 0.95, 0.99))
    table = [
        ("in-process make_prediction, 1 row", f"{in_one:.3f} ms", "1.0x"),
        ("in-process make_prediction, 1459 rows", f"{in_batch:.1f} ms", "1.0x"),
        ("HTTP 1 row, sequential p50", f"{p50:.2f} ms", f"{p50 / in_one:.1f}x"),
        ("HTTP 1 row, sequential p95", f"{p95:.2f} ms", f"{p95 / in_one:.1f}x"),
        ("HTTP 1 row, sequential p99", f"{p99:.2f} ms", f"{p99 / in_one:.1f}x"),
        ("HTTP 1 row, 16 connections, 10 s", f"{load['rps']:.0f} req/s", ""),
        ("  p99 at 16 connections", f"{load['p99_us'] / 1000:.2f} ms", ""),
        ("  errors at 16 connections", f"{load['errors']} of {load['requests']}", ""),
        ("HTTP 1459 rows, one request", f"{http_batch:.1f} ms", f"{http_batch / in_batch:.1f}x"),
        (
            "HTTP 1459 rows, explain=true",
            f"{http_explained:.1f} ms",
            f"{http_explained / in_explained:.1f}x",
        ),
        ("resident memory per worker", " / ".join(f"{mb:.0f} MB" for mb in memory), ""),
    ]
    width = max(len(name) for name, _, _ in table)
    print(f"\n{'figure':<{width}}  {'value':>18}  {'vs in-process':>13}")
    for name, value, ratio in table:
        print(f"{name:<{width}}  {value:>18}  {ratio:>13}")
    targets = [
        Target("HTTP 1 row, sequential p50", p50, "<=", 3, " ms"),
        Target("HTTP 1 row, 16 connections", load["rps"], ">=", 1000, " req/s"),
        Target("failed requests at 16 connections", load["errors"], "<=", 0, gates=True),
        Target("HTTP 1459 rows, one request", http_batch, "<=", 45, " ms"),
        Target("resident memory, largest worker", max(memory), "<=", 200, " MB"),
    ]
    return report("service", targets)


def report(name: str, targets: list[Target]) -> int:
    """Print one line per target, ok or MISSED; the exit code: 1 if a gating target missed."""
    met = sum(target.met for target in targets)
    print(f"\n{name} targets: {met} of {len(targets)} met")
    for target in targets:
        print(target.line())
    return 1 if any(target.gates and not target.met for target in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
