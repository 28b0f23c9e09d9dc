"""Prometheus (Debian's package) scrapes the real server, two workers, on 127.0.0.1.

The request counter Prometheus stores must equal the requests sent, though they were spread
over both workers: the multiprocess metrics add up. And the alerting rules, evaluated on what
a healthy server exports, raise no alert.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.debian_tools import RULES, debian_tool, get_json
from tools import server as real_server

pytestmark = [pytest.mark.integration, pytest.mark.server, pytest.mark.external]

PREDICTIONS = 12
QUERY = 'sum(ml_api_http_requests_total{route="/v1/predictions",status="200"})'


@pytest.fixture
def prometheus_binary() -> str:
    return debian_tool("prometheus", "prometheus")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[real_server.Server]:
    """A server with a prediction store of its own, empty: the session's holds the houses other
    tests priced, drifted ones among them (``MlApiInputDrift`` rightly pending on them)."""
    state = {"ML_API_STATE_DIR": str(tmp_path / "state")}
    with real_server.running(tmp_path / "server.log", state, workers=2) as server:
        yield server


def _start_prometheus(
    binary: str, target: str, scratch: Path, *, rules: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Prometheus scraping ``target`` every second as the job ``ml_api`` (the rules' name for
    the service), evaluating ``rules`` every second if given."""
    port = real_server.free_port()
    config = scratch / "prometheus.yml"
    rule_files = f"rule_files:\n  - {rules}\n" if rules else ""
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"{rule_files}"
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


def _data(url: str, path: str, params: dict[str, str] | None = None) -> Any:
    """The ``data`` of Prometheus's API answer to ``path``, or ``None`` while it has none."""
    return (get_json(f"{url}/api/v1/{path}", params) or {}).get("data")


def _query(url: str, expression: str) -> float | None:
    result = (_data(url, "query", {"query": expression}) or {}).get("result", [])
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


def _moment(written: str) -> datetime:
    """A time as Prometheus's API writes it (RFC 3339, nanoseconds: cut to microseconds)."""
    parts = re.fullmatch(r"(.*?)(\.\d+)?(Z|[+-]\d\d:\d\d)", written)
    assert parts is not None, written
    whole, fraction, zone = parts.groups()
    return datetime.fromisoformat(f"{whole}{(fraction or '')[:7]}{zone.replace('Z', '+00:00')}")


def _rules_evaluated_since(url: str, moment: datetime) -> bool:
    """Whether every rule group was last evaluated after ``moment``."""
    groups = (_data(url, "rules") or {}).get("groups", [])
    return bool(groups) and all(_moment(group["lastEvaluation"]) > moment for group in groups)


def _scraped_at(url: str) -> datetime | None:
    """When the server was last scraped and answered, if it has been."""
    targets = (_data(url, "targets") or {}).get("activeTargets", [])
    healthy = [target["lastScrape"] for target in targets if target["health"] == "up"]
    return _moment(healthy[0]) if healthy else None


def test_a_healthy_server_raises_no_alert(
    prometheus_binary: str,
    service: real_server.Server,
    tmp_path: Path,
    request_rows: list[dict[str, Any]],
) -> None:
    """docker/prometheus/alerts.yml on what a serving, healthy server exports, a house priced:
    no alert firing, none pending. (The migration's gauges, which only ``make migrate``
    exports, were written by every worker into the multiprocess folder as 0, and
    ``MlApiMigrationSlow`` fired on the first evaluation: "migrating for 56 years".)"""
    response = httpx.post(f"{service.url}/v1/predictions", json=request_rows[:1], timeout=10)
    assert response.status_code == 200
    prometheus, url = _start_prometheus(
        prometheus_binary, service.url.removeprefix("http://"), tmp_path, rules=RULES
    )
    try:
        scraped, evaluated = None, False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not evaluated:
            time.sleep(0.5)
            scraped = scraped or _scraped_at(url)
            evaluated = scraped is not None and _rules_evaluated_since(url, scraped)
        time.sleep(1.5)  # one more evaluation, on the scrape's samples whatever their order
        alerts = _data(url, "alerts")["alerts"]
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
    assert evaluated, "Prometheus never evaluated the rules after a scrape"
    raised = {(alert["labels"]["alertname"], alert["state"]) for alert in alerts}
    assert raised == set()
