"""Benchmark of the prediction store: what recording costs a prediction, and what it loses.

    python -m tools.store_bench [--seconds 60]        (make store-bench; make bench runs it)

On 127.0.0.1 only, with a throwaway PostgreSQL (tools/postgres.py) and a SQLite file:

1. wrk, 16 connections of one-house requests, ``--seconds`` in all on each of four servers
   (recording off, on PostgreSQL, on SQLite, on PostgreSQL with a challenger priced in the
   shadow), loaded in turn in four rounds: throughput and p50 as ratios to recording off (the
   challenger's to PostgreSQL without one), unrecorded houses, worker memory;
2. 1459-house requests back to back for ``--seconds`` on PostgreSQL: unrecorded houses;
3. the fault: PostgreSQL stopped for 20 s in the middle of a one-house load: failed requests,
   p50 against recording off loaded just before and after, recorded + unrecorded = priced,
   and recording resumed after;
4. ``GET /v1/monitoring`` on PostgreSQL holding 1M priced houses and 100k sales: p50 of the
   default window (kept by the service's timer) and of a window asked for (computed on demand).

Ends with one line per target, ok or MISSED; a failed request or a house neither recorded nor
counted fails the run (exit 1); timings are reported (machines are noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from gradient_boosting_model import __version__
from gradient_boosting_model.data import read_dataset
from sqlalchemy import insert, text

from api.store.database import make_engine, migrate
from api.store.recorder import write_rows
from api.store.tables import sales
from tools import postgres
from tools import server as real_server
from tools.bench import Target, _rss_mb, report
from tools.challengers import write_challenger
from tools.loadtest import run_wrk

OUTAGE_SECONDS = 20
#: Rounds of the comparison of recording off and on (``_interleaved``).
SEGMENTS = 4
#: The servers' feedback token, which a monitoring window asked for needs.
TOKEN = "store-bench-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@contextlib.contextmanager
def _serving(env: Mapping[str, str]) -> Iterator[real_server.Server]:
    with tempfile.TemporaryDirectory() as scratch:
        settings = {
            "ML_API_ENVIRONMENT": "production",
            "ML_API_STATE_DIR": scratch,
            "ML_API_FEEDBACK_TOKENS": TOKEN,  # a monitoring window asked for needs one
            **env,
        }
        if "ML_API_DATABASE_URL" not in env:  # the SQLite default: migrate it first
            engine = make_engine(f"sqlite:///{scratch}/predictions.db")
            migrate(engine)
            engine.dispose()
        with real_server.running(Path(scratch) / "server.log", settings, workers=2) as server:
            yield server


def _counts(server: real_server.Server, flush_seconds: float = 30) -> dict[str, float]:
    """Priced, recorded and unrecorded houses, once every queue is empty (or time is up): the
    store's, and the challenger's (its prices are written after the houses)."""
    deadline = time.monotonic() + flush_seconds
    while True:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        queued = _metric(text, "ml_api_record_queue_houses") + _metric(
            text, "ml_api_challenger_queue_houses"
        )
        if queued == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {
        name: _metric(text, f"ml_api_{name}_houses_total")
        for name in (
            "predicted",
            "recorded",
            "unrecorded",
            "challenger_priced",
            "challenger_failed",
        )
    } | {"queued": queued}


def _load(
    server: real_server.Server, body: bytes, seconds: int, connections: int = 16
) -> dict[str, Any]:
    url = f"{server.url}/v1/predictions"
    run = run_wrk(url, body, seconds=seconds, connections=connections, threads=min(2, connections))
    run["memory"] = max(_rss_mb(pid) for pid in server.workers())
    return run


def _monitoring_p50(client: httpx.Client, url: str, params: dict[str, int]) -> float:
    """The median time of ten answers of ``url``, after a first one, in milliseconds."""
    timings = []
    for _ in range(11):
        started = time.perf_counter()
        client.get(url, params=params, headers=AUTH).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[1:])


def _combined(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs of one variant as one: requests and errors summed, p50 the median of the runs'."""
    requests = sum(part["requests"] for part in parts)
    return {
        "requests": requests,
        "errors": sum(part["errors"] for part in parts),
        "rps": requests / sum(part["duration_us"] / 1e6 for part in parts),
        "p50_us": statistics.median(part["p50_us"] for part in parts),
        "memory": max(part["memory"] for part in parts),
    }


