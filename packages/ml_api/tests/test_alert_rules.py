"""The alert rules (docker/prometheus/alerts.yml) load, pass their promtool unit tests
(alerts_test.yml: each rule firing and not firing), and reach Prometheus as compose mounts them.

promtool ships with Debian's prometheus package (``make test`` installs it where it can).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from tests.debian_tools import DOCKER, RULE_TESTS, RULES, debian_tool, load_yaml

SEVERITIES = {"critical", "warning"}


def _alerts() -> list[dict[str, Any]]:
    groups = load_yaml(RULES)["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.fixture
def promtool() -> str:
    """Debian's promtool, from its prometheus package (not always on PATH)."""
    return debian_tool("prometheus", "promtool", "/usr/bin/promtool")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.external
def test_promtool_checks_the_rules(promtool: str) -> None:
    done = _run([promtool, "check", "rules", RULES.name], RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in done.stdout


@pytest.mark.external
def test_the_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    done = _run([promtool, "test", "rules", RULE_TESTS.name], RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.external
def test_prometheus_loads_the_rules_where_compose_mounts_them(
    promtool: str, tmp_path: Path
) -> None:
    # /etc/prometheus as the container sees it: each of the service's volumes, copied there
    compose = load_yaml(DOCKER / "docker-compose.yml")
    prometheus = compose["services"]["prometheus"]
    [flag] = [arg for arg in prometheus["command"] if arg.startswith("--config.file=")]
    config = PurePosixPath(flag.removeprefix("--config.file="))
    etc = config.parent
    for volume in prometheus["volumes"]:
        source, target, *_ = volume.split(":")
        inside = PurePosixPath(target)
        if inside.is_relative_to(etc) and (DOCKER / source).is_file():
            copy = tmp_path / inside.relative_to(etc)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(DOCKER / source, copy)
    rule_files = load_yaml(tmp_path / config.name)["rule_files"]
    assert rule_files, "prometheus.yml names its rule files"
    for name in rule_files:
        assert (tmp_path / name).is_file(), f"{name} is not mounted beside {config}"
    done = _run([promtool, "check", "config", config.name], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_files)} rule files found" in done.stdout


def test_every_alert_has_a_severity_and_says_what_to_do() -> None:
    alerts = _alerts()
    assert alerts
    for rule in alerts:
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"].split()) > 20, rule["alert"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in load_yaml(RULE_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in _alerts()}
    assert names - fired == set(), "never shown firing"
    assert names - quiet == set(), "never shown not firing"


def test_the_rules_query_only_metrics_the_service_or_its_migration_exports() -> None:
    from prometheus_client import REGISTRY

    import api.metrics  # noqa: F401 - registers the metrics
    from api.store import migration_status  # make migrate's, while it runs

    exported = {
        sample_name
        for registry in (REGISTRY, migration_status.REGISTRY)
        for family in registry.collect()
        for sample_name in (family.name, f"{family.name}_total", f"{family.name}_bucket")
    }
    named = {
        name
        for rule in _alerts()
        for text in (rule["expr"], *rule["annotations"].values())
        for name in re.findall(r"ml_api_[a-z_]+", text)
    }
    assert named
    assert named <= exported, named - exported
