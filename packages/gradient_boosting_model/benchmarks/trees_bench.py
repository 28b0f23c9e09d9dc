"""The packaged model's trees evaluated each way there is, then make_prediction's own targets.

Run with ``make trees-bench`` (``--quick``: without the 100k houses and the depth sweep, a
minute less). The trees are the blend's boosted half (model 0.2.0: the regressor itself). In one
run, on 1 house, test.csv's 1459 and 100,000 sampled houses (each feature drawn on its own from
test.csv's, fixed seed):

- scikit-learn's ``predict``: today's evaluator, the reference of every ratio and difference;
- scikit-learn's compiled ``predict_stages`` alone (private), on input already checked;
- treelite's GTIL runtime, when ``treelite`` is installed (it is no dependency of the package:
  ``pip install treelite`` to measure it), on one thread like the others;
- ``TreeArrays``, what ``make_prediction`` uses.

Each figure is the median of rounds taken in turns across the methods, so a busy machine
slows them alike: compare ratios within a run. Then the depth at which ``TreeArrays`` stops
being the faster (``tree_arrays.MAX_DEPTH``) on ensembles fitted here, the make_prediction
targets (today's path, the regressor's own ``predict``, against the kept one, in turns), and
where one house's time goes (its stages timed in turn, then a profile). Exactness to the last
bit (the trees alone, and the whole log price with the blend's Lasso) gates the run (exit 1);
timings are reported only.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import dataclasses
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.ensemble._gradient_boosting import predict_stages
from verdicts import Target, report  # beside this script, on sys.path when it runs

from gradient_boosting_model.blend import BlendedRegressor, boosted_part
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.house_batch import text_column
from gradient_boosting_model.predict import default_model, make_prediction
from gradient_boosting_model.trained_model import Stages, TrainedModel
from gradient_boosting_model.tree_arrays import MAX_DEPTH, TreeArrays
from gradient_boosting_model.validation import validate_batch, validate_inputs

FloatArray = npt.NDArray[np.float64]
Predict = Callable[[FloatArray], FloatArray]

SAMPLED = 100_000
#: Timed calls per round for each set of houses, and rounds (each method's calls in turns).
REPEATS = {"1 house": 400, "1459 houses": 6, "100k houses": 1}
ROUNDS = {"1 house": 5, "1459 houses": 5, "100k houses": 2}


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def interleaved_ms(
    methods: dict[str, Callable[[], Any]], repeats: int, rounds: int = 5
) -> dict[str, float]:
    """Median wall time of each method in ms, its calls taken in rounds, in turns."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for action in methods.values():
        action()  # warm up
    for _ in range(rounds):
        for name, action in methods.items():
            for _ in range(repeats):
                start = time.perf_counter()
                action()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(taken) * 1000 for name, taken in times.items()}


def evaluators(regressor: GradientBoostingRegressor) -> dict[str, Predict]:
    """Every way to evaluate ``regressor`` measured here, by name."""
    start = regressor.init_

    def compiled_stages(X: FloatArray) -> FloatArray:
        values = np.ascontiguousarray(X, dtype=np.float32)  # what predict checks and casts
        raw = np.asarray(start.predict(values), dtype=np.float64).reshape(-1, 1)
        predict_stages(regressor.estimators_, values, regressor.learning_rate, raw)
        return raw.ravel()

    found: dict[str, Predict] = {
        "scikit-learn predict (today)": regressor.predict,
        "scikit-learn predict_stages (compiled)": compiled_stages,
    }
    try:
        import treelite
        import treelite.sklearn
    except ImportError:
        print("treelite: not installed (pip install treelite to measure its GTIL runtime)")
    else:
        # treelite imports no custom start: the trees alone, the start added here.
        trees_alone = copy.copy(regressor)
        trees_alone.init_ = "zero"
        imported = treelite.sklearn.import_model(trees_alone)

        def gtil(X: FloatArray) -> FloatArray:
            values = np.ascontiguousarray(X, dtype=np.float32)
            trees = treelite.gtil.predict(imported, values, nthread=1)
            raw: FloatArray = np.asarray(start.predict(values), dtype=np.float64)
            raw += np.asarray(trees, dtype=np.float64).reshape(-1)
            return raw

        found[f"treelite {treelite.__version__} GTIL (1 thread)"] = gtil
    found["TreeArrays (kept)"] = TreeArrays.from_regressor(regressor).predict
    return found


