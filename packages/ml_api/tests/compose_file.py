"""docker/docker-compose.yml and the Prometheus config it mounts, as the tests read them: one
loader each, and compose's interpolation of ``${NAME:-default}``."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tools.container import COMPOSE_FILE as COMPOSE_FILE

PROMETHEUS_CONFIG = COMPOSE_FILE.parent / "prometheus.yml"

#: ``${NAME:-default}`` in the compose file: the variable and its default.
VARIABLE = re.compile(r"\$\{(\w+):-([^}]*)\}")


def compose() -> dict[str, Any]:
    """The compose file, parsed afresh (a caller may change its copy)."""
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


def compose_services() -> dict[str, Any]:
    """The compose file's services, by name."""
    services: dict[str, Any] = compose()["services"]
    return services


def prometheus_config() -> dict[str, Any]:
    """docker/prometheus.yml: its scrape jobs, alerting target and rule files."""
    loaded: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    return loaded


def interpolated(text: str, environment: dict[str, str]) -> str:
    """``text`` as compose reads it in ``environment``: each ``${NAME:-default}`` the variable's
    value, or its default where it is unset or empty."""
    return VARIABLE.sub(lambda match: environment.get(match.group(1)) or match.group(2), text)


def external_url(service: str, environment: dict[str, str]) -> str:
    """The compose service's external URL as compose passes it in ``environment``: Prometheus'
    and Alertmanager's ``--web.external-url``, Grafana's ``GF_SERVER_ROOT_URL`` (its
    ``server.root_url``, of the links it makes: a shared panel, a dashboard's link)."""
    definition = compose_services()[service]
    if service == "grafana":
        return interpolated(definition["environment"]["GF_SERVER_ROOT_URL"], environment)
    [flag] = [
        argument for argument in definition["command"] if argument.startswith("--web.external-url=")
    ]
    return interpolated(flag.removeprefix("--web.external-url="), environment)
