"""The alert rules (docker/prometheus/alerts.yml) load, pass their promtool unit tests
(alerts_test.yml and backups_test.yml: each rule firing and not firing), and reach Prometheus as
compose mounts them. The backup rules name the CronJob of deploy/kubernetes and wait as long as
its schedule and deadlines let a healthy night take.

promtool ships with Debian's prometheus package (``make test`` installs it where it can).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from api.config import STORE_STATEMENT_TIMEOUT, Settings
from api.store.health import STALLED_BOUNDS
from tests.compose_file import compose_services, prometheus_config
from tests.debian_tools import (
    DOCKER,
    RULE_TESTS,
    RULES,
    alert_rule_checks,
    alert_rules,
    debian_tool,
    duration_seconds,
    load_yaml,
)
from tools.kube import KUBE_DIR, find
from tools.kustomize import render

SEVERITIES = {"critical", "warning"}


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
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


@pytest.mark.external
def test_the_rules_pass_their_promtool_unit_tests(promtool: str) -> None:
    assert RULE_TESTS
    done = _run([promtool, "test", "rules", *(path.name for path in RULE_TESTS)], RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("SUCCESS") == len(RULE_TESTS)


@pytest.mark.external
def test_prometheus_loads_the_rules_where_compose_mounts_them(
    promtool: str, tmp_path: Path
) -> None:
    # /etc/prometheus as the container sees it: each of the service's volumes, copied there
    prometheus = compose_services()["prometheus"]
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
    alerts = alert_rules()
    assert alerts
    for rule in alerts:
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"].split()) > 20, rule["alert"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for check in alert_rule_checks():
        (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "never shown firing"
    assert names - quiet == set(), "never shown not firing"


def test_lost_houses_wait_for_the_database_down_that_mutes_them() -> None:
    """Alertmanager mutes MlApiHousesUnrecorded while MlApiDatabaseDown fires (its inhibit
    rule): it must fire after it, however late the database reads down (a stalled one, three
    statement bounds after the write began), then a scrape and an evaluation; and within the
    window in which one burst of lost houses stays above 0, or a burst would never fire."""
    rules = {rule["alert"]: rule for rule in alert_rules()}
    lost, down = rules["MlApiHousesUnrecorded"], rules["MlApiDatabaseDown"]
    scraping = prometheus_config()["global"]
    cause = (
        duration_seconds(down["for"])
        + STALLED_BOUNDS * STORE_STATEMENT_TIMEOUT
        + duration_seconds(scraping["scrape_interval"])
        + duration_seconds(scraping["evaluation_interval"])
    )
    [window] = re.findall(r"\[(\w+)\]", lost["expr"])
    assert cause < duration_seconds(lost.get("for", "0s")) < duration_seconds(window)


def test_a_firing_quality_alert_outlasts_a_restart() -> None:
    """Each model-quality and drift rule (on a level the monitor exports) keeps firing through
    the gap a restarted pod leaves in its level, one ``keep_firing_for`` for all: longer than
    Kubernetes lets the pod start (its startupProbe), then the new worker's first measure
    (``ML_API_MONITORING_SECONDS``), then a scrape and an evaluation. Without it the gap ended
    the alert, which waited a whole ``for:`` again (a probe's, by promtool: 10 minutes silent)."""
    quality = [
        rule
        for rule in alert_rules()
        if re.search(r"ml_api_(monitoring_level|input_drift_level)\b", rule["expr"])
    ]
    assert len(quality) >= 6
    [kept] = {rule.get("keep_firing_for") for rule in quality}
    assert kept is not None
    container = find(render(KUBE_DIR / "base"), "Deployment")["spec"]["template"]["spec"]
    [api] = container["containers"]
    probe = api["startupProbe"]
    scraping = prometheus_config()["global"]
    gap = (
        probe.get("initialDelaySeconds", 0)
        + probe["failureThreshold"] * probe["periodSeconds"]
        + Settings().monitoring_seconds
        + duration_seconds(scraping["scrape_interval"])
        + duration_seconds(scraping["evaluation_interval"])
    )
    assert duration_seconds(kept) > gap


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
        for rule in alert_rules()
        for text in (rule["expr"], *rule["annotations"].values())
        for name in re.findall(r"ml_api_[a-z_]+", text)
    }
    assert named
    assert named <= exported, named - exported


# --- The store's backups: deploy/kubernetes/base/db-backup.yaml's CronJob ----------------------

#: The base and every overlay: the CronJob's name as each deploys it.
KUSTOMIZATIONS = [KUBE_DIR / "base", *sorted((KUBE_DIR / "overlays").iterdir())]


def _backup_rules() -> dict[str, dict[str, Any]]:
    [group] = [group for group in load_yaml(RULES)["groups"] if group["name"] == "ml_api_backups"]
    return {rule["alert"]: rule for rule in group["rules"]}


def _backup_cronjob(kustomization: Path = KUBE_DIR / "base") -> dict[str, Any]:
    return find(render(kustomization), "CronJob")


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS, ids=lambda path: path.name)
def test_the_backup_rules_select_the_cronjob_by_its_name(kustomization: Path) -> None:
    """kube-state-metrics labels a CronJob's series ``cronjob`` and its Jobs' owner
    ``owner_name``: a name that drifted from the manifest's would leave both rules silent."""
    name = _backup_cronjob(kustomization)["metadata"]["name"]
    rules = _backup_rules()
    assert set(rules) == {"MlApiBackupFailed", "MlApiBackupStale"}
    for alert, rule in rules.items():
        named = re.findall(r'\b(?:cronjob|owner_name)="([^"]*)"', rule["expr"])
        assert named, alert
        assert set(named) == {name}, alert


def test_a_backup_is_stale_past_the_longest_night_the_cronjob_allows() -> None:
    """Between two successful nights: the schedule's day, a start up to startingDeadlineSeconds
    late, and a dump up to its Job's activeDeadlineSeconds long."""
    spec = _backup_cronjob()["spec"]
    _minute, _hour, *every_day = spec["schedule"].split()
    assert every_day == ["*", "*", "*"], "a daily schedule"
    longest = 24 * 3600 + spec["startingDeadlineSeconds"]
    longest += spec["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    [hours] = re.findall(r"\) > (\d+) \* 3600$", _backup_rules()["MlApiBackupStale"]["expr"])
    assert int(hours) * 3600 == longest
