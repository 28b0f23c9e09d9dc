"""The floor with the model: the framework's floor (tools/floor.py), its handler pricing the body
with ``make_prediction`` and answering as the service does (``prediction_body``), the model
loaded before the workers fork, as the service's is. What the service would cost with nothing of
its own but the model: ``tools.bench`` measures the service against it too, which splits the
service's cost over the floor into the model's (in a worker, between the framework's requests,
it takes longer than in a loop of its own) and the rest.

Apart from tools/floor.py so that the plain floor's workers load none of the model's modules.
"""

from __future__ import annotations

from typing import Any

from connexion import FlaskApp
from gradient_boosting_model import make_prediction
from gradient_boosting_model.predict import default_model

from api.controller import prediction_body
from api.service import PricedHouses, prediction_ids
from tools.floor import create_floor_app


def predict(body: list[dict[str, Any]]) -> dict[str, Any]:
    """The body priced, answered as the service answers."""
    result = make_prediction(body)
    priced = PricedHouses(result=result, prediction_ids=prediction_ids(len(body)))
    return prediction_body(priced, model_version=result.model_version)


def create_model_floor_app() -> FlaskApp:
    """The floor with the model's app (a factory, as the floor's)."""
    default_model()
    return create_floor_app("tools.model_floor.predict")
