"""Bounded load test: the real server on 127.0.0.1, wrk for at most 60 s, fail on any error.

    python -m tools.loadtest [--seconds 20] [--connections 16]

Starts gunicorn with production settings, posts one house per request from ``wrk`` and prints
the request count, throughput, error count and latency percentiles. Exits 1 on any error
(connection, read, write, timeout, or a status other than 2xx/3xx).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from gradient_boosting_model.data import read_dataset

from tools import server as real_server

LUA = Path(__file__).with_name("wrk_report.lua")
MAX_SECONDS = 60


def run_wrk(
    url: str, body: bytes, *, seconds: int, connections: int, threads: int = 2
) -> dict[str, Any]:
    """One wrk run against ``url``; its summary as a dict."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile(suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        run = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                str(LUA),
                url,
            ],
            env={**os.environ, "WRK_BODY_FILE": body_file.name},
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
    line = next(line for line in run.stdout.splitlines() if line.startswith("WRK_JSON "))
    report: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    report["errors"] = sum(report[key] for key in ("connect", "read", "write", "status", "timeout"))
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    seconds = min(args.seconds, MAX_SECONDS)
    house = read_dataset("test.csv")[:1]
    with (
        tempfile.TemporaryDirectory() as scratch,
        real_server.running(
            Path(scratch) / "server.log", {"ML_API_ENVIRONMENT": "production"}
        ) as server,
    ):
        report = run_wrk(
            f"{server.url}/v1/predictions",
            json.dumps(house).encode(),
            seconds=seconds,
            connections=args.connections,
        )
    print(
        f"load test: {report['requests']} requests in {seconds} s at {args.connections} "
        f"connections on 127.0.0.1: {report['rps']:.0f} req/s, errors {report['errors']} "
        f"(connect {report['connect']}, read {report['read']}, write {report['write']}, "
        f"status {report['status']}, timeout {report['timeout']}), "
        f"p50 {report['p50_us'] / 1000:.2f} ms, p90 {report['p90_us'] / 1000:.2f} ms, "
        f"p99 {report['p99_us'] / 1000:.2f} ms, max {report['max_us'] / 1000:.2f} ms"
    )
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
