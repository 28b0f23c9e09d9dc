"""The boosted trees blended with the basis Lasso in log price, and the blend's exact terms.

``log price = weight * boosted(matrix) + (1 - weight) * lasso(matrix)``. Both halves are a
constant plus one term per matrix column (the trees' path contributions and their linear start's
terms; the Lasso's per-column terms), so the blend is too: its base is the weighted sum of the
halves' bases and each column's contribution the weighted sum of its contributions.

Model 0.2.0 is the boosted regressor alone (its pipeline ends in a ``GradientBoostingRegressor``
with no blend); the helpers here take either, so a 0.2.0 artifact loads, prices and explains as
before. ``log_price_predictor`` prices either with its trees evaluated by ``tree_arrays`` (the
same numbers as ``predict``, to the last bit, faster). What these build prices and explains
without scikit-learn (``blend_terms``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted

from gradient_boosting_model.basis_lasso import BasisLasso
from gradient_boosting_model.blend_terms import AdditiveTerms, BlendPredictor, BlendTerms, blended
from gradient_boosting_model.tree_arrays import Predict, TreeArrays, raw_predictor
from gradient_boosting_model.tree_paths import TreePaths

FloatArray = npt.NDArray[np.float64]


class BlendedRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A weighted sum, in the target's units, of a gradient boosting model and a ``BasisLasso``.

    Parameters
    ----------
    boosted : GradientBoostingRegressor
    linear : BasisLasso
    weight : float
        The boosted model's share; the Lasso has ``1 - weight``.
    tree_hidden_columns : sequence of int
        Columns the boosted model's trees never split on (since 0.3.5, the quality grades:
        trees cannot be kept monotone, so a grade's effect is left to the linear start and
        the Lasso, which are). Its start still takes every column.

    Attributes
    ----------
    boosted_, linear_ : the fitted clones of ``boosted`` and ``linear``.
    """

    def __init__(
        self,
        *,
        boosted: GradientBoostingRegressor | None = None,
        linear: BasisLasso | None = None,
        weight: float = 0.5,
        tree_hidden_columns: Sequence[int] = (),
    ) -> None:
        self.boosted = boosted
        self.linear = linear
        self.weight = weight
        self.tree_hidden_columns = tree_hidden_columns

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__({"tree_hidden_columns": (), **state})  # saved before 0.3.5: none

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike, **fit_params: Any) -> BlendedRegressor:
        """Fit both halves on the same rows; ``fit_params`` (e.g. ``monitor``) go to the
        boosted model."""
        if self.boosted is None or self.linear is None:
            raise ValueError("BlendedRegressor needs both a boosted and a linear model")
        values = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = values.shape[1]
        self.boosted_ = self._fit_boosted(values, np.asarray(y, dtype=np.float64), fit_params)
        self.linear_ = clone(self.linear).fit(values, y)
        return self

    def _fit_boosted(
        self, values: FloatArray, y: FloatArray, fit_params: dict[str, Any]
    ) -> GradientBoostingRegressor:
        """The boosted half, its trees kept off ``tree_hidden_columns``.

        scikit-learn's trees take no list of columns to leave out, and the boosting fits its
        start (``init``) on the matrix the trees see. So the start is fitted first, on every
        column; the trees then boost from zero on what it leaves, with the hidden columns held
        at 0 (a constant column is never split on); and the start becomes the ensemble's
        ``init_``, as boosting from it would have left it (scikit-learn fits and runs the start
        on the matrix in single precision, as its trees read it). The trees depend on the residuals
        alone (squared error, absolute error, Huber: their gradients and leaf values), so
        they are the trees boosting from the start would grow, given the columns they see.
        """
        boosted: GradientBoostingRegressor = clone(self.boosted)
        hidden = np.asarray(list(self.tree_hidden_columns), dtype=np.intp)
        if not hidden.size:
            return boosted.fit(values, y, **fit_params)
        if not hasattr(boosted.init, "predict"):
            raise ValueError("hiding columns from the trees needs a start model (init)")
        # In single precision, as the boosting fits and runs its start (and its trees).
        single = values.astype(np.float32)
        start = boosted.init.fit(single, y)
        shown = single.copy()
        shown[:, hidden] = 0.0
        boosted.set_params(init="zero").fit(shown, y - start.predict(single), **fit_params)
        boosted.set_params(init=start)
        boosted.init_ = start  # what fit(init=start) leaves: the fitted start itself
        return boosted

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        check_is_fitted(self)
        return self.blend_with(self.boosted_.predict, X)

    def blend_with(
        self, boosted_predict: Predict, X: npt.ArrayLike, linear_predict: Predict | None = None
    ) -> FloatArray:
        """``predict``, the boosted half priced by ``boosted_predict`` (``boosted_.predict`` or
        an exact equal of it, ``tree_arrays``) and the Lasso by ``linear_predict``
        (``linear_.predict`` by default, or itself checked once, ``fitted_predict``), so that
        one formula gives both."""
        values = np.asarray(X, dtype=np.float64)
        linear = (linear_predict or self.linear_.predict)(values)
        return blended(self.weight, boosted_predict(values), linear)


def boosted_part(regressor: Any) -> GradientBoostingRegressor:
    """The fitted gradient boosting model of a fitted pipeline's regressor: the blend's boosted
    half, or the regressor itself (model 0.2.0)."""
    if isinstance(regressor, BlendedRegressor):
        boosted: GradientBoostingRegressor = regressor.boosted_
        return boosted
    if isinstance(regressor, GradientBoostingRegressor):
        return regressor
    raise TypeError(f"no gradient boosting model in {type(regressor).__name__}")


def log_price_predictor(regressor: Any, packed: TreeArrays | None = None) -> Predict:
    """A fitted pipeline regressor's ``predict``, its trees evaluated as fast as they can be
    exactly (``tree_arrays``; ``packed``: its boosted trees packed already): the blend's boosted
    half beside its Lasso, or the regressor itself (model 0.2.0, or any other:
    ``raw_predictor`` keeps what it cannot speed up).

    Built from the trees as they are now: a change to them afterwards (the learning rate, say)
    is not seen, so build it again.
    """
    if isinstance(regressor, BlendedRegressor):
        check_is_fitted(regressor)
        return BlendPredictor(
            weight=regressor.weight,
            trees=raw_predictor(regressor.boosted_, packed),
            linear=regressor.linear_.fitted_predict(),
        ).predict
    return raw_predictor(regressor, packed)


def additive_terms(regressor: Any, packed: TreeArrays | None = None) -> AdditiveTerms:
    """The exact per-column terms of a fitted regressor (blend or boosted model alone);
    ``packed``, its boosted trees packed, finds one house's leaves by pattern codes."""
    trees = TreePaths.from_regressor(boosted_part(regressor), packed=packed)
    if isinstance(regressor, BlendedRegressor):
        return BlendTerms(trees=trees, linear=regressor.linear_.terms_, weight=regressor.weight)
    return trees
