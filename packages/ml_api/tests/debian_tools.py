"""The Debian packages some tests need (``make test-tools`` installs them, as root), and the
alert rules' files: a tool found, or the test skipped saying how to get it, except under
``CI=true``, where a missing tool fails it (CI must run every test)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
import yaml

DOCKER = Path(__file__).resolve().parent.parent / "docker"
#: The alert rules Prometheus loads (docker-compose.yml mounts them), and promtool's tests of them
#: (each ``*_test.yml`` beside them: alerts_test.yml, and backups_test.yml for the rules over days).
RULES = DOCKER / "prometheus" / "alerts.yml"
RULE_TESTS = sorted(RULES.parent.glob("*_test.yml"))


#: A Prometheus duration's parts ("1m", "1h30m", "15s").
_DURATION_PART = re.compile(r"(\d+)(ms|[smhdwy])")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}


def duration_seconds(duration: str) -> float:
    """A Prometheus (or Alertmanager) duration, such as a rule's ``for:``, in seconds."""
    parts = _DURATION_PART.findall(duration)
    assert parts and "".join(n + unit for n, unit in parts) == duration, duration
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in parts)


def load_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def alert_rules() -> list[dict[str, Any]]:
    """The alerting rules of ``RULES``, every group's (its recording rules left out)."""
    groups = load_yaml(RULES)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alert_rule_checks() -> Iterator[dict[str, Any]]:
    """Each ``alert_rule_test`` check of ``RULE_TESTS``: an alert name, an evaluation time and
    the alerts expected then (none: shown not firing)."""
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            yield from case.get("alert_rule_test", [])


def unavailable(message: str) -> NoReturn:
    """Skip the test with ``message``, or fail it under CI."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def debian_tool(package: str, *names: str) -> str:
    """The first of ``names`` found (on PATH, or a path itself), which Debian's ``package``
    installs; else ``unavailable``."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    unavailable(f"needs {names[0]}: apt-get install -y {package} (make test-tools does, as root)")


def get_json(url: str, params: dict[str, str] | None = None) -> Any:
    """What a tool's HTTP API (Prometheus', Alertmanager's) answers ``url`` with, or ``None``
    while it does not answer 200 with JSON (it is starting)."""
    try:
        response = httpx.get(url, params=params, timeout=2)
        return response.json() if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
