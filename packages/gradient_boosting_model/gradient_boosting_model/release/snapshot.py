"""What a model answers for a set of houses, kept whole: the record a release is compared by.

Per house: its price, its range, its warnings and the factor of every field (``explain``), all
as ``make_prediction`` gives them to a client. The JSON form is one record per house, keyed so
that ``tolerances.json_differences`` compares two of them by the project's rule (``price``,
``lower`` and ``upper`` to the cent; ``base_price`` and ``factors`` within a relative 1e-9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.schemas import ID_FIELD
from gradient_boosting_model.trained_model import TrainedModel

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Snapshot:
    """One model's answers for the same houses, in their order (arrays by house)."""

    model_version: str
    #: The houses' ``Id``: how a report names them.
    ids: npt.NDArray[np.int64]
    prices: FloatArray
    lower: FloatArray
    upper: FloatArray
    #: Per house, (field, message) of each warning.
    warnings: tuple[tuple[tuple[str, str], ...], ...]
    base_price: float
    #: The explanation's fields, the columns of ``factors``.
    fields: tuple[str, ...]
    #: (houses x fields) each field's factor: ``base_price * prod(factors[i])`` is price i.
    factors: FloatArray

    def __len__(self) -> int:
        return int(self.ids.size)

    def warned_fields(self, house: int) -> frozenset[str]:
        """The fields house ``house`` (a position) is warned about."""
        return frozenset(field for field, _ in self.warnings[house])

    def record(self, house: int) -> dict[str, Any]:
        """House ``house`` (a position) as JSON-shaped data (what the baseline file holds)."""
        return {
            "id": int(self.ids[house]),
            "price": float(self.prices[house]),
            "lower": float(self.lower[house]),
            "upper": float(self.upper[house]),
            "warnings": [
                {"field": field, "message": message} for field, message in self.warnings[house]
            ],
            "factors": self.factors[house].tolist(),
        }

    def to_json(self) -> dict[str, Any]:
        """The whole snapshot as JSON-shaped data."""
        return {
            "model_version": self.model_version,
            "base_price": self.base_price,
            "fields": list(self.fields),
            "houses": [self.record(house) for house in range(len(self))],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        """The snapshot that ``to_json`` wrote.

        Raises
        ------
        KeyError, TypeError, ValueError
            If ``data`` is not shaped as ``to_json`` writes it.
        """
        houses: Sequence[Mapping[str, Any]] = data["houses"]
        fields = tuple(str(name) for name in data["fields"])
        factors = np.array([house["factors"] for house in houses], dtype=np.float64)
        if factors.shape != (len(houses), len(fields)):
            raise ValueError(f"factors are {factors.shape}, not houses x {len(fields)} fields")
        return cls(
            model_version=str(data["model_version"]),
            ids=np.array([house["id"] for house in houses], dtype=np.int64),
            prices=np.array([house["price"] for house in houses], dtype=np.float64),
            lower=np.array([house["lower"] for house in houses], dtype=np.float64),
            upper=np.array([house["upper"] for house in houses], dtype=np.float64),
            warnings=tuple(
                tuple((str(w["field"]), str(w["message"])) for w in house["warnings"])
                for house in houses
            ),
            base_price=float(data["base_price"]),
            fields=fields,
            factors=factors,
        )


def take_snapshot(
    model: TrainedModel, houses: Sequence[Mapping[str, Any]], *, model_version: str
) -> Snapshot:
    """Price every house of ``houses`` (JSON-shaped, each with its ``Id``) with ``model``, as a
    client would (``make_prediction``, explained), all at once.

    Raises
    ------
    InvalidInputError
        If any house is refused: a snapshot never leaves a house out.
    ValueError
        If a house has no ``Id``, or two share one: a report could not name them.
    """
    ids = [house.get(ID_FIELD) for house in houses]
    if any(not isinstance(house_id, int) for house_id in ids) or len(set(ids)) != len(ids):
        raise ValueError(f"every house needs its own whole-number {ID_FIELD!r}")
    result = make_prediction(houses, model=model, explain=True)
    explanations = result.explanations
    if explanations is None:  # pragma: no cover - asked for
        raise ModelError("make_prediction gave no explanations")
    return Snapshot(
        model_version=model_version,
        ids=np.array(ids, dtype=np.int64),
        prices=np.array(result.predictions, dtype=np.float64),
        lower=np.array([interval.lower for interval in result.intervals], dtype=np.float64),
        upper=np.array([interval.upper for interval in result.intervals], dtype=np.float64),
        warnings=tuple(
            tuple((warning.field, warning.message) for warning in found)
            for found in result.warnings
        ),
        base_price=explanations.base_price,
        fields=explanations.fields,
        factors=np.exp(explanations.log_factors),
    )
