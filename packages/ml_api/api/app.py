"""The application factory: the spec, its validators and handlers, and the model, loaded once."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from connexion import FlaskApp
from connexion.datastructures import MediaTypeDict
from connexion.jsonifier import Jsonifier
from connexion.options import SwaggerUIOptions
from gradient_boosting_model import __version__ as model_version
from gradient_boosting_model.predict import default_pipeline

from api.body_validation import AllErrorsJSONBodyValidator
from api.config import Settings
from api.errors import register_error_handlers

SPEC_DIR = Path(__file__).parent / "spec"
SPEC_FILE = "api.yaml"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceInfo:
    model_version: str
    api_version: str


def read_spec() -> dict[str, Any]:
    """The OpenAPI document, as served."""
    spec: dict[str, Any] = yaml.safe_load((SPEC_DIR / SPEC_FILE).read_text(encoding="utf-8"))
    return spec


def configure_logging(level: str) -> None:
    """Plain-text logs on stderr; called once per process, at start-up."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"
    )
    logging.getLogger().setLevel(level)


def create_app(config: Settings) -> FlaskApp:
    """Build the service: load the model now, so that a worker with no model never serves.

    Raises
    ------
    gradient_boosting_model.errors.ModelArtifactError
        If the model cannot be loaded; the message names the file.
    """
    configure_logging(config.log_level)
    default_pipeline()  # load the model once per worker, before the first request
    spec = read_spec()
    # Compact JSON: Connexion's default jsonifier indents every response.
    app = FlaskApp(
        __name__, specification_dir=SPEC_DIR, jsonifier=Jsonifier(json, separators=(",", ":"))
    )
    AllErrorsJSONBodyValidator.detail_limit = config.detail_errors
    app.add_api(
        SPEC_FILE,
        strict_validation=True,
        validate_responses=config.validate_responses,
        # A MediaTypeDict, as Connexion looks content types up by pattern in it.
        validator_map={"body": MediaTypeDict({"*/*json": AllErrorsJSONBodyValidator})},
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_path="/ui",
            # Operations open at a link (/ui/#/predictions/...), "Try it out" already on.
            swagger_ui_config={"deepLinking": True, "tryItOutEnabled": True},
        ),
    )
    app.app.config["SERVICE_INFO"] = ServiceInfo(
        model_version=model_version, api_version=spec["info"]["version"]
    )
    register_error_handlers(app, detail_limit=config.detail_errors)
    logger.info(
        "ready: model %s, API %s, %s settings",
        model_version,
        spec["info"]["version"],
        config.environment,
    )
    return app
