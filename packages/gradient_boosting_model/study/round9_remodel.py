"""Round 9 (2026-12): a remodel in the year of sale should never lower a price.

An appraiser's probe of the served model (0.3.5): setting ``YearRemodAdd`` to the year of sale
(``YrSold``) lowered the price of every one of test.csv's 1343 houses remodelled earlier
(median -3.7%, worst -5.7%). Ages are years before the sale (``features.elapsed_years``), so a
remodel this year is age 0, and 105 of the 115 training houses with remodel age 0 were built
that year too: "remodel age 0" stands mostly for a new house.

Candidates, each measured by the package's own cross-validation on round 8's protocol
(``fitting.out_of_fold``: 10 folds, fold seeds 42, 0 and 1 by changing only the folds' seed,
the training split, the holdout not read):

- **(a) today**: 0.3.5's config, through ``out_of_fold`` as ``make train`` runs it (seed 42
  gives the card's CV figure to the last digit);
- **(b) falling**: the remodel age hidden from the trees (``tree_hidden_columns``, as the
  grades are), its slope in the linear start and in the Lasso held at or below 0 (a more recent
  remodel, a smaller age, never lowers), the Lasso's spline of it dropped (a curve may rise);
- **(c) gap**: a derived total ``RemodelGap = age built - age remodelled`` (the years between
  building and remodelling, 0 for a house never remodelled: ``features.sums``, a config change
  only), so that a remodel this year (age 0, gap > 0) is told from a new house (age 0, gap 0);
- **(d) hidden**: the remodel age hidden from the trees only (the linear parts as today);
- **(e) falling steps**: (b), the Lasso also given steps down ("remodelled more than s years
  before the sale", at each age at least ``min_count`` houses have), each slope at or below 0;
- **(b+c)**: (b) with (c)'s total, also hidden from the trees, its slopes at or above 0: the
  remodel year raises the gap as it lowers the remodel age, so its term, the remodel age's
  slope (at or below 0) minus the gap's (at or above 0) per year of age, never falls as the
  remodel is more recent.

(b)'s bounds need a "falling" slope, which the package's ``LinearStart.rising_columns`` and
``BasisLasso.monotone_columns`` do not offer; here they are study subclasses that fit the
package's rising fit on the column negated and turn the fitted state back, so the fitted model
has the package's attributes and pricing forms. The candidates other than (a) run
``out_of_fold`` with ``fitting.fit_pipeline`` replaced by this file's ``fit_variant`` (a copy
with the candidate's settings) and joblib's threading backend (the replacement does not reach
loky's worker processes); the folds and every other step are the package's.

For each: RMSLE of all and of the unwarned houses, the ranges' coverage and median width (as
round 8), and the "remodel now" effect: every training-split house remodelled before its sale
year (``YearRemodAdd < YrSold``), priced by the fold model that did not see it, with
``YearRemodAdd`` set to its ``YrSold``: the share priced lower by more than 0.05% (bench.py's
floor), the median change and the worst drop. And "any year more recent": each house priced
with every remodel year from ``YearBuilt`` to ``YrSold``; the share of one-year steps (a remodel
a year more recent) priced lower by more than 0.05%, and the largest such drop.

Run from the package folder (about 13 minutes on 2 cores)::

    python -m study.round9_remodel
    python -m study.round9_remodel served  # test.csv's prices, fitted as make train fits

Results: ``results_round9.md``; the package README's "Round 9".
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.pipeline import Pipeline

from gradient_boosting_model import fitting
from gradient_boosting_model.basis_lasso import BasisLasso
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, read_dataset, split_holdout
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.pipeline import fields_of_kind
from gradient_boosting_model.trained_model import Pricing, run_stages
from gradient_boosting_model.validation import validate_batch, validate_inputs
from study.oof_protocol import accuracy, drop, fitted_blend, prepared, training_out_of_fold

FloatArray = npt.NDArray[np.float64]
SEEDS = (42, 0, 1)
#: bench.py's floor: a change for the better priced lower by more than this counts.
FLOOR = 0.0005
REMODEL, BUILT, SOLD = "YearRemodAdd", "YearBuilt", "YrSold"
GAP = "RemodelGap"


@dataclass(frozen=True)
class Candidate:
    """A candidate's differences from 0.3.5's fit."""

    name: str
    #: Matrix columns (by name) the trees never split on, besides the grades.
    hidden: tuple[str, ...] = ()
    #: Columns whose slope in the start and the Lasso is at or below 0 (never splined).
    falling: tuple[str, ...] = ()
    #: Columns whose slope there is at or above 0, besides the grades (never splined).
    rising: tuple[str, ...] = ()
    #: Falling columns that also enter the Lasso as steps down, "more than s years".
    steps: tuple[str, ...] = ()
    #: Derived totals added to ``features.sums``.
    sums: tuple[tuple[str, dict[str, float]], ...] = ()


TODAY = Candidate("(a) today")
CANDIDATES = (
    TODAY,
    Candidate("(b) falling", hidden=(REMODEL,), falling=(REMODEL,)),
    Candidate("(c) gap", sums=((GAP, {BUILT: 1.0, REMODEL: -1.0}),)),
    Candidate("(d) hidden", hidden=(REMODEL,)),
    Candidate("(e) falling steps", hidden=(REMODEL,), falling=(REMODEL,), steps=(REMODEL,)),
    Candidate(
        "(b+c)",
        hidden=(REMODEL, GAP),
        falling=(REMODEL,),
        rising=(GAP,),
        sums=((GAP, {BUILT: 1.0, REMODEL: -1.0}),),
    ),
)


def _negated(X: npt.ArrayLike, columns: npt.NDArray[np.intp]) -> FloatArray:
    values = np.array(X, dtype=np.float64)  # a copy
    values[:, columns] *= -1
    return values


def _turn_back(low: FloatArray, high: FloatArray, columns: npt.NDArray[np.intp]) -> None:
    """A negated column's training range, in place, as the column's own: clipping ``-x`` to
    ``[-high, -low]`` is ``-clip(x, low, high)``."""
    low[columns], high[columns] = -high[columns], -low[columns]


class FallingStart(LinearStart):
    """``LinearStart`` whose ``falling_columns``' slopes are at or below 0: the rising fit on
    those columns negated, turned back (clip, centre and slope of a negated column negate).
    Its parameters are ``LinearStart``'s, whose ``falling_columns`` the package has since fitted
    by sign (``linear_start.fit_bounded``): the same model up to float rounding."""

    def fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, sample_weight: npt.ArrayLike | None = None
    ) -> FallingStart:
        falling = np.asarray(list(self.falling_columns), dtype=np.intp)
        if set(falling.tolist()) & set(self.log_columns):
            raise ValueError("a falling column cannot be logged")
        inner = LinearStart(
            alpha=self.alpha,
            log_columns=self.log_columns,
            rising_columns=(*self.rising_columns, *falling.tolist()),
        ).fit(_negated(X, falling), y, sample_weight)
        for name in ("n_features_in_", "low_", "high_", "center_", "coef_", "intercept_"):
            setattr(self, name, getattr(inner, name))
        _turn_back(self.low_, self.high_, falling)
        self.center_[falling] *= -1
        self.coef_[falling] *= -1
        return self


class FallingLasso(BasisLasso):
    """``BasisLasso`` whose ``falling_columns``' terms never rise with their value: the slope of
    their clipped value at or below 0 and, for one of ``one_hot_columns``, steps down ("more
    than s years") in place of one indicator per value, each slope at or below 0.

    Fitted as the package's monotone fit of each such column reflected, ``t = K - x``, then
    turned back. ``K`` is 0 (the column negated), or for a stepped column one more than its
    training maximum, so that every training value is above 0 and gets the package's steps up
    "t > r". Turned back: ``clip(K - x) = K - clip(x)``, so that basis function's mean becomes
    ``K`` minus it and its slope negates; a step "t > r" is "x < K - r", for whole years (ages)
    1 minus "x > K - r - 0.5", so its mean becomes 1 minus it and its slope negates. The
    standardisation's scales are unchanged. Not splined (a curve may rise), not logged.
    """

    def __init__(self, *, falling_columns: Sequence[int] = (), **params: Any) -> None:
        super().__init__(**params)
        self.falling_columns = falling_columns

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted({*BasisLasso._get_param_names(), "falling_columns"})

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> FallingLasso:
        values = np.array(X, dtype=np.float64)  # a copy
        falling = np.asarray(list(self.falling_columns), dtype=np.intp)
        if set(falling.tolist()) & {*self.log_columns, *self.spline_columns}:
            raise ValueError("a falling column can be neither logged nor splined")
        stepped = np.isin(falling, list(self.one_hot_columns))
        mirror = np.where(stepped, values[:, falling].max(axis=0) + 1, 0.0)
        values[:, falling] = mirror - values[:, falling]
        params = {name: getattr(self, name) for name in BasisLasso._get_param_names()}
        params["monotone_columns"] = (*self.monotone_columns, *falling.tolist())
        inner = BasisLasso(**params).fit(values, y)
        self.__dict__.update({k: v for k, v in vars(inner).items() if k.endswith("_")})
        if np.isin(self.hot_columns_, falling).any():
            raise ValueError("a falling column kept an indicator per value")
        low, high = self.low_[falling].copy(), self.high_[falling].copy()
        self.low_[falling], self.high_[falling] = mirror - high, mirror - low
        self.mean_[falling] = mirror - self.mean_[falling]  # the basis's first columns
        self.basis_coef_[falling] *= -1
        steps = np.isin(self.indicator_columns_, falling)
        reflect = dict(zip(falling.tolist(), mirror.tolist(), strict=True))
        at = np.array([reflect.get(int(c), 0.0) for c in self.indicator_columns_])
        self.indicator_thresholds_[steps] = at[steps] - self.indicator_thresholds_[steps] - 0.5
        means, slopes = (
            self.mean_[self._indicator_slice()],
            self.basis_coef_[self._indicator_slice()],
        )
        means[steps] = 1 - means[steps]  # views: the arrays change
        slopes[steps] *= -1
        self._compile()
        return self


def with_candidate(config: Config, candidate: Candidate, *, seed: int) -> Config:
    """0.3.5's config with the fold seed and the candidate's derived totals."""
    features = config.features.model_copy(
        update={"sums": {**config.features.sums, **dict(candidate.sums)}}
    )
    return config.model_copy(
        update={
            "features": features,
            "data": config.data.model_copy(update={"split_seed": seed}),
        }
    )


def fit_variant(candidate: Candidate) -> Any:
    """``fitting.fit_pipeline`` with ``candidate``'s hidden and falling columns (a copy of it,
    the monotone grades as 0.3.5 sets them)."""

    def fit(
        columns: Columns, prices: FloatArray, config: Config, *, progress: bool = False
    ) -> Pipeline:
        pipeline, matrix, names = prepared(columns, prices, config)
        log_columns = tuple(names.index(name) for name in config.linear_start.log_features)
        grades = tuple(names.index(name) for name in fields_of_kind("grade"))
        rising = (*grades, *(names.index(name) for name in candidate.rising))
        falling = tuple(names.index(name) for name in candidate.falling)
        hidden = (*grades, *(names.index(name) for name in candidate.hidden))
        lasso = config.blend.lasso
        one_hot = [
            *fields_of_kind("category"),
            *fields_of_kind("grade"),
            *lasso.one_hot_features,
            *candidate.steps,
        ]
        linear = FallingLasso(
            **lasso.model_dump(exclude={"one_hot_features", "spline_features"}),
            falling_columns=falling,
            monotone_columns=rising,
            log_columns=log_columns,
            one_hot_columns=tuple(names.index(n) for n in one_hot if n in names),
            spline_columns=tuple(
                names.index(n)
                for n in lasso.spline_features
                if n in names and n not in (*candidate.falling, *candidate.rising)
            ),
        )
        start = FallingStart(
            alpha=config.linear_start.alpha,
            log_columns=log_columns,
            rising_columns=rising,
            falling_columns=falling,
        )
        return fitted_blend(pipeline, matrix, prices, start=start, linear=linear, hidden=hidden)

    return fit


def remodel_effects(out: fitting.OutOfFold, houses: list[dict[str, Any]]) -> dict[str, float]:
    """The "remodel now" and "any year more recent" figures of the module's docstring."""
    now: list[FloatArray] = []
    steps: list[FloatArray] = []
    train = ~out.excluded
    for index, pricing in enumerate(out.pricings):
        rows = np.flatnonzero((out.fold == index) & train)
        fold_houses = [houses[i] for i in rows]
        earlier = [h for h in fold_houses if h.get(REMODEL) is not None and h[REMODEL] < h[SOLD]]
        before = pricing.stages(validate_batch(earlier)).log_price
        after = pricing.stages(validate_batch([{**h, REMODEL: h[SOLD]} for h in earlier]))
        now.append(after.log_price - before)
        grid = [
            [{**h, REMODEL: year} for year in range(h[BUILT], h[SOLD] + 1)]
            for h in fold_houses
            if h[BUILT] < h[SOLD]
        ]
        priced = pricing.stages(validate_batch([row for rows_ in grid for row in rows_]))
        start = 0
        for years in grid:
            log_prices = priced.log_price[start : start + len(years)]
            steps.append(1 - np.exp(log_prices[1:] - log_prices[:-1]))
            start += len(years)
    change = np.expm1(np.concatenate(now))
    drops = np.concatenate(steps)
    return {
        "remodelled": float(change.size),
        "now_lower": float(np.mean(change < -FLOOR)),
        "now_median": float(np.median(change)),
        "now_worst": float(-change.min()),
        "year_steps_lower": float(np.mean(drops > FLOOR)),
        "year_largest_drop": float(drops.max()),
    }


