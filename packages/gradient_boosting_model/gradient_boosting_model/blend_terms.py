"""The blend as it prices and explains: the halves' forms weighted, no scikit-learn.

``log price = weight * boosted(matrix) + (1 - weight) * lasso(matrix)`` (``blend``). The
fitted ``BlendedRegressor`` prices with ``blended`` too; ``BlendPredictor`` and ``BlendTerms``
hold only its weight and its halves' fast forms (``tree_arrays``, ``tree_paths``,
``linear_terms``), which the artifact keeps (``pricing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.linear_terms import LassoTerms
from gradient_boosting_model.tree_arrays import Predict
from gradient_boosting_model.tree_paths import TreePaths

FloatArray = npt.NDArray[np.float64]


def blended(weight: float, boosted: npt.ArrayLike, linear: npt.ArrayLike) -> FloatArray:
    """The blend's log prices from its halves' log prices."""
    result: FloatArray = weight * np.asarray(boosted, dtype=np.float64) + (1 - weight) * (
        np.asarray(linear, dtype=np.float64)
    )
    return result


class AdditiveTerms(Protocol):
    """A model's prediction as ``base_value + contributions(X).sum(axis=1)``."""

    @property
    def base_value(self) -> float: ...

    def contributions(self, X: npt.NDArray[np.float64]) -> FloatArray: ...


@dataclass(frozen=True)
class BlendTerms:
    """A blend's terms: the trees' (``TreePaths``) and the Lasso's, weighted."""

    trees: TreePaths
    linear: LassoTerms
    weight: float

    @property
    def base_value(self) -> float:
        return self.weight * self.trees.base_value + (1 - self.weight) * self.linear.intercept

    def contributions(self, X: npt.NDArray[np.float64]) -> FloatArray:
        """Each matrix column's contribution to each row's blended log price."""
        by_column: FloatArray = self.weight * self.trees.contributions(X) + (
            1 - self.weight
        ) * self.linear.contributions(X)
        return by_column


@dataclass(frozen=True, eq=False)
class BlendPredictor:
    """A fitted blend's ``predict``: its boosted half priced by ``trees``
    (``tree_arrays.raw_predictor``), its Lasso half by ``linear`` (``LassoTerms.log_price``),
    weighted by ``weight``."""

    weight: float
    trees: Predict
    linear: Predict

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        values = np.asarray(X, dtype=np.float64)
        return blended(self.weight, self.trees(values), self.linear(values))
