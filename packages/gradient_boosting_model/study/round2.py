"""Round 2 of the 0.3.0 study (issue 24's unmet 0.105): the ideas round 1 did not try.

The protocol is round 1's (``cv_study``): the training split only (the holdout is never read),
seeds 0, 1 and 2 x 5 outer folds (the same ``KFold`` splits), preprocessing refitted in each
fold, the 3 houses above 4000 sq ft never trained on and priced by one fold each, RMSLE on the
houses without a warning. The warnings are round 1's (today's 0.2.0 model fitted on the same
fold, saved in ``_runs/main_seed*.json``, which this script reads), so every candidate is scored
on the same houses as 0.3.0 was. Blend weights are chosen inside each outer fold on the 4-fold
inner out-of-fold predictions of its training part (round 1's inner splits, seed
``1000 * (seed + 1) + fold``), on a 0.05 grid (a simplex grid for three parts).

Run from the package folder (lightgbm is not needed; catboost only for ``catboost``)::

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 python -m study.round2 cv --components ...
    PYTHONPATH=. python -m study.round2 report

``cv`` saves, per component and seed, the outer predictions (one column per stage for the
staged boosting) and each outer fold's inner out-of-fold predictions in ``_runs/r2/``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.fitting import fit_pipeline, take, training_ranges
from gradient_boosting_model.trained_model import run_stages
from study.candidates import CatBoostLog, KernelOnBasis, boosting
from study.cv_study import (
    RUNS,
    WEIGHTS,
    FloatArray,
    load_data,
    matrix_of,
    rich_linear,
    today_start,
)

R2 = RUNS / "r2"

#: Stages at which the 2000-tree boosting (today's settings otherwise) is read; stage 1000 is
#: today's model exactly (the first 1000 trees do not depend on how many follow).
STAGES = (250, 500, 750, 1000, 1250, 1500, 1750, 2000)

#: The numeric columns (not one-hot coded) that ``lasso_splall`` curves; those whose 5
#: quantile knots coincide (mostly zeros) are skipped by ``FieldBasis``.
NUMBERS = (
    "LotFrontage", "LotArea", "YearBuilt", "YearRemodAdd", "MasVnrArea", "BsmtFinSF1",
    "BsmtFinSF2", "BsmtUnfSF", "TotalBsmtSF", "1stFlrSF", "2ndFlrSF", "GrLivArea",
    "BedroomAbvGr", "TotRmsAbvGrd", "GarageYrBlt", "GarageArea", "WoodDeckSF", "OpenPorchSF",
    "TotalSF", "TotalBaths", "TotalOutdoorSF", "OverallQual", "MSSubClass",
)  # fmt: skip

CATBOOST_PARAMS: dict[str, Any] = {
    "iterations": 2000,
    "learning_rate": 0.03,
    "depth": 6,
    "l2_leaf_reg": 3.0,
    "loss_function": "RMSE",
    "random_seed": 0,
    "thread_count": 1,
    "verbose": 0,
    "allow_writing_files": False,
}


def _basis(names: list[str], config: Config, *, splines: tuple[str, ...] = ()) -> dict[str, Any]:
    model = rich_linear(names, config, penalty="lasso")
    return {
        "names": names,
        "log_features": model.log_features,
        "one_hot": model.one_hot,
        "indicators": True,
        "splines": splines,
    }


def _with(model: Any, **changes: Any) -> Any:
    return type(model)(**{**model.get_params(), **changes})


#: Component -> factory(names, config). ``gbm2000`` is read at every stage of ``STAGES``.
COMPONENTS: dict[str, Callable[[list[str], Config], Any]] = {
    "gbm2000": lambda n, c: boosting(
        {**c.model.model_dump(), "n_estimators": max(STAGES)}, today_start(n, c)
    ),
    "lasso_spl": lambda n, c: rich_linear(n, c, penalty="lasso", splines=True),
    # 0.3.0 as configured: alpha fixed at what LassoCV chose on the whole training split.
    "lasso_fixed": lambda n, c: _with(
        rich_linear(n, c, penalty="lasso", splines=True), alpha=c.blend.lasso.alpha
    ),
    "enet_spl": lambda n, c: rich_linear(n, c, penalty="enet", splines=True),
    "lasso_splall": lambda n, c: _with(rich_linear(n, c, penalty="lasso"), splines=NUMBERS),
    "krr_poly2": lambda n, c: KernelOnBasis(basis=_basis(n, c), kind="krr"),
    "svr_rbf": lambda n, c: KernelOnBasis(basis=_basis(n, c), kind="svr"),
    "catboost": lambda n, c: CatBoostLog(params=CATBOOST_PARAMS),
}


def _predict(name: str, model: Any, matrix: FloatArray) -> FloatArray:
    if name == "gbm2000":
        staged = list(model.staged_predict(matrix))
        return np.column_stack([staged[s - 1] for s in STAGES])
    return np.asarray(model.predict(matrix), dtype=np.float64)[:, None]


def run(config: Config, *, names: list[str], seed: int, folds: int, inner: int) -> None:
    """Outer and inner out-of-fold predictions of components ``names`` for one seed."""
    data = load_data(config)
    n, m = data.prices.size, data.big_prices.size
    everything = {k: np.concatenate([v, data.big[k]]) for k, v in data.columns.items()}
    outer: dict[str, FloatArray] = {}
    inside: dict[str, dict[str, FloatArray]] = {name: {} for name in names}
    seconds = dict.fromkeys(names, 0.0)
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(data.prices))
    for index, (fit_rows, test_rows) in enumerate(splits):
        start = time.perf_counter()
        priced = np.concatenate([test_rows, n + np.arange(index, m, folds)])
        fitted, prices = take(data.columns, fit_rows), data.prices[fit_rows]
        pre, columns = matrix_of(fitted, prices, config)
        train_matrix = pre.transform(fitted)
        test_matrix = pre.transform(take(everything, priced))
        for name in names:
            tick = time.perf_counter()
            model = COMPONENTS[name](columns, config).fit(train_matrix, np.log(prices))
            seconds[name] += time.perf_counter() - tick
            predicted = _predict(name, model, test_matrix)
            if name not in outer:
                outer[name] = np.full((n + m, predicted.shape[1]), np.nan)
            outer[name][priced] = predicted
        if inner:
            inner_splits = KFold(inner, shuffle=True, random_state=1000 * (seed + 1) + index)
            for name in names:
                inside[name][str(index)] = np.full((fit_rows.size, outer[name].shape[1]), np.nan)
            for in_fit, in_test in inner_splits.split(prices):
                part = take(fitted, in_fit)
                pre, columns = matrix_of(part, prices[in_fit], config)
                part_matrix = pre.transform(part)
                held = pre.transform(take(fitted, in_test))
                for name in names:
                    model = COMPONENTS[name](columns, config)
                    model.fit(part_matrix, np.log(prices[in_fit]))
                    inside[name][str(index)][in_test] = _predict(name, model, held)
        print(f"seed {seed} fold {index} {names}: {time.perf_counter() - start:.0f} s", flush=True)
    R2.mkdir(parents=True, exist_ok=True)
    for name in names:
        np.savez(
            R2 / f"{name}_seed{seed}.npz",
            outer=outer[name],
            seconds=seconds[name] / folds,
            **{f"inner{k}": v for k, v in inside[name].items()},
        )


# ---------------------------------------------------------------- combining and reporting


def _rmse(residual: FloatArray) -> float:
    return float(np.sqrt(np.mean(residual**2)))


class Seed:
    """One seed's saved predictions: round 1's run and round 2's components."""

    def __init__(self, seed: int, folds: int = 5) -> None:
        self.run = json.loads((RUNS / f"main_seed{seed}.json").read_text())
        self.seed = seed
        self.actual = np.array(self.run["log_actual"])
        self.warned = np.array(self.run["warned"])
        self.excluded = np.array(self.run["excluded"])
        n = int((~self.excluded).sum())
        m = self.actual.size - n
        self.folds = []
        for index, (fit_rows, test_rows) in enumerate(
            KFold(folds, shuffle=True, random_state=seed).split(np.zeros(n))
        ):
            self.folds.append(
                (fit_rows, np.concatenate([test_rows, n + np.arange(index, m, folds)]))
            )
        self.saved: dict[str, Any] = {}

    def load(self, name: str) -> Any:
        if name not in self.saved:
            self.saved[name] = np.load(R2 / f"{name}_seed{self.seed}.npz")
        return self.saved[name]

    def parts(self, name: str) -> tuple[FloatArray, list[FloatArray]]:
        """(outer predictions, per-fold inner predictions) of a component; ``gbm@S`` is the
        2000-tree boosting read at stage S, ``gbm_cv`` its stage chosen in each fold's inner
        CV (lowest inner out-of-fold RMSLE)."""
        if name.startswith("gbm@"):
            column = STAGES.index(int(name[4:]))
            saved = self.load("gbm2000")
            return saved["outer"][:, column], [
                saved[f"inner{k}"][:, column] for k in range(len(self.folds))
            ]
        if name == "gbm_cv":
            saved = self.load("gbm2000")
            outer = np.zeros(self.actual.size)
            inners = []
            self.stages = []
            for k, (fit_rows, priced) in enumerate(self.folds):
                inner = saved[f"inner{k}"]
                errors = [_rmse(inner[:, j] - self.actual[fit_rows]) for j in range(len(STAGES))]
                best = int(np.argmin(errors))
                self.stages.append(STAGES[best])
                outer[priced] = saved["outer"][priced, best]
                inners.append(inner[:, best])
            return outer, inners
        saved = self.load(name)
        return saved["outer"][:, 0], [saved[f"inner{k}"][:, 0] for k in range(len(self.folds))]

    def blend(self, names: list[str], fixed: list[float] | None = None) -> tuple[FloatArray, list]:
        """Outer predictions of a blend of ``names``; weights fixed, or chosen per fold on the
        inner out-of-fold predictions (0.05 grid on the simplex)."""
        parts = [self.parts(name) for name in names]
        outer = np.zeros(self.actual.size)
        chosen = []
        grid = [
            w for w in itertools.product(WEIGHTS, repeat=len(names) - 1) if sum(w) <= 1.0 + 1e-9
        ]
        for k, (fit_rows, priced) in enumerate(self.folds):
            if fixed is not None:
                weights = np.array(fixed)
            else:
                inner = np.column_stack([p[1][k] for p in parts])
                candidates = np.array([[*w, 1.0 - sum(w)] for w in grid])
                errors = np.sqrt(
                    np.mean((inner @ candidates.T - self.actual[fit_rows, None]) ** 2, axis=0)
                )
                weights = candidates[int(np.argmin(errors))]
            chosen.append(np.round(weights, 2).tolist())
            outer[priced] = np.column_stack([p[0][priced] for p in parts]) @ weights
        return outer, chosen

    def score(self, predictions: FloatArray) -> float:
        return _rmse((self.actual - predictions)[~self.warned])

    def score_all(self, predictions: FloatArray) -> float:
        return _rmse((self.actual - predictions)[~self.excluded])


