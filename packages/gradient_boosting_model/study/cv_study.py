"""Model 0.3.0's study (issue 24): repeated K-fold CV of candidates on the training split.

Run from the package folder, in a venv with the package's requirements (plus lightgbm for the
LightGBM candidates; it is no dependency of the package)::

    OMP_NUM_THREADS=1 nice -n 19 python -m study.cv_study cv --seeds 0 1 2
    python -m study.cv_study report            # the table, from the saved runs
    OMP_NUM_THREADS=1 nice -n 19 python -m study.cv_study costs
    OMP_NUM_THREADS=1 nice -n 19 python -m study.cv_study tenfold --blend-weight 0.6

Only the training split of ``data.split_holdout`` is used (the holdout is never read). Each
seed's outer K-fold prices every training house with models fitted without it; today's model
fitted on the same fold decides the warnings (``fitting.training_ranges``, the package's rule),
and the houses above ``max_living_area`` (never trained on) are priced by one fold each, as in
``fitting.out_of_fold``. A blend's weight is chosen inside each outer fold, on inner out-of-fold
predictions of its training part only.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
from sklearn.model_selection import KFold

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, read_dataset, split_holdout
from gradient_boosting_model.explanation import FieldExplainer
from gradient_boosting_model.fitting import fit_pipeline, take, training_ranges
from gradient_boosting_model.linear_start import LinearStart
from gradient_boosting_model.pipeline import build_pipeline
from gradient_boosting_model.predict import default_model, make_prediction
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.trained_model import Columns, run_stages
from gradient_boosting_model.tree_paths import TreePaths
from gradient_boosting_model.validation import validate_inputs
from study.candidates import BasisLinear, StartedLGBM, boosting

FloatArray = npt.NDArray[np.float64]
RUNS = Path(__file__).resolve().parent / "_runs"
WEIGHTS = np.round(np.arange(0.0, 1.0001, 0.05), 2)  # the trees' share of a blend

#: The Kaggle "stacked regressions" kernels' LightGBM (num_leaves 5, 720 trees at 0.05).
LGBM_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "num_leaves": 5,
    "learning_rate": 0.05,
    "n_estimators": 720,
    "max_bin": 55,
    "bagging_fraction": 0.8,
    "bagging_freq": 5,
    "feature_fraction": 0.2319,
    "min_data_in_leaf": 6,
    "min_sum_hessian_in_leaf": 11,
    "random_state": 0,
    "n_jobs": 1,
    "verbose": -1,
}


def _kind(kind: str) -> list[str]:
    return [name for name, f in HOUSE_FIELDS.items() if f.metadata["kind"] == kind]


#: Columns that also get a smooth curve (cubic B-splines) in the linear model: sizes, ages,
#: quality (the largest terms of today's linear start).
SPLINE_FEATURES = (
    "GrLivArea",
    "TotalSF",
    "LotArea",
    "YearBuilt",
    "YearRemodAdd",
    "OverallQual",
    "1stFlrSF",
    "GarageArea",
    "TotalBsmtSF",
    "LotFrontage",
)


def rich_linear(
    names: list[str],
    config: Config,
    *,
    penalty: str,
    interactions: bool = False,
    splines: bool = False,
) -> BasisLinear:
    """The better-featured linear model: log areas (today's list), one-hot codes of every
    category, grade, rating and the sale's year and month, "has it" indicators; optionally
    quality x size products and a spline curve for ``SPLINE_FEATURES``."""
    return BasisLinear(
        names=names,
        log_features=config.linear_start.log_features,
        one_hot=[
            *_kind("category"),
            *_kind("grade"),
            "OverallQual",
            "OverallCond",
            "YrSold",
            "MoSold",
        ],
        indicators=True,
        interactions=[("OverallQual", "GrLivArea"), ("OverallQual", "TotalSF")]
        if interactions
        else (),
        splines=SPLINE_FEATURES if splines else (),
        penalty=penalty,
    )


def today_start(names: list[str], config: Config) -> LinearStart:
    return LinearStart(
        alpha=config.linear_start.alpha,
        log_columns=tuple(names.index(name) for name in config.linear_start.log_features),
    )


#: Component name -> factory(names, config) of an estimator on the matrix, in log price.
COMPONENTS: dict[str, Callable[[list[str], Config], Any]] = {
    "gbm": lambda n, c: boosting(c.model.model_dump(), today_start(n, c)),
    "gbm_rich": lambda n, c: boosting(c.model.model_dump(), rich_linear(n, c, penalty="ridge")),
    "lgbm": lambda n, c: StartedLGBM(start=None, params=LGBM_PARAMS),
    "lgbm_rich": lambda n, c: StartedLGBM(
        start=rich_linear(n, c, penalty="ridge"), params=LGBM_PARAMS
    ),
    "lasso": lambda n, c: rich_linear(n, c, penalty="lasso"),
    "ridge": lambda n, c: rich_linear(n, c, penalty="ridge"),
    "lasso_x": lambda n, c: rich_linear(n, c, penalty="lasso", interactions=True),
    "lasso_spl": lambda n, c: rich_linear(n, c, penalty="lasso", splines=True),
    "lasso_trim3": lambda n, c: BasisLinear(
        **{**rich_linear(n, c, penalty="lasso").get_params(), "trim": 3.0}
    ),
    "lasso_spl_trim3": lambda n, c: BasisLinear(
        **{**rich_linear(n, c, penalty="lasso", splines=True).get_params(), "trim": 3.0}
    ),
    "ridge_spl_trim3": lambda n, c: BasisLinear(
        **{**rich_linear(n, c, penalty="ridge", splines=True).get_params(), "trim": 3.0}
    ),
    "gbm_lasso_start": lambda n, c: boosting(
        c.model.model_dump(), rich_linear(n, c, penalty="lasso", splines=True)
    ),
}

#: Blend name -> (trees, linear model); the trees' weight is chosen inside each outer fold.
BLENDS: dict[str, tuple[str, str]] = {
    "gbm+lasso": ("gbm", "lasso"),
    "gbm_rich+lasso": ("gbm_rich", "lasso"),
    "lgbm_rich+lasso": ("lgbm_rich", "lasso"),
    "gbm+lasso_x": ("gbm", "lasso_x"),
    "gbm+lasso_spl": ("gbm", "lasso_spl"),
}


@dataclass(frozen=True)
class Data:
    columns: Columns
    prices: FloatArray
    big: Columns
    big_prices: FloatArray


def load_data(config: Config) -> Data:
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big_houses, big_prices = features_and_target(split.excluded, config)
    return Data(validate_inputs(houses), prices, validate_inputs(big_houses), big_prices)


def matrix_of(columns: Columns, prices: FloatArray, config: Config) -> tuple[Any, list[str]]:
    """Today's preprocessing fitted on ``columns``: the fitted steps and the matrix's names."""
    pre = build_pipeline(config)[:-1]
    pre.fit(columns, prices)
    return pre, pre.named_steps["matrix"].feature_names_in_.tolist()


def fit_component(
    name: str, matrix: FloatArray, log_prices: FloatArray, names: list[str], config: Config
) -> Any:
    return COMPONENTS[name](names, config).fit(matrix, log_prices)


def inner_oof(
    columns: Columns,
    prices: FloatArray,
    config: Config,
    components: list[str],
    *,
    folds: int,
    seed: int,
) -> dict[str, FloatArray]:
    """Out-of-fold log predictions of ``components`` within the given training part."""
    out = {name: np.zeros(prices.size) for name in components}
    for fit_rows, test_rows in KFold(folds, shuffle=True, random_state=seed).split(prices):
        fitted = take(columns, fit_rows)
        pre, names = matrix_of(fitted, prices[fit_rows], config)
        train_matrix = pre.transform(fitted)
        test_matrix = pre.transform(take(columns, test_rows))
        for name in components:
            model = fit_component(name, train_matrix, np.log(prices[fit_rows]), names, config)
            out[name][test_rows] = model.predict(test_matrix)
    return out


def best_weight(trees: FloatArray, linear: FloatArray, actual: FloatArray) -> float:
    errors = [np.sqrt(np.mean((w * trees + (1 - w) * linear - actual) ** 2)) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(errors))])


def run_seed(
    data: Data,
    config: Config,
    *,
    seed: int,
    folds: int,
    inner: int,
    components: list[str],
    blends: list[str],
) -> dict[str, Any]:
    """One seed's outer K-fold: every component's and blend's out-of-fold log prices."""
    n, m = data.prices.size, data.big_prices.size
    size = n + m
    everything = {k: np.concatenate([v, data.big[k]]) for k, v in data.columns.items()}
    preds = {name: np.zeros(size) for name in ["today", *components, *blends]}
    warned = np.zeros(size, dtype=bool)
    weights: dict[str, list[float]] = {name: [] for name in blends}
    seconds: dict[str, float] = dict.fromkeys(components, 0.0)
    needed_inner = sorted({part for b in blends for part in BLENDS[b]})
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(data.prices))
    for index, (fit_rows, test_rows) in enumerate(splits):
        start = time.perf_counter()
        priced = np.concatenate([test_rows, n + np.arange(index, m, folds)])
        fitted, prices = take(data.columns, fit_rows), data.prices[fit_rows]
        # Today's model exactly as the package fits it; its training ranges give the warnings.
        pipeline = fit_pipeline(fitted, prices, config)
        stages = run_stages(pipeline, take(everything, priced))
        preds["today"][priced] = stages.log_price
        checks = training_ranges(pipeline, fitted, config).check(
            stages.raw, stages.features, stages.assumed
        )
        warned[priced] = [bool(found) for found in checks]
        pre = pipeline[:-1]
        names = pre.named_steps["matrix"].feature_names_in_.tolist()
        train_matrix = pre.transform(fitted)
        test_matrix = stages.matrix
        for name in components:
            if name == "gbm":  # today's regressor on the same fold: the same predictions
                preds[name][priced] = stages.log_price
                continue
            tick = time.perf_counter()
            model = fit_component(name, train_matrix, np.log(prices), names, config)
            seconds[name] += time.perf_counter() - tick
            preds[name][priced] = model.predict(test_matrix)
        if blends:
            inside = inner_oof(
                fitted, prices, config, needed_inner, folds=inner, seed=1000 * (seed + 1) + index
            )
            for blend in blends:
                trees, linear = BLENDS[blend]
                w = best_weight(inside[trees], inside[linear], np.log(prices))
                weights[blend].append(w)
                preds[blend][priced] = w * preds[trees][priced] + (1 - w) * preds[linear][priced]
        print(f"seed {seed} fold {index}: {time.perf_counter() - start:.0f} s", flush=True)
    return {
        "seed": seed,
        "folds": folds,
        "inner": inner,
        "log_actual": np.log(np.concatenate([data.prices, data.big_prices])).tolist(),
        "excluded": (np.arange(size) >= n).tolist(),
        "warned": warned.tolist(),
        "predictions": {k: v.tolist() for k, v in preds.items()},
        "weights": weights,
        "fit_seconds": seconds,
    }


