"""The models the study compares, all on the matrix of today's preprocessing (``pipeline[:-1]``).

Every candidate predicts log(price) as a sum of one term per matrix column (plus a constant),
so the explanation stays exact: ``FieldBasis`` expands each column into basis functions of that
column alone (clipped value, log1p of an area, "is it > 0", one-hot of its codes), and a linear
model on them has one term per column (``contributions``). Optional interactions (a product of
two columns) are the one exception; their term is split half and half between the two columns,
which keeps the sum exact but is a choice, not a property of the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.interpolate import BSpline
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import ElasticNetCV, Lasso, LassoCV, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import SplineTransformer
from sklearn.svm import SVR

from gradient_boosting_model.linear_start import LinearStart

FloatArray = npt.NDArray[np.float64]

#: Penalties scanned by the linear models' own cross-validation (on standardised inputs).
RIDGE_ALPHAS = tuple(np.logspace(-1, 3.5, 19).tolist())
LASSO_ALPHAS = tuple(np.logspace(-4, -1.5, 21).tolist())
#: Round 2: ElasticNet's mixes and penalties (alpha x l1_ratio is the Lasso's part).
ENET_RATIOS = (0.2, 0.5)
ENET_ALPHAS = tuple(np.logspace(-3.5, -1, 11).tolist())


class FieldBasis:
    """Per-column basis functions of a matrix, learned from training data.

    Parameters
    ----------
    names : sequence of str
        The matrix's column names.
    log_features : sequence of str
        Columns (areas) that enter as log(1 + clipped value).
    one_hot : sequence of str
        Columns (category ranks, grade scores, ratings) that also enter as one indicator per
        value seen at least ``min_count`` times in training.
    indicators : bool
        Whether a log column that is 0 for between 2% and 98% of training houses also enters
        as "is it > 0" (has a second floor, a basement, a pool ...).
    interactions : sequence of (str, str)
        Products of two transformed columns (after log), centred and standardised.
    splines : sequence of str
        Columns that also enter as a cubic B-spline basis (5 knots at training quantiles) of
        their transformed value: a smooth curve per column, still one column's term.
    """

    def __init__(
        self,
        *,
        names: Sequence[str],
        log_features: Sequence[str] = (),
        one_hot: Sequence[str] = (),
        indicators: bool = True,
        interactions: Sequence[tuple[str, str]] = (),
        splines: Sequence[str] = (),
        min_count: int = 3,
    ) -> None:
        self.names = list(names)
        self.splines = [name for name in splines if name in self.names]
        self.log_features = [name for name in log_features if name in self.names]
        self.one_hot = [name for name in one_hot if name in self.names]
        self.indicators = indicators
        self.interactions = list(interactions)
        self.min_count = min_count

    def _clipped(self, X: npt.ArrayLike) -> FloatArray:
        values = np.clip(np.asarray(X, dtype=np.float64), self.low_, self.high_)
        values[:, self.log_idx_] = np.log1p(np.maximum(values[:, self.log_idx_], 0.0))
        return values

    def fit(self, X: npt.ArrayLike) -> FieldBasis:
        values = np.asarray(X, dtype=np.float64)
        self.low_, self.high_ = values.min(axis=0), values.max(axis=0)
        self.log_idx_ = np.array([self.names.index(n) for n in self.log_features], dtype=np.intp)
        clipped = self._clipped(values)
        owners: list[int] = list(range(len(self.names)))  # every column as a number
        # one-hot: (column, value) pairs
        hot_cols, hot_vals = [], []
        for name in self.one_hot:
            j = self.names.index(name)
            codes, counts = np.unique(values[:, j], return_counts=True)
            for code in codes[counts >= self.min_count]:
                hot_cols.append(j)
                hot_vals.append(code)
        self.hot_cols_ = np.array(hot_cols, dtype=np.intp)
        self.hot_vals_ = np.array(hot_vals, dtype=np.float64)
        owners += hot_cols
        ind_cols = []
        if self.indicators:
            for j in self.log_idx_.tolist():
                share = float((values[:, j] > 0).mean())
                if 0.02 <= share <= 0.98:
                    ind_cols.append(j)
        self.ind_cols_ = np.array(ind_cols, dtype=np.intp)
        owners += ind_cols
        self.pairs_ = np.array(
            [(self.names.index(a), self.names.index(b)) for a, b in self.interactions],
            dtype=np.intp,
        ).reshape(-1, 2)
        pair_means = clipped[:, self.pairs_].mean(axis=0) if self.pairs_.size else None
        self.pair_means_ = pair_means
        owners += [-1 - k for k in range(len(self.pairs_))]  # split between the pair's columns
        # Only columns whose knots (training quantiles) are distinct: a column that is 0 for
        # most houses has no quantile curve (round 2 splines every number that has one).
        splined = [
            self.names.index(n)
            for n in self.splines
            if np.unique(np.quantile(clipped[:, self.names.index(n)], np.linspace(0, 1, 5))).size
            == 5
        ]
        self.spline_idx_ = np.array(splined, dtype=np.intp)
        self.spline_ = None
        if self.spline_idx_.size:
            self.spline_ = SplineTransformer(n_knots=5, degree=3, knots="quantile")
            self.spline_.fit(clipped[:, self.spline_idx_])
            per = self.spline_.n_features_out_ // self.spline_idx_.size
            owners += np.repeat(self.spline_idx_, per).tolist()
        self.owners_ = np.array(owners, dtype=np.intp)
        raw = self._raw(values)
        self.mean_ = raw.mean(axis=0)
        spread = raw.std(axis=0)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        return self

    def _raw(self, values: FloatArray) -> FloatArray:
        clipped = self._clipped(values)
        parts = [clipped]
        if self.hot_cols_.size:
            parts.append((values[:, self.hot_cols_] == self.hot_vals_).astype(np.float64))
        if self.ind_cols_.size:
            parts.append((values[:, self.ind_cols_] > 0).astype(np.float64))
        if self.pairs_.size:
            centred = clipped[:, self.pairs_] - self.pair_means_
            parts.append(centred[:, :, 0] * centred[:, :, 1])
        if self.spline_ is not None:
            parts.append(self.spline_.transform(clipped[:, self.spline_idx_]))
        return np.hstack(parts)

    def transform(self, X: npt.ArrayLike) -> FloatArray:
        """The standardised basis, (rows x basis functions)."""
        values = np.asarray(X, dtype=np.float64)
        return (self._raw(values) - self.mean_) / self.scale_

    def per_column(self, terms: FloatArray) -> FloatArray:
        """Terms per basis function (rows x basis) summed into terms per matrix column."""
        columns = np.zeros((terms.shape[0], len(self.names)), dtype=np.float64)
        own = self.owners_ >= 0
        np.add.at(columns.T, self.owners_[own], terms[:, own].T)
        for k, (a, b) in enumerate(self.pairs_.tolist()):
            shared = terms[:, self.owners_ == -1 - k][:, 0] / 2
            columns[:, a] += shared
            columns[:, b] += shared
        return columns


class BasisLinear(LinearStart):
    """A penalised linear model of log price on a ``FieldBasis``; usable as the ``init`` of
    gradient boosting (it is a ``LinearStart``: ``tree_paths`` adds its per-column terms to the
    trees' contributions) and on its own.

    Parameters
    ----------
    names, log_features, one_hot, indicators, interactions, splines : see ``FieldBasis``.
    penalty : {"ridge", "lasso"}
        Ridge (penalty chosen by generalised cross-validation) or Lasso (by 5-fold CV), both
        on the training rows only; a fixed ``alpha`` skips the search.
    alpha : float or None
    trim : float or None
        If given, refit without the training rows whose residual exceeds ``trim`` robust
        standard deviations (1.4826 x the median absolute deviation).
    """

    def __init__(
        self,
        *,
        names: Sequence[str] = (),
        log_features: Sequence[str] = (),
        one_hot: Sequence[str] = (),
        indicators: bool = True,
        interactions: Sequence[tuple[str, str]] = (),
        splines: Sequence[str] = (),
        penalty: str = "lasso",
        alpha: float | None = None,
        trim: float | None = None,
    ) -> None:
        self.names = names
        self.log_features = log_features
        self.one_hot = one_hot
        self.indicators = indicators
        self.interactions = interactions
        self.splines = splines
        self.penalty = penalty
        self.alpha = alpha
        self.trim = trim

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> BasisLinear:
        values = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = values.shape[1]
        self.basis_ = FieldBasis(
            names=self.names,
            log_features=self.log_features,
            one_hot=self.one_hot,
            indicators=self.indicators,
            interactions=self.interactions,
            splines=self.splines,
        ).fit(values)
        design = self.basis_.transform(values)
        target = np.asarray(y, dtype=np.float64)
        if self.penalty == "enet":
            alphas = ENET_ALPHAS if self.alpha is None else (self.alpha,)
            model = ElasticNetCV(
                l1_ratio=list(ENET_RATIOS),
                alphas=alphas,
                cv=5,
                max_iter=50_000,
                tol=1e-4,
                n_jobs=1,
            ).fit(design, target, sample_weight=sample_weight)
            self.l1_ratio_ = float(model.l1_ratio_)
        elif self.penalty == "ridge":
            alphas = RIDGE_ALPHAS if self.alpha is None else (self.alpha,)
            model: Any = RidgeCV(alphas=alphas).fit(design, target, sample_weight=sample_weight)
        else:
            alphas = LASSO_ALPHAS if self.alpha is None else (self.alpha,)
            model = LassoCV(alphas=alphas, cv=5, max_iter=50_000, tol=1e-5, n_jobs=1)
            model.fit(design, target, sample_weight=sample_weight)
        self.alpha_ = float(model.alpha_)
        if self.trim is not None:
            # Refit, same penalty, without the training houses the first fit missed by more
            # than ``trim`` robust standard deviations (foreclosures, partial sales ...).
            residual = target - model.predict(design)
            spread = 1.4826 * np.median(np.abs(residual - np.median(residual)))
            kept = np.abs(residual) <= self.trim * spread
            self.trimmed_ = int((~kept).sum())
            weight = None if sample_weight is None else np.asarray(sample_weight)[kept]
            final = Ridge if self.penalty == "ridge" else Lasso
            extra = {} if self.penalty == "ridge" else {"max_iter": 50_000, "tol": 1e-5}
            model = final(alpha=self.alpha_, **extra).fit(
                design[kept], target[kept], sample_weight=weight
            )
        self.basis_coef_ = np.asarray(model.coef_, dtype=np.float64)
        self.intercept_ = float(model.intercept_)
        self._compile()
        return self

    def _compile(self) -> None:
        """What ``predict`` needs, in the matrix's units: standardisation folded into the
        slopes, only the basis functions with a nonzero slope, and one cubic spline per
        splined column (its basis functions' slopes combined)."""
        basis = self.basis_
        coef = self.basis_coef_ / basis.scale_
        self.offset_ = self.intercept_ - float(coef @ basis.mean_)
        sizes = [len(basis.names), basis.hot_cols_.size, basis.ind_cols_.size, len(basis.pairs_)]
        ends = np.cumsum(sizes)
        self.number_coef_ = coef[: ends[0]]
        hot, ind = coef[ends[0] : ends[1]], coef[ends[1] : ends[2]]
        self.hot_cols_, self.hot_vals_ = basis.hot_cols_[hot != 0], basis.hot_vals_[hot != 0]
        self.hot_coef_ = hot[hot != 0]
        self.ind_cols_, self.ind_coef_ = basis.ind_cols_[ind != 0], ind[ind != 0]
        self.pair_coef_ = coef[ends[2] : ends[3]]
        self.curves_: list[tuple[int, BSpline]] = []
        if basis.spline_ is not None:
            per = basis.spline_.n_features_out_ // basis.spline_idx_.size
            slopes = coef[ends[3] :]
            for k, (column, spline) in enumerate(
                zip(basis.spline_idx_.tolist(), basis.spline_.bsplines_, strict=True)
            ):
                combined = spline.c @ slopes[k * per : (k + 1) * per]
                self.curves_.append((column, BSpline(spline.t, combined, spline.k)))

    def contributions(self, X: npt.ArrayLike) -> FloatArray:
        """Each matrix column's term; they add up to ``predict(X) - intercept_``."""
        return self.basis_.per_column(self.basis_.transform(X) * self.basis_coef_)

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """Log price: the same sum as ``basis_predict``, computed from the compiled terms."""
        values = np.asarray(X, dtype=np.float64)
        clipped = self.basis_._clipped(values)
        prediction: FloatArray = clipped @ self.number_coef_ + self.offset_
        if self.hot_coef_.size:
            prediction += (values[:, self.hot_cols_] == self.hot_vals_) @ self.hot_coef_
        if self.ind_coef_.size:
            prediction += (values[:, self.ind_cols_] > 0) @ self.ind_coef_
        if self.pair_coef_.size:
            centred = clipped[:, self.basis_.pairs_] - self.basis_.pair_means_
            prediction += (centred[:, :, 0] * centred[:, :, 1]) @ self.pair_coef_
        for column, curve in self.curves_:
            prediction += curve(clipped[:, column])
        return prediction

    def basis_predict(self, X: npt.ArrayLike) -> FloatArray:
        """Log price from the whole standardised basis (what the study's CV ran)."""
        prediction: FloatArray = self.basis_.transform(X) @ self.basis_coef_ + self.intercept_
        return prediction


def boosting(params: dict[str, Any], start: LinearStart) -> GradientBoostingRegressor:
    """Today's gradient boosting (``config.model``) from ``start``."""
    return GradientBoostingRegressor(**params, init=clone(start))


class StartedLGBM(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """LightGBM on the residuals of a linear start (its ``init_score``); prediction = the
    start's plus the trees'. Without a start, plain LightGBM on log price.

    lightgbm is imported only here: it is no dependency of the package.
    """

    def __init__(self, *, start: LinearStart | None = None, params: dict[str, Any]) -> None:
        self.start = start
        self.params = params

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> StartedLGBM:
        import lightgbm

        values = np.asarray(X, dtype=np.float64)
        target = np.asarray(y, dtype=np.float64)
        self.start_ = None if self.start is None else clone(self.start).fit(values, target)
        init = None if self.start_ is None else self.start_.predict(values)
        self.booster_ = lightgbm.LGBMRegressor(**self.params).fit(values, target, init_score=init)
        return self

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        values = np.asarray(X, dtype=np.float64)
        trees = np.asarray(self.booster_.predict(values), dtype=np.float64)
        return trees if self.start_ is None else trees + self.start_.predict(values)


class KernelOnBasis(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Round 2: a kernel learner (kernel ridge with a degree-2 polynomial kernel, or an RBF
    SVR) on a ``FieldBasis`` scaled by 1/sqrt(number of functions), so that a dot product is
    of order 1; its settings chosen by ``GridSearchCV`` (5-fold) on the training rows only.

    Neither is a sum of per-column terms: the degree-2 kernel holds every product of two
    columns, the RBF kernel all orders. They would break the exact explanation.
    """

    def __init__(self, *, basis: dict[str, Any], kind: str = "krr") -> None:
        self.basis = basis
        self.kind = kind

    def _design(self, X: npt.ArrayLike) -> FloatArray:
        design: FloatArray = self.basis_.transform(X) / np.sqrt(self.basis_.mean_.size)
        return design

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> KernelOnBasis:
        values = np.asarray(X, dtype=np.float64)
        self.basis_ = FieldBasis(**self.basis).fit(values)
        target = np.asarray(y, dtype=np.float64)
        self.offset_ = float(target.mean())
        if self.kind == "krr":
            model: Any = KernelRidge(kernel="polynomial", degree=2, gamma=1.0)
            grid = {"alpha": np.logspace(-2, 1.5, 8).tolist(), "coef0": [1.0, 2.0, 4.0]}
        else:
            model = SVR(kernel="rbf")
            grid = {
                "C": [0.3, 1.0, 3.0, 10.0],
                "epsilon": [0.005, 0.02],
                "gamma": [0.01, 0.03, 0.1],
            }
        search = GridSearchCV(model, grid, cv=5, scoring="neg_mean_squared_error", n_jobs=1)
        search.fit(self._design(values), target - self.offset_)
        self.best_params_ = search.best_params_
        self.model_ = search.best_estimator_
        return self

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        prediction: FloatArray = self.model_.predict(self._design(X)) + self.offset_
        return prediction


class CatBoostLog(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Round 2: CatBoost (symmetric trees) on the matrix and log price, from a constant start.

    catboost is imported only here: it is no dependency of the package. Its trees split on one
    column at a time, so exact per-column terms exist (its ``ShapValues`` add up to the
    prediction), but the package's ``TreePaths`` does not walk them: it would need new code.
    """

    def __init__(self, *, params: dict[str, Any]) -> None:
        self.params = params

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> CatBoostLog:
        import catboost

        self.model_ = catboost.CatBoostRegressor(**self.params).fit(
            np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        )
        return self

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        return np.asarray(self.model_.predict(np.asarray(X, dtype=np.float64)), dtype=np.float64)