#: Report rows: label -> (parts, fixed weights or None for weights chosen inside the folds).
ROWS: dict[str, tuple[list[str], list[float] | None]] = {
    "0.2.0 (today's boosting alone)": (["gbm@1000"], [1.0]),
    "lasso_spl alone": (["lasso_spl"], [1.0]),
    "0.3.0 as configured (w 0.6, alpha 0.0056)": (["gbm@1000", "lasso_fixed"], [0.6, 0.4]),
    "gbm, trees chosen by inner CV (250-2000)": (["gbm_cv"], [1.0]),
    "gbm 2000 trees (fixed)": (["gbm@2000"], [1.0]),
    "enet_spl alone": (["enet_spl"], [1.0]),
    "lasso_splall alone": (["lasso_splall"], [1.0]),
    "krr_poly2 alone": (["krr_poly2"], [1.0]),
    "svr_rbf alone": (["svr_rbf"], [1.0]),
    "catboost alone": (["catboost"], [1.0]),
    "gbm + enet_spl": (["gbm@1000", "enet_spl"], None),
    "gbm + lasso_splall": (["gbm@1000", "lasso_splall"], None),
    "gbm + krr_poly2": (["gbm@1000", "krr_poly2"], None),
    "gbm + svr_rbf": (["gbm@1000", "svr_rbf"], None),
    "gbm_cv + lasso_spl": (["gbm_cv", "lasso_spl"], None),
    "catboost + lasso_spl": (["catboost", "lasso_spl"], None),
    "gbm + lasso_spl + enet_spl": (["gbm@1000", "lasso_spl", "enet_spl"], None),
    "gbm + lasso_spl + lasso_splall": (["gbm@1000", "lasso_spl", "lasso_splall"], None),
    "gbm + lasso_spl + krr_poly2": (["gbm@1000", "lasso_spl", "krr_poly2"], None),
    "gbm + lasso_spl + svr_rbf": (["gbm@1000", "lasso_spl", "svr_rbf"], None),
    "gbm + lasso_spl + catboost": (["gbm@1000", "lasso_spl", "catboost"], None),
    "gbm + catboost + lasso_spl, fixed 0.3/0.3/0.4": (
        ["gbm@1000", "catboost", "lasso_spl"],
        [0.3, 0.3, 0.4],
    ),
    # Added after seed 0's figures: the same fixed split with 0.3.0's configured Lasso, to
    # compare with "0.3.0 as configured".
    "gbm + catboost + lasso_fixed, fixed 0.3/0.3/0.4": (
        ["gbm@1000", "catboost", "lasso_fixed"],
        [0.3, 0.3, 0.4],
    ),
}


