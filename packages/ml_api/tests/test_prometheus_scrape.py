"""Prometheus (Debian's package) scrapes the real server, two workers, on 127.0.0.1.

The request counter Prometheus stores must equal the requests sent, though they were spread
over both workers: the multiprocess metrics add up.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.debian_tools import debian_tool
from tools import server as real_server

pytestmark = [pytest.mark.integration, pytest.mark.server, pytest.mark.external]

PREDICTIONS = 12
QUERY = 'sum(ml_api_http_requests_total{route="/v1/predictions",status="200"})'


@pytest.fixture
def prometheus_binary() -> str:
    return debian_tool("prometheus", "prometheus")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[real_server.Server]:
    with real_server.running(tmp_path / "server.log", workers=2) as server:
        yield server


def _start_prometheus(
    binary: str, target: str, scratch: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = real_server.free_port()
    config = scratch / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: ml_api\n"
        f"    static_configs:\n      - targets: ['{target}']\n",
        encoding="utf-8",
    )
    with (scratch / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={scratch / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}"


def _query(url: str, expression: str) -> float | None:
    try:
        answer: dict[str, Any] = httpx.get(
            f"{url}/api/v1/query", params={"query": expression}, timeout=2
        ).json()
    except (httpx.HTTPError, ValueError):
        return None
    result = answer.get("data", {}).get("result", [])
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_the_request_counter_of_every_worker(
    prometheus_binary: str,
    service: real_server.Server,
    tmp_path: Path,
    request_rows: list[dict[str, Any]],
) -> None:
    for _ in range(PREDICTIONS):  # a new connection each: both workers answer some
        response = httpx.post(
            f"{service.url}/v1/predictions",
            json=request_rows[:2],
            headers={"Connection": "close"},
            timeout=10,
        )
        assert response.status_code == 200
    target = service.url.removeprefix("http://")
    prometheus, url = _start_prometheus(prometheus_binary, target, tmp_path)
    try:
        deadline = time.monotonic() + 60
        value = None
        while time.monotonic() < deadline and value != PREDICTIONS:
            time.sleep(0.5)
            value = _query(url, QUERY)
        houses = _query(url, "sum(ml_api_predicted_houses_total)")
        up = _query(url, 'up{job="ml_api"}')
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
    print(f"\nPrometheus: {QUERY} = {value}, houses = {houses}, up = {up}")
    assert value == PREDICTIONS
    assert houses == 2 * PREDICTIONS
    assert up == 1
