"""Round 8 (2026-12): model 0.3.5's monotone grades, measured as the package fits them.

Round 7 measured the trees without the grade fields as a study candidate (``StartedTrees``).
0.3.5 builds it into the package (``blend.monotone_grades``): the trees never split on a grade,
the linear start's slope on each grade is at or above 0, and the Lasso's grades enter as steps
up, each at or above 0 (``basis_lasso``). This round runs the package's own cross-validation
(``fitting.out_of_fold``, the procedure ``make train`` runs) with the setting off (0.3.4) and on,
on round 3's protocol: 10 folds, fold seeds 42, 0 and 1 (only the folds' seed changes: the
holdout's split stays ``data.split_seed``'s), the three houses above ``max_living_area`` priced
by one fold each and never trained on. Figures over the 1048 training-split houses: RMSLE of
all and of those the model of the same setting does not warn about, the ranges' coverage (each
fold's from the other folds), and ``benchmarks/bench.py``'s grade inversions: each training
house priced by the fold model that did not see it at every grade from Po to Ex of every grade
field it gives, the share of steps up priced lower by more than 0.05%, and the largest drop.
The holdout is not read.

Run from the package folder::

    python -m study.round8_monotone_release

Results: ``results_round8.md``; the package README's "Round 8".
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import cross_validated_metrics, out_of_fold
from gradient_boosting_model.pipeline import fields_of_kind
from gradient_boosting_model.validation import validate_batch, validate_inputs

SEEDS = (42, 0, 1)
#: bench.py's floor: a better grade priced lower by more than this counts as an inversion.
FLOOR = 0.0005


def with_settings(config: Config, *, monotone: bool, seed: int) -> Config:
    return config.model_copy(
        update={
            "blend": config.blend.model_copy(update={"monotone_grades": monotone}),
            "data": config.data.model_copy(update={"split_seed": seed}),
        }
    )


def measure(config: Config, *, monotone: bool, seed: int) -> dict[str, Any]:
    """One setting and fold seed: accuracy, coverage and grade inversions out of fold."""
    split = split_holdout(config)  # the package's seed: the same holdout left out every time
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    columns = validate_inputs(houses)
    settings = with_settings(config, monotone=monotone, seed=seed)
    tick = time.perf_counter()
    out = out_of_fold(columns, prices, settings, excluded=(validate_inputs(big), big_prices))
    seconds = time.perf_counter() - tick
    cv = cross_validated_metrics(out, settings)
    train = ~out.excluded
    residuals = (out.log_actual - out.log_predicted)[train]
    unwarned = ~out.warned[train]
    grades = config.features.grades_in_order
    steps = drops = 0
    largest = 0.0
    for index, pricing in enumerate(out.pricings):
        rows = np.flatnonzero((out.fold == index) & train)
        fold_houses = [houses[i] for i in rows]
        for field in fields_of_kind("grade"):
            given = [house for house in fold_houses if house.get(field) is not None]
            if not given:
                continue
            log_prices = np.array(
                [
                    pricing.stages(validate_batch([{**h, field: g} for h in given])).log_price
                    for g in grades
                ]
            )
            drop = 1 - np.exp(log_prices[1:] - log_prices[:-1])
            steps += drop.size
            drops += int(np.sum(drop > FLOOR))
            largest = max(largest, float(drop.max()))
    return {
        "rmsle": float(np.sqrt(np.mean(residuals**2))),
        "rmsle_unwarned": float(np.sqrt(np.mean(residuals[unwarned] ** 2))),
        "coverage": cv["intervals"]["coverage"],
        "width": cv["intervals"]["median_relative_width"],
        "inverted": drops / steps,
        "largest_drop": largest,
        "seconds": seconds,
    }


def main() -> int:
    config = load_config()
    rows = {False: [], True: []}  # type: dict[bool, list[dict[str, Any]]]
    for seed in SEEDS:
        for monotone in (False, True):
            figures = measure(config, monotone=monotone, seed=seed)
            rows[monotone].append(figures)
            print(f"seed {seed} monotone {monotone}: {figures}", flush=True)
    print(
        "\n| 0.3.5 setting | RMSLE all, mean | per seed (42, 0, 1) | change per seed "
        "| unwarned, mean | per seed | coverage | median width | steps up priced lower "
        "| largest drop |\n" + "| --- " * 10 + "|"
    )
    for monotone in (False, True):
        runs = rows[monotone]
        change = " ".join(
            f"{run['rmsle'] - base['rmsle']:+.5f}"
            for run, base in zip(runs, rows[False], strict=True)
        )
        print(
            f"| monotone_grades {str(monotone).lower()} "
            f"| {statistics.mean(r['rmsle'] for r in runs):.5f} "
            f"| {' '.join(format(r['rmsle'], '.5f') for r in runs)} "
            f"| {change if monotone else ''} "
            f"| {statistics.mean(r['rmsle_unwarned'] for r in runs):.5f} "
            f"| {' '.join(format(r['rmsle_unwarned'], '.5f') for r in runs)} "
            f"| {statistics.mean(r['coverage'] for r in runs):.3f} "
            f"| {statistics.mean(r['width'] for r in runs):.3f} "
            f"| {statistics.mean(r['inverted'] for r in runs):.2%} "
            f"| {max(r['largest_drop'] for r in runs):.2%} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
