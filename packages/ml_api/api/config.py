"""Service settings from the environment (prefix ``ML_API_``), one class per deployment kind."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "testing", "production"]


class Settings(BaseSettings):
    """Settings of the application inside each worker."""

    model_config = SettingsConfigDict(env_prefix="ML_API_", frozen=True, extra="ignore")

    environment: Environment = "production"
    #: Check every response against the spec: cheap insurance in tests, a cost in production.
    validate_responses: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: At most this many invalid fields are spelled out in a problem's ``detail``.
    detail_errors: int = Field(default=10, ge=1)


class DevelopmentConfig(Settings):
    environment: Environment = "development"
    validate_responses: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "DEBUG"


class TestingConfig(Settings):
    environment: Environment = "testing"
    validate_responses: bool = True


class ProductionConfig(Settings):
    environment: Environment = "production"


_BY_ENVIRONMENT: dict[str, type[Settings]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def settings_for(environment: str) -> Settings:
    """The settings class of ``environment``, with any ``ML_API_*`` overrides applied."""
    try:
        return _BY_ENVIRONMENT[environment]()
    except KeyError:
        known = ", ".join(_BY_ENVIRONMENT)
        raise ValueError(f"unknown environment {environment!r}: expected one of {known}") from None


class ServerSettings(BaseSettings):
    """Settings of the gunicorn server; read by ``gunicorn.conf.py``."""

    model_config = SettingsConfigDict(env_prefix="ML_API_", frozen=True, extra="ignore")

    host: str = "0.0.0.0"
    port: int = Field(default=5000, ge=1, le=65535)
    workers: int = Field(default=2, ge=1)
    #: Seconds a worker may be silent before gunicorn kills and replaces it.
    timeout: int = Field(default=30, ge=1)
    #: Seconds in-flight requests get to finish after SIGTERM.
    graceful_timeout: int = Field(default=30, ge=1)
    keepalive: int = Field(default=5, ge=0)
