"""The application factory: the spec with its limits, the prediction service, the handlers over
it, the validators and the middlewares."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from connexion import FlaskApp
from connexion.datastructures import MediaTypeDict
from connexion.jsonifier import Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from gradient_boosting_model import TrainedModel, drift_tally, holdout_accuracy

from api.body_limit import BodyLimitsMiddleware
from api.body_validation import AllErrorsJSONBodyValidator, BodyCheck, BodyLimits
from api.challenger import Challenger
from api.config import Settings
from api.content_type import ContentTypeMiddleware
from api.controller import Handlers
from api.cors import ProblemCORSMiddleware, cors_policy
from api.errors import register_error_handlers
from api.feedback_auth import STATE_KEY, FeedbackTokens
from api.inflight import InflightBudget
from api.json_codec import ResponseJson
from api.logs import configure_logging
from api.memory import ReleaseMemoryMiddleware
from api.metrics import (
    MODEL_INFO,
    RECORDING,
    STARTUP_SECONDS,
    observe_prices,
    show_every_field,
)
from api.monitor import LiveMonitor
from api.parameter_validation import NamedParameterValidator
from api.paths import (
    HostCheckMiddleware,
    MergeSlashesMiddleware,
    QueryLimitMiddleware,
    RelativeRedirectsMiddleware,
)
from api.request_metrics import RequestContextMiddleware
from api.service import PredictionService, ServiceLimits
from api.spec_document import (
    example_houses,
    prediction_request_schema,
    read_spec,
    request_limits,
    request_schema,
)
from api.spec_endpoint import SpecDocumentMiddleware
from api.store.comparison import Versions
from api.store.database import WRITER_CONNECTIONS, Store, make_engine
from api.store.monitoring import Thresholds, Window
from api.store.recorder import Recorder
from api.store.shadow import ShadowWriter
from api.upgrade import IgnoreUpgradeMiddleware

logger = logging.getLogger(__name__)


def create_app(config: Settings, *, service: PredictionService | None = None) -> FlaskApp:
    """Build the service over ``service`` (by default one started with ``config``: its model
    loaded, and priced the spec's examples, before it serves).

    Raises
    ------
    gradient_boosting_model.errors.ModelError
        If the model cannot be loaded or cannot price the example; the message names the file.
    """
    started = time.perf_counter()
    configure_logging(config.log_level)
    spec = read_spec(config)
    if service is None:
        service = start_service(config, spec)
    jsonifier = Jsonifier(ResponseJson)
    app = FlaskApp(__name__, jsonifier=jsonifier, lifespan=_lifespan(service))
    app.add_api(
        copy.deepcopy(spec),  # Connexion adds to the document it is given
        resolver=Resolver(function_resolver=Handlers(service).resolve),
        strict_validation=True,
        validate_responses=config.validate_responses,
        # A MediaTypeDict, as Connexion looks content types up by pattern in it.
        validator_map={
            "parameter": NamedParameterValidator,
            "body": MediaTypeDict(
                {
                    "*/*json": functools.partial(
                        AllErrorsJSONBodyValidator, limits=body_limits(config)
                    )
                }
            ),
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
    # The first added of its position is the outermost: every answer, the spec document's
    # included, is to a request with one Host that names a host.
    app.add_middleware(HostCheckMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(
        SpecDocumentMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER, document=spec
    )
    # Inside the exception handlers, so that a 413, 415, 503 or 408 is a problem like any other.
    app.add_middleware(
        BodyLimitsMiddleware,
        position=MiddlewarePosition.BEFORE_SWAGGER,
        max_bytes=config.max_body_bytes,
        inflight=service.body_bytes,
        read_timeout=config.body_timeout,
        min_rate=config.min_body_rate,
    )
    app.add_middleware(ContentTypeMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(QueryLimitMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(RelativeRedirectsMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    # Outside the exception handlers, outermost first: every response, errors included, carries
    # the request id, and is counted and logged under it.
    app.add_middleware(MergeSlashesMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(IgnoreUpgradeMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(
        RequestContextMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        routes=spec["paths"],
    )
    # After the response has gone: large requests leave much freed heap behind.
    app.add_middleware(ReleaseMemoryMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    if config.cors_origins:
        # Answers a browser's preflight itself and marks the answers of allowed origins.
        # Outside every layer that answers early (the exception handlers and the
        # BEFORE_SWAGGER ones), so that their refusals are marked too (api/cors.py); inside the
        # request context, so that a preflight it answers has an id and an access-log line.
        app.add_middleware(
            ProblemCORSMiddleware,
            position=MiddlewarePosition.BEFORE_EXCEPTION,
            **cors_policy(config.cors_origins),
        )
    register_error_handlers(app)
    startup = time.perf_counter() - started
    MODEL_INFO.labels(service.model_version, service.api_version).set(1)
    RECORDING.set(1 if service.store is not None else 0)
    show_every_field()
    if service.challenger is not None:
        service.challenger.publish()
    STARTUP_SECONDS.set(startup)
    logger.info(
        "ready: model %s, API %s, %s settings, in %.2f s",
        service.model_version,
        service.api_version,
        config.environment,
        startup,
    )
    return app


def _lifespan(service: PredictionService) -> Any:
    """Each worker's start and stop: the store's writer and monitor run in the worker (the
    app is built before the server forks its workers), and each request's state carries who
    may post sale prices (api/feedback_auth.py)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[dict[str, Any]]:
        service.start_background()
        try:
            yield {STATE_KEY: service.feedback}
        finally:
            await asyncio.to_thread(service.stop_background)

    return lifespan


def body_limits(config: Settings) -> BodyLimits:
    return BodyLimits(
        max_json_depth=config.max_json_depth,
        max_listed_errors=config.max_listed_errors,
        detail_errors=config.detail_errors,
        max_string_length=config.max_string_length,
    )


def start_service(config: Settings, spec: dict[str, Any] | None = None) -> PredictionService:
    """The worker's prediction service, its model loaded and checked on the examples of the
    spec (``spec``, the document served with ``config``: read if not given)."""
    spec = spec if spec is not None else read_spec(config)
    warm_up = example_houses(spec)
    store = (
        Store(config.store_url, statement_timeout=config.store_statement_timeout)
        if config.recording
        else None
    )
    challenger = (
        Challenger.load(config.challenger_artifact, warm_up)
        if config.challenger_artifact is not None
        else None
    )
    recorder = None
    if store is not None:
        # One engine (one connection pool) a worker for both writer threads: made on first use,
        # in the worker (an engine does not survive a fork); SQLAlchemy engines are thread-safe.
        engine = functools.cache(
            functools.partial(
                make_engine,
                store.url,
                connections=WRITER_CONNECTIONS,
                statement_timeout=store.statement_timeout,
                existing=True,  # a SQLite file deleted under it is not written on, nor made
            )
        )
        shadow = (
            ShadowWriter(
                engine,
                challenger,
                buffer_houses=config.record_buffer_houses,
                batch_houses=config.record_batch_houses,
            )
            if challenger is not None
            else None
        )
        recorder = Recorder(
            engine,
            buffer_houses=config.record_buffer_houses,
            batch_houses=config.record_batch_houses,
            shadow=shadow,
            health=store.health,
        )
    return PredictionService.start(
        artifact=config.model_artifact,
        warm_up=warm_up,
        api_version=spec["info"]["version"],
        limits=ServiceLimits(
            max_explained_rows=config.max_explained_rows,
            reported=request_limits(config),
        ),
        house_check=BodyCheck(prediction_request_schema(spec), body_limits(config)),
        sale_check=BodyCheck(request_schema(spec, "/v1/sales"), body_limits(config)),
        explained_rows=InflightBudget(
            config.max_inflight_explained_rows, doing="explaining as many houses"
        ),
        body_bytes=InflightBudget(
            config.max_inflight_body_bytes, doing="reading as many request bodies"
        ),
        store_requests=InflightBudget(
            config.max_inflight_store_requests, doing="waiting on the store for as many requests"
        ),
        observers=[observe_prices],
        store=store,
        recorder=recorder,
        monitor=(
            (lambda model, card: live_monitor(config, store, model, card, challenger))
            if store
            else None
        ),
        challenger=challenger,
        feedback=FeedbackTokens(config.feedback_tokens),
    )


def live_monitor(
    config: Settings,
    store: Store,
    model: TrainedModel,
    card: dict[str, Any],
    challenger: Challenger | None = None,
) -> LiveMonitor:
    """The worker's monitor of the store, against the figures on the model's card and the
    training distributions of its inputs; with ``challenger``, comparing it with the model."""

    drift_tally(model)  # a model without its inputs' distributions fails now, not each refresh
    # Live accuracy is measured on houses like the training ones (range marked calibrated).
    accuracy = holdout_accuracy(card)
    folds = card["cross_validation_metrics"]
    training = {
        "rmsle": accuracy["rmsle"],
        "median_ape": accuracy.get("median_ape"),
        "coverage": card["intervals"]["coverage"]["holdout"]["coverage"],
        "warned_share": folds["warned_houses"] / folds["houses"],
    }
    return LiveMonitor(
        store,
        model_version=str(card["version"]),
        window=Window(config.monitoring_predictions, config.monitoring_sales),
        every_seconds=config.monitoring_seconds,
        retention_days=config.retention_days,
        training={name: value for name, value in training.items() if value is not None},
        thresholds=Thresholds(
            min_sales=config.monitoring_min_sales,
            error_ratio_watch=config.error_ratio_watch,
            error_ratio_alert=config.error_ratio_alert,
            coverage_watch=config.coverage_watch,
            coverage_alert=config.coverage_alert,
            warned_ratio_watch=config.warned_ratio_watch,
            warned_ratio_alert=config.warned_ratio_alert,
            min_drift_houses=config.monitoring_min_drift_houses,
        ),
        new_tally=functools.partial(drift_tally, model),
        versions=Versions(str(card["version"]), challenger.version) if challenger else None,
    )
