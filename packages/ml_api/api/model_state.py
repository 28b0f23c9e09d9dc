"""The model a worker serves: loaded once at start-up, checked on a real house, then ready."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

from flask import current_app
from gradient_boosting_model.config import load_config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.persistence import load_metadata, load_model
from gradient_boosting_model.predict import default_model, make_prediction
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.trained_model import TrainedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelState:
    """What the handlers serve. It exists only once the model has priced a house."""

    CONFIG_KEY: ClassVar[str] = "MODEL_STATE"

    model: TrainedModel
    model_version: str
    api_version: str
    #: What ``GET /v1/model`` answers.
    description: dict[str, Any]

    @property
    def max_explained_rows(self) -> int:
        """Houses one request may ask to have explained (a limit the card reports)."""
        limit: int = self.description["limits"]["max_explained_rows"]
        return limit


def describe_model(metadata: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """The model's card: versions, training, holdout accuracy, the price ranges' method and
    measured coverage, the inputs' training ranges, the inputs and the request limits."""
    metrics = metadata["metrics"]
    return {
        "name": metadata["model_name"],
        "version": metadata["model_version"],
        "trained_at": metadata["trained_at"],
        "python_version": metadata["python_version"],
        "library_versions": metadata["library_versions"],
        "holdout_metrics": {
            name: value for name, value in metrics["holdout"].items() if name != "intervals"
        },
        "cross_validation_metrics": {
            name: value
            for name, value in metrics["cross_validation"].items()
            if name != "intervals"
        },
        "intervals": {
            **metadata["intervals"],
            "coverage": {
                "holdout": metrics["holdout"]["intervals"],
                "cross_validation": metrics["cross_validation"]["intervals"],
            },
        },
        "input_ranges": metadata["input_ranges"],
        "input_fields": [
            {
                "name": name,
                "required": field.required,
                "description": field.metadata["description"],
            }
            for name, field in HOUSE_FIELDS.items()
        ],
        "limits": limits,
    }


def load_model_state(
    *,
    artifact: Path | None,
    api_version: str,
    warm_up: Sequence[dict[str, Any]],
    limits: dict[str, int],
) -> ModelState:
    """Load the packaged model (or ``artifact``) and price ``warm_up`` with it.

    Raises
    ------
    gradient_boosting_model.errors.ModelError
        If the model or its metadata is missing or corrupt, or it cannot price the houses.
    """
    config = load_config()
    model = load_model(config, path=artifact) if artifact else default_model()
    metadata = load_metadata(config, path=artifact.with_suffix(".json") if artifact else None)
    trained_with = metadata["library_versions"]["scikit-learn"]
    if trained_with != version("scikit-learn"):  # a pickle is only good for its own release
        raise ModelArtifactError(
            f"model {artifact or 'packaged'} was trained with scikit-learn {trained_with}, "
            f"this is {version('scikit-learn')}"
        )
    # Explained too, so that the explainer is built before the first request.
    prices = make_prediction(list(warm_up), model=model, explain=True).predictions
    logger.info("model %s loaded; warm-up prices %s", metadata["model_version"], prices)
    return ModelState(
        model=model,
        model_version=metadata["model_version"],
        api_version=api_version,
        description=describe_model(metadata, limits),
    )


def current_state() -> ModelState:
    """This worker's model state. The model is loaded before any worker accepts a connection,
    so any request finds it loaded and checked."""
    state: ModelState = current_app.config[ModelState.CONFIG_KEY]
    return state