def compare_methods(
    regressor: GradientBoostingRegressor, sets: dict[str, FloatArray]
) -> tuple[dict[str, dict[str, float]], list[Target]]:
    """Times of every method on every set, and exactness targets against today's."""
    methods = evaluators(regressor)
    today = "scikit-learn predict (today)"
    times = {
        size: interleaved_ms(
            {name: partial(method, X) for name, method in methods.items()},
            REPEATS[size],
            ROUNDS[size],
        )
        for size, X in sets.items()
    }
    houses = np.vstack(list(sets.values()))
    reference = methods[today](houses)
    targets = []
    print(f"\n{'exactness against today, all sets':<42}{'max rel. diff':>14}{'cents differ':>14}")
    for name, method in methods.items():
        got = method(houses)
        relative = float(np.max(np.abs(got - reference) / np.abs(reference)))
        cents = int(np.sum(np.round(np.exp(got), 2) != np.round(np.exp(reference), 2)))
        bitwise = " (to the bit)" if np.array_equal(got, reference) else ""
        print(f"{name:<42}{relative:>14.2g}{cents:>14}{bitwise}")
        if name == "TreeArrays (kept)":
            targets.append(
                Target(
                    "TreeArrays: log prices not scikit-learn's to the bit",
                    int(np.sum(got != reference)),
                    high=0,
                    gates=True,
                )
            )
    print(f"\n{'median ms (x faster than today)':<42}" + "".join(f"{s:>20}" for s in sets))
    for name in methods:
        cells = "".join(
            f"{times[s][name]:>11.3f} ({times[s][today] / times[s][name]:>5.1f}x)" for s in sets
        )
        print(f"{name:<42}{cells}")
    targets += [
        Target(
            f"TreeArrays vs today's predict, {size}",
            times[size][today] / times[size]["TreeArrays (kept)"],
            low=1,
            unit="x",
        )
        for size in sets
    ]
    return times, targets


def depth_sweep(houses: FloatArray) -> None:
    """TreeArrays against scikit-learn's predict on ensembles of each depth fitted here."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 20))
    y = X[:, 0] + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=2000)
    print(f"\n{'depth (300 trees): x faster than predict':<42}{'1 house':>12}{'1459 houses':>14}")
    for depth in range(2, 9):
        regressor = GradientBoostingRegressor(n_estimators=300, max_depth=depth, random_state=0)
        regressor.fit(X, y)
        trees = TreeArrays.from_regressor(regressor)
        rows = rng.normal(size=(len(houses), 20))
        ratios = []
        for part, repeats in ((rows[:1], 100), (rows, 3)):
            taken = interleaved_ms(
                {"sk": partial(regressor.predict, part), "ta": partial(trees.predict, part)},
                repeats,
            )
            ratios.append(taken["sk"] / taken["ta"])
        kept = "kept" if depth <= MAX_DEPTH else "scikit-learn's"
        print(f"{f'  depth {depth} ({kept})':<42}{ratios[0]:>11.1f}x{ratios[1]:>13.1f}x")


def with_todays_trees(model: TrainedModel) -> TrainedModel:
    today = dataclasses.replace(model)
    today.__dict__["log_price_predictor"] = model.pipeline.named_steps[
        "regressor"
    ].regressor_.predict
    return today


def whole_log_price_target(model: TrainedModel, sets: dict[str, FloatArray]) -> Target:
    """make_prediction's log price (trees by TreeArrays, and the blend's Lasso) against the
    regressor's own ``predict``, on every set, each in one call as it is priced."""
    regressor = model.pipeline.named_steps["regressor"].regressor_
    differ = sum(
        int(np.sum(model.log_price_predictor(X) != regressor.predict(X))) for X in sets.values()
    )
    return Target(
        "log prices (with the Lasso) not predict's to the bit", differ, high=0, gates=True
    )


def one_house_stages(model: TrainedModel, row: dict[str, Any], repeats: int) -> dict[str, float]:
    """make_prediction's stages for one house, run in its order with a clock read between them:
    each stage's median ms."""
    groups = model.intervals.groups
    taken: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            taken[name].append(now - clock)
            clock = now

        batch = validate_batch([row])
        lap("validate_batch")
        compiled = model.compiled_pipeline.run(batch)
        lap("preprocessing (compiled_pipeline)")
        log_price = model.log_price_predictor(compiled.matrix)
        lap("log price (TreeArrays, start, Lasso)")
        stages = Stages(
            batch, compiled.before_impute, compiled.features, compiled.matrix, log_price
        )
        model.intervals.bounds(
            log_price, text_column(batch, groups.field) if groups is not None else None
        )
        lap("price ranges (intervals.bounds)")
        model.ranges.check(stages.raw, stages.features, stages.assumed)
        lap("warnings (ranges.check)")
    return {name: statistics.median(laps) * 1000 for name, laps in taken.items()}


