"""Where a worker's time goes under load: py-spy on one gunicorn worker while wrk loads it.

    python -m tools.profile [--seconds 10] [--houses 1] [--recording off] [--raw FILE]
                            [--floor]                                     (make profile)

Starts the real server (production settings, 2 workers, on 127.0.0.1; recording to a SQLite
file in a scratch folder unless ``--recording off``), loads it with wrk (16 connections of
``--houses`` houses a request, one connection for more than one house) and records the worker
that used most CPU in the second before (the workers race to accept connections: the one
connection of a large request reaches one of them, and the 16 of a load sometimes all reach
one; the first worker listed was idle in such runs, and its profile empty) with
``py-spy record --gil --nonblocking`` (only samples where a thread holds the interpreter's
lock: the work that competes for a worker's one core) for ``--seconds``. Non-blocking: py-spy
pausing the worker 250 times a second cut its throughput by a third here and left the handler's
threads all but absent from the samples (the model's share fell from 17% to under 1%).
Prints the share of samples under each part of the request path (``PARTS``: a sample counts
under the first part one of its frames matches, innermost first, so the model's samples are
not the handler's), then the functions with most samples of their own. ``--raw`` keeps
py-spy's collapsed stacks. ``--floor`` profiles the framework's floor (tools/floor.py) under the
same load instead: the parts the two share, side by side, are what the service adds to each.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gradient_boosting_model.data import read_dataset

from tools import server as real_server
from tools.floor import running_floor
from tools.loadtest import run_wrk

#: Parts of the request path, each a pattern of the frames (``function (file:line)``) it owns.
PARTS: dict[str, str] = {
    "the model (make_prediction)": r"gradient_boosting_model/",
    "the store's writer thread": r"Recorder\._run|ShadowWriter\.",
    "access log and other logging": r"\(logging/|pythonjsonlogger/|api/logs\.py",
    "Prometheus metrics": r"prometheus_client/",
    "JSON parse and the body's check": r"api/json_codec\.py|api/body_validation\.py",
    "the handler and service (ours)": r"api/controller\.py|api/service\.py",
    "our middlewares": (
        r"api/(request_metrics|body_limit|content_type|paths|memory|spec_endpoint|inflight)\.py"
    ),
    "our connection guard": r"api/connection_guard\.py",
    "Flask, werkzeug and a2wsgi": r"flask/|werkzeug/|a2wsgi/",
    "Connexion and Starlette": r"connexion/|starlette/",
    "uvicorn and the event loop": r"uvicorn/|asyncio/|uvloop/",
}
OTHER = "other (threads, interpreter)"
LOAD_CONNECTIONS = 16


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """py-spy's ``--format raw`` lines (``frame;frame;... count``), outermost frame first."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def shares(stacks: list[tuple[list[str], int]]) -> dict[str, float]:
    """Each part's share of the samples (``PARTS``; the innermost matching frame decides)."""
    compiled = {name: re.compile(pattern) for name, pattern in PARTS.items()}
    counts: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        part = next(
            (
                name
                for frame in reversed(frames)
                for name, pattern in compiled.items()
                if pattern.search(frame)
            ),
            OTHER,
        )
        counts[part] += count
    total = sum(counts.values()) or 1
    return {name: counts[name] / total for name in [*PARTS, OTHER]}


def own_samples(stacks: list[tuple[list[str], int]], top: int) -> list[tuple[str, float]]:
    """The ``top`` functions by samples of their own (innermost frame), line numbers dropped."""
    counts: collections.Counter[str] = collections.Counter()
    for frames, count in stacks:
        counts[re.sub(r":\d+\)$", ")", frames[-1])] += count
    total = sum(counts.values()) or 1
    return [(frame, count / total) for frame, count in counts.most_common(top)]


def record(pid: int, seconds: int, output: Path) -> None:
    """py-spy on ``pid`` for ``seconds``, collapsed stacks into ``output``."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    subprocess.run(
        [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
         "--gil", "--nonblocking", "--format", "raw", "--output", str(output)],
        check=True, capture_output=True, timeout=seconds + 60,
    )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--houses", type=int, default=1)
    parser.add_argument("--recording", choices=["on", "off"], default="on")
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--floor", action="store_true", help="profile the framework's floor")
    args = parser.parse_args()
    seconds = min(args.seconds, 60)
    body = json.dumps(read_dataset("test.csv")[: args.houses]).encode()
    connections = LOAD_CONNECTIONS if args.houses == 1 else 1
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "ML_API_ENVIRONMENT": "production",
            "ML_API_STATE_DIR": scratch,
            "ML_API_RECORDING": "true" if args.recording == "on" else "false",
        }
        raw = args.raw or Path(scratch) / "stacks.txt"
        log = Path(scratch) / "server.log"
        serving = running_floor(log) if args.floor else real_server.running(log, env)
        with serving as server:
            url = f"{server.url}/v1/predictions"
            run_wrk(url, body, seconds=2, connections=connections, threads=1)  # warm up
            load: dict[str, Any] = {}
            loading = threading.Thread(
                target=lambda: load.update(
                    run_wrk(url, body, seconds=seconds + 4, connections=connections, threads=1)
                )
            )
            loading.start()
            before = server.worker_cpu()
            time.sleep(1)
            used = real_server.cpu_used(before, server.worker_cpu())
            busiest = max(used, key=used.__getitem__)
            record(busiest, seconds, raw)
            loading.join()
        stacks = parse_collapsed(raw.read_text())
    samples = sum(count for _, count in stacks)
    cpu_text = ", ".join(f"{cpu:.2f}" for cpu in sorted(used.values(), reverse=True))
    served = "the floor" if args.floor else f"recording {args.recording}"
    print(
        f"{served}: {args.houses} house(s) a request, {connections} connection(s): "
        f"{load['rps']:.0f} req/s, {load['errors']} errors; the busiest "
        f"worker (CPU seconds in the second before: {cpu_text}), {samples} samples "
        f"holding the GIL in {seconds} s"
    )
    for name, share in shares(stacks).items():
        print(f"  {share:6.1%}  {name}")
    print("functions with most samples of their own:")
    for frame, share in own_samples(stacks, args.top):
        print(f"  {share:6.1%}  {frame}")
    return 1 if load["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
