"""Request handlers named by ``operationId`` in ``spec/api.yaml``: HTTP in, model package out.

The spec has checked the request's shape (a list of 1 to ``max_rows`` objects); each house is
checked once, by ``make_prediction``, against the rules the spec's ``HouseDetails`` is generated
from. When it refuses one, the body is checked against the spec for the 400 and its messages
(``check_deferred_items``); a body the spec accepts breaks a house-level rule, and the model's
``InvalidInputError`` becomes a 422 problem (``api.errors``).
"""

from __future__ import annotations

from typing import Any

from connexion.exceptions import ClientProblem
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.predict import make_prediction

from api.body_validation import check_deferred_items
from api.inflight import explained_rows
from api.metrics import PREDICTED_HOUSES, PREDICTED_PRICES, WARNED_HOUSES, exposition
from api.model_state import ModelState, current_state
from api.request_context import note_rows

JSON = {"Content-Type": "application/json"}

Reply = tuple[dict[str, Any], int, dict[str, str]]


def health() -> Reply:
    """Liveness, and the versions this worker serves."""
    state = current_state()
    body = {"status": "ok", "model_version": state.model_version, "api_version": state.api_version}
    return body, 200, JSON


def root() -> Reply:
    """``GET /`` answers as ``GET /health`` does."""
    return health()


def ready() -> Reply:
    """Readiness: the model is loaded and has priced the spec's examples before any worker
    accepts a connection, so any answer here means ready; no answer means not (yet)."""
    return {"status": "ready", "model_version": current_state().model_version}, 200, JSON


def predict(body: list[dict[str, Any]], explain: bool = False) -> Reply:
    """Price every house in the request, in request order, with its range and warnings, and
    with ``explain`` the factors behind its price."""
    state = current_state()
    note_rows(len(body))
    if explain:  # invalid houses are said before the limits of explaining
        check_deferred_items()
    if explain and len(body) > state.max_explained_rows:
        # 422: the houses are valid; this many explanations is more than one answer carries.
        raise ClientProblem(
            status=422,
            title="Unprocessable Entity",
            detail=f"explain=true takes at most {state.max_explained_rows} houses per request; "
            f"this one has {len(body)}. Send them in smaller requests, or without explain.",
        )
    if explain:
        with explained_rows().claim(len(body)):  # 503 if the worker explains enough already
            return _priced(body, state, explain=True)
    return _priced(body, state, explain=False)


def _priced(body: list[dict[str, Any]], state: ModelState, *, explain: bool) -> Reply:
    try:
        result = make_prediction(body, model=state.model, explain=explain)
    except InvalidInputError:
        check_deferred_items()  # the spec's 400, if the houses break it
        raise
    PREDICTED_HOUSES.inc(len(result.predictions))
    for price in result.predictions:
        PREDICTED_PRICES.observe(price)
    warnings = [
        [{"field": warning.field, "message": warning.message} for warning in house]
        for house in result.warnings
    ]
    for house in warnings:
        for field in {warning["field"] for warning in house}:
            WARNED_HOUSES.labels(field).inc()
    reply: dict[str, Any] = {
        "predictions": result.predictions,
        "intervals": [
            {
                "lower": interval.lower,
                "upper": interval.upper,
                "level": interval.level,
                "calibrated": interval.calibrated,
            }
            for interval in result.intervals
        ],
        "warnings": warnings,
        "model_version": state.model_version,
    }
    if result.explanations is not None:
        reply["explanations"] = result.explanations.records()
    return reply, 200, JSON


def model() -> Reply:
    """The model's card: versions, training date, holdout accuracy, inputs, request limits."""
    return current_state().description, 200, JSON


def metrics() -> tuple[bytes, int, dict[str, str]]:
    """Prometheus metrics of every worker."""
    # The spec's type exactly (Connexion compares it); Flask adds the charset.
    return exposition(), 200, {"Content-Type": "text/plain"}
