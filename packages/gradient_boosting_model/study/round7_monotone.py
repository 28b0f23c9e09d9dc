"""Round 7 (2026-12): can the trees price a better grade never lower, at no cost in accuracy?

``make bench`` finds a better quality grade priced lower (``ExterQual`` Fa -> TA); the Lasso
gives ``ExterQual`` nothing, so the cause is the boosted half's trees, and scikit-learn's
``GradientBoostingRegressor`` has no monotone constraints. Candidates, each the boosted half of
today's blend (``0.6 x boosted + 0.4 x Lasso``, the Lasso today's, fitted on the same fold):

- ``a today``: the package's pipeline, fitted by ``fitting.fit_pipeline``;
- ``a wrapped``: today's boosted half fitted as the ``b`` candidates are (``StartedTrees``):
  their noise floor;
- ``b ExterQual``: today's ridge start on every column, today's trees on every column but
  ``ExterQual`` (so the start alone prices it, with a positive slope);
- ``b inverted``: the same without every checked grade field that today's fold models invert
  (in that fold seed's out-of-fold measure of ``a``: any step up priced lower by > 0.05%);
- ``c grades``: today's ridge start, then scikit-learn's ``HistGradientBoostingRegressor`` on
  what it leaves, ``monotonic_cst`` +1 on every grade score (squared error: it has no Huber);
- ``c grades+``: also +1 on OverallQual, OverallCond and the areas of ``MONOTONE_AREAS``;
- ``c unconstrained`` (``control``): ``c grades`` with each fold's settings, no constraint;
- ``b all grades`` (``allgrades``): today's trees without any checked grade field.

The ``c`` settings are chosen inside each outer fold by a 3-fold inner CV of its training part
(preprocessing, start, Lasso and trees refitted per inner fold; the blend's RMSLE), from a small
grid and the number of iterations along each fit (``staged_predict``); the outer fold's houses
never choose them.

The protocol is round 3's: the package's out-of-fold split (``calibration.folds`` = 10 folds,
the houses above ``max_living_area`` priced by one fold each and never trained on), fold seeds
42, 0 and 1, RMSLE over the training split's houses (all; and unwarned, the warnings of today's
model fitted in the same fold, as in the 0.3.0 study, so every candidate is scored on the same
houses). The fold loop is ``fitting.out_of_fold``'s, run in one process (seed 42's unwarned
RMSLE of ``a`` is the served artifact's cross-validated figure to the last digit). Grade
inversions are ``benchmarks/bench.py``'s ``grade_inversions``, on the training split's houses
priced by the fold model that did not see them: every checked grade field
(``warnings.also_checked``) a house gives, at each grade the training split has, worst first;
the share of steps up priced lower by more than 0.05%, and the largest drop. The holdout is not
read.

Run from the package folder, one core::

    OMP_NUM_THREADS=1 nice -n 19 python -m study.round7_monotone cv 42 0 1
    OMP_NUM_THREADS=1 nice -n 19 python -m study.round7_monotone control
    OMP_NUM_THREADS=1 nice -n 19 python -m study.round7_monotone allgrades
    python -m study.round7_monotone report
    OMP_NUM_THREADS=1 nice -n 19 python -m study.round7_monotone costs

Results: ``results_round7.md``; the package README's "Round 7".
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, read_dataset, split_holdout
from gradient_boosting_model.fitting import fit_pipeline, take, training_ranges
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.pipeline import fields_of_kind
from gradient_boosting_model.trained_model import run_stages
from gradient_boosting_model.validation import validate_inputs

FloatArray = npt.NDArray[np.float64]
Houses = list[dict[str, Any]]
RUNS = Path(__file__).resolve().parent / "_runs"

#: bench.py's floor: a better grade priced lower by more than this counts as an inversion.
FLOOR = 0.0005
#: Worst first, as ``features.grade_scores`` orders them.
ORDER = ("Po", "Fa", "TA", "Gd", "Ex")
#: The second monotone variant's areas (square feet; larger is never worse for the price).
MONOTONE_AREAS = (
    "LotArea",
    "TotalBsmtSF",
    "1stFlrSF",
    "2ndFlrSF",
    "GrLivArea",
    "GarageArea",
    "TotalSF",
)
#: The ``c`` candidates' inner grid (learning rate 0.05, max_features 0.5; the iterations are
#: chosen along each fit, every 50 up to ``MAX_ITER``).
GRID: tuple[dict[str, Any], ...] = tuple(
    {"max_leaf_nodes": leaves, "min_samples_leaf": least, "l2_regularization": l2}
    for leaves, least, l2 in [(8, 20, 0.0), (8, 20, 1.0), (8, 5, 1.0), (4, 20, 1.0)]
)
MAX_ITER = 1200
STEP = 50
INNER_FOLDS = 3


class StartedTrees(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """A linear start on every column, then ``trees`` fitted to what it leaves on the columns
    ``dropped`` leaves out (the boosted half of a candidate).

    With ``trees`` a ``GradientBoostingRegressor(init="zero")`` and nothing dropped this is
    today's boosted half: the Huber loss and its leaf updates depend on the target minus the
    raw prediction only, which the start shifts alike.
    """

    def __init__(
        self, *, start: Any = None, trees: Any = None, dropped: tuple[int, ...] = ()
    ) -> None:
        self.start = start
        self.trees = trees
        self.dropped = dropped

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> StartedTrees:
        values = np.asarray(X, dtype=np.float64)
        target = np.asarray(y, dtype=np.float64)
        self.kept_ = np.setdiff1d(np.arange(values.shape[1]), self.dropped)
        self.start_ = clone(self.start).fit(values, target)
        self.trees_ = clone(self.trees).fit(
            values[:, self.kept_], target - self.start_.predict(values)
        )
        return self

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        values = np.asarray(X, dtype=np.float64)
        out: FloatArray = self.start_.predict(values) + self.trees_.predict(values[:, self.kept_])
        return out


def blended(half: Any, linear: Any, weight: float) -> Callable[[npt.ArrayLike], FloatArray]:
    """The blend's log price of a matrix: ``weight`` x the boosted ``half`` + the Lasso's rest."""

    def log_price(X: npt.ArrayLike) -> FloatArray:
        out: FloatArray = weight * half.predict(X) + (1 - weight) * linear.predict(X)
        return out

    return log_price


def checked_grades(config: Config) -> list[str]:
    """The grade fields ``make bench`` checks the order of (``warnings.also_checked``)."""
    return [name for name in config.warnings.also_checked if name in fields_of_kind("grade")]


def seen_grades(houses: Houses, field: str) -> list[str]:
    """The grades of ``field`` the training split's houses have, worst first."""
    return [code for code in ORDER if any(house.get(field) == code for house in houses)]


