"""The application factory: the spec with its limits, validators, handlers, and the model."""

from __future__ import annotations

import copy
import functools
import logging
import time

from connexion import FlaskApp
from connexion.datastructures import MediaTypeDict
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from starlette.middleware.cors import CORSMiddleware

from api.body_limit import BodyLimitsMiddleware
from api.body_validation import AllErrorsJSONBodyValidator, BodyLimits
from api.config import MIB, Settings
from api.content_type import ContentTypeMiddleware
from api.errors import register_error_handlers
from api.inflight import EXPLAINED_ROWS_KEY, explained_rows_budget
from api.json_codec import OrjsonProvider, ResponseJson
from api.logs import configure_logging
from api.memory import ReleaseMemoryMiddleware
from api.metrics import MODEL_INFO, STARTUP_SECONDS
from api.model_state import ModelState, load_model_state
from api.paths import MergeSlashesMiddleware
from api.request_context import REQUEST_ID_HEADER, RequestIdMiddleware
from api.request_metrics import RequestMetricsMiddleware
from api.spec_document import example_houses, read_spec, request_limits
from api.spec_endpoint import SpecDocumentMiddleware

logger = logging.getLogger(__name__)


def create_app(config: Settings) -> FlaskApp:
    """Build the service. The model is loaded, and priced the spec's example, before it serves.

    Raises
    ------
    gradient_boosting_model.errors.ModelError
        If the model cannot be loaded or cannot price the example; the message names the file.
    """
    started = time.perf_counter()
    configure_logging(config.log_level)
    spec = read_spec(config)
    state = load_model_state(
        artifact=config.model_artifact,
        api_version=spec["info"]["version"],
        warm_up=example_houses(spec),
        limits=request_limits(config),
    )
    jsonifier = Jsonifier(ResponseJson)
    app = FlaskApp(__name__, jsonifier=jsonifier)
    app.app.json = OrjsonProvider(app.app)
    limits = BodyLimits(
        max_json_depth=config.max_json_depth,
        max_listed_errors=config.max_listed_errors,
        detail_errors=config.detail_errors,
        max_string_length=config.max_string_length,
    )
    app.add_api(
        copy.deepcopy(spec),  # Connexion adds to the document it is given
        strict_validation=True,
        validate_responses=config.validate_responses,
        # A MediaTypeDict, as Connexion looks content types up by pattern in it.
        validator_map={
            "body": MediaTypeDict(
                {"*/*json": functools.partial(AllErrorsJSONBodyValidator, limits=limits)}
            )
        },
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_path="/ui",
            # Operations open at a link (/ui/#/predictions/...). "Try it out" is not on from the
            # start: then Swagger UI fills the body from the schema (inventing a pool for a
            # house whose example has none) instead of the chosen example.
            swagger_ui_config={"deepLinking": True, "tryItOutEnabled": False},
            # Served by SpecDocumentMiddleware, with its components named (see there).
            serve_spec=False,
        ),
    )
    app.add_middleware(
        SpecDocumentMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER, document=spec
    )
    # Inside the exception handlers, so that a 413, 415, 503 or 408 is a problem like any other.
    app.add_middleware(
        BodyLimitsMiddleware,
        position=MiddlewarePosition.BEFORE_SWAGGER,
        max_bytes=config.max_body_bytes,
        max_inflight_bytes=config.max_inflight_body_bytes,
        read_timeout=config.body_timeout,
    )
    app.add_middleware(ContentTypeMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    # Outside the exception handlers, outermost first: every response, errors included, carries
    # the request id, and is counted and logged under it.
    app.add_middleware(MergeSlashesMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        RequestMetricsMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        routes=spec["paths"],
    )
    # After the response has gone: large requests leave much freed heap behind.
    app.add_middleware(
        ReleaseMemoryMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, min_bytes=MIB
    )
    if config.cors_origins:
        # Answers a browser's preflight itself and marks the answers of allowed origins.
        app.add_middleware(
            CORSMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )
    app.app.config[ModelState.CONFIG_KEY] = state
    app.app.config[EXPLAINED_ROWS_KEY] = explained_rows_budget(config.max_inflight_explained_rows)
    register_error_handlers(
        app, listed_limit=config.max_listed_errors, detail_limit=config.detail_errors
    )
    startup = time.perf_counter() - started
    MODEL_INFO.labels(state.model_version, state.api_version).set(1)
    STARTUP_SECONDS.set(startup)
    logger.info(
        "ready: model %s, API %s, %s settings, in %.2f s",
        state.model_version,
        state.api_version,
        config.environment,
        startup,
    )
    return app
