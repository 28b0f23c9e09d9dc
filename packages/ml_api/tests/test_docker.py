"""The container files agree with the Makefile: same port, same serve command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from api.config import ServerSettings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")


def _makefile_serve_command() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^SERVE := (.+)$", makefile, re.MULTILINE)
    assert match, "Makefile defines SERVE"
    return shlex.split(match.group(1))


def _compose_api() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker" / "docker-compose.yml").read_text(encoding="utf-8"))
    api: dict[str, Any] = compose["services"]["api"]
    return api


def _dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.+\])$", DOCKERFILE, re.MULTILINE)
    assert match, "Dockerfile has an exec-form CMD"
    command: list[str] = yaml.safe_load(match.group(1))
    return command


def test_compose_and_image_run_the_makefile_serve_command() -> None:
    assert _compose_api()["command"] == _makefile_serve_command()
    assert _dockerfile_cmd() == _makefile_serve_command()


def test_compose_publishes_no_port_of_the_api() -> None:
    # reached only through the proxy (tests/test_proxy_config.py), on the served port
    assert "ports" not in _compose_api()
    assert f"EXPOSE {ServerSettings().port}" in DOCKERFILE


def test_compose_builds_the_dockerfile_and_checks_health() -> None:
    api = _compose_api()
    assert (ROOT / "docker" / api["build"]["context"] / api["build"]["dockerfile"]).is_file()
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert api["restart"] == "on-failure"


def test_image_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*/health", DOCKERFILE, re.MULTILINE | re.DOTALL)


def test_compose_runs_prometheus_scraping_the_api() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "docker-compose.yml").read_text(encoding="utf-8"))
    prometheus = compose["services"]["prometheus"]
    assert re.fullmatch(r"\S+/prom/prometheus:v\d+\.\d+\.\d+", prometheus["image"])  # pinned
    scrape = yaml.safe_load((ROOT / "docker" / "prometheus.yml").read_text(encoding="utf-8"))
    [job] = scrape["scrape_configs"]
    port = ServerSettings().port
    assert job["static_configs"][0]["targets"] == [f"api:{port}"]
    assert job["metrics_path"] == "/metrics"


def test_the_dashboard_queries_only_metrics_the_service_exports() -> None:
    import json

    from prometheus_client import REGISTRY

    import api.metrics  # noqa: F401 - registers the metrics

    exported = {
        sample_name
        for family in REGISTRY.collect()
        for sample_name in (family.name, f"{family.name}_total", f"{family.name}_bucket")
    }
    dashboard = json.loads(
        (ROOT / "docker" / "grafana" / "dashboards" / "ml_api.json").read_text(encoding="utf-8")
    )
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"ml_api_[a-z_]+", target["expr"])
    }
    assert queried
    assert queried <= exported, queried - exported


def test_container_settings_for_podman_are_kept_in_the_repo() -> None:
    conf = (ROOT / "docker" / "podman" / "containers.conf").read_text(encoding="utf-8")
    assert 'runtime = "runc"' in conf
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "CONTAINERS_CONF ?= $(CURDIR)/docker/podman/containers.conf" in makefile
