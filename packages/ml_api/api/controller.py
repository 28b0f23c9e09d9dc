"""Request handlers named by ``operationId`` in ``spec/api.yaml``: HTTP in, the service called,
HTTP out.

``Handlers`` is built once with the worker's ``PredictionService``; Connexion calls its methods
(``create_app`` resolves ``api.controller.<operationId>`` to them). Connexion has checked the
request against the spec before a handler runs (for a list of houses, its shape: the service
has the houses checked).

A handler of a JSON body takes it as the validator parsed it (``validated_body``), not as an
argument: Connexion would have Flask read the body again (2.3 MB for 1459 houses, through
a2wsgi's thread hand-off and werkzeug's stream) only to be handed the same parse; a 1459-house
request took 3 ms (6%) longer so.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from api import feedback_auth
from api.draining import is_draining
from api.metrics import exposition
from api.problems import DrainingProblem, WindowTokenProblem
from api.request_context import RequestContext, current_request
from api.service import PredictionService, PricedHouses

JSON = {"Content-Type": "application/json"}

Reply = tuple[dict[str, Any], int, dict[str, str]]


def validated_body() -> tuple[RequestContext, Any]:
    """The current request and its body as the validator parsed it and found it valid.

    Raises
    ------
    RuntimeError
        Outside a request, or where no validator parsed its body (a spec that declares no
        JSON body for the operation): a bug, answered as a 500.
    """
    request = current_request()
    if request is None or request.body is None:
        raise RuntimeError("no validated request body: the operation declares none")
    return request, request.body[1]


def _signed(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` as a plain function that carries its signature, computed once.

    Connexion (3.x, with Flask) decorates the handler anew on every request and reads its
    signature each time (``inspect.signature``, to know which arguments it takes), which takes
    a bound method 29 us and a function with a ``__signature__`` 5 us: a function's stated
    signature is what ``inspect.signature`` answers (PEP 362)."""

    @functools.wraps(method)
    def handler(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    handler.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    return handler


class Handlers:
    """The API's operations, over one ``PredictionService``."""

    #: The module the spec's ``x-openapi-router-controller`` names.
    MODULE = __name__

    def __init__(self, service: PredictionService) -> None:
        self.service = service

    def resolve(self, operation_id: str) -> Callable[..., Any]:
        """The handler of ``api.controller.<name>`` (Connexion's ``Resolver`` asks)."""
        module, _, name = operation_id.rpartition(".")
        handler = getattr(self, name, None) if module == self.MODULE else None
        if handler is None or name.startswith("_") or name in {"resolve", "service"}:
            raise ImportError(f"no handler for operationId {operation_id!r}")
        return _signed(handler)

    def health(self) -> Reply:
        """Liveness, and the versions this worker serves."""
        service = self.service
        body = {
            "status": "ok",
            "model_version": service.model_version,
            "api_version": service.api_version,
        }
        return body, 200, JSON

    def root(self) -> Reply:
        """``GET /`` answers as ``GET /health`` does."""
        return self.health()

    def ready(self) -> Reply:
        """Readiness: the model is loaded and has priced the spec's examples before any worker
        accepts a connection, so an answer means ready, unless the worker is draining (503);
        no answer means not (yet)."""
        if is_draining():
            raise DrainingProblem()
        return {"status": "ready", "model_version": self.service.model_version}, 200, JSON

    def predict(self, explain: bool = False) -> Reply:
        """Price every house in the request, in request order, with its range and warnings,
        and with ``explain`` the factors behind its price."""
        request, body = validated_body()
        request.rows = len(body)
        priced = self.service.predict(body, explain=explain, request_id=request.id)
        return prediction_body(priced, model_version=self.service.model_version), 200, JSON

    def record_sales(self) -> Reply:
        """Write the sale prices of priced houses, all of them or none, each with the name of
        the token that posted it (the spec's security demands one)."""
        request, body = validated_body()
        request.rows = len(body)
        reported_by = feedback_auth.feedback_client()
        return {"recorded": self.service.record_sales(body, reported_by=reported_by)}, 200, JSON

    def monitoring(self, predictions: int | None = None, sales: int | None = None) -> Reply:
        """Live accuracy, coverage, warnings and drift, beside training's: the default
        window's to anyone, a window asked for to a bearer of a feedback token (the spec's
        optional security puts who sent one in Connexion's context)."""
        asked = predictions is not None or sales is not None
        if asked and not feedback_auth.is_feedback_bearer():
            raise WindowTokenProblem(enabled=bool(self.service.feedback.tokens))
        return self.service.monitoring(predictions=predictions, sales=sales), 200, JSON

    def model(self) -> Reply:
        """The model's card: versions, a summary of how far to trust a price, training date,
        holdout accuracy, inputs, request limits."""
        return self.service.describe(), 200, JSON

    def metrics(self) -> tuple[bytes, int, dict[str, str]]:
        """Prometheus metrics of every worker."""
        # The spec's type exactly (Connexion compares it); Flask adds the charset.
        return exposition(), 200, {"Content-Type": "text/plain"}


def prediction_body(priced: PricedHouses, *, model_version: str) -> dict[str, Any]:
    """The JSON answer to a prediction request (the spec's ``PredictionResponse``), priced by
    the model of ``model_version`` (its card's: an artifact may be another version's)."""
    result = priced.result
    reply: dict[str, Any] = {
        "predictions": result.predictions,
        "intervals": [
            {
                "lower": interval.lower,
                "upper": interval.upper,
                "level": interval.level,
                "calibrated": interval.calibrated,
                "partial": interval.partial,
            }
            for interval in result.intervals
        ],
        "warnings": [
            [{"field": warning.field, "message": warning.message} for warning in house]
            for house in result.warnings
        ],
        "model_version": model_version,
        "prediction_ids": priced.prediction_ids,
    }
    if result.explanations is not None:
        reply["explanations"] = result.explanations.records()
    return reply
