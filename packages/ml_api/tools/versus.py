"""This tree's server against an older commit's, in one run: the same requests, alternating.

Machines are noisy, so a change's cost is a ratio of two servers measured side by side: a git
worktree of ``--rev`` (made in a temporary folder, removed after) and this tree, both served by
gunicorn with 2 workers from this venv (the same model), each sent the 1459 houses of test.csv
and one house, in turns. Prints each server's median and the ratio now/before.

    python -m tools.versus --rev 257fbf8 --requests 80
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from gradient_boosting_model.data import read_dataset

from tools.server import ROOT, running

REPOSITORY = ROOT.parent.parent


def _timed(client: httpx.Client, url: str, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post(url, content=body, headers={"content-type": "application/json"})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the commit to compare with")
    parser.add_argument("--requests", type=int, default=80, help="of each kind, per server")
    args = parser.parse_args()
    houses = read_dataset("test.csv")
    bodies = {"1459 houses": orjson.dumps(houses), "1 house": orjson.dumps(houses[:1])}
    with tempfile.TemporaryDirectory() as folder:
        worktree = Path(folder) / "before"
        subprocess.run(
            ["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(worktree), args.rev],
            check=True,
            capture_output=True,
        )
        try:
            old_root = worktree / ROOT.relative_to(REPOSITORY)
            with (
                running(Path(folder) / "before.log", root=old_root) as before,
                running(Path(folder) / "now.log") as now,
                httpx.Client(timeout=30) as client,
            ):
                times: dict[tuple[str, str], list[float]] = {}
                for _ in range(args.requests):
                    for kind, body in bodies.items():
                        for name, server in (("before", before), ("now", now)):
                            url = f"{server.url}/v1/predictions"
                            times.setdefault((kind, name), []).append(_timed(client, url, body))
        finally:
            subprocess.run(
                ["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(worktree)],
                check=False,
                capture_output=True,
            )
    for kind in bodies:
        old = statistics.median(times[kind, "before"]) * 1000
        new = statistics.median(times[kind, "now"]) * 1000
        print(
            f"{kind}: before ({args.rev}) {old:.2f} ms, now {new:.2f} ms, now/before "
            f"{new / old:.2f} (medians of {args.requests} each, alternating)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
