"""The local cluster score-houses starts by default: its workers' environment and origin."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from gradient_boosting_model.batch.cluster import local_cluster, prepare_workers

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
    """A worker's parent process, and whether it has scikit-learn already."""
    return os.getppid(), "sklearn" in sys.modules


def test_workers_are_forked_by_one_process_that_imported_the_models_code() -> None:
    with local_cluster(2) as client:
        found = list(client.run(origin).values())
    (parent, imported), (other_parent, _) = found
    assert parent == other_parent != os.getpid()
    assert imported  # before any task or prepare_workers


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


#: Run alone: whether the process that forks the workers runs already when the client first
#: imports Dask (its children's command lines then, read from /proc, at that import).
_FORKSERVER_FIRST = """
import sys
from pathlib import Path
from gradient_boosting_model.batch.cluster import local_cluster

def children():
    me = Path("/proc/self/task")
    pids = [p for task in me.iterdir() for p in (task / "children").read_text().split()]
    return [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\\0", b" ") for pid in pids]

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "distributed" and not seen:
            seen.append(children())
        return None

seen = []
sys.meta_path.insert(0, Watch())
if __name__ == "__main__":
    with local_cluster(1):
        pass
    print(any(b"forkserver" in line for line in seen[0]))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads Linux's /proc")
def test_the_workers_forking_process_starts_before_dask_is_imported(tmp_path: Any) -> None:
    """Its imports (Dask, the model's code) then run beside the client's own import of Dask."""
    import subprocess

    import gradient_boosting_model

    script = tmp_path / "forkserver_first.py"
    script.write_text(_FORKSERVER_FIRST)
    tested = str(Path(gradient_boosting_model.__file__).parents[1])  # this package, not another
    run = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONPATH": tested},
    )
    assert run.stdout.split()[-1] == "True", run.stderr