def _interleaved(
    servers: Mapping[str, real_server.Server], body: bytes, seconds: int
) -> dict[str, dict[str, Any]]:
    """Each server loaded in turn, ``SEGMENTS`` rounds of ``seconds / SEGMENTS`` each: a drift in
    the machine's speed over the minutes of a run (other tenants) then falls on every variant
    alike, as one long run each would not have it."""
    parts: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for _ in range(SEGMENTS):
        for name, server in servers.items():
            parts[name].append(_load(server, body, max(1, seconds // SEGMENTS)))
    return {name: _combined(runs) for name, runs in parts.items()}


def _fill(url: str, houses: list[dict[str, Any]], count: int, sold: int) -> None:
    """``count`` priced houses and ``sold`` sales, written straight into the store (COPY): by
    the model served (the monitoring windows hold its houses)."""
    engine = make_engine(url)
    start = datetime.now(UTC) - timedelta(days=30)
    documents = [orjson.dumps(house).decode() for house in houses]
    for first in range(0, count, 50_000):
        rows = [
            (f"{index:016x}-0", "bench", start + timedelta(seconds=index), __version__,
             documents[index % len(houses)], 150_000.0 + index % 1000,
             math.log(150_000.0 + index % 1000), 120_000.0, 190_000.0, True, "[]")
            for index in range(first, min(count, first + 50_000))
        ]  # fmt: skip
        with engine.begin() as connection:
            write_rows(connection, rows)
    with engine.begin() as connection:
        connection.execute(
            insert(sales),
            [
                {
                    "prediction_id": f"{index * (count // sold):016x}-0",
                    "sale_price": 160_000.0,
                    "log_sale_price": math.log(160_000.0),
                    "sold_on": datetime(2026, 1, 1).date(),
                    "received_at": start + timedelta(seconds=index),
                    "reported_by": "bench",
                }
                for index in range(sold)
            ],
        )
    # A store that grew to this size over weeks has its planner's statistics (autovacuum's
    # ANALYZE); one filled in seconds has none until autovacuum comes round, and each process
    # then joined the sales to the houses without an index (2.1-2.4 s a query, three at once at
    # the server's start, past the store's 5 s bound once: a 503).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE predictions, sales"))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="of each load (at most 60)")
    parser.add_argument("--stored", type=int, default=1_000_000, help="priced houses for step 4")
    args = parser.parse_args()
    seconds = min(args.seconds, 60)
    houses = read_dataset("test.csv")
    one, batch = orjson.dumps(houses[:1]), orjson.dumps(houses)
    runs: dict[str, dict[str, Any]] = {}
    counts: dict[str, dict[str, float]] = {}
    with postgres.running() as database, tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(database.url)
        migrate(engine)
        engine.dispose()
        challenger = write_challenger(Path(scratch))
        stores = {"off": {"ML_API_RECORDING": "false"}, "postgresql": {
            "ML_API_DATABASE_URL": database.url}, "sqlite": {}, "challenger": {
            "ML_API_DATABASE_URL": database.url,
            "ML_API_CHALLENGER_ARTIFACT": str(challenger)}}  # fmt: skip
        with contextlib.ExitStack() as serving:
            servers = {name: serving.enter_context(_serving(env)) for name, env in stores.items()}
            runs = _interleaved(servers, one, seconds)
            for name, server in servers.items():
                counts[name] = _counts(server)
                run = runs[name]
                print(f"{name}: {run['rps']:.0f} req/s, p50 {run['p50_us'] / 1000:.2f} ms, "
                      f"{counts[name]}", flush=True)  # fmt: skip
            runs["batch"] = _load(servers["postgresql"], batch, seconds, connections=2)
            counts["batch"] = _counts(servers["postgresql"])
        print(f"1459-house requests: {runs['batch']['requests']}, {counts['batch']}", flush=True)
        with _serving(stores["off"]) as unrecorded, _serving(stores["postgresql"]) as server:
            fault_seconds = max(seconds, OUTAGE_SECONDS + 20)
            beside = [_load(unrecorded, one, fault_seconds // 2)]
            stopper = threading.Timer(seconds / 3, database.stop)
            restart = threading.Timer(seconds / 3 + OUTAGE_SECONDS, database.start)
            stopper.start()
            restart.start()
            runs["fault"] = _load(server, one, fault_seconds)
            restart.join()
            beside.append(_load(unrecorded, one, fault_seconds // 2))
            runs["fault off"] = _combined(beside)
            counts["fault"] = _counts(server, flush_seconds=60)
            json_body = {"content-type": "application/json"}
            url = f"{server.url}/v1/predictions"
            after = httpx.post(url, content=one, headers=json_body, timeout=10)
            resumed = _counts(server, flush_seconds=30)
        print(f"fault: {runs['fault']['requests']} requests, {counts['fault']}; after: {resumed}")
        _fill(database.url, houses, args.stored, args.stored // 10)
        with _serving(stores["postgresql"]) as server, httpx.Client(timeout=60) as client:
            # As a client polls it (the timer's figures: the first answer waits for them), and
            # a window asked for, computed on demand each time (the default window's size).
            monitoring = _monitoring_p50(client, f"{server.url}/v1/monitoring", {})
            window = {"predictions": 10_000, "sales": 2_000}
            on_demand = _monitoring_p50(client, f"{server.url}/v1/monitoring", window)
    off = runs["off"]
    targets = [
        Target(
            "failed requests, every load",
            sum(r["errors"] for r in runs.values()),
            "<=",
            0,
            gates=True,
        ),
    ]
    for name in ("postgresql", "sqlite"):
        run, count = runs[name], counts[name]
        targets += [
            Target(f"{name}: throughput / recording off", run["rps"] / off["rps"], ">=", 0.9),
            Target(f"{name}: p50 / recording off", run["p50_us"] / off["p50_us"], "<=", 1.1),
            Target(f"{name}: unrecorded houses", count["unrecorded"], "<=", 0),
            Target(
                f"{name}: houses neither recorded nor counted",
                count["predicted"] - count["recorded"] - count["unrecorded"],
                "<=",
                0,
                gates=True,
            ),
            Target(
                f"{name}: worker memory / recording off", run["memory"] / off["memory"], "<=", 1.1
            ),
        ]
    alone, shadowed = runs["postgresql"], runs["challenger"]
    targets += [
        Target(
            "challenger: p50 / PostgreSQL without", shadowed["p50_us"] / alone["p50_us"], "<=", 1.1
        ),
        Target(
            "challenger: throughput / PostgreSQL without",
            shadowed["rps"] / alone["rps"],
            ">=",
            0.9,
        ),
        Target(
            "challenger: houses it failed to price",
            counts["challenger"]["challenger_failed"],
            "<=",
            0,
            gates=True,
        ),
    ]
    fault, lost = counts["fault"], counts["fault"]["predicted"] - counts["fault"]["recorded"]
    targets += [
        Target(
            "PostgreSQL, 1459-house requests: unrecorded", counts["batch"]["unrecorded"], "<=", 0
        ),
        Target(
            "fault: p50 / recording off (before and after)",
            runs["fault"]["p50_us"] / runs["fault off"]["p50_us"],
            "<=",
            1.1,
        ),
        Target(
            "fault: recorded + unrecorded - priced", lost - fault["unrecorded"], "<=", 0, gates=True
        ),
        Target(
            "fault: recording resumed (houses recorded after)",
            resumed["recorded"] - fault["recorded"],
            ">=",
            1 if after.is_success else 0,
            gates=True,
        ),
        Target(f"GET /v1/monitoring p50, {args.stored:,} stored", monitoring, "<=", 300, " ms"),
        Target(
            f"GET /v1/monitoring?predictions=10000&sales=2000 (on demand) p50, {args.stored:,}"
            " stored",
            on_demand,
            "<=",
            300,
            " ms",
        ),
    ]
    for name, run in runs.items():
        print(f"{name}: {run['requests']} requests, {run['errors']} failed")
    return report("store", targets)


if __name__ == "__main__":
    sys.exit(main())
