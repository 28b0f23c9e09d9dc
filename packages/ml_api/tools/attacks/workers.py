"""Workers lost under keep-alive load: one SIGKILLed, and all of them recycled by max_requests.

wrk keeps 8 connections busy (tools/loadtest.py's runner). Which worker serves a connection is
read from /proc: a worker's socket inodes matched to ESTABLISHED entries of its net/tcp, which
works as well for a container's host-visible processes as for a local server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from tools.attacks.budget import Budget
from tools.attacks.expectations import Expectations
from tools.attacks.net import close, connect, read_reply, request_bytes
from tools.attacks.probe import one_house_body
from tools.attacks.report import Outcome
from tools.attacks.target import Target
from tools.loadtest import run_wrk


def established_connections(pid: int) -> int:
    """TCP connections in state ESTABLISHED that process ``pid`` holds."""
    try:
        inodes = {
            link[len("socket:[") : -1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if (link := _readlink(f"/proc/{pid}/fd/{fd}")).startswith("socket:[")
        }
        lines = [
            line
            for table in ("tcp", "tcp6")
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        ]
    except OSError:
        return 0
    return sum(1 for line in lines if (cols := line.split())[3] == "01" and cols[9] in inodes)


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


async def _keep_visiting(target: Target, stop: asyncio.Event) -> None:
    """New keep-alive connections, 10 a second, each priced once then held for a second, so
    that a freshly started worker gets some to accept (wrk's stay on the old one)."""
    raw = request_bytes("POST", "/v1/predictions", body=one_house_body(), close=False)

    async def visit() -> None:
        with contextlib.suppress(Exception):
            reader, writer = await connect(target.endpoint)
            try:
                writer.write(raw)
                await read_reply(reader, time.perf_counter())
                await asyncio.sleep(1)
            finally:
                close(writer)

    visits: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        task = asyncio.create_task(visit())
        visits.add(task)
        task.add_done_callback(visits.discard)
        await asyncio.sleep(0.1)
    await asyncio.gather(*visits)


def _wrk_load(target: Target, seconds: int, connections: int) -> dict[str, Any]:
    return run_wrk(
        f"{target.url}/v1/predictions", one_house_body(), seconds=seconds, connections=connections
    )


def _wrk_summary(report: dict[str, Any]) -> str:
    return (
        f"{report['requests']} requests, {report['rps']:.0f}/s, failed {report['errors']} "
        f"(connect {report['connect']}, read {report['read']}, write {report['write']}, "
        f"status {report['status']}, timeout {report['timeout']}), "
        f"p50 {report['p50_us'] / 1000:.1f} ms, max {report['max_us'] / 1000:.0f} ms"
    )


async def worker_kill(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """SIGKILL one worker halfway through a keep-alive load; how long until both serve."""
    load = asyncio.create_task(
        asyncio.to_thread(_wrk_load, target, budget.kill_load_s, budget.load_connections)
    )
    await asyncio.sleep(budget.kill_load_s / 2)
    survivors_before = target.workers()
    victim = survivors_before[0]
    in_flight = established_connections(victim)
    target.kill_worker(victim)
    killed_at = time.perf_counter()
    stop = asyncio.Event()
    visitor = asyncio.create_task(_keep_visiting(target, stop))
    spawned_s = serving_s = None
    deadline = killed_at + budget.kill_load_s / 2 + 10
    while time.perf_counter() < deadline and serving_s is None:
        newcomers = [pid for pid in target.workers() if pid not in survivors_before]
        if newcomers and spawned_s is None:
            spawned_s = time.perf_counter() - killed_at
        if newcomers and established_connections(newcomers[0]) > 0:
            serving_s = time.perf_counter() - killed_at
        await asyncio.sleep(0.05)
    stop.set()
    await visitor
    report = await load
    outcome = Outcome(
        "worker SIGKILL",
        f"{budget.load_connections} keep-alive connections for {budget.kill_load_s} s, one "
        f"worker ({in_flight} connections) killed halfway: {_wrk_summary(report)}; replacement "
        f"started after {_seconds(spawned_s)}, serving after {_seconds(serving_s)}",
    )
    outcome.check(
        "failed requests at most the killed worker's connections",
        report["errors"] <= in_flight,
        f"{report['errors']} failed, {in_flight} connections",
    )
    outcome.check(
        f"both workers serve within {expect.recovery_within_s:.0f} s",
        serving_s is not None and serving_s <= expect.recovery_within_s,
        _seconds(serving_s),
    )
    return outcome


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


async def recycling(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """Keep-alive load on a server that replaces its workers every few hundred requests
    (``budget.recycle_max_requests``): the workers started during the load are counted (the
    master's children, read every 50 ms; a worker lives a second or more), and each of the
    first ones must be gone by the end."""
    first = set(target.workers())
    seen = set(first)
    load = asyncio.create_task(
        asyncio.to_thread(_wrk_load, target, budget.recycle_s, budget.load_connections)
    )
    while not load.done():
        seen.update(target.workers())
        await asyncio.sleep(0.05)
    report = load.result()
    recycled = len(seen - first)
    first_left = first & set(target.workers())
    per_request = report["requests"] / recycled if recycled else float("inf")
    outcome = Outcome(
        "recycling",
        f"{budget.load_connections} keep-alive connections for {budget.recycle_s} s, "
        f"max_requests {budget.recycle_max_requests} (+{budget.recycle_jitter}): "
        f"{_wrk_summary(report)}; {recycled} workers replaced (one per {per_request:.0f} "
        f"requests), {len(first) - len(first_left)} of the first {len(first)} among them",
    )
    outcome.check(
        f"failed requests at most {expect.recycle_failures_max}",
        report["errors"] <= expect.recycle_failures_max,
        str(report["errors"]),
    )
    outcome.check(
        f"at least {expect.recycles_min} workers replaced",
        recycled >= expect.recycles_min,
        str(recycled),
    )
    outcome.check("every first worker replaced", not first_left, f"left: {sorted(first_left)}")
    return outcome
