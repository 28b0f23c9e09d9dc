"""The linear parts of the model as they price: arrays and arithmetic, no scikit-learn.

``LinearStart`` (the boosting's start) and ``BasisLasso`` (the blend's linear half) are fitted
by scikit-learn; what they compute once fitted is a sum of one term per matrix column, which
``ClippedLine`` and ``LassoTerms`` compute from their fitted arrays. The estimators price and
explain through these forms too (one declaration of each formula), and the artifact keeps them
(``pricing``), so a process that only prices never imports scikit-learn or scipy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy.interpolate import BSpline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def clipped_inputs(
    X: npt.ArrayLike, low: FloatArray, high: FloatArray, logged: IntArray
) -> FloatArray:
    """``X`` clipped to [``low``, ``high``], its ``logged`` columns as log(1 + value)."""
    # np.clip's values, NaN kept, by the two ufuncs it wraps (a third of its time a call).
    values: FloatArray = np.minimum(np.maximum(np.asarray(X, dtype=np.float64), low), high)
    values[:, logged] = np.log1p(np.maximum(values[:, logged], 0.0))
    return values


@dataclass(frozen=True, eq=False)
class ClippedLine:
    """A line of log price on inputs clipped to their training range, some of them logged
    (``LinearStart``'s fitted state)."""

    low: FloatArray
    high: FloatArray
    #: Columns that enter as log(1 + value).
    logged: IntArray
    center: FloatArray
    coef: FloatArray
    intercept: float

    def inputs(self, X: npt.ArrayLike) -> FloatArray:
        return clipped_inputs(X, self.low, self.high, self.logged)

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        start: FloatArray = (self.inputs(X) - self.center) @ self.coef + self.intercept
        return start

    def contributions(self, X: npt.ArrayLike) -> FloatArray:
        """Each column's term, (rows x columns); they add up to ``predict(X) - intercept``."""
        terms: FloatArray = (self.inputs(X) - self.center) * self.coef
        return terms


@dataclass(frozen=True, eq=False)
class SplineCurves:
    """The Lasso's B-spline curves (``BasisLasso.curves_``) as polynomial pieces, evaluated for
    every splined column in a dozen whole-array operations, where scipy's ``BSpline`` is a call
    per column (a third of one house's Lasso). Each piece is the curve's Taylor polynomial at
    the piece's left knot (the curve's derivatives there, from the right, as ``BSpline`` takes
    a value on a knot), so a value is the curve's to rounding (about 1e-15); beyond the outer
    knots the end pieces go on, as ``BSpline`` extrapolates."""

    #: The matrix column of each curve.
    columns: IntArray
    #: (curves x pieces - 1): the knots between pieces; a value at or above a knot is in the
    #: piece after it.
    inner_knots: FloatArray
    #: (curves x pieces): each piece's left knot.
    left_knots: FloatArray
    #: (degree + 1 x curves x pieces): the pieces' Taylor coefficients, the highest power first.
    coefficients: FloatArray
    #: Each curve's first piece in the curves' pieces one after another (``left_knots`` and
    #: ``coefficients`` flattened so), which ``values`` takes from in one gather.
    first_piece: IntArray

    @classmethod
    def from_splines(cls, curves: Sequence[tuple[int, BSpline]]) -> SplineCurves:
        """From curves of one degree and as many knots (those of one ``SplineTransformer``)."""
        degree = curves[0][1].k
        lefts, coefficients = [], []
        for _, curve in curves:
            if curve.k != degree or curve.t.size != curves[0][1].t.size:
                raise ValueError("the curves differ in degree or in number of knots")
            # The base interval's knots: t[k] to t[n], n = the number of coefficients.
            left = curve.t[degree : curve.c.size]
            lefts.append(left)
            coefficients.append(
                [curve(left, nu=power) / factorial(power) for power in range(degree, -1, -1)]
            )
        columns = [column for column, _ in curves]
        if len(set(columns)) != len(columns):
            raise ValueError("two curves of one column: its terms would be added once")
        left_knots = np.array(lefts, dtype=np.float64)
        return cls(
            columns=np.array(columns, dtype=np.intp),
            inner_knots=np.ascontiguousarray(left_knots[:, 1:]),
            left_knots=left_knots,
            coefficients=np.ascontiguousarray(np.array(coefficients).transpose(1, 0, 2)),
            first_piece=np.arange(len(curves), dtype=np.intp) * left_knots.shape[1],
        )

    def values(self, clipped: FloatArray) -> FloatArray:
        """Each curve at its column's value, (rows x curves)."""
        x = clipped.take(self.columns, axis=1)
        piece: IntArray = np.add.reduce(x[:, :, None] >= self.inner_knots, axis=2, dtype=np.intp)
        piece += self.first_piece
        dx = x - self.left_knots.take(piece)
        pieces = self.coefficients.shape[0], -1
        coefficients: FloatArray = self.coefficients.reshape(pieces).take(piece, axis=1)
        value: FloatArray = coefficients[0]
        for coefficient in coefficients[1:]:
            value = value * dx + coefficient
        return value


@dataclass(frozen=True, eq=False)
class LassoTerms:
    """``BasisLasso``'s prediction in the matrix's units: the standardisation folded into the
    slopes, only the functions with a nonzero slope, one spline curve per splined column."""

    low: FloatArray
    high: FloatArray
    #: Columns that enter as log(1 + clipped value).
    logged: IntArray
    #: The slope of each column's (clipped, logged) value.
    number_coef: FloatArray
    #: The log price when every function is zero.
    offset: float
    #: The log price of a house whose every basis function is at its training mean.
    intercept: float
    #: Each column's term at the training means, which ``contributions`` are centred on.
    centre: FloatArray
    #: Kept one-hot functions: column, code and slope; (functions x columns) owner matrix.
    hot_columns: IntArray
    hot_values: FloatArray
    hot_coef: FloatArray
    hot_owner: FloatArray
    #: Kept "above a threshold" functions: column, threshold (0, "> 0", for an area there at
    #: all; since 0.3.5 also a grade's steps up, "above Fa" ...) and slope; (functions x
    #: columns) owner matrix. Artifacts before 0.3.5 have no thresholds: ``BasisLasso`` gives
    #: them 0 as it loads them.
    indicator_columns: IntArray
    indicator_thresholds: FloatArray
    indicator_coef: FloatArray
    indicator_owner: FloatArray
    curves: SplineCurves | None

    def log_price(self, X: npt.ArrayLike) -> FloatArray:
        values = np.asarray(X, dtype=np.float64)
        clipped = clipped_inputs(values, self.low, self.high, self.logged)
        prediction: FloatArray = clipped @ self.number_coef + self.offset
        if self.hot_coef.size:
            prediction += (values[:, self.hot_columns] == self.hot_values) @ self.hot_coef
        if self.indicator_coef.size:
            above = values[:, self.indicator_columns] > self.indicator_thresholds
            prediction += above @ self.indicator_coef
        if self.curves is not None:
            prediction += self.curves.values(clipped).sum(axis=1)
        return prediction

    def contributions(self, X: npt.ArrayLike) -> FloatArray:
        """Each matrix column's term, (rows x columns); they add up to
        ``log_price(X) - intercept`` (to float rounding)."""
        values = np.asarray(X, dtype=np.float64)
        clipped = clipped_inputs(values, self.low, self.high, self.logged)
        terms: FloatArray = clipped * self.number_coef - self.centre
        if self.hot_coef.size:
            hot = (values[:, self.hot_columns] == self.hot_values) * self.hot_coef
            terms += hot @ self.hot_owner
        if self.indicator_coef.size:
            above = values[:, self.indicator_columns] > self.indicator_thresholds
            indicator = above * self.indicator_coef
            terms += indicator @ self.indicator_owner
        if self.curves is not None:
            terms[:, self.curves.columns] += self.curves.values(clipped)
        return terms