def measure(config: Config, candidate: Candidate, *, seed: int) -> dict[str, Any]:
    """One candidate and fold seed: accuracy, coverage and the remodel effects out of fold."""
    settings = with_candidate(config, candidate, seed=seed)
    fit = None if candidate == TODAY else fit_variant(candidate)
    out, houses, seconds = training_out_of_fold(config, settings, fit)
    return {**accuracy(out, settings), **remodel_effects(out, houses), "seconds": seconds}


def table(rows: dict[str, list[dict[str, Any]]]) -> str:
    """results_round9.md's table: per candidate, means over the seeds (the worst of them for
    the drops) and the per-seed RMSLE."""
    lines = [
        "| candidate | RMSLE all, mean | per seed (42, 0, 1) | change per seed | unwarned, mean "
        "| per seed | coverage | median width | remodel now: lower | median change "
        "| worst drop | a year more recent: lower | largest drop |",
        "| --- " * 13 + "|",
    ]
    base = rows[TODAY.name]
    for name, runs in rows.items():
        change = " ".join(
            f"{run['rmsle'] - today['rmsle']:+.5f}" for run, today in zip(runs, base, strict=True)
        )
        lines.append(
            f"| {name} "
            f"| {statistics.mean(r['rmsle'] for r in runs):.5f} "
            f"| {' '.join(format(r['rmsle'], '.5f') for r in runs)} "
            f"| {change if runs is not base else ''} "
            f"| {statistics.mean(r['rmsle_unwarned'] for r in runs):.5f} "
            f"| {' '.join(format(r['rmsle_unwarned'], '.5f') for r in runs)} "
            f"| {statistics.mean(r['coverage'] for r in runs):.3f} "
            f"| {statistics.mean(r['width'] for r in runs):.3f} "
            f"| {statistics.mean(r['now_lower'] for r in runs):.1%} "
            f"| {statistics.mean(r['now_median'] for r in runs):+.2%} "
            f"| {drop(max(r['now_worst'] for r in runs))} "
            f"| {statistics.mean(r['year_steps_lower'] for r in runs):.2%} "
            f"| {drop(max(r['year_largest_drop'] for r in runs))} |"
        )
    return "\n".join(lines)