def scores(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    actual = np.array(run["log_actual"])
    excluded, warned = np.array(run["excluded"]), np.array(run["warned"])
    out = {}
    for name, values in run["predictions"].items():
        residual = actual - np.array(values)
        out[name] = {
            "all": float(np.sqrt(np.mean(residual[~excluded] ** 2))),
            "unwarned": float(np.sqrt(np.mean(residual[~warned] ** 2))),
        }
    return out


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else float("nan")


def report(paths: list[Path]) -> str:
    runs = [json.loads(path.read_text()) for path in sorted(paths)]
    table = [scores(run) for run in runs]
    names = list(runs[0]["predictions"])
    lines = [
        f"seeds {[r['seed'] for r in runs]}, {runs[0]['folds']}-fold outer, "
        f"{runs[0]['inner']}-fold inner; warned houses per seed "
        f"{[int(np.sum(r['warned'])) for r in runs]}",
        "| candidate | RMSLE unwarned, mean ± sd | all (training split) | per seed (unwarned) "
        "| change from today per seed | blend weight of the trees per fold |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        unwarned = [t[name]["unwarned"] for t in table]
        every = [t[name]["all"] for t in table]
        deltas = [t[name]["unwarned"] - t["today"]["unwarned"] for t in table]
        w = [x for r in runs for x in r["weights"].get(name, [])]
        lines.append(
            f"| {name} | {statistics.mean(unwarned):.4f} ± {_sd(unwarned):.4f} "
            f"| {statistics.mean(every):.4f} ± {_sd(every):.4f} "
            f"| {' '.join(f'{u:.4f}' for u in unwarned)} "
            f"| {' '.join(f'{d:+.4f}' for d in deltas)} "
            f"| {'median ' + str(statistics.median(w)) + ' of ' + str(w) if w else ''} |"
        )
    return "\n".join(lines)


def interleaved_ms(actions: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median wall time in ms of each action, the actions run in turns."""
    for action in actions.values():
        action()  # warm up
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(rounds):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            timings[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def costs(config: Config, *, blend_weight: float) -> str:
    """Each candidate fitted on the whole training split: training time, the time from
    validated columns to log prices for one house of test.csv and for all 1459, and the
    pickled size (raw, and joblib compress=3 as the package saves)."""
    data = load_data(config)
    requests = validate_inputs(read_dataset(config.data.requests_file))
    one = take(requests, np.array([0]))
    log_prices = np.log(data.prices)
    tick = time.perf_counter()
    pipeline = fit_pipeline(data.columns, data.prices, config)
    today_seconds = time.perf_counter() - tick
    pre = pipeline[:-1]
    names = pre.named_steps["matrix"].feature_names_in_.tolist()
    matrix = pre.transform(data.columns)
    fitted: dict[str, Any] = {"today": pipeline.named_steps["regressor"].regressor_}
    fit_seconds = {"today": today_seconds}
    for name in ["gbm_rich", "gbm_lasso_start", "lgbm", "lasso_spl"]:
        tick = time.perf_counter()
        fitted[name] = fit_component(name, matrix, log_prices, names, config)
        fit_seconds[name] = time.perf_counter() - tick
    candidates: dict[str, tuple[list[str], list[float]]] = {
        "today": (["today"], [1.0]),
        "lasso_spl": (["lasso_spl"], [1.0]),
        "gbm+lasso_spl": (["today", "lasso_spl"], [blend_weight, 1 - blend_weight]),
        "gbm_rich": (["gbm_rich"], [1.0]),
        "gbm_lasso_start": (["gbm_lasso_start"], [1.0]),
        "lgbm": (["lgbm"], [1.0]),
    }

    def predictor(parts: list[str], weights: list[float]) -> Callable[[Columns], FloatArray]:
        models = [fitted[p] for p in parts]

        def predict(columns: Columns) -> FloatArray:
            data: Any = columns
            for _, step in pre.steps:
                data = step.transform(data)
            return sum(w * m.predict(data) for w, m in zip(weights, models, strict=True))

        return predict

    # The blend's explanation: trees' and linear terms per matrix column, weighted, mapped to
    # the client's fields as today (totals split among their parts); base + factors = price.
    explainer = FieldExplainer.build(
        TreePaths.from_regressor(fitted["today"]),
        feature_names=names,
        sums=pre.named_steps["totals"].sums or {},
    )
    request_matrix = pre.transform(requests)
    lasso = fitted["lasso_spl"]
    by_feature = blend_weight * explainer.paths.contributions(request_matrix) + (
        1 - blend_weight
    ) * lasso.contributions(request_matrix)
    base = blend_weight * explainer.paths.base_value + (1 - blend_weight) * lasso.intercept_
    blended = blend_weight * fitted["today"].predict(request_matrix) + (
        1 - blend_weight
    ) * lasso.predict(request_matrix)
    gap = np.abs(base + explainer.to_fields(by_feature, request_matrix).sum(axis=1) - blended)
    lines = [
        f"explanation of gbm+lasso_spl on test.csv: largest |base + sum of field factors - "
        f"log price| = {gap.max():.1e} over {len(explainer.fields)} fields",
        "",
        "| candidate | training s | 1 house ms | 1459 houses ms | ratio to today | pickle MB "
        "| joblib-3 MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    # Timed in turns (one call of each candidate per round), so that a change in the
    # machine's load (shared with other work) weighs on every candidate alike.
    predictors = {name: predictor(*spec) for name, spec in candidates.items()}
    rows = read_dataset(config.data.requests_file)
    served = default_model()  # the packaged 0.2.0 artifact: the whole path a request takes
    one_ms = interleaved_ms(
        {
            **{k: (lambda p=p: p(one)) for k, p in predictors.items()},
            "make_prediction": lambda: make_prediction(rows[:1], model=served),
        },
        1000,
    )
    all_ms = interleaved_ms(
        {
            **{k: (lambda p=p: p(requests)) for k, p in predictors.items()},
            "make_prediction": lambda: make_prediction(rows, model=served),
        },
        40,
    )
    lines.insert(
        -2,
        f"make_prediction with the packaged model, same run: {one_ms['make_prediction']:.3f} ms "
        f"for 1 house, {all_ms['make_prediction']:.1f} ms for {len(rows)}\n",
    )
    for name, (parts, weights) in candidates.items():
        artifact = (pre, [fitted[p] for p in parts], weights)
        raw = len(pickle.dumps(artifact)) / 1e6
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "model.joblib"
            joblib.dump(artifact, target, compress=3)
            packed = target.stat().st_size / 1e6
        train_s = sum(fit_seconds[p] for p in parts)
        lines.append(
            f"| {name} | {train_s:.1f} | {one_ms[name]:.3f} | {all_ms[name]:.1f} "
            f"| {all_ms[name] / all_ms['today']:.2f} | {raw:.2f} | {packed:.2f} |"
        )
    return "\n".join(lines)


def tenfold(config: Config, *, blend_weight: float, trees: str) -> str:
    """The package's own CV (``calibration.folds`` folds, ``data.split_seed``, warnings and the
    excluded houses as in ``fitting.out_of_fold``) of today's model and of the fixed-weight
    blend of ``trees`` with the Lasso, for figures comparable with the recorded 0.1117."""
    data = load_data(config)
    run = run_seed(
        data,
        config,
        seed=config.data.split_seed,
        folds=config.calibration.folds,
        inner=0,
        components=[trees, "lasso_spl"],
        blends=[],
    )
    run["predictions"]["blend"] = (
        blend_weight * np.array(run["predictions"][trees])
        + (1 - blend_weight) * np.array(run["predictions"]["lasso_spl"])
    ).tolist()
    return json.dumps({"weight": blend_weight, "trees": trees, **scores(run)}, indent=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["cv", "report", "costs", "tenfold"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--inner", type=int, default=4)
    parser.add_argument("--components", nargs="+", default=list(COMPONENTS))
    parser.add_argument("--blends", nargs="*", default=list(BLENDS))
    parser.add_argument("--tag", default="main")
    parser.add_argument("--blend-weight", type=float, default=0.5)
    parser.add_argument("--trees", default="gbm")
    args = parser.parse_args()
    config = load_config()
    if args.action == "cv":
        data = load_data(config)
        RUNS.mkdir(exist_ok=True)
        for seed in args.seeds:
            run = run_seed(
                data,
                config,
                seed=seed,
                folds=args.folds,
                inner=args.inner,
                components=args.components,
                blends=args.blends,
            )
            (RUNS / f"{args.tag}_seed{seed}.json").write_text(json.dumps(run))
            print(json.dumps(scores(run), indent=1), flush=True)
    elif args.action == "report":
        print(report(list(RUNS.glob(f"{args.tag}_seed*.json"))))
    elif args.action == "costs":
        print(costs(config, blend_weight=args.blend_weight))
    else:
        print(tenfold(config, blend_weight=args.blend_weight, trees=args.trees))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
