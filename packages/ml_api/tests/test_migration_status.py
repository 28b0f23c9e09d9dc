"""``make migrate``'s status server (api/store/migration_status.py), without a database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import httpx
import pytest

from api.store import migration_status
from tools.server import free_port


@pytest.fixture
def status() -> Iterator[tuple[WSGIServer, int]]:
    port = free_port()
    server = migration_status.serve("127.0.0.1", port)
    yield server, port
    server.server_close()


def test_metrics_answered_and_other_paths_503(status: tuple[WSGIServer, int]) -> None:
    server, port = status
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    other = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    server.shutdown()
    assert metrics.status_code == 200
    assert "ml_api_migration_waiting 0.0" in metrics.text
    assert other.status_code == 503


def test_an_idle_client_does_not_keep_the_command_from_ending(
    status: tuple[WSGIServer, int],
) -> None:
    """A connection that sends nothing: the command's ``shutdown`` at its end returns (it
    waited for the connection for ever, and the server never started)."""
    server, port = status
    with socket.create_connection(("127.0.0.1", port)):
        # answered while the idle connection is open
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
        stopping = threading.Thread(target=server.shutdown, daemon=True)
        stopping.start()
        stopping.join(timeout=5)
        assert not stopping.is_alive(), "shutdown waited for an idle client"


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_an_ipv6_host_is_served(host: str) -> None:
    """``ML_API_HOST`` an IPv6 address, bare or as gunicorn takes it (``[::]``): the status
    is served there (the bind failed, and the command said only so on stderr)."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    port = free_port()
    server = migration_status.serve(host, port)
    try:
        answer = httpx.get(f"http://[::1]:{port}/metrics", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 200
    assert "ml_api_migration_start_time_seconds" in answer.text


def test_invalid_server_settings_leave_the_status_unserved_and_the_store_migrated(
    tmp_path: Path,
) -> None:
    """The server's settings are read only for the status's address: ones the server will
    refuse are said in one line, and the store is migrated all the same (a pydantic traceback
    ended the command before it migrated)."""
    run = subprocess.run(
        [sys.executable, "-m", "api.store.database"],
        env={
            **os.environ,
            "ML_API_STATE_DIR": str(tmp_path),
            "ML_API_HOST": "127.0.0.1",
            "ML_API_PORT": str(free_port()),
            "ML_API_WORKERS": "0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "revision" in run.stdout
    assert run.stderr.splitlines() == ["make migrate: its status is not served: invalid workers"]


#: What the server does with the module: imports it (through ``api.store.database``), maybe
#: notes a wait (a migration run in process), and serves its metrics folder.
_SERVER_LIKE = """
import sys
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
import api.metrics
import api.store.database
from api.store import migration_status
migration_status.note_waiting(True)
registry = CollectorRegistry()
MultiProcessCollector(registry)
sys.stdout.write(generate_latest(registry).decode())
"""


def test_the_servers_metrics_folder_holds_none_of_the_migrations_gauges(tmp_path: Path) -> None:
    """In multiprocess mode a prometheus_client ``Gauge`` writes its value into
    ``PROMETHEUS_MULTIPROC_DIR`` whatever its registry: every worker exported make migrate's
    start as 0, and ``MlApiMigrationSlow`` (critical) fired on healthy servers."""
    run = subprocess.run(
        [sys.executable, "-c", _SERVER_LIKE],
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "ml_api_" in run.stdout  # the folder holds the server's own metrics
    assert "ml_api_migration" not in run.stdout
