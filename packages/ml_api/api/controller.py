"""Request handlers named by ``operationId`` in ``spec/api.yaml``: HTTP in, model package out.

The spec has already checked each body's shape, types, ranges and codes; ``make_prediction``
checks the houses again (it is the model's own contract) and raises ``InvalidInputError``,
which ``api.errors`` turns into a 400 problem.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from gradient_boosting_model.predict import make_prediction

JSON = {"Content-Type": "application/json"}


def health() -> tuple[dict[str, str], int, dict[str, str]]:
    """Liveness, and the versions this worker serves."""
    info = current_app.config["SERVICE_INFO"]
    return (
        {"status": "ok", "model_version": info.model_version, "api_version": info.api_version},
        200,
        JSON,
    )


def root() -> tuple[dict[str, str], int, dict[str, str]]:
    """``GET /`` answers as ``GET /health`` does."""
    return health()


def predict(body: list[dict[str, Any]]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Price every house in the request, in request order."""
    result = make_prediction(body)
    return (
        {"predictions": result.predictions, "model_version": result.model_version},
        200,
        JSON,
    )
