from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from api import config
from api.config import ServerSettings, settings_for

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("development", config.DevelopmentConfig),
        ("testing", config.TestingConfig),
        ("production", config.ProductionConfig),
    ],
)
def test_each_environment_has_its_settings(environment: str, expected: type) -> None:
    settings = settings_for(environment)
    assert type(settings) is expected
    assert settings.environment == environment


def test_production_does_not_validate_responses_and_testing_does() -> None:
    assert settings_for("production").validate_responses is False
    assert settings_for("testing").validate_responses is True


def test_environment_overrides_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_API_VALIDATE_RESPONSES", "false")
    monkeypatch.setenv("ML_API_LOG_LEVEL", "WARNING")
    settings = settings_for("testing")
    assert settings.validate_responses is False  # "false" is false, not a truthy string
    assert settings.log_level == "WARNING"


def test_bad_overrides_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ML_API_WORKERS", "none")
    with pytest.raises(ValueError, match="workers"):
        ServerSettings()


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment 'staging'"):
        settings_for("staging")


def test_gunicorn_serves_the_asgi_app_with_the_server_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ML_API_WORKERS", "3")
    # gunicorn.conf.py sets it when unset; undone after the test, for this process's metrics
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    conf = runpy.run_path(str(GUNICORN_CONF))
    assert conf["wsgi_app"] == "api.asgi:app"
    assert conf["worker_class"] == "api.worker.DrainingUvicornWorker"
    assert conf["bind"] == "0.0.0.0:5000"
    assert conf["workers"] == 3
    assert conf["control_socket_disable"] is True
    assert conf["accesslog"] is None  # the app logs one JSON line per request itself
