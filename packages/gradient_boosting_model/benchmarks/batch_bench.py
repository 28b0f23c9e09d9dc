"""score-houses on 1M houses: one plain process, then a local Dask cluster of 2 workers.

Run with ``make batch-bench`` (``make bench`` runs it last). The houses are test.csv's rows
drawn at random (fixed seed) into 4 CSV files of 250,000 in a temporary folder; both runs write
Parquet there. Throughput is houses per second of the job itself (planning, scoring, writing),
with the model already loaded; the cluster's start and its workers' model loading are timed
apart. The machine may be shared: the load average and the CPU time each run got are printed
beside its figures (houses per CPU second move less with the load than houses per second).
Each target is printed with its figure and ``ok`` or ``MISSED``; only wrong output fails the
run (exit 1), as timings move with the machine's load.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
from verdicts import Target, report  # beside this script, on sys.path when it runs

from gradient_boosting_model.batch.cluster import local_cluster, prepare_workers
from gradient_boosting_model.batch.job import JobSettings, plan_job, run_job
from gradient_boosting_model.batch.report import JobReport
from gradient_boosting_model.config import DATASET_DIR, load_config
from gradient_boosting_model.tolerances import PRICE_TOLERANCE

if TYPE_CHECKING:
    from gradient_boosting_model.batch.running import Runner

ROWS = 1_000_000
FILES = 4
WORKERS = 2


def write_sample(folder: Path, rows: int, files: int) -> npt.NDArray[np.int64]:
    """``rows`` lines of test.csv drawn with replacement into ``files`` CSV files; returns the
    test.csv row (from 0) behind each written house, in output order."""
    lines = (DATASET_DIR / load_config().data.requests_file).read_text().splitlines()
    header, houses = lines[0], lines[1:]
    draw = random.Random(15)
    drawn = np.array([draw.randrange(len(houses)) for _ in range(rows)], dtype=np.int64)
    for part, indices in enumerate(np.array_split(drawn, files)):
        text = "\n".join([header, *(houses[i] for i in indices.tolist())]) + "\n"
        (folder / f"houses-{part}.csv").write_text(text)
    return drawn


def score(folder: Path, output: Path, runner: Runner) -> tuple[JobReport, float, float]:
    """The job as ``score-houses`` runs it; returns its report, its wall time and the CPU time
    this process spent on it."""
    settings = JobSettings(input=str(folder), output=output, rejects=output.with_suffix(".rej.csv"))
    start, cpu = time.perf_counter(), time.process_time()
    report = run_job(settings, plan_job(settings), runner)
    return report, time.perf_counter() - start, time.process_time() - cpu


def cpu_seconds() -> float:
    """Run on each worker: its process's CPU time so far."""
    return time.process_time()


def load() -> str:
    """The machine's load averages: how much else was running (this machine is shared)."""
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def differences(output: Path, expected: dict[str, npt.NDArray[np.float64]]) -> int:
    """Houses whose price, lower or upper bound differ from the in-process ones by more than a
    half cent's rounding (``tolerances``: a worker's floating point may round it otherwise)."""
    table = pq.read_table(output, columns=list(expected))
    if table.num_rows != len(expected["price"]):
        return abs(int(table.num_rows) - len(expected["price"]))
    wrong = np.zeros(table.num_rows, dtype=bool)
    for name, values in expected.items():
        wrong |= np.abs(table.column(name).to_numpy() - values) > PRICE_TOLERANCE
    return int(wrong.sum())


def main() -> int:
    # Imported here, not above: the cluster's workers import this module again when they start
    # (as score-houses' own module), and the model's code would slow their start by a second.
    from distributed import get_task_stream

    from gradient_boosting_model.batch.running import InProcess, OnCluster
    from gradient_boosting_model.data import read_dataset
    from gradient_boosting_model.predict import default_model, make_prediction

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as temporary:
        folder = Path(temporary) / "houses"
        folder.mkdir()
        drawn = write_sample(folder, args.rows, FILES)
        houses = read_dataset(load_config().data.requests_file)
        reference = make_prediction(houses)
        expected = {
            "price": np.array(reference.predictions)[drawn],
            "lower": np.array([i.lower for i in reference.intervals])[drawn],
            "upper": np.array([i.upper for i in reference.intervals])[drawn],
        }
        print(f"{args.rows:,} houses drawn from test.csv into {FILES} CSV files")

        default_model()  # loaded, as the workers' model is before their job starts
        print(f"before: {load()}")
        plain, plain_seconds, plain_cpu = score(
            folder, Path(temporary) / "plain.parquet", InProcess()
        )
        plain_rate = plain.total / plain_seconds
        print(
            f"one process:     {plain_seconds:6.1f} s, {plain_rate:9,.0f} houses/s "
            f"({plain_cpu:.1f} CPU s: {plain.total / plain_cpu:,.0f} houses a CPU second); {load()}"
        )

        start = time.perf_counter()
        with local_cluster(WORKERS) as client:
            cluster_up = time.perf_counter() - start
            prepare_workers(client)
            ready = time.perf_counter() - start
            before = client.run(cpu_seconds)
            with get_task_stream(client) as stream:
                dask, dask_seconds, client_cpu = score(
                    folder, Path(temporary) / "dask.parquet", OnCluster(client)
                )
            after = client.run(cpu_seconds)
        worker_cpu = sum(after[worker] - before[worker] for worker in after)
        computing = sum(
            part["stop"] - part["start"]
            for task in stream.data
            for part in task["startstops"]
            if part["action"] == "compute"
        )
        dask_rate = dask.total / dask_seconds
        print(
            f"Dask, {WORKERS} workers: {dask_seconds:6.1f} s, {dask_rate:9,.0f} houses/s "
            f"({worker_cpu:.1f} CPU s in the workers, {client_cpu:.1f} in the client: "
            f"{dask.total / (worker_cpu + client_cpu):,.0f} houses a CPU second); {load()}\n"
            f"  the workers computed {computing / (WORKERS * dask_seconds):.0%} of the time; "
            f"cluster up in {cluster_up:.2f} s, model loaded on every worker at {ready:.2f} s; "
            f"houses by worker: {dask.workers()}"
        )
        wrong = differences(Path(temporary) / "plain.parquet", expected) + differences(
            Path(temporary) / "dask.parquet", expected
        )
        counted = plain.scored == dask.scored == args.rows and plain.rejected == dask.rejected == 0

    targets = [
        Target("one process: houses/s", plain_rate, low=20_000),
        Target(f"Dask, {WORKERS} workers: houses/s", dask_rate, low=28_000),
        Target("Dask cluster up", cluster_up, low=0, high=3, unit=" s"),
        Target("houses priced unlike make_prediction", wrong, low=0, high=0, gates=True),
        Target("houses lost or rejected", 0 if counted else 1, low=0, high=0, gates=True),
    ]
    return report("batch", targets)


if __name__ == "__main__":
    sys.exit(main())
