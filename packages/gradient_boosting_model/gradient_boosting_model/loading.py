"""Loading a trained model and its card: the packaged one, or another version's file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradient_boosting_model.card import model_card
from gradient_boosting_model.config import load_config
from gradient_boosting_model.persistence import load_metadata
from gradient_boosting_model.persistence import load_model as load_artifact
from gradient_boosting_model.predict import default_model
from gradient_boosting_model.trained_model import TrainedModel


def load_model(path: Path | None = None) -> TrainedModel:
    """The packaged model (loaded once a process), or the artifact at ``path``.

    Raises
    ------
    ModelArtifactError
        If the artifact or its metadata JSON is missing or corrupt, or it was trained with
        another scikit-learn release; the message names the file.
    """
    return load_artifact(load_config(), path=path) if path else default_model()


def load_card(path: Path | None = None) -> dict[str, Any]:
    """The card (``card.model_card``) of the packaged model, or of the artifact at ``path``
    (from the metadata JSON beside it)."""
    metadata = load_metadata(load_config(), path=path.with_suffix(".json") if path else None)
    return model_card(metadata)