def report(seeds: list[int]) -> str:
    data = [Seed(seed) for seed in seeds]
    released = [np.array(d.run["predictions"]["gbm+lasso_spl"]) for d in data]
    base = [d.score(r) for d, r in zip(data, released, strict=True)]
    base_all = statistics.mean(d.score_all(r) for d, r in zip(data, released, strict=True))
    lines = [
        "| candidate | unwarned mean ± sd | per seed | change from 0.3.0 per seed | all houses "
        "| weights per fold (seed 0) |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| 0.3.0 (round 1's gbm+lasso_spl, weight chosen in folds) | "
        f"{statistics.mean(base):.4f} ± {statistics.stdev(base):.4f} "
        f"| {' '.join(f'{b:.4f}' for b in base)} | | "
        f"{base_all:.4f} | |",
    ]
    check = []
    for label, (parts, fixed) in ROWS.items():
        try:
            results = [d.blend(parts, fixed) for d in data]
        except FileNotFoundError:
            continue
        un = [d.score(r[0]) for d, r in zip(data, results, strict=True)]
        every = [d.score_all(r[0]) for d, r in zip(data, results, strict=True)]
        deltas = [u - b for u, b in zip(un, base, strict=True)]
        weights = (
            ""
            if fixed is not None
            else " ".join("/".join(f"{w:.2f}" for w in ws) for ws in results[0][1])
        )
        lines.append(
            f"| {label} | {statistics.mean(un):.4f} ± {statistics.stdev(un):.4f} "
            f"| {' '.join(f'{u:.4f}' for u in un)} | {' '.join(f'{x:+.4f}' for x in deltas)} "
            f"| {statistics.mean(every):.4f} | {weights} |"
        )
    if all((R2 / f"gbm2000_seed{s}.npz").exists() for s in seeds):
        for d in data:
            d.parts("gbm_cv")
            saved = np.array(d.run["predictions"]["gbm"])
            gap = np.max(np.abs(d.parts("gbm@1000")[0] - saved))
            check.append(
                f"seed {d.seed}: stages chosen {d.stages}; |gbm@1000 - round 1's gbm| <= {gap:.1e}"
            )
    seconds = {
        p.stem.rsplit("_seed", 1)[0]: float(np.load(p)["seconds"])
        for p in sorted(R2.glob("*_seed0.npz"))
    }
    lines += [
        "",
        *check,
        "",
        "mean outer-fit seconds (seed 0): "
        + json.dumps({k: round(v, 1) for k, v in seconds.items()}),
    ]
    return "\n".join(lines)