def where_one_house_goes(model: TrainedModel, row: dict[str, Any], total: float) -> None:
    taken = one_house_stages(model, row, 2000)
    regressor = model.pipeline.named_steps["regressor"].regressor_
    boosted = boosted_part(regressor)
    matrix = model.compiled_stages(validate_batch([row])).matrix
    values = np.asarray(matrix, dtype=np.float32)
    parts: dict[str, Callable[[], Any]] = {
        "  of which the trees (TreeArrays.predict)": partial(
            TreeArrays.from_regressor(boosted).predict, matrix
        ),
        "    of which the linear start (init_.predict)": partial(boosted.init_.predict, values),
    }
    if isinstance(regressor, BlendedRegressor):
        parts["  of which the Lasso (linear_.predict)"] = partial(regressor.linear_.predict, matrix)
    part_ms = interleaved_ms(parts, 400)
    print(f"\nwhere one house's {total:.3f} ms go (stages in turn, median ms)")
    for name, ms in taken.items():
        print(f"  {name:<46}{ms:>8.3f}{ms / total:>8.0%}")
        if name.startswith("log price"):
            for part, part_taken in part_ms.items():
                print(f"  {part:<46}{part_taken:>8.3f}")
    rest = total - sum(taken.values())
    print(f"  {'the rest (prices, lists, results)':<46}{rest:>8.3f}{rest / total:>8.0%}")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(2000):
        make_prediction([row], model=model)
    profile.disable()
    print("\nprofile of 2000 one-house calls, the package's and scikit-learn's, cumulative:")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(r"gradient_boosting_model|sklearn", 30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="without the 100k houses and the depth sweep"
    )
    quick = parser.parse_args().quick
    config = load_config()
    model = default_model()
    regressor = boosted_part(model.pipeline.named_steps["regressor"].regressor_)
    rows = read_dataset(config.data.requests_file)
    matrix = model.stages(validate_inputs(rows)).matrix
    rng = np.random.default_rng(25)
    sampled = np.column_stack([rng.choice(column, SAMPLED) for column in matrix.T])
    print(f"{load()}; {len(regressor.estimators_)} trees of depth {regressor.max_depth}")
    sets = {"1 house": matrix[:1], "1459 houses": matrix}
    if not quick:
        sets["100k houses"] = sampled
    _, targets = compare_methods(regressor, sets)
    targets.append(whole_log_price_target(model, sets))
    if not quick:
        depth_sweep(matrix)

    today = with_todays_trees(model)
    one, everything = rows[:1], rows
    one_ms = interleaved_ms(
        {
            "kept": lambda: make_prediction(one, model=model),
            "today": lambda: make_prediction(one, model=today),
        },
        400,
    )
    all_ms = interleaved_ms(
        {
            "kept": lambda: make_prediction(everything, model=model),
            "today": lambda: make_prediction(everything, model=today),
        },
        6,
    )
    print(f"\n{'make_prediction, median ms':<42}{'1 house':>12}{'1459 houses':>14}")
    labels = {"today": "the regressor's predict (before)", "kept": "TreeArrays (kept)"}
    for name, label in labels.items():
        print(f"{f'  {label}':<42}{one_ms[name]:>12.3f}{all_ms[name]:>14.2f}")
    where_one_house_goes(model, rows[0], one_ms["kept"])
    targets += [
        Target("make_prediction, 1 house", one_ms["kept"], high=0.2, unit=" ms"),
        Target("make_prediction, 1459 houses", all_ms["kept"], high=10, unit=" ms"),
        Target("  today's / kept, 1 house", one_ms["today"] / one_ms["kept"], low=1, unit="x"),
        Target("  today's / kept, 1459 houses", all_ms["today"] / all_ms["kept"], low=1, unit="x"),
    ]
    print(load())
    return report("trees", targets)


if __name__ == "__main__":
    sys.exit(main())
