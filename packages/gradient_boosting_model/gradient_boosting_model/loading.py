"""Loading a trained model and its card: the packaged one, or another version's file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gradient_boosting_model.card import model_card
from gradient_boosting_model.config import load_config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.persistence import load_metadata
from gradient_boosting_model.persistence import load_model as load_artifact
from gradient_boosting_model.predict import default_model
from gradient_boosting_model.trained_model import TrainedModel


def load_model(path: str | os.PathLike[str] | None = None) -> TrainedModel:
    """The packaged model (loaded once a process), or the artifact at ``path``.

    Raises
    ------
    ModelArtifactError
        If the artifact or its metadata JSON is missing or corrupt, or it was trained with
        another scikit-learn release; the message names the file.
    """
    return load_artifact(load_config(), path=Path(path)) if path else default_model()


def load_card(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The card (``card.model_card``) of the packaged model, or of the artifact at ``path``
    (from the metadata JSON beside it).

    Raises
    ------
    ModelArtifactError
        If the metadata JSON is missing, unreadable, or lacks what a card is made of.
    """
    json_path = Path(path).with_suffix(".json") if path else None
    metadata = load_metadata(load_config(), path=json_path)
    try:
        return model_card(metadata)
    except (KeyError, TypeError, AttributeError) as error:
        raise ModelArtifactError(
            f"model metadata incomplete: {json_path or 'the packaged model'}: "
            f"{type(error).__name__} {error}"
        ) from error
