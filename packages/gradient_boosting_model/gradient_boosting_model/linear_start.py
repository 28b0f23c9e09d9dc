"""A ridge regression for gradient boosting to start from, instead of a constant.

Trees fit steps; a price rises smoothly with area and quality. Starting the boosting from a
linear model of log price leaves the trees only what the linear model misses, which 5-fold
cross-validation on three seeds measured as the one reliable gain over the constant start
(RMSLE 0.1149 to 0.1122; hyperparameters, sums, products, neighbourhood encodings and
re-weighting atypical sales moved it by no more than noise).

Each input is clipped to the range seen in training before it enters the line, so the start never
extrapolates (a house twice the largest size is started as the largest); areas enter as
log(1 + area). The prediction is a sum of one term per feature, which ``tree_paths`` adds to
the trees' contributions, so explanations stay exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted

from gradient_boosting_model.linear_terms import ClippedLine, clipped_inputs

FloatArray = npt.NDArray[np.float64]


class LinearStart(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Ridge regression on clipped, standardised features; the ``init`` of gradient boosting.

    Parameters
    ----------
    alpha : float
        Ridge penalty on the standardised features.
    log_columns : sequence of int
        Columns (areas) that enter as log(1 + value).
    rising_columns, falling_columns : sequence of int
        Columns whose slope is kept at or above 0 (since 0.3.5, the quality grades': a better
        grade never starts a house lower), or at or below 0 (the ages of
        ``blend.later_never_lower``'s years: since 0.3.6 the remodel's, since 0.3.7 the
        building's and the garage's too; a later year never starts a house lower). Fitted as
        the plain ridge; refitted with those slopes bounded only if one of them came out the
        wrong way.

    Attributes
    ----------
    low_, high_ : ndarray
        Each column's range in training; inputs are clipped to it.
    center_ : ndarray
        Each (transformed) column's training mean.
    coef_ : ndarray
        Slope per (transformed) column, in log price.
    intercept_ : float
        The start of a house whose every column is at its mean.
    """

    def __init__(
        self,
        *,
        alpha: float = 300.0,
        log_columns: Sequence[int] = (),
        rising_columns: Sequence[int] = (),
        falling_columns: Sequence[int] = (),
    ) -> None:
        self.alpha = alpha
        self.log_columns = log_columns
        self.rising_columns = rising_columns
        self.falling_columns = falling_columns

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> LinearStart:
        values = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = values.shape[1]
        self.low_, self.high_ = values.min(axis=0), values.max(axis=0)
        inputs = clipped_inputs(values, self.low_, self.high_, self._logged())
        self.center_ = inputs.mean(axis=0)
        spread = inputs.std(axis=0)
        scale = np.where(spread > 0, spread, 1.0)
        standardised = (inputs - self.center_) / scale
        ridge = Ridge(alpha=self.alpha).fit(standardised, y, sample_weight=sample_weight)
        coef, intercept = np.asarray(ridge.coef_, dtype=np.float64), float(ridge.intercept_)
        signs = slope_signs(coef.size, self.rising_columns, self.falling_columns)
        if np.any(coef * signs < 0):
            coef, intercept = _bounded_ridge(standardised, y, signs, self.alpha, sample_weight)
        self.coef_ = coef / scale
        self.intercept_ = intercept
        return self

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Saved before 0.3.5 (0.3.6): no column bounded.
        super().__setstate__({"rising_columns": (), "falling_columns": (), **state})

    def line(self) -> ClippedLine:
        """The fitted start as ``ClippedLine``: what ``predict`` and ``contributions`` compute,
        which the artifact's pricing keeps (``tree_arrays``, ``tree_paths``)."""
        check_is_fitted(self)
        return ClippedLine(
            low=self.low_,
            high=self.high_,
            logged=self._logged(),
            center=self.center_,
            coef=self.coef_,
            intercept=self.intercept_,
        )

    def contributions(self, X: npt.ArrayLike) -> FloatArray:
        """Each column's term of the start, (rows x columns); they add up to
        ``predict(X) - intercept_``."""
        return self.line().contributions(X)

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        return self.line().predict(X)

    def fitted_predict(self) -> Callable[[npt.ArrayLike], FloatArray]:
        """``predict``, its fitted state checked once, here, instead of on every call (the
        check is a sixth of one house's start): for a predictor built once and called per
        house."""
        return self.line().predict

    def _logged(self) -> npt.NDArray[np.intp]:
        return np.asarray(list(self.log_columns), dtype=np.intp)


def _bounded_ridge(
    standardised: FloatArray,
    y: npt.ArrayLike,
    signs: npt.NDArray[np.int8],
    alpha: float,
    sample_weight: npt.ArrayLike | None,
) -> tuple[FloatArray, float]:
    """The ridge with each slope of sign +1 at or above 0, of sign -1 at or below 0
    (``fit_bounded``)."""
    # Bounded, Ridge solves by L-BFGS-B: its gradient tolerance tightened to where the slopes
    # agree with the closed form's to about 1e-8.
    ridge = Ridge(alpha=alpha, positive=True, tol=1e-10)
    return fit_bounded(ridge, standardised, y, signs, sample_weight=sample_weight)


def slope_signs(
    columns: int, rising: Sequence[int], falling: Sequence[int]
) -> npt.NDArray[np.int8]:
    """Per column, the sign its slope is held to: +1 (``rising``: at or above 0), -1
    (``falling``: at or below 0) or 0 (free)."""
    signs = np.zeros(columns, dtype=np.int8)
    signs[list(rising)] = 1
    signs[list(falling)] = -1
    return signs


def fit_bounded(
    model: Any,
    standardised: FloatArray,
    y: npt.ArrayLike,
    signs: npt.NDArray[np.int8],
    **fit_params: Any,
) -> tuple[FloatArray, float]:
    """The slopes and intercept of ``model``, a scikit-learn ``Ridge`` or ``Lasso`` made with
    ``positive=True``, fitted on ``standardised`` with only the slopes of sign +1 held at or
    above 0 and those of sign -1 at or below 0 (``slope_signs``).

    scikit-learn bounds every slope at or above 0, or none (``positive``). So a column held at
    or below 0 enters negated, and each free column enters twice, as itself and negated, both
    bounded at 0: the pair's difference is its slope. At the optimum one of the two is 0
    (lowering both by the smaller keeps the slope and lowers the penalty, L2 or L1), so the
    penalty on the pair is that on the slope: this is the model with only those slopes
    bounded, exactly.
    """
    free, bounded = np.flatnonzero(signs == 0), np.flatnonzero(signs)
    loose = standardised[:, free]
    design = np.hstack([loose, -loose, standardised[:, bounded] * signs[bounded]])
    model.fit(design, y, **fit_params)
    fitted = np.asarray(model.coef_, dtype=np.float64)
    coef = np.empty(standardised.shape[1], dtype=np.float64)
    coef[free] = fitted[: free.size] - fitted[free.size : 2 * free.size]
    coef[bounded] = fitted[2 * free.size :] * signs[bounded]
    return coef, float(model.intercept_)
