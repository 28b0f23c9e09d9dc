"""The container files agree with the Makefile: same port, same serve command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from api.config import ServerSettings, Settings
from tests.compose_file import (
    COMPOSE_FILE,
    VARIABLE,
    compose,
    compose_services,
    external_url,
    interpolated,
    prometheus_config,
)

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")


def _makefile_serve_command() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^SERVE := (.+)$", makefile, re.MULTILINE)
    assert match, "Makefile defines SERVE"
    return shlex.split(match.group(1))


def _compose_api() -> dict[str, Any]:
    api: dict[str, Any] = compose_services()["api"]
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
    prometheus = compose_services()["prometheus"]
    assert re.fullmatch(r"\S+/prom/prometheus:v\d+\.\d+\.\d+", prometheus["image"])  # pinned
    scrape = prometheus_config()
    [job] = scrape["scrape_configs"]
    port = ServerSettings().port
    assert job["static_configs"][0]["targets"] == [f"api:{port}"]
    assert job["metrics_path"] == "/metrics"


def test_compose_runs_alertmanager_where_prometheus_sends_its_alerts() -> None:
    services = compose_services()
    alertmanager = services["alertmanager"]
    assert re.fullmatch(r"\S+/prom/alertmanager:v\d+\.\d+\.\d+", alertmanager["image"])  # pinned
    flags = dict(arg.removeprefix("--").split("=", 1) for arg in alertmanager["command"])
    # The config (tests/test_alertmanager.py checks and runs it), read-only where it is read;
    # silences on the named volume; no gossip port for a lone Alertmanager.
    config = ROOT / "docker" / "alertmanager" / "alertmanager.yml"
    assert config.is_file()
    volumes = alertmanager["volumes"]
    assert f"./{config.relative_to(ROOT / 'docker')}:{flags['config.file']}:ro" in volumes
    assert f"alertmanager-data:{flags['storage.path']}" in volumes
    assert "alertmanager-data" in compose()["volumes"]
    assert flags["cluster.listen-address"] == ""
    assert alertmanager["restart"] == services["prometheus"]["restart"] == "on-failure"
    scrape = prometheus_config()
    [sender] = scrape["alerting"]["alertmanagers"]
    assert sender["static_configs"] == [{"targets": ["alertmanager:9093"]}]


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
    # Every verdict the service gives has a panel (the challenger's was promised and missing).
    verdicts = {
        "ml_api_monitoring_level",
        "ml_api_input_drift_level",
        "ml_api_challenger_verdict",
        "ml_api_database_up",
    }
    assert verdicts <= queried, verdicts - queried


def test_the_dashboard_s_drift_bands_are_the_model_s() -> None:
    """Grafana cannot read the model's config: its drift panel's bands and title copy
    config.yml's ``drift.watch`` and ``drift.alert`` (which the service's verdicts use), and
    are held to them here (a trial moving them in config.yml alone left the panel's)."""
    import json

    from gradient_boosting_model.config import load_config

    drift = load_config().drift
    dashboard = json.loads(
        (ROOT / "docker" / "grafana" / "dashboards" / "ml_api.json").read_text(encoding="utf-8")
    )
    (panel,) = [p for p in dashboard["panels"] if p["title"].startswith("Input drift (PSI)")]
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [step["value"] for step in steps] == [None, drift.watch, drift.alert]
    assert f"watch from {drift.watch:g}, alert from {drift.alert:g}" in panel["title"]


def test_container_settings_for_podman_are_kept_in_the_repo() -> None:
    conf = (ROOT / "docker" / "podman" / "containers.conf").read_text(encoding="utf-8")
    assert 'runtime = "runc"' in conf
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "CONTAINERS_CONF ?= $(CURDIR)/docker/podman/containers.conf" in makefile


# --- The prediction store's PostgreSQL (docker/postgres) ---------------------------------------


def _defaults(text: str) -> str:
    """``text`` as compose reads it with no variable set (each ``${NAME:-default}`` its
    default)."""
    return interpolated(text, {})


def test_each_compose_variable_has_one_default() -> None:
    """A variable written in several places (the database's password, a published port and the
    link made of it) is one setting: the same default everywhere."""
    defaults: dict[str, str] = {}
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name, default in VARIABLE.findall(text):
        assert defaults.setdefault(name, default) == default, name


#: The monitoring services: the port each listens on in its container (its image's default).
MONITORING_PORTS = {"prometheus": 9090, "alertmanager": 9093, "grafana": 3000}


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"MONITORING_HOST": "ops.example.org", "PROMETHEUS_PORT": "19090", "GRAFANA_PORT": "13000"},
    ],
    ids=["defaults", "set"],
)
@pytest.mark.parametrize("monitoring", sorted(MONITORING_PORTS))
def test_monitoring_links_lead_to_the_published_port(
    monitoring: str, environment: dict[str, str]
) -> None:
    """Prometheus' generatorURL, Alertmanager's and Grafana's links are made of their external
    URL: the host operators reach and the port compose publishes, which move together."""
    url = urlsplit(external_url(monitoring, environment))
    [published] = compose_services()[monitoring]["ports"]
    *host_side, inside = interpolated(published, environment).split(":")
    assert int(inside) == MONITORING_PORTS[monitoring]
    assert url.scheme == "http"
    assert url.hostname == environment.get("MONITORING_HOST", "localhost")
    assert url.port == int(host_side[-1])
    # The root path: Grafana's datasource and prometheus.yml's alerting target use no prefix.
    assert url.path == "/"


