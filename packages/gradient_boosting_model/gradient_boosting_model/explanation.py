"""Why a house got its price: a base price and one multiplicative factor per client field.

The model predicts log(price) as a sum, so its contributions per model feature (the trees' path
contributions, ``tree_paths``, with their linear start's terms, and in a blend the Lasso's
per-column terms, ``blend``) add up exactly to log(price) - log(base price); exponentiated, they
multiply. Model features are mapped back to the fields a client sends:

- a feature made from one field (an area, a grade's score, a category's rank, a year turned
  into an age at sale) is credited to that field;
- a derived total (``WeightedSums``, e.g. TotalSF) is split among its parts in proportion to
  what each part put into the total for this house (equal shares when the total is 0), so a
  house's basement carries the basement's share of what its total floor area did to the price.

A field the client did not give (left out, or null where a null is not "none") reached the
trees as a value the imputer assumed (a typical one; for a floor, what the living area leaves:
``area_parts``); it keeps its factor and is marked ``assumed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.blend_terms import AdditiveTerms
from gradient_boosting_model.schemas import HOUSE_FIELDS


@dataclass(frozen=True)
class FieldFactor:
    """One field's effect on one house's price: ``factor`` multiplies the base price."""

    field: str
    factor: float
    #: The client did not give this field (left out, or null where null is not "none"): a
    #: value was assumed (``explanation``).
    assumed: bool


@dataclass(frozen=True)
class Explanations:
    """The explanations of a batch: ``base_price * prod(exp(log_factors[i]))`` is house i's
    price (exactly, in log space, up to float rounding)."""

    base_log_price: float
    #: Client fields, in the columns' order.
    fields: tuple[str, ...]
    #: (houses x fields) log of each field's factor.
    log_factors: npt.NDArray[np.float64]
    #: (houses x fields) whether the field's value was assumed.
    assumed: npt.NDArray[np.bool_]

    @property
    def base_price(self) -> float:
        """The price before any field is considered: the same for every house."""
        return float(np.exp(self.base_log_price))

    def __len__(self) -> int:
        return int(self.log_factors.shape[0])

    def factors(self, house: int) -> list[FieldFactor]:
        """House ``house``'s factors, largest effect first (by distance from 1 in log)."""
        return [
            FieldFactor(field=field, factor=factor, assumed=assumed)
            for field, factor, assumed in self._ordered([house])[0]
        ]

    def records(self) -> list[dict[str, Any]]:
        """Every house's explanation as JSON-shaped dicts (what the API sends)."""
        base = self.base_price
        return [
            {
                "base_price": base,
                "factors": [
                    {"field": field, "factor": factor, "assumed": assumed}
                    for field, factor, assumed in house
                ],
            }
            for house in self._ordered(range(len(self)))
        ]

    def _ordered(self, houses: Sequence[int] | range) -> list[list[tuple[str, float, bool]]]:
        rows = np.asarray(houses, dtype=np.intp)
        logs = self.log_factors[rows]
        order = np.argsort(-np.abs(logs), axis=1, kind="stable")
        factors = np.take_along_axis(np.exp(logs), order, axis=1).tolist()
        assumed = np.take_along_axis(self.assumed[rows], order, axis=1).tolist()
        names = np.asarray(self.fields, dtype=object)[order].tolist()
        return [
            list(zip(n, f, a, strict=True)) for n, f, a in zip(names, factors, assumed, strict=True)
        ]


