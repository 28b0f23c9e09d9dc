"""score-houses on a real Dask cluster: a scheduler and two workers started with the ``dask``
command as separate processes on 127.0.0.1, torn down whatever happens.

Over 40,000 houses in five files (CSV and Parquet) sampled from test.csv, with invalid rows
planted: every valid house is priced once, at exactly the in-process price; the planted rows are
in the rejects file with their fields and the API's messages; the counts add up; and both
workers priced some (the scheduler's task stream says which worker ran each chunk).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from distributed import Client

from batch.houses import (
    RAGGED,
    BatchInput,
    Files,
    House,
    MakeInput,
    assert_priced_as,
    read_rejects,
    read_table,
    write_parquet,
)

pytestmark = [pytest.mark.integration, pytest.mark.batch]

BIN = Path(sys.executable).parent
FILES: Files = {
    "a.csv": (14_000, [(10, {"GrLivArea": -5}), (7777, {"Neighborhood": "Atlantis"})]),
    "b.csv": (
        12_000,
        [(1, {"LotArea": "abc"}), (500, {RAGGED: True}), (12_000, {"OverallQual": 11})],
    ),
    "c.parquet": (9_000, [(42, {"OverallQual": 0, "GrLivArea": -1})]),
    "d.parquet": (6_000, [(6_000, {"MSSubClass": 25})]),  # row groups of 1500: spans of 3000
    "e.csv": (4_000, [(2, {"YearBuilt": 2015, "YearRemodAdd": 2015, "YrSold": 2008})]),
}
CHUNK_ROWS = "2500"
#: Where each process serves its HTTP routes (health, metrics), dashboard or not: a free port on
#: loopback (the scheduler's default is 8787 on every interface).
LOOPBACK_HTTP = "127.0.0.1:0"


@dataclass(frozen=True)
class Cluster:
    address: str
    workers: frozenset[str]
    logs: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's group (a worker's nanny and its worker), SIGKILL after 10 s."""
    for sent, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


def assert_loopback_only(processes: list[subprocess.Popen[bytes]]) -> None:
    """No process of the cluster (nor any child, such as a worker's nanny's worker) listens
    beyond 127.0.0.1. Read with psutil: no system tool needed."""
    ours = [psutil.Process(p.pid) for p in processes]
    ours += [child for process in list(ours) for child in process.children(recursive=True)]
    listening = [
        connection.laddr
        for process in ours
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    assert listening and all(address.ip == "127.0.0.1" for address in listening), listening


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    logs = tmp_path_factory.mktemp("dask-logs")
    address = f"tcp://127.0.0.1:{free_port()}"
    processes = []
    try:
        port = address.rsplit(":", 1)[1]
        processes.append(
            start(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", port,
                 "--no-dashboard", "--dashboard-address", LOOPBACK_HTTP],
                logs / "scheduler.log",
            )
        )  # fmt: skip
        for name in ("worker-1", "worker-2"):
            processes.append(
                start(
                    [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
                     "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address",
                     LOOPBACK_HTTP, "--name", name],
                    logs / f"{name}.log",
                )
            )  # fmt: skip
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            workers = frozenset(client.scheduler_info(n_workers=-1)["workers"])
        yield Cluster(address, workers, logs)
        assert_loopback_only(processes)
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture(scope="module")
def batch_input(make_input: MakeInput, tmp_path_factory: pytest.TempPathFactory) -> BatchInput:
    return make_input(tmp_path_factory.mktemp("houses"), FILES)


