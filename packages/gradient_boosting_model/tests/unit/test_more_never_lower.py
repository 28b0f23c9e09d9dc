"""Since 0.3.8 more of a count or an area never prices a house lower (``blend.more_never_lower``):
held as the grades are, and the Lasso's "> 0" indicator of such an area at or above 0 too."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from gradient_boosting_model.basis_lasso import BasisLasso

DECK = 1  # the matrix column of an area many houses have none of


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """Having a deck at all priced 10% lower, more of one a little higher: the dip at 0 that a
    free "> 0" indicator prices (Ames's garage area under 0.3.7)."""
    rng = np.random.default_rng(3)
    rows = 600
    living = rng.uniform(500, 3000, rows)
    deck = np.where(rng.random(rows) < 0.4, 0.0, rng.uniform(50, 800, rows))
    log_price = (
        11
        + 0.5 * np.log1p(living)
        - 0.1 * (deck > 0)
        + 0.02 * np.log1p(deck)
        + 0.03 * rng.normal(size=rows)
    )
    return np.column_stack([living, deck]), log_price


def _lasso(**changes: Any) -> BasisLasso:
    return BasisLasso(alpha=0.0005, max_iter=50_000, tol=1e-7, log_columns=(0, DECK), **changes)


def _indicator_coef(lasso: BasisLasso) -> float:
    """The slope of ``DECK``'s "> 0" indicator (0 if the Lasso dropped it)."""
    terms = lasso.terms_
    kept = terms.indicator_coef[
        (terms.indicator_columns == DECK) & (terms.indicator_thresholds == 0)
    ]
    return float(kept.sum())


def test_a_rising_areas_indicator_is_held_at_or_above_0(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """Free, the indicator comes out negative and a small deck is priced below none; held
    rising, it is 0 and every deck at least none's price."""
    X, y = data
    free = _lasso().fit(X, y)
    assert _indicator_coef(free) < -0.03
    held = _lasso(monotone_columns=(DECK,)).fit(X, y)
    assert _indicator_coef(held) == 0.0
    assert held.terms_.number_coef[DECK] > 0
    decks = X.copy()
    prices = []
    for area in (0.0, 10.0, 100.0, 800.0, 5000.0):
        decks[:, DECK] = area
        prices.append(held.predict(decks))
    assert all(np.all(more >= less) for less, more in itertools.pairwise(prices))
    decks[:, DECK] = 10.0
    small = free.predict(decks)
    decks[:, DECK] = 0.0
    assert np.all(small < free.predict(decks))


def test_holding_the_indicator_is_the_plain_fit_where_it_comes_out_positive(
    data: tuple[np.ndarray, np.ndarray],
) -> None:
    """The bound binds only where the free slope falls: a deck priced higher at all keeps the
    free fit's slopes (to the solver's tolerance)."""
    X, y = data
    y_up = y + 0.2 * (X[:, DECK] > 0)
    free = _lasso().fit(X, y_up)
    assert _indicator_coef(free) > 0.05
    held = _lasso(monotone_columns=(DECK,)).fit(X, y_up)
    np.testing.assert_allclose(held.predict(X), free.predict(X), atol=1e-5)