def served(config: Config) -> None:
    """What a release of each candidate would do to test.csv's prices: today's model and each
    candidate fitted as ``make train`` fits (the training split, seed 42), the "remodel now"
    effect on test.csv's houses remodelled before their sale year (the appraiser's probe), and
    each candidate's moves from today's prices (``release.new_version``'s figures)."""
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    columns = validate_inputs(houses)
    requests = read_dataset(config.data.requests_file)
    earlier = [h for h in requests if h.get(REMODEL) is not None and h[REMODEL] < h[SOLD]]
    now = validate_batch([{**h, REMODEL: h[SOLD]} for h in earlier])
    today: FloatArray | None = None
    today_warned = np.zeros(0, dtype=bool)
    for candidate in CANDIDATES:
        if candidate.sums:
            continue  # (c) and (b+c): not recommended (results_round9.md)
        settings = with_candidate(config, candidate, seed=config.data.split_seed)
        fit = fitting.fit_pipeline if candidate == TODAY else fit_variant(candidate)
        pipeline = fit(columns, prices, settings)
        pricing = Pricing.from_pipeline(pipeline)
        log_price = pricing.stages(validate_batch(requests)).log_price
        stages = run_stages(pipeline, validate_inputs(requests))
        checks = fitting.training_ranges(pipeline, columns, settings).check(
            stages.raw, stages.features, stages.assumed
        )
        warned = np.array([bool(found) for found in checks])
        change = np.expm1(
            pricing.stages(now).log_price - pricing.stages(validate_batch(earlier)).log_price
        )
        line = (
            f"{candidate.name}: remodel now on {change.size} of test.csv's houses: "
            f"lower {np.mean(change < -FLOOR):.1%}, median {np.median(change):+.2%}, "
            f"worst {change.min():+.2%}"
        )
        if today is None:
            today, today_warned = log_price, warned
        else:
            move = np.abs(np.expm1(log_price - today))
            line += (
                f"; moves from today: median {np.median(move):.2%}, beyond 2% "
                f"{np.mean(move > 0.02):.1%}, 5% {np.mean(move > 0.05):.1%}, 10% "
                f"{np.mean(move > 0.10):.1%}, largest {move.max():.2%}; warned "
                f"{warned.sum()} (today {today_warned.sum()}), "
                f"{np.sum(warned != today_warned)} houses' warning gained or lost"
            )
        print(line, flush=True)


def main() -> int:
    config = load_config()
    if sys.argv[1:] == ["served"]:
        served(config)
        return 0
    # The copy of fit_pipeline, threaded, must give today's figures to the last digit.
    copy = measure(config, Candidate("(a) through fit_variant"), seed=SEEDS[0])
    print(f"seed {SEEDS[0]} (a) through fit_variant: {copy}", flush=True)
    rows: dict[str, list[dict[str, Any]]] = {c.name: [] for c in CANDIDATES}
    for seed in SEEDS:
        for candidate in CANDIDATES:
            figures = measure(config, candidate, seed=seed)
            rows[candidate.name].append(figures)
            print(f"seed {seed} {candidate.name}: {figures}", flush=True)
            if candidate == TODAY and seed == SEEDS[0]:
                same = all(copy[k] == figures[k] for k in figures if k != "seconds")
                print(f"fit_variant reproduces today: {same}", flush=True)
    print("\n" + table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