@dataclass(frozen=True)
class FieldExplainer:
    """Maps the model's contributions per model feature onto the client's fields."""

    #: The model's exact terms: the trees' (``TreePaths``) or the blend's (``BlendTerms``).
    paths: AdditiveTerms
    #: Client fields, in the order of the explanation's columns.
    fields: tuple[str, ...]
    #: Model features made from one field: their positions, and their fields' positions.
    direct_features: npt.NDArray[np.intp]
    direct_fields: npt.NDArray[np.intp]
    #: Derived totals' parts, one entry per (total, part), grouped by total: the total's
    #: feature position, the part's feature and field positions, its weight, and the total's
    #: number of parts.
    total_features: npt.NDArray[np.intp]
    part_features: npt.NDArray[np.intp]
    part_fields: npt.NDArray[np.intp]
    part_weights: npt.NDArray[np.float64]
    part_counts: npt.NDArray[np.float64]
    #: (parts x parts): 1 where two parts belong to one total; (parts x fields): 1 at each
    #: part's field. Sums over them are two matrix products, where ``np.add.at`` took a
    #: tenth of one house's explanation.
    same_total: npt.NDArray[np.float64]
    part_to_field: npt.NDArray[np.float64]

    @classmethod
    def build(
        cls,
        paths: AdditiveTerms,
        feature_names: Sequence[str],
        sums: Mapping[str, Mapping[str, float]],
    ) -> FieldExplainer:
        """The mapping for a model whose matrix has ``feature_names`` columns; ``sums`` are the
        derived totals (``WeightedSums.sums``), whose parts are columns too. Every other feature
        must be a house field."""
        names = list(feature_names)
        fields = tuple(name for name in HOUSE_FIELDS if name in names)
        position = {name: index for index, name in enumerate(fields)}
        direct: list[tuple[int, int]] = []
        parts: list[tuple[int, int, int, float, int]] = []
        for index, name in enumerate(names):
            if name in sums:
                parts.extend(
                    (index, names.index(part), position[part], float(weight), len(sums[name]))
                    for part, weight in sums[name].items()
                )
            elif name in position:
                direct.append((index, position[name]))
            else:
                raise ValueError(f"model feature {name!r} is neither a house field nor a total")
        pairs = np.array(direct, dtype=np.intp).reshape(-1, 2)
        table = list(zip(*parts, strict=True)) if parts else [(), (), (), (), ()]
        totals_of_parts = np.array(table[0], dtype=np.intp)
        fields_of_parts = np.array(table[2], dtype=np.intp)
        return cls(
            paths=paths,
            fields=fields,
            direct_features=pairs[:, 0],
            direct_fields=pairs[:, 1],
            total_features=np.array(table[0], dtype=np.intp),
            part_features=np.array(table[1], dtype=np.intp),
            part_fields=np.array(table[2], dtype=np.intp),
            part_weights=np.array(table[3], dtype=np.float64),
            part_counts=np.array(table[4], dtype=np.float64),
            same_total=(totals_of_parts[:, None] == totals_of_parts).astype(np.float64),
            part_to_field=(fields_of_parts[:, None] == np.arange(len(fields))).astype(np.float64),
        )

    def explain(
        self, matrix: npt.NDArray[np.float64], assumed: npt.NDArray[np.bool_]
    ) -> Explanations:
        """Explain the rows of ``matrix`` (the model's input); ``assumed`` (houses x
        ``fields``) says whether each field's value was assumed."""
        return Explanations(
            base_log_price=self.paths.base_value,
            fields=self.fields,
            log_factors=self.to_fields(self.paths.contributions(matrix), matrix),
            assumed=assumed,
        )

    def to_fields(
        self, by_feature: npt.NDArray[np.float64], matrix: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """Contributions per model feature (houses x features) as contributions per client
        field (houses x ``fields``): each derived total split among its parts in proportion to
        what each put into it for that house (their values in ``matrix``, the model's input)."""
        by_field = np.zeros((by_feature.shape[0], len(self.fields)), dtype=np.float64)
        by_field[:, self.direct_fields] = by_feature[:, self.direct_features]
        if self.part_features.size == 0:
            return by_field
        put_in = np.abs(matrix.take(self.part_features, axis=1) * self.part_weights)
        # Each part's total: the sum over the parts of the same total feature.
        total = put_in @ self.same_total
        shares = np.divide(
            put_in,
            total,
            out=np.broadcast_to(1 / self.part_counts, put_in.shape).copy(),
            where=total > 0,
        )
        by_field += (by_feature.take(self.total_features, axis=1) * shares) @ self.part_to_field
        return by_field