def test_a_job_on_two_workers_prices_each_valid_house_once_as_in_process(
    cluster: Cluster, batch_input: BatchInput, tmp_path: Path
) -> None:
    assert batch_input.total >= 40_000 and len(cluster.workers) == 2
    output = tmp_path / "prices.parquet"
    with Client(cluster.address, timeout=30, set_as_default=False) as client:
        client.get_task_stream()  # starts the scheduler's record of who ran what
        started = time.time()
        job = subprocess.run(
            [str(BIN / "score-houses"), str(batch_input.folder), str(output),
             "--scheduler", cluster.address, "--chunk-rows", CHUNK_ROWS],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        stream = client.get_task_stream(start=started)
    assert job.returncode == 0, job.stderr
    assert "Traceback" not in job.stderr
    print(job.stdout)

    # Every valid house once, in input order, at the in-process price, range and warnings.
    table = read_table(output)
    assert [line["source"] for line in table] == sorted(line["source"] for line in table)
    for source in batch_input.rows:
        got = [line for line in table if line["source"] == source]
        assert_priced_as(got, batch_input.valid(source))

    # The planted rows, and only they, in the rejects file, with their fields and messages.
    found = read_rejects(tmp_path / "prices.rejects.csv")
    assert found == batch_input.rejects
    assert {field for fields in found.values() for field in fields} >= {
        "GrLivArea", "Neighborhood", "LotArea", "_schema", "OverallQual", "MSSubClass", "YearBuilt"
    }  # fmt: skip

    # The counts add up, in the summary line too.
    scored, rejected = len(table), len(batch_input.rejects)
    assert scored + rejected == batch_input.total
    summary = f"scored {scored}, rejected {rejected}, total {batch_input.total} houses"
    assert summary in job.stdout

    # Both workers priced chunks: by the scheduler's record, and by the job's own count.
    ran = {t["worker"] for t in stream if str(t["key"]).startswith("('score-houses-")}
    ran |= {t["worker"] for t in stream if str(t["key"]).startswith("score-houses-")}
    assert ran == cluster.workers, stream[:3]
    by_worker = re.search(r"rows by worker: (.*)", job.stdout)
    assert by_worker is not None
    counts = dict(re.findall(r"(tcp://\S+) (\d+)", by_worker.group(1)))
    assert set(counts) == cluster.workers
    assert sum(map(int, counts.values())) == batch_input.total


def test_a_file_of_one_large_row_group_is_priced_on_both_workers(
    cluster: Cluster, request_rows: list[House], tmp_path: Path
) -> None:
    """pandas writes row groups of up to 1,048,576 rows: a file of one was one task, priced by
    one worker while the other idled (a probe's). Its group is cut into a part a worker."""
    rows = [{**house, "Id": 100_000 + i} for i, house in enumerate(request_rows * 4)][:5000]
    path, output = tmp_path / "one_group.parquet", tmp_path / "prices.parquet"
    write_parquet(path, rows, row_group_rows=len(rows))
    job = subprocess.run(
        [str(BIN / "score-houses"), str(path), str(output), "--scheduler", cluster.address,
         "--chunk-rows", "2000"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert job.returncode == 0, job.stderr
    by_worker = re.search(r"rows by worker: (.*)", job.stdout)
    assert by_worker is not None
    counts = dict(re.findall(r"(tcp://\S+) (\d+)", by_worker.group(1)))
    assert set(counts) == cluster.workers and sorted(map(int, counts.values())) == [2500, 2500]
    assert_priced_as(read_table(output), list(enumerate(rows, start=1)))


def test_a_scheduler_lost_mid_job_is_said_in_one_line(
    make_input: MakeInput, tmp_path: Path
) -> None:
    """A CLI probe's: with its scheduler killed mid-job, the command's last line said so, but
    Dask's client printed two tracebacks first."""
    (tmp_path / "in").mkdir()
    batch_input = make_input(tmp_path / "in", {"a.csv": (40_000, [])})
    logs = tmp_path / "logs"
    logs.mkdir()
    address = f"tcp://127.0.0.1:{free_port()}"
    scheduler = start(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":")[-1],
         "--no-dashboard", "--dashboard-address", LOOPBACK_HTTP],
        logs / "scheduler.log",
    )  # fmt: skip
    worker = start(
        [str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
         "--host", "127.0.0.1", "--no-dashboard", "--dashboard-address", LOOPBACK_HTTP],
        logs / "worker.log",
    )  # fmt: skip
    try:
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        job = subprocess.Popen(
            [str(BIN / "score-houses"), str(batch_input.folder), str(tmp_path / "o.parquet"),
             "--scheduler", address, "--chunk-rows", "200"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".o.parquet.*.partial")) and time.monotonic() < deadline:
            assert job.poll() is None, job.communicate()
            time.sleep(0.05)
        os.killpg(scheduler.pid, signal.SIGKILL)
        _, err = job.communicate(timeout=120)
    finally:
        stop(worker)
        stop(scheduler)
    assert job.returncode == 1, err
    assert "Traceback" not in err and "distributed." not in err, err
    [said] = err.splitlines()
    assert said.startswith("score-houses: error: ") and "the chunk failed" in said, err