def test_the_api_stores_in_the_db_service_with_its_user_password_and_database() -> None:
    from sqlalchemy.engine import make_url

    services = compose_services()
    db, api = services["db"], services["api"]
    url_text = api["environment"]["ML_API_DATABASE_URL"]
    url = make_url(_defaults(url_text))
    postgres = db["environment"]
    assert url.get_backend_name() == "postgresql" and url.get_driver_name() == "psycopg"
    assert (url.host, url.port) == ("db", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.database == postgres["POSTGRES_DB"]
    # The one password: the same variable with the same default, in the URL and for db.
    [password] = VARIABLE.findall(postgres["POSTGRES_PASSWORD"])
    assert VARIABLE.findall(url_text) == [password]
    assert url.password == password[1]
    assert api["depends_on"]["db"] == {"condition": "service_healthy"}
    assert "ports" not in db, "only the proxy publishes a port"


def test_the_api_migrates_the_store_before_it_serves_the_makefile_command() -> None:
    """The entrypoint runs `make migrate`'s module, then execs the command (the serve command,
    declared once), so gunicorn stays pid 1."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    migrate = re.search(r"^migrate:.*\n\t\$\(BIN\)/(python -m \S+)$", makefile, re.MULTILINE)
    assert migrate, "Makefile has a migrate target running a module"
    entrypoint = _compose_api()["entrypoint"]
    assert entrypoint[:2] == ["sh", "-c"] and len(entrypoint) == 4
    script = entrypoint[2].replace("$$", "$")  # compose's escape of a literal $
    assert f"{migrate.group(1)} 2>" in script
    assert 'exec "$@"' in script
    assert _compose_api()["command"] == _makefile_serve_command()


def test_the_db_image_reads_the_official_images_variables_and_keeps_no_password() -> None:
    db = compose_services()["db"]
    dockerfile_path = ROOT / "docker" / db["build"]["context"] / db["build"]["dockerfile"]
    dockerfile = dockerfile_path.read_text(encoding="utf-8")
    entrypoint = (dockerfile_path.parent / "entrypoint.sh").read_text(encoding="utf-8")
    assert set(db["environment"]) == {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD"}
    for name in db["environment"]:
        assert name in entrypoint
    assert "PASSWORD" not in re.sub(r"(?m)^#.*\n", "", dockerfile), "a password in the image"
    # Its data on the named volume, where the image keeps PGDATA (the official image's too).
    pgdata = re.search(r"PGDATA=(\S+)", dockerfile)
    assert pgdata and db["volumes"] == [f"db-data:{pgdata.group(1)}"]
    assert "db-data" in compose()["volumes"]
    # Its own user, never root; ready when pg_isready says so, in the image and in compose.
    users = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*pg_isready", dockerfile, re.MULTILINE | re.DOTALL)
    assert db["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert db["restart"] == "on-failure"


def test_every_image_the_stack_builds_is_linted_and_built_by_make_image() -> None:
    from tools.container import IMAGES

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    hadolint = re.search(r"^\t\$\(BIN\)/hadolint (.+)$", makefile, re.MULTILINE)
    assert hadolint, "make lint runs hadolint"
    assert sorted(hadolint.group(1).split()) == sorted(spec.dockerfile for spec in IMAGES)
    built = {spec.name for spec in IMAGES}
    services = compose_services()
    assert {services[name]["image"] for name in ("api", "proxy", "db")} == built


def test_make_container_test_starts_the_services_it_builds_the_others_are_pinned_images() -> None:
    """Prometheus, Alertmanager and Grafana come from Docker Hub, out of reach on our machines:
    ``make container-test`` starts only the services whose images ``make image`` builds."""
    from tools.container import IMAGES, STACK_SERVICES

    services = compose_services()
    built = {spec.name for spec in IMAGES}
    assert {services[name]["image"] for name in STACK_SERVICES} == built
    for name in set(services) - set(STACK_SERVICES):
        assert "build" not in services[name], name
        assert re.fullmatch(r"docker\.io/\S+:v?\d+\.\d+\.\d+", services[name]["image"]), name


# --- Model versions: the models folder, mounted read-only, and the artifact settings ----------

MODEL_SETTINGS = ("ML_API_MODEL_ARTIFACT", "ML_API_CHALLENGER_ARTIFACT")


def test_the_models_folder_is_mounted_read_only_where_the_settings_look() -> None:
    from tools.model_versions import MODELS_DIR, MODELS_MOUNT

    [volume] = _compose_api()["volumes"]
    source, target, mode = volume.rsplit(":", 2)
    assert source == f"${{{MODELS_DIR}:-./models}}"
    assert (target, mode) == (MODELS_MOUNT, "ro")
    default = ROOT / "docker" / "models"
    assert (default / "README.md").is_file(), "the default models folder is in git"
    # Artifacts are never committed: only the folder's own files are.
    ignore = (default / ".gitignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules == ["*", "!.gitignore", "!README.md", "!Dockerfile"]
    assert "docker/models" in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()


def test_the_artifact_settings_pass_through_empty_by_default() -> None:
    environment = _compose_api()["environment"]
    names = {f"ML_API_{name.upper()}" for name in Settings.model_fields}
    for name in MODEL_SETTINGS:
        assert name in names
        assert environment[name] == f"${{{name}:-}}"


def test_an_empty_artifact_setting_is_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """compose passes an unset variable as an empty one: the settings read it as no file (the
    packaged model, no challenger), not as the path "."."""
    for name in MODEL_SETTINGS:
        monkeypatch.setenv(name, "")
    settings = Settings()
    assert settings.model_artifact is None and settings.challenger_artifact is None


def test_compose_stop_waits_for_the_drain_and_the_requests_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = _compose_api()
    for name, value in api["environment"].items():
        monkeypatch.setenv(name, str(value))
    grace = api["stop_grace_period"]
    assert grace.endswith("s")
    assert int(grace.removesuffix("s")) > ServerSettings().shutdown_seconds