def tenfold(config: Config) -> str:
    """The package's own CV (``calibration.folds`` folds, ``data.split_seed``, the big houses
    and warnings as in ``fitting.out_of_fold``) of 0.3.0 as configured (``fit_pipeline``) and
    of the fixed 0.3/0.3/0.4 blend with CatBoost, for figures comparable with the package's
    CV (round 1: 0.1102 for the 0.6/0.4 blend)."""
    data = load_data(config)
    n, m = data.prices.size, data.big_prices.size
    folds, seed = config.calibration.folds, config.data.split_seed
    everything = {k: np.concatenate([v, data.big[k]]) for k, v in data.columns.items()}
    parts = {k: np.zeros(n + m) for k in ["0.3.0", "gbm", "lasso", "catboost"]}
    warned = np.zeros(n + m, dtype=bool)
    splits = KFold(folds, shuffle=True, random_state=seed).split(data.prices)
    for index, (fit_rows, test_rows) in enumerate(splits):
        priced = np.concatenate([test_rows, n + np.arange(index, m, folds)])
        fitted, prices = take(data.columns, fit_rows), data.prices[fit_rows]
        pipeline = fit_pipeline(fitted, prices, config)
        stages = run_stages(pipeline, take(everything, priced))
        checks = training_ranges(pipeline, fitted, config).check(
            stages.raw, stages.features, stages.assumed
        )
        warned[priced] = [bool(found) for found in checks]
        blend = pipeline.steps[-1][1].regressor_
        parts["0.3.0"][priced] = stages.log_price
        parts["gbm"][priced] = blend.boosted_.predict(stages.matrix)
        parts["lasso"][priced] = blend.linear_.predict(stages.matrix)
        cat = CatBoostLog(params=CATBOOST_PARAMS).fit(
            pipeline[:-1].transform(fitted), np.log(prices)
        )
        parts["catboost"][priced] = cat.predict(stages.matrix)
        print(f"tenfold fold {index}", flush=True)
    actual = np.log(np.concatenate([data.prices, data.big_prices]))
    excluded = np.arange(n + m) >= n
    rows = {
        "0.3.0 as configured": parts["0.3.0"],
        "0.6 gbm + 0.4 lasso (check)": 0.6 * parts["gbm"] + 0.4 * parts["lasso"],
        "0.3 gbm + 0.3 catboost + 0.4 lasso": 0.3 * parts["gbm"]
        + 0.3 * parts["catboost"]
        + 0.4 * parts["lasso"],
        "gbm alone": parts["gbm"],
        "catboost alone": parts["catboost"],
    }
    return json.dumps(
        {
            "warned": int(warned.sum()),
            **{
                k: {
                    "unwarned": _rmse((actual - v)[~warned]),
                    "all": _rmse((actual - v)[~excluded]),
                }
                for k, v in rows.items()
            },
        },
        indent=1,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["cv", "report", "tenfold"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--components", nargs="+", default=list(COMPONENTS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--inner", type=int, default=4)
    args = parser.parse_args()
    config = load_config()
    if args.action == "cv":
        for seed in args.seeds:
            run(config, names=args.components, seed=seed, folds=args.folds, inner=args.inner)
    elif args.action == "tenfold":
        print(tenfold(config))
    else:
        print(report(args.seeds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
