"""The local cluster score-houses starts by default: its workers' environment and origin."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gradient_boosting_model.batch.cluster import local_cluster, prepare_workers
from gradient_boosting_model.config import DATASET_DIR

pytestmark = [pytest.mark.integration, pytest.mark.batch]

WATCHED = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")


def environment() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in WATCHED}


@pytest.mark.skipif(
    "MALLOC_TRIM_THRESHOLD_" in os.environ, reason="set here, so the workers inherit it"
)
def test_workers_keep_glibcs_adaptive_mmap_threshold_and_one_thread() -> None:
    with local_cluster(1) as client:
        (found,) = client.run(environment).values()
    assert found == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}


def thread_pools() -> dict[str, int]:
    """The threads each native pool of a worker (OpenBLAS, OpenMP) runs, by its library."""
    from threadpoolctl import threadpool_info

    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}


def test_workers_native_pools_run_one_thread() -> None:
    """A worker runs one task at a time on one core: numpy's BLAS and OpenMP take one thread,
    as they read it when the process that forks the workers imported them (Dask sets
    OMP_NUM_THREADS and its siblings just before it spawns one). Not the variables the worker
    sees after its fork, which Dask sets again there."""
    with local_cluster(1) as client:
        (found,) = client.run(thread_pools).values()
    assert found and set(found.values()) == {1}, found


def callbacks(dask_worker: Any) -> dict[str, float]:
    """A worker's periodic callbacks: each one's interval in ms (``client.run`` passes the
    worker)."""
    return {name: pc.callback_time for name, pc in dask_worker.periodic_callbacks.items()}


def test_workers_run_no_profiler_and_tick_once_a_second() -> None:
    with local_cluster(1) as client:
        (found,) = client.run(callbacks).values()
    assert "heartbeat" in found and "profile" not in found
    assert found["tick"] == 1000


def origin() -> tuple[int, bool]:
    """A worker's parent process, and whether it has the scorer's code already."""
    return os.getppid(), "gradient_boosting_model.batch.scoring" in sys.modules


def heavy_libraries() -> list[str]:
    """Which of scikit-learn and scipy a worker has imported (pandas it has: pyarrow's
    ``to_numpy`` imports it)."""
    return sorted({name.split(".")[0] for name in sys.modules} & {"sklearn", "scipy"})


def test_workers_are_forked_by_one_process_that_imported_the_models_code() -> None:
    with local_cluster(2) as client:
        found = list(client.run(origin).values())
        (parent, imported), (other_parent, _) = found
        assert parent == other_parent != os.getpid()
        assert imported  # before any task or prepare_workers
        # Loaded and warmed up, the model prices without scikit-learn or scipy (the artifact's
        # pricing forms, ``trained_model.Pricing``): neither is imported by a worker.
        prepare_workers(client)
        assert all(found == [] for found in client.run(heavy_libraries).values())


def frozen() -> int:
    """How many objects a worker's garbage collector no longer looks at."""
    import gc

    return gc.get_freeze_count()


def test_prepared_workers_keep_what_they_loaded_out_of_the_collectors_sight() -> None:
    with local_cluster(1) as client:
        (before,) = client.run(frozen).values()
        prepare_workers(client)
        (after,) = client.run(frozen).values()
    assert before == 0 and after > 100_000  # the model's, Dask's and the libraries' objects


def houses_file(folder: Path, copies: int) -> Path:
    """test.csv's houses ``copies`` times over, as one CSV."""
    header, *lines = (DATASET_DIR / "test.csv").read_text().splitlines()
    path = folder / "h.csv"
    path.write_text("\n".join([header, *lines * copies]) + "\n")
    return path


def group_gone(group: int, seconds: float) -> bool:
    """Whether the process group ``group`` has no process left within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _rows_written(folder: Path) -> bool:
    """Whether the job's output (a partial Parquet file) holds any rows yet."""
    for path in folder.glob(".*.partial"):
        with contextlib.suppress(FileNotFoundError):  # the job may remove it meanwhile
            if path.stat().st_size > len(b"PAR1"):
                return True
    return False


@pytest.mark.parametrize("when", [0.15, 0.3, 0.6, 0.9, "mid-job"])
def test_ctrl_c_stops_a_job_on_a_local_cluster_in_one_line(
    when: float | str, tmp_path: Path
) -> None:
    """A probe's: Ctrl-C (SIGINT to the command's process group, as a terminal sends it) mid-job
    printed four worker tracebacks besides "interrupted: nothing written"; in its first 0.3 s
    (importing) a ``KeyboardInterrupt`` traceback alone, and at 0.8 s (the cluster starting)
    an ``AssertionError`` of Dask's ``close_clusters`` at exit."""
    houses_file(tmp_path, 60)  # 87,540 houses: a second or two on 2 workers
    command = [sys.executable, "-m", "gradient_boosting_model.batch.cli", "h.csv", "o.parquet"]
    # Mid-job: chunks of 100 rows, some 876 of them, so that 0.3 s after the output is opened
    # the job is far from done (with 1000-row chunks it had ended by then in a CI run).
    chunk_rows = "100" if when == "mid-job" else "1000"
    job = subprocess.Popen(
        [*command, "--workers", "2", "--chunk-rows", chunk_rows],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
        # And SIGINT at its default, as there: Python handles it only where it was not ignored
        # when it started (a background job's is, and the job then ran to its end).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        if isinstance(when, float):
            time.sleep(when)
        else:
            # Mid-job: once the first chunk's rows are in the output (the Parquet file holds
            # more than its 4-byte header), some 875 chunks still to go. A fixed 0.3 s after
            # the file was opened was once past the job's end on a loaded machine.
            deadline = time.monotonic() + 60
            while not _rows_written(tmp_path) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert job.poll() is None, "the job finished before the Ctrl-C"
        os.killpg(job.pid, signal.SIGINT)
        out, err = job.communicate(timeout=60)
        assert group_gone(job.pid, 15), "processes left in the command's group"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGKILL)
    # 130, or ended by the signal itself (-2, 1 run in 40 at 0.15 s): a shell says 130 of both.
    assert job.returncode in (130, -signal.SIGINT), job.returncode
    assert (out, err) == ("", "score-houses: interrupted: nothing written\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["h.csv"]
