"""Loading a trained model and its card: the packaged one, or another version's file."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from gradient_boosting_model.card import model_card
from gradient_boosting_model.config import Config, load_config, packaged_config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.persistence import load_metadata, load_model_and_metadata
from gradient_boosting_model.persistence import load_model as load_artifact
from gradient_boosting_model.predict import default_model, packaged_model_and_metadata
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
    config = load_config()
    return _card(load_metadata(config, path=json_path), config, json_path)


def load_model_with_card(
    path: str | os.PathLike[str] | None = None,
) -> tuple[TrainedModel, dict[str, Any]]:
    """``load_model(path)`` and ``load_card(path)`` together, the metadata JSON read once for
    both (a service's start: the model, and what it says about itself).

    Raises
    ------
    ModelArtifactError
        As ``load_model`` and ``load_card``.
    """
    if path:
        config = load_config()
        model, metadata = load_model_and_metadata(config, path=Path(path))
        return model, _card(metadata, config, Path(path).with_suffix(".json"))
    model, metadata = packaged_model_and_metadata()
    # The packaged model's metadata is kept for the process: each card is a card of its own,
    # as load_card's, which a caller changing it would otherwise change for the next.
    return model, _card(copy.deepcopy(metadata), packaged_config(), None)


def _card(metadata: dict[str, Any], config: Config, json_path: Path | None) -> dict[str, Any]:
    """The card of ``metadata``, read from ``json_path`` (``None``: the packaged model's)."""
    try:
        return model_card(metadata, config)
    except (KeyError, TypeError, AttributeError) as error:
        raise ModelArtifactError(
            f"model metadata incomplete: {json_path or 'the packaged model'}: "
            f"{type(error).__name__} {error}"
        ) from error
