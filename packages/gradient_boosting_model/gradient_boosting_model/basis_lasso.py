"""A Lasso of log price on per-column basis functions of the matrix: the linear half of the blend.

Each matrix column is expanded into functions of that column alone: its value clipped to the
training range (log(1 + value) for an area), one indicator per code seen often enough in
training (categories, grades, ratings, the sale's year and month), "is it > 0" for an area that
is zero for some houses but not nearly all, and a cubic B-spline of the transformed value of a
few sizes, ages and quality. The functions are standardised and a Lasso picks among them.

Since 0.3.5 the quality grades' columns are monotone (``monotone_columns``): a better grade is
never priced lower. Such a column enters as its clipped value and as one step per grade seen
often enough ("above Fa", "above TA" ...) in place of one indicator per grade, and the Lasso
keeps those slopes at or above 0, so the column's term rises with the grade. Its score 0 (no
such feature: no basement) is no grade and keeps an indicator of its own, of either sign.
Since 0.3.6 a column may also fall (``falling_columns``, the ages of the years of
``blend.later_never_lower``: a more recent remodel, since 0.3.7 a later year built or garage, is
never priced lower): it enters as its clipped value alone, its slope at or below 0.
Since 0.3.8 a monotone column may be a count or an area (``blend.more_never_lower``: more of it
is never priced lower): its value's slope, and an area's "> 0" indicator's, at or above 0 (an
area's indicator is free otherwise: having a garage at all may lower a term).

The prediction is therefore a constant plus one term per matrix column (``contributions``),
which the explanation adds to the trees' contributions: explanations stay exact. Chosen by the
0.3.0 study (the package README): blended with the boosted trees it lowers the cross-validated
RMSLE; alone it is a little worse than the trees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.interpolate import BSpline
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Lasso
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.validation import check_is_fitted

from gradient_boosting_model.linear_start import fit_bounded, slope_signs
from gradient_boosting_model.linear_terms import LassoTerms, SplineCurves, clipped_inputs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


class BasisLasso(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Lasso on standardised per-column basis functions of the matrix.

    Parameters
    ----------
    alpha : float
        Lasso penalty on the standardised basis.
    max_iter, tol : int, float
        The Lasso's coordinate descent.
    log_columns : sequence of int
        Columns (areas) that enter as log(1 + clipped value).
    one_hot_columns : sequence of int
        Columns that also enter as one indicator per value seen at least ``min_count`` times.
    min_count : int
    indicator_shares : (float, float)
        A log column also enters as "is it > 0" when the share of training rows above 0 lies
        in this interval (inclusive).
    spline_columns : sequence of int
        Columns that also enter as a B-spline basis of their transformed value.
    spline_knots, spline_degree : int
        The splines' knots (at training quantiles) and degree.
    monotone_columns : sequence of int
        Columns whose term never falls as their value rises (quality grades' scores, counts,
        areas): their value, their steps and an area's "> 0" indicator get slopes at or above
        0; a value of 0 or below keeps an indicator per code (of either sign), if one of
        ``one_hot_columns``. Not splined.
    falling_columns : sequence of int
        Columns whose term never rises with their value: their clipped value alone, its slope
        at or below 0. Not splined, no indicators.

    Attributes
    ----------
    low_, high_ : ndarray
        Each column's training range; inputs are clipped to it.
    hot_columns_, hot_values_ : ndarray
        The one-hot functions' column and code.
    indicator_columns_, indicator_thresholds_ : ndarray
        The "above a threshold" functions' columns and thresholds: "> 0" for an area, the
        steps of a monotone column.
    spline_ : SplineTransformer or None
        Fitted on the transformed values of ``spline_columns``.
    owners_ : ndarray
        The matrix column of every basis function.
    mean_, scale_ : ndarray
        The basis functions' standardisation.
    basis_coef_ : ndarray
        The Lasso's slopes on the standardised basis.
    intercept_ : float
        The log price of a house whose every basis function is at its training mean.
    curves_ : list of (int, scipy BSpline)
        Each splined column's combined curve (its functions' slopes applied).
    terms_ : LassoTerms
        What ``predict`` and ``contributions`` compute, in the matrix's units.
    """

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        max_iter: int = 1000,
        tol: float = 1e-4,
        log_columns: Sequence[int] = (),
        one_hot_columns: Sequence[int] = (),
        min_count: int = 3,
        indicator_shares: tuple[float, float] = (0.02, 0.98),
        spline_columns: Sequence[int] = (),
        spline_knots: int = 5,
        spline_degree: int = 3,
        monotone_columns: Sequence[int] = (),
        falling_columns: Sequence[int] = (),
    ) -> None:
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.log_columns = log_columns
        self.one_hot_columns = one_hot_columns
        self.min_count = min_count
        self.indicator_shares = indicator_shares
        self.spline_columns = spline_columns
        self.spline_knots = spline_knots
        self.spline_degree = spline_degree
        self.monotone_columns = monotone_columns
        self.falling_columns = falling_columns

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> BasisLasso:
        values = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = values.shape[1]
        self.low_, self.high_ = values.min(axis=0), values.max(axis=0)
        self.log_idx_ = np.asarray(list(self.log_columns), dtype=np.intp)
        clipped = self._clipped(values)
        monotone = set(self.monotone_columns)
        if (monotone | set(self.falling_columns)) & set(self.spline_columns):
            raise ValueError("a monotone column cannot be splined: a curve may fall")
        if set(self.falling_columns) & {*self.one_hot_columns, *self.log_columns}:
            raise ValueError("a falling column enters as its value alone: no indicators")
        hot_columns: list[int] = []
        hot_values: list[float] = []
        step_columns: list[int] = []
        step_thresholds: list[float] = []
        for column in self.one_hot_columns:
            codes, counts = np.unique(values[:, column], return_counts=True)
            kept = codes[counts >= self.min_count]
            if column in monotone:  # one step up from each kept grade to the next kept one
                grades = kept[kept > 0].tolist()
                step_columns.extend([column] * max(len(grades) - 1, 0))
                step_thresholds.extend(grades[:-1])
                kept = kept[kept <= 0]
            hot_columns.extend([column] * kept.size)
            hot_values.extend(kept.tolist())
        self.hot_columns_ = np.asarray(hot_columns, dtype=np.intp)
        self.hot_values_ = np.asarray(hot_values, dtype=np.float64)
        low, high = self.indicator_shares
        areas = [
            j for j in self.log_idx_.tolist() if low <= float((values[:, j] > 0).mean()) <= high
        ]
        self.indicator_columns_ = np.asarray([*areas, *step_columns], dtype=np.intp)
        self.indicator_thresholds_ = np.asarray(
            [0.0] * len(areas) + step_thresholds, dtype=np.float64
        )
        self.spline_idx_ = np.asarray(list(self.spline_columns), dtype=np.intp)
        self.spline_: SplineTransformer | None = None
        owners = [
            np.arange(values.shape[1], dtype=np.intp),
            self.hot_columns_,
            self.indicator_columns_,
        ]
        if self.spline_idx_.size:
            self.spline_ = SplineTransformer(
                n_knots=self.spline_knots, degree=self.spline_degree, knots="quantile"
            ).fit(clipped[:, self.spline_idx_])
            per = self.spline_.n_features_out_ // self.spline_idx_.size
            owners.append(np.repeat(self.spline_idx_, per))
        self.owners_ = np.concatenate(owners).astype(np.intp)
        raw = self._raw(values)
        self.mean_ = raw.mean(axis=0)
        spread = raw.std(axis=0)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        # Each function's slope: at or above 0 (+1: a monotone column's value, steps and "> 0"
        # indicator; every step is a monotone column's), at or below 0 (-1: a falling column's
        # value), or free (0).
        signs = slope_signs(raw.shape[1], list(monotone), self.falling_columns)
        signs[self._indicator_slice()] = np.isin(self.indicator_columns_, list(monotone))
        self.basis_coef_, self.intercept_ = _lasso(
            (raw - self.mean_) / self.scale_,
            np.asarray(y, dtype=np.float64),
            signs,
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self._compile()
        return self

    def _indicator_slice(self) -> slice:
        start = self.n_features_in_ + self.hot_columns_.size
        return slice(start, start + self.indicator_columns_.size)

    def _clipped(self, values: FloatArray) -> FloatArray:
        return clipped_inputs(values, self.low_, self.high_, self.log_idx_)

    def _raw(self, values: FloatArray) -> FloatArray:
        clipped = self._clipped(values)
        parts = [
            clipped,
            (values[:, self.hot_columns_] == self.hot_values_).astype(np.float64),
            (values[:, self.indicator_columns_] > self.indicator_thresholds_).astype(np.float64),
        ]
        if self.spline_ is not None:
            parts.append(self.spline_.transform(clipped[:, self.spline_idx_]))
        return np.hstack(parts)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Saved before 0.3.5 (0.3.6): no column bounded.
        super().__setstate__({"monotone_columns": (), "falling_columns": (), **state})
        if "indicator_columns_" in state and "indicator_thresholds_" not in state:
            self.indicator_thresholds_ = np.zeros(self.indicator_columns_.size)  # before 0.3.5
        if "basis_coef_" in state and "terms_" not in state:  # saved before ``terms_`` was
            self._compile()
        elif "terms_" in state and not hasattr(self.terms_, "indicator_thresholds"):
            # Before 0.3.5: every indicator "> 0".
            thresholds = np.zeros(self.terms_.indicator_columns.size)
            self.terms_: LassoTerms = replace(self.terms_, indicator_thresholds=thresholds)

    def _compile(self) -> None:
        """What ``predict`` needs, in the matrix's units (``terms_``): the standardisation
        folded into the slopes, only the functions with a nonzero slope, one spline per splined
        column (``curves_``, scipy's; ``terms_`` has them as polynomial pieces)."""
        coef = self.basis_coef_ / self.scale_
        ends = np.cumsum(
            [self.n_features_in_, self.hot_columns_.size, self.indicator_columns_.size]
        )
        hot, indicator = coef[ends[0] : ends[1]], coef[ends[1] : ends[2]]
        hot_columns = self.hot_columns_[hot != 0]
        indicator_columns = self.indicator_columns_[indicator != 0]
        # Each column's term at the training means (its functions' slope x mean), so that
        # ``contributions`` are centred like the standardised basis's, around ``intercept_``;
        # and which column each kept one-hot and indicator function belongs to.
        centre = np.zeros(self.n_features_in_, dtype=np.float64)
        np.add.at(centre, self.owners_, coef * self.mean_)
        columns = np.arange(self.n_features_in_)
        self.curves_: list[tuple[int, BSpline]] = []
        if self.spline_ is not None:
            per = self.spline_.n_features_out_ // self.spline_idx_.size
            slopes = coef[ends[2] :]
            for k, (column, spline) in enumerate(
                zip(self.spline_idx_.tolist(), self.spline_.bsplines_, strict=True)
            ):
                combined = spline.c @ slopes[k * per : (k + 1) * per]
                if np.any(combined != 0):
                    self.curves_.append((column, BSpline(spline.t, combined, spline.k)))
        self.terms_ = LassoTerms(
            low=self.low_,
            high=self.high_,
            logged=self.log_idx_,
            number_coef=coef[: ends[0]],
            offset=self.intercept_ - float(coef @ self.mean_),
            intercept=self.intercept_,
            centre=centre,
            hot_columns=hot_columns,
            hot_values=self.hot_values_[hot != 0],
            hot_coef=hot[hot != 0],
            hot_owner=(hot_columns[:, None] == columns).astype(np.float64),
            indicator_columns=indicator_columns,
            indicator_thresholds=self.indicator_thresholds_[indicator != 0],
            indicator_coef=indicator[indicator != 0],
            indicator_owner=(indicator_columns[:, None] == columns).astype(np.float64),
            curves=SplineCurves.from_splines(self.curves_) if self.curves_ else None,
        )

    def contributions(self, X: npt.ArrayLike) -> FloatArray:
        """Each matrix column's term, (rows x columns), from the compiled terms; they add up
        to ``predict(X) - intercept_`` (to float rounding)."""
        check_is_fitted(self)
        return self.terms_.contributions(X)

    def basis_contributions(self, X: npt.ArrayLike) -> FloatArray:
        """``contributions`` from the whole standardised basis, function by function: the
        definition, slower (the reference the compiled terms are tested against)."""
        check_is_fitted(self)
        values = np.asarray(X, dtype=np.float64)
        terms = (self._raw(values) - self.mean_) / self.scale_ * self.basis_coef_
        columns = np.zeros((values.shape[0], self.n_features_in_), dtype=np.float64)
        np.add.at(columns.T, self.owners_, terms.T)
        return columns

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """Log price, from the compiled terms (the same sum as the standardised basis)."""
        check_is_fitted(self)
        return self.terms_.log_price(X)

    def fitted_predict(self) -> Callable[[npt.ArrayLike], FloatArray]:
        """``predict``, its fitted state checked once, here, instead of on every call (the
        check is a tenth of one house's Lasso): for a predictor built once and called per
        house (``blend.log_price_predictor``)."""
        check_is_fitted(self)
        return self.terms_.log_price


def _lasso(
    basis: FloatArray,
    y: FloatArray,
    signs: npt.NDArray[np.int8],
    *,
    alpha: float,
    max_iter: int,
    tol: float,
) -> tuple[FloatArray, float]:
    """The Lasso's slopes and intercept on the standardised ``basis``, the slopes of sign +1
    held at or above 0 and of sign -1 at or below 0 (``linear_start.fit_bounded``); with none,
    the plain Lasso."""
    if not signs.any():
        lasso = Lasso(alpha=alpha, max_iter=max_iter, tol=tol).fit(basis, y)
        return np.asarray(lasso.coef_, dtype=np.float64), float(lasso.intercept_)
    bounded = Lasso(alpha=alpha, max_iter=max_iter, tol=tol, positive=True)
    return fit_bounded(bounded, basis, y, signs)