def monotone_constraints(names: list[str], fields: list[str]) -> npt.NDArray[np.int8]:
    cst = np.zeros(len(names), dtype=np.int8)
    cst[[names.index(name) for name in fields]] = 1
    return cst


def hist_trees(cst: npt.NDArray[np.int8], params: dict[str, Any], max_iter: int) -> Any:
    return HistGradientBoostingRegressor(
        learning_rate=0.05,
        max_iter=max_iter,
        max_features=0.5,
        early_stopping=False,
        monotonic_cst=cst,
        random_state=0,
        **params,
    )


def tune(
    columns: Columns,
    prices: FloatArray,
    config: Config,
    csts: dict[str, npt.NDArray[np.int8]],
    *,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Per ``c`` candidate, the grid point and iterations with the lowest blend RMSLE over a
    3-fold CV of ``columns`` (an outer fold's training part) alone."""
    weight = config.blend.weight
    errors = {name: np.zeros((len(GRID), MAX_ITER // STEP)) for name in csts}
    for fit_rows, test_rows in KFold(INNER_FOLDS, shuffle=True, random_state=seed).split(prices):
        pipeline = fit_pipeline_parts(take(columns, fit_rows), prices[fit_rows], config)
        pre, regressor = pipeline[:-1], pipeline.named_steps["regressor"].regressor_
        train = pre.transform(take(columns, fit_rows))
        test = pre.transform(take(columns, test_rows))
        target, actual = np.log(prices[fit_rows]), np.log(prices[test_rows])
        start = clone(regressor.boosted.init).fit(train, target)
        linear = (1 - weight) * regressor.linear_.predict(test)
        started = weight * start.predict(test)
        for name, cst in csts.items():
            for g, params in enumerate(GRID):
                trees = hist_trees(cst, params, MAX_ITER).fit(train, target - start.predict(train))
                for k, staged in enumerate(trees.staged_predict(test)):
                    if (k + 1) % STEP == 0:
                        residual = started + weight * staged + linear - actual
                        errors[name][g, k // STEP] += np.sum(residual**2)
    chosen = {}
    for name, found in errors.items():
        best, stop = np.unravel_index(int(np.argmin(found)), found.shape)
        chosen[name] = {**GRID[int(best)], "max_iter": (int(stop) + 1) * STEP}
    return chosen


def fit_pipeline_parts(columns: Columns, prices: FloatArray, config: Config) -> Pipeline:
    """Today's pipeline fitted with 1 tree: its preprocessing, linear start and Lasso are
    fitted as in a full fit (they do not depend on the trees), at a thousandth of the trees'
    cost."""
    one_tree = config.model_copy(
        update={"model": config.model.model_copy(update={"n_estimators": 1})}
    )
    return fit_pipeline(columns, prices, one_tree)


def grade_drops(
    predict: dict[str, Any],
    pre: Pipeline,
    columns: Columns,
    houses: Houses,
    fields: dict[str, list[str]],
) -> dict[str, dict[str, FloatArray]]:
    """Per candidate and field, bench's drops (steps up x houses giving the field) of
    ``houses`` (``columns``, validated) priced by ``predict``'s log-price functions."""
    out: dict[str, dict[str, FloatArray]] = {name: {} for name in predict}
    for field, grades in fields.items():
        given = np.array([house.get(field) is not None for house in houses])
        if not given.any():
            continue
        rows = take(columns, np.flatnonzero(given))
        prices: dict[str, list[FloatArray]] = {name: [] for name in predict}
        for grade in grades:
            matrix = pre.transform({**rows, field: np.full(int(given.sum()), grade, dtype=object)})
            for name, log_price in predict.items():
                prices[name].append(log_price(matrix))
        for name, logs in prices.items():
            values = np.exp(np.array(logs))
            out[name][field] = 1 - values[1:] / values[:-1]
    return out


def run_seed(seed: int, config: Config) -> dict[str, Any]:
    """One fold seed: every candidate's out-of-fold log prices, grade drops and fit times."""
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    columns, big_columns = validate_inputs(houses), validate_inputs(big)
    n, m = prices.size, big_prices.size
    everything = {k: np.concatenate([v, big_columns[k]]) for k, v in columns.items()}
    grades = {field: seen_grades(houses, field) for field in checked_grades(config)}
    grades = {field: codes for field, codes in grades.items() if len(codes) >= 2}
    folds = config.calibration.folds
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(prices))
    weight = config.blend.weight
    # Pass 1: today's model per fold; its warnings, prices and grade drops.
    todays, warned = [], np.zeros(n + m, dtype=bool)
    preds: dict[str, FloatArray] = {}
    seconds: dict[str, float] = {}
    drops: dict[str, dict[str, list[FloatArray]]] = {}

    def record(name: str, priced: FloatArray, log_price: FloatArray, took: float) -> None:
        preds.setdefault(name, np.zeros(n + m))[priced] = log_price
        seconds[name] = seconds.get(name, 0.0) + took

    def record_drops(found: dict[str, dict[str, FloatArray]]) -> None:
        for name, per_field in found.items():
            for field, values in per_field.items():
                drops.setdefault(name, {}).setdefault(field, []).append(values)

    for index, (fit_rows, test_rows) in enumerate(splits):
        priced = np.concatenate([test_rows, n + np.arange(index, m, folds)])
        fitted = take(columns, fit_rows)
        tick = time.perf_counter()
        pipeline = fit_pipeline(fitted, prices[fit_rows], config)
        took = time.perf_counter() - tick
        stages = run_stages(pipeline, take(everything, priced))
        record("a today", priced, stages.log_price, took)
        checks = training_ranges(pipeline, fitted, config).check(
            stages.raw, stages.features, stages.assumed
        )
        warned[priced] = [bool(found) for found in checks]
        todays.append(pipeline)
        regressor = pipeline.named_steps["regressor"].regressor_
        record_drops(
            grade_drops(
                {"a today": regressor.predict},
                pipeline[:-1],
                take(columns, test_rows),
                [houses[i] for i in test_rows],
                grades,
            )
        )
    inverted = [
        field
        for field, values in drops["a today"].items()
        if np.any(np.concatenate(values, axis=1) > FLOOR)
    ]
    print(f"seed {seed}: today's models invert {inverted}", flush=True)
    chosen: list[dict[str, Any]] = []
    for index, ((fit_rows, test_rows), pipeline) in enumerate(zip(splits, todays, strict=True)):
        start_time = time.perf_counter()
        priced = np.concatenate([test_rows, n + np.arange(index, m, folds)])
        pre, regressor = pipeline[:-1], pipeline.named_steps["regressor"].regressor_
        names = pre.named_steps["matrix"].feature_names_in_.tolist()
        train = pre.transform(take(columns, fit_rows))
        test = pre.transform(take(everything, priced))
        target = np.log(prices[fit_rows])
        start = regressor.boosted.init
        gbm = GradientBoostingRegressor(**{**config.model.model_dump(), "init": "zero"})
        grade_names = [name for name in grades if name in names]
        csts = {
            "c grades": monotone_constraints(names, grade_names),
            "c grades+": monotone_constraints(
                names, [*grade_names, "OverallQual", "OverallCond", *MONOTONE_AREAS]
            ),
        }
        halves: dict[str, Any] = {
            # Today's boosted half as the b candidates are fitted: the same trees up to float
            # rounding, which flips a tie between splits now and then (their noise floor).
            "a wrapped": StartedTrees(start=start, trees=gbm),
            "b ExterQual": StartedTrees(
                start=start, trees=gbm, dropped=(names.index("ExterQual"),)
            ),
            "b inverted": StartedTrees(
                start=start, trees=gbm, dropped=tuple(names.index(f) for f in inverted)
            ),
        }
        tick = time.perf_counter()
        settings = tune(
            take(columns, fit_rows),
            prices[fit_rows],
            config,
            csts,
            seed=1000 * (seed + 1) + index,
        )
        tuning = time.perf_counter() - tick
        chosen.append(settings)
        for name, cst in csts.items():
            params = dict(settings[name])
            halves[name] = StartedTrees(
                start=start, trees=hist_trees(cst, params, params.pop("max_iter"))
            )
        linear = regressor.linear_
        predict: dict[str, Any] = {}
        for name, half in halves.items():
            tick = time.perf_counter()
            half.fit(train, target)
            record(
                name,
                priced,
                weight * half.predict(test) + (1 - weight) * linear.predict(test),
                time.perf_counter() - tick,
            )
            predict[name] = blended(half, linear, weight)
        record_drops(
            grade_drops(
                predict, pre, take(columns, test_rows), [houses[i] for i in test_rows], grades
            )
        )
        print(
            f"seed {seed} fold {index}: {time.perf_counter() - start_time:.0f} s "
            f"(tuning {tuning:.0f} s) {settings}",
            flush=True,
        )
    return {
        "seed": seed,
        "inverted_by_today": inverted,
        "log_actual": np.log(np.concatenate([prices, big_prices])).tolist(),
        "excluded": (np.arange(n + m) >= n).tolist(),
        "warned": warned.tolist(),
        "predictions": {k: v.tolist() for k, v in preds.items()},
        "fit_seconds": seconds,
        "chosen": chosen,
        "inversions": {
            name: {
                field: _inversions(np.concatenate(values, axis=1))
                for field, values in per_field.items()
            }
            for name, per_field in drops.items()
        },
        "grades": grades,
    }


def add_candidate(
    run: dict[str, Any], config: Config, name: str, half_of: Callable[[Any, list[str], int], Any]
) -> None:
    """Add candidate ``name`` to a seed's ``run``: per fold, the blend with the boosted half
    ``half_of(start, matrix names, fold index)`` and today's Lasso, its preprocessing, start
    and Lasso refitted as today's (``fit_pipeline_parts``; they do not depend on the trees)."""
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    columns, big_columns = validate_inputs(houses), validate_inputs(big)
    n, m = prices.size, big_prices.size
    everything = {k: np.concatenate([v, big_columns[k]]) for k, v in columns.items()}
    folds, weight = config.calibration.folds, config.blend.weight
    predicted, seconds = np.zeros(n + m), 0.0
    drops: dict[str, list[FloatArray]] = {}
    splits = KFold(folds, shuffle=True, random_state=run["seed"]).split(prices)
    for index, (fit_rows, test_rows) in enumerate(splits):
        priced = np.concatenate([test_rows, n + np.arange(index, m, folds)])
        pipeline = fit_pipeline_parts(take(columns, fit_rows), prices[fit_rows], config)
        pre, regressor = pipeline[:-1], pipeline.named_steps["regressor"].regressor_
        names = pre.named_steps["matrix"].feature_names_in_.tolist()
        train = pre.transform(take(columns, fit_rows))
        half = half_of(regressor.boosted.init, names, index)
        tick = time.perf_counter()
        half.fit(train, np.log(prices[fit_rows]))
        seconds += time.perf_counter() - tick
        log_price = blended(half, regressor.linear_, weight)
        predicted[priced] = log_price(pre.transform(take(everything, priced)))
        found = grade_drops(
            {name: log_price},
            pre,
            take(columns, test_rows),
            [houses[i] for i in test_rows],
            run["grades"],
        )
        for field, values in found[name].items():
            drops.setdefault(field, []).append(values)
    run["predictions"][name] = predicted.tolist()
    run["fit_seconds"][name] = seconds
    run["inversions"][name] = {
        field: _inversions(np.concatenate(values, axis=1)) for field, values in drops.items()
    }


def unconstrained(run: dict[str, Any]) -> Callable[[Any, list[str], int], Any]:
    """``c unconstrained``: the ``c grades`` half of each fold with the settings its inner CV
    chose but no constraint; what separates the constraints' cost from the change of tree
    learner (and of loss)."""

    def half_of(start: Any, names: list[str], index: int) -> Any:
        params = dict(run["chosen"][index]["c grades"])
        no_constraint = np.zeros(len(names), dtype=np.int8)
        return StartedTrees(
            start=start, trees=hist_trees(no_constraint, params, params.pop("max_iter"))
        )

    return half_of


def all_grades(config: Config) -> Callable[[Any, list[str], int], Any]:
    """``b all grades``: today's trees without any of the checked grade fields (a fixed list,
    as a release would declare it, where ``b inverted`` takes each seed's)."""

    def half_of(start: Any, names: list[str], index: int) -> Any:
        gbm = GradientBoostingRegressor(**{**config.model.model_dump(), "init": "zero"})
        dropped = tuple(names.index(field) for field in checked_grades(config) if field in names)
        return StartedTrees(start=start, trees=gbm, dropped=dropped)

    return half_of


def _inversions(drops: FloatArray) -> dict[str, Any]:
    """bench's figures of one field: steps up, those priced lower by > ``FLOOR``, the
    largest drop; and per step (Po->Fa ...) the same."""
    return {
        "pairs": int(drops.size),
        "inverted": int(np.sum(drops > FLOOR)),
        "largest": float(max(drops.max(), 0.0)),
        "per_step": [
            [int(np.sum(row > FLOOR)), int(row.size), float(max(row.max(), 0.0))] for row in drops
        ],
    }


def scores(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each candidate's RMSLE, all and unwarned: ``cv_study.scores`` but for the unwarned, whose
    houses here leave out the ones never trained on too (``excluded``), as round 3's did."""
    actual = np.array(run["log_actual"])
    excluded, warned = np.array(run["excluded"]), np.array(run["warned"])
    out = {}
    for name, values in run["predictions"].items():
        residual = actual - np.array(values)
        out[name] = {
            "all": float(np.sqrt(np.mean(residual[~excluded] ** 2))),
            "unwarned": float(np.sqrt(np.mean(residual[~excluded & ~warned] ** 2))),
        }
    return out


def report() -> str:
    runs = [json.loads(path.read_text()) for path in sorted(RUNS.glob("round7_seed*.json"))]
    runs.sort(key=lambda run: [42, 0, 1].index(run["seed"]) if run["seed"] in (42, 0, 1) else 9)
    table = [scores(run) for run in runs]
    names = list(runs[0]["predictions"])
    lines = [
        f"fold seeds {[r['seed'] for r in runs]}; inverted by today's models: "
        f"{[r['inverted_by_today'] for r in runs]}",
        "",
        "| candidate | RMSLE all, mean | per seed | change per seed | unwarned, mean | change "
        "per seed | steps up priced lower (all fields) | largest drop | fit s per fold |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        every = [t[name]["all"] for t in table]
        unwarned = [t[name]["unwarned"] for t in table]
        d_all = [t[name]["all"] - t["a today"]["all"] for t in table]
        d_unw = [t[name]["unwarned"] - t["a today"]["unwarned"] for t in table]
        inv = [r["inversions"][name] for r in runs]
        pairs = sum(f["pairs"] for i in inv for f in i.values())
        bad = sum(f["inverted"] for i in inv for f in i.values())
        largest = max(f["largest"] for i in inv for f in i.values())
        fit = statistics.mean(r["fit_seconds"][name] / 10 for r in runs)
        lines.append(
            f"| {name} | {statistics.mean(every):.5f} | {' '.join(f'{x:.5f}' for x in every)} "
            f"| {' '.join(f'{x:+.5f}' for x in d_all)} | {statistics.mean(unwarned):.5f} "
            f"| {' '.join(f'{x:+.5f}' for x in d_unw)} | {bad / pairs:.2%} ({bad} of {pairs}) "
            f"| {largest:.2%} | {fit:.1f} |"
        )
    lines += ["", "Per field, 3 seeds pooled: share of steps up priced lower; largest drop", ""]
    fields = list(runs[0]["inversions"]["a today"])
    lines.append("| field | grades | " + " | ".join(names) + " |")
    lines.append("| --- | --- |" + " --- |" * len(names))
    for field in fields:
        cells = []
        for name in names:
            found = [r["inversions"][name][field] for r in runs]
            bad = sum(f["inverted"] for f in found)
            pairs = sum(f["pairs"] for f in found)
            cells.append(f"{bad / pairs:.1%}, {max(f['largest'] for f in found):.2%}")
        lines.append(f"| {field} | {' < '.join(runs[0]['grades'][field])} | {' | '.join(cells)} |")
    lines += ["", "ExterQual per step, 3 seeds pooled (houses priced lower / houses; largest)", ""]
    for name in names:
        steps = list(
            zip(*(r["inversions"][name]["ExterQual"]["per_step"] for r in runs), strict=True)
        )
        codes = runs[0]["grades"]["ExterQual"]
        parts = []
        for k, step in enumerate(steps):
            bad, size = sum(s[0] for s in step), sum(s[1] for s in step)
            parts.append(
                f"{codes[k]}->{codes[k + 1]} {bad / size:.0%} {max(s[2] for s in step):.2%}"
            )
        lines.append(f"- {name}: " + ", ".join(parts))
    chosen = [c for r in runs for c in r["chosen"]]
    for name in ("c grades", "c grades+"):
        picks = [json.dumps({k: v for k, v in c[name].items() if k != "max_iter"}) for c in chosen]
        iters = [c[name]["max_iter"] for c in chosen]
        counts = {p: picks.count(p) for p in dict.fromkeys(picks)}
        lines.append(
            f"\n{name}: settings chosen in the 30 outer folds {counts}; iterations median "
            f"{statistics.median(iters):.0f} ({min(iters)} to {max(iters)})"
        )
    return "\n".join(lines)


def costs(config: Config) -> str:
    """Each candidate's halves fitted on the whole training split (the ``c`` settings the
    median of the folds' choices); fit time and the time from validated columns to log prices
    for test.csv's 1459 houses, in turns, as ``cv_study.costs`` times them."""
    from study.cv_study import interleaved_ms

    runs = [json.loads(path.read_text()) for path in sorted(RUNS.glob("round7_seed*.json"))]
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    columns = validate_inputs(houses)
    requests = validate_inputs(read_dataset(config.data.requests_file))
    tick = time.perf_counter()
    pipeline = fit_pipeline(columns, prices, config)
    today_s = time.perf_counter() - tick
    pre, regressor = pipeline[:-1], pipeline.named_steps["regressor"].regressor_
    names = pre.named_steps["matrix"].feature_names_in_.tolist()
    train, target = pre.transform(columns), np.log(prices)
    weight, linear = config.blend.weight, regressor.linear_
    grades = [f for f in checked_grades(config) if f in names]
    inverted = runs[0]["inverted_by_today"]
    gbm = GradientBoostingRegressor(**{**config.model.model_dump(), "init": "zero"})
    start = regressor.boosted.init
    csts = {
        "c grades": monotone_constraints(names, grades),
        "c grades+": monotone_constraints(
            names, [*grades, "OverallQual", "OverallCond", *MONOTONE_AREAS]
        ),
    }
    halves: dict[str, Any] = {
        "b ExterQual": StartedTrees(start=start, trees=gbm, dropped=(names.index("ExterQual"),)),
        "b inverted": StartedTrees(
            start=start, trees=gbm, dropped=tuple(names.index(f) for f in inverted)
        ),
    }
    for name, cst in csts.items():
        chosen = [c[name] for r in runs for c in r["chosen"]]
        picks = [json.dumps({k: v for k, v in c.items() if k != "max_iter"}) for c in chosen]
        params = json.loads(max(set(picks), key=picks.count))
        iters = int(statistics.median(c["max_iter"] for c in chosen))
        halves[name] = StartedTrees(start=start, trees=hist_trees(cst, params, iters))
    fit_s = {"a today": today_s}
    for name, half in halves.items():
        tick = time.perf_counter()
        half.fit(train, target)
        fit_s[name] = time.perf_counter() - tick

    def priced_by(half: Any) -> Callable[[], FloatArray]:
        log_price = blended(half, linear, weight)
        return lambda: log_price(pre.transform(requests))

    actions: dict[str, Callable[[], Any]] = {
        "a today": lambda: regressor.predict(pre.transform(requests))
    }
    actions |= {name: priced_by(half) for name, half in halves.items()}
    ms = interleaved_ms(actions, 30)
    lines = [
        f"fit on the training split ({prices.size} houses; today's: the whole pipeline), and "
        f"1459 houses from validated columns to log prices (scikit-learn's predict, median of "
        f"30 turns); one process, OMP_NUM_THREADS=1",
        "",
        "| candidate | fit s | 1459 houses ms | ratio to today |",
        "| --- | --- | --- | --- |",
    ]
    for name in actions:
        lines.append(
            f"| {name} | {fit_s[name]:.1f} | {ms[name]:.1f} | {ms[name] / ms['a today']:.2f} |"
        )
    return "\n".join(lines)


#: Candidates added to the seeds' runs after them: the command, the candidate's name, and its
#: boosted half per fold made from the run and the config.
ADDED_LATER: dict[str, tuple[str, Callable[[dict[str, Any], Config], Any]]] = {
    "control": ("c unconstrained", lambda run, config: unconstrained(run)),
    "allgrades": ("b all grades", lambda run, config: all_grades(config)),
}


def main(arguments: list[str]) -> int:
    config = load_config()
    if arguments[0] == "cv":
        RUNS.mkdir(exist_ok=True)
        for seed in [int(a) for a in arguments[1:]] or [42, 0, 1]:
            # Only the folds' seed changes: the holdout's split stays data.split_seed's.
            run = run_seed(seed, config)
            (RUNS / f"round7_seed{seed}.json").write_text(json.dumps(run))
            print(json.dumps(scores(run), indent=1), flush=True)
    elif arguments[0] in ADDED_LATER:
        name, half_of = ADDED_LATER[arguments[0]]
        for path in sorted(RUNS.glob("round7_seed*.json")):
            run = json.loads(path.read_text())
            add_candidate(run, config, name, half_of(run, config))
            path.write_text(json.dumps(run))
            print(f"seed {run['seed']}: {scores(run)[name]}", flush=True)
    elif arguments[0] == "report":
        print(report())
    else:
        print(costs(config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
