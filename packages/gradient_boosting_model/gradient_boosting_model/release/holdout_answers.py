"""What a model answers for the labelled holdout's houses, unrounded, with the holdout's identity:
what its holdout figures are measured on, kept in the baseline beside its answers for test.csv
so that the next version's accuracy is reported beside the released one's (``accuracy``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.config import Config
from gradient_boosting_model.data import LabelledSplit, features_and_target
from gradient_boosting_model.evaluation import holdout_evidence
from gradient_boosting_model.holdout_identity import HoldoutIdentity
from gradient_boosting_model.schemas import ID_FIELD
from gradient_boosting_model.trained_model import TrainedModel

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HoldoutAnswers:
    """One model's answers for the holdout's houses, in the split's order (arrays by house):
    ``model_version``'s, given by the model of ``answered_by``."""

    #: The version the answers stand for (a baseline's: ``baseline/VERSION``).
    model_version: str
    #: The version of the model that answered: ``model_version`` itself, or, for a model
    #: fitted on the holdout too, its twin's (``0.4.0+twin``), which the holdout measures in
    #: its place (``persistence.holdout_model_path``). A file written before it was recorded
    #: reads as ``model_version``.
    answered_by: str
    identity: HoldoutIdentity
    ids: npt.NDArray[np.int64]
    #: ``exp`` of the log price, unrounded: as training measures the holdout.
    predicted: FloatArray
    lower: FloatArray
    upper: FloatArray
    #: Whether each range is marked calibrated (coverage is measured on those).
    calibrated: npt.NDArray[np.bool_]

    def to_json(self) -> dict[str, Any]:
        """JSON-shaped: the version, the identity, one record a house."""
        return {
            "model_version": self.model_version,
            "answered_by": self.answered_by,
            "holdout_split": self.identity.to_json(),
            "houses": [
                {
                    "id": int(house_id),
                    "predicted": float(predicted),
                    "lower": float(lower),
                    "upper": float(upper),
                    "calibrated": bool(calibrated),
                }
                for house_id, predicted, lower, upper, calibrated in zip(
                    self.ids, self.predicted, self.lower, self.upper, self.calibrated, strict=True
                )
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HoldoutAnswers:
        """The answers ``to_json`` wrote.

        Raises
        ------
        KeyError, TypeError, ValueError, ModelError
            If ``data`` is not shaped as ``to_json`` writes it.
        """
        houses: Sequence[Mapping[str, Any]] = data["houses"]

        def column(name: str) -> FloatArray:
            return np.array([house[name] for house in houses], dtype=np.float64)

        return cls(
            model_version=str(data["model_version"]),
            answered_by=str(data.get("answered_by", data["model_version"])),
            identity=HoldoutIdentity.from_json(data["holdout_split"]),
            ids=np.array([house["id"] for house in houses], dtype=np.int64),
            predicted=column("predicted"),
            lower=column("lower"),
            upper=column("upper"),
            calibrated=np.array([house["calibrated"] for house in houses], dtype=bool),
        )


def answer_holdout(
    model: TrainedModel,
    split: LabelledSplit,
    config: Config,
    *,
    model_version: str,
    identity: HoldoutIdentity,
) -> HoldoutAnswers:
    """``model``'s answers for ``split``'s holdout, as ``evaluation.holdout_metrics`` measures
    them, as ``model_version``'s, recorded with the holdout's ``identity``
    (``holdout_identity(split, config)``, which the caller has made to check the holdout
    against the model's and the baseline's) and with the version ``model`` was loaded as
    (``answered_by``: its twin's, where it answers for a model fitted on the holdout too; a
    model not loaded from a file answers as ``model_version``)."""
    houses, _ = features_and_target(split.holdout, config)
    evidence = holdout_evidence(model, houses)
    return HoldoutAnswers(
        model_version=model_version,
        answered_by=model.version or model_version,
        identity=identity,
        ids=np.array([house[ID_FIELD] for house in houses], dtype=np.int64),
        predicted=np.exp(evidence.log_price),
        lower=np.exp(evidence.log_lower),
        upper=np.exp(evidence.log_upper),
        calibrated=np.asarray(evidence.calibrated, dtype=bool),
    )
