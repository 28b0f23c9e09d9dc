"""Request handlers named by ``operationId`` in ``spec/api.yaml``: HTTP in, model package out.

The spec has already checked each body's shape, types, ranges and codes; ``make_prediction``
checks the houses again (it is the model's own contract) and raises ``InvalidInputError``,
which ``api.errors`` turns into a 400 problem.
"""

from __future__ import annotations

from typing import Any

from connexion.exceptions import ProblemException
from gradient_boosting_model.predict import make_prediction

from api.metrics import PREDICTED_HOUSES, PREDICTED_PRICES, exposition
from api.model_state import ModelState, current_state
from api.request_context import note_rows

JSON = {"Content-Type": "application/json"}

Reply = tuple[dict[str, Any], int, dict[str, str]]


def _serving() -> ModelState:
    state = current_state()
    if state is None:
        raise ProblemException(
            status=503, title="Service Unavailable", detail="The model is not loaded yet."
        )
    return state


def health() -> Reply:
    """Liveness, and the versions this worker serves."""
    state = _serving()
    body = {"status": "ok", "model_version": state.model_version, "api_version": state.api_version}
    return body, 200, JSON


def root() -> Reply:
    """``GET /`` answers as ``GET /health`` does."""
    return health()


def ready() -> Reply:
    """Ready once the model is loaded in this worker and has priced a house."""
    return {"status": "ready", "model_version": _serving().model_version}, 200, JSON


def predict(body: list[dict[str, Any]]) -> Reply:
    """Price every house in the request, in request order."""
    state = _serving()
    note_rows(len(body))
    result = make_prediction(body, pipeline=state.pipeline)
    PREDICTED_HOUSES.inc(len(result.predictions))
    for price in result.predictions:
        PREDICTED_PRICES.observe(price)
    return {"predictions": result.predictions, "model_version": result.model_version}, 200, JSON


def model() -> Reply:
    """The model's card: versions, training date, holdout accuracy, inputs, request limits."""
    return _serving().description, 200, JSON


def metrics() -> tuple[bytes, int, dict[str, str]]:
    """Prometheus metrics of every worker."""
    body, _ = exposition()
    # The spec's type exactly (Connexion compares it); Flask adds the charset.
    return body, 200, {"Content-Type": "text/plain"}
