"""score-houses on 1M houses on a local Dask cluster of 2 workers, 100k houses end to end (the
command, start-up included), and the column path against the JSON path it replaced.

Run with ``make batch-bench`` (``make bench`` runs it last). The houses are test.csv's rows
drawn at random (fixed seed) into 4 CSV files of 250,000 in a temporary folder, and 100,000 more
into one file; every run writes Parquet there. Figures:

- the column path (``score_chunk``) against the JSON path (``score_chunk_as_houses``: every row
  a dict priced by ``make_prediction``, as score-houses did before), in one process, on the
  100k file, in turns (two each), so that the machine's load weighs on both alike;
- 1M houses on 2 workers: houses per second of the job itself (planning, scoring, writing), the
  workers' model loaded and warmed first (``prepare_workers``); the cluster's start apart;
- 100k houses end to end: ``score-houses FILE OUT --workers 2`` run as a command, from its
  launch to its exit (Python's start, the cluster's, the workers' model, the job, the close).

Every output is checked against ``make_prediction`` on test.csv's houses: price, lower and upper
equal to the cent (equal floats), the calibration flag and the number of warnings equal; wrong or
lost houses fail the run (exit 1). The machine may be shared: the load average and the CPU time
each run got are printed beside its figures (houses per CPU second move less with the load than
houses per second). Each target is printed with its figure and ``ok`` or ``MISSED``.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
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
from gradient_boosting_model.batch.job import plan_job, run_job
from gradient_boosting_model.batch.report import JobReport
from gradient_boosting_model.batch.settings import JobSettings
from gradient_boosting_model.config import DATASET_DIR, load_config

if TYPE_CHECKING:
    from gradient_boosting_model.batch.running import Runner

ROWS = 1_000_000
FILES = 4
WORKERS = 2
#: The end-to-end run's houses, and the before/after's.
E2E_ROWS = 100_000
TURNS = 2


def write_sample(
    folder: Path, rows: int, files: int, *, seed: int = 15, name: str = "houses"
) -> npt.NDArray[np.int64]:
    """``rows`` lines of test.csv drawn with replacement into ``files`` CSV files; returns the
    test.csv row (from 0) behind each written house, in output order."""
    lines = (DATASET_DIR / load_config().data.requests_file).read_text().splitlines()
    header, houses = lines[0], lines[1:]
    draw = random.Random(seed)
    drawn = np.array([draw.randrange(len(houses)) for _ in range(rows)], dtype=np.int64)
    for part, indices in enumerate(np.array_split(drawn, files)):
        text = "\n".join([header, *(houses[i] for i in indices.tolist())]) + "\n"
        (folder / f"{name}-{part}.csv").write_text(text)
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


Expected = dict[str, npt.NDArray[np.float64]]


def differences(output: Path, expected: Expected, drawn: npt.NDArray[np.int64]) -> int:
    """Houses whose price, lower or upper bound, calibrated or partial flag or number of
    warnings differ from ``make_prediction``'s for the test.csv house drawn there (prices equal
    to the cent)."""
    import pyarrow.compute as pc

    table = pq.read_table(output, columns=list(expected))
    if table.num_rows != len(drawn):
        return abs(int(table.num_rows) - len(drawn))
    wrong = np.zeros(table.num_rows, dtype=bool)
    for name, values in expected.items():
        got = table.column(name) if name != "warnings" else pc.list_value_length(table["warnings"])
        wrong |= got.to_numpy() != values[drawn]
    return int(wrong.sum())


def end_to_end(path: Path, output: Path) -> float:
    """Seconds ``score-houses`` takes on ``path`` with a local cluster of 2 workers, from the
    command's launch to its exit."""
    command = [str(Path(sys.executable).with_name("score-houses")), str(path), str(output)]
    start = time.perf_counter()
    subprocess.run([*command, "--workers", str(WORKERS)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    # Imported here, not above: the cluster's workers import this module again when they start
    # (as score-houses' own module), and the model's code would slow their start by a second.
    from distributed import get_task_stream

    from gradient_boosting_model.batch.running import InProcess, OnCluster
    from gradient_boosting_model.batch.scoring import score_chunk, score_chunk_as_houses, warm_up
    from gradient_boosting_model.data import read_dataset
    from gradient_boosting_model.predict import make_prediction

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as temporary:
        folder, e2e = Path(temporary) / "houses", Path(temporary) / "e2e"
        folder.mkdir()
        e2e.mkdir()
        drawn = write_sample(folder, args.rows, FILES)
        e2e_drawn = write_sample(e2e, E2E_ROWS, 1, seed=25, name="e2e")
        e2e_file = e2e / "e2e-0.csv"
        reference = make_prediction(read_dataset(load_config().data.requests_file))
        expected: Expected = {
            "price": np.array(reference.predictions),
            "lower": np.array([i.lower for i in reference.intervals]),
            "upper": np.array([i.upper for i in reference.intervals]),
            "calibrated": np.array([i.calibrated for i in reference.intervals]),
            "partial": np.array([i.partial for i in reference.intervals]),
            "warnings": np.array([len(found) for found in reference.warnings]),
        }
        print(
            f"{args.rows:,} houses drawn from test.csv into {FILES} CSV files, "
            f"{E2E_ROWS:,} into one"
        )

        # Before and after in one process, in turns, the model loaded and warmed first.
        warm_up()
        paths = {"JSON path (before)": score_chunk_as_houses, "column path": score_chunk}
        rates: dict[str, list[float]] = {name: [] for name in paths}
        wrong = 0
        for turn in range(TURNS):
            for name, scorer in paths.items():
                output = Path(temporary) / f"plain-{turn}-{len(rates[name])}.parquet"
                job, seconds, cpu = score(e2e, output, InProcess(scorer))
                rates[name].append(job.total / seconds)
                wrong += differences(output, expected, e2e_drawn)
                print(
                    f"one process, {name:<18} turn {turn + 1}: {seconds:5.1f} s, "
                    f"{job.total / seconds:9,.0f} houses/s ({job.total / cpu:,.0f} a CPU "
                    f"second); {load()}"
                )
        before, after = (max(rates[name]) for name in paths)
        print(f"one process, best of {TURNS}: JSON path {before:,.0f}, column path {after:,.0f}")

        start = time.perf_counter()
        with local_cluster(WORKERS) as client:
            cluster_up = time.perf_counter() - start
            prepare_workers(client)
            ready = time.perf_counter() - start
            before_cpu = client.run(cpu_seconds)
            with get_task_stream(client) as stream:
                dask, dask_seconds, client_cpu = score(
                    folder, Path(temporary) / "dask.parquet", OnCluster(client)
                )
            after_cpu = client.run(cpu_seconds)
        worker_cpu = sum(after_cpu[worker] - before_cpu[worker] for worker in after_cpu)
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
            f"cluster up in {cluster_up:.2f} s, model loaded and warmed on every worker at "
            f"{ready:.2f} s; houses by worker: {dask.workers()}"
        )
        dask_output = Path(temporary) / "dask.parquet"
        wrong += differences(dask_output, expected, drawn)

        e2e_output = Path(temporary) / "e2e.parquet"
        e2e_seconds = end_to_end(e2e_file, e2e_output)
        e2e_rate = E2E_ROWS / e2e_seconds
        wrong += differences(e2e_output, expected, e2e_drawn)
        print(
            f"end to end, score-houses --workers {WORKERS} on {E2E_ROWS:,} houses: "
            f"{e2e_seconds:.1f} s, {e2e_rate:,.0f} houses/s; {load()}"
        )
        counted = dask.scored == args.rows and dask.rejected == 0

    targets = [
        Target("column path / JSON path, one process (best of turns)", after / before, low=1),
        Target(f"Dask, {WORKERS} workers, 1M houses: houses/s", dask_rate, low=100_000),
        Target(
            f"end to end, {E2E_ROWS:,} houses, start-up included: houses/s", e2e_rate, low=40_000
        ),
        Target("Dask cluster up", cluster_up, low=0, high=3, unit=" s"),
        Target("houses priced unlike make_prediction", wrong, low=0, high=0, gates=True),
        Target("houses lost or rejected", 0 if counted else 1, low=0, high=0, gates=True),
    ]
    return report("batch", targets)


if __name__ == "__main__":
    sys.exit(main())
