"""Round 3 (2026-12-05): rare quality grades scored as their nearest common grade.

``make bench`` found a better grade pricing a holdout house lower: ``ExterQual`` TA below Fa
by up to 1.54% (10 training houses are Fa, 12 in houseprice.csv), ``GarageCond`` 0.97%. The
boosted trees split off a dozen houses' grade as readily as a thousand's. This study scores, in
each grade field, every code fewer than ``least`` training houses had as the nearest code
(towards TA) that at least ``least`` had, in the houses themselves (the same as a per-field
score table), and measures the package's own cross-validation (``fitting.out_of_fold``: 10
folds, the big houses never trained on) with three fold seeds. The holdout is not read here.

Run from the package folder::

    PYTHONPATH=. python -m study.round3_grades 10 20 40

Results (``results_round3.md``) and what the shadow replay said of the release built on it
are in the package README's study section.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

import numpy as np

from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import out_of_fold
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.validation import validate_inputs

ORDER = ("Po", "Fa", "TA", "Gd", "Ex")
GRADES = [name for name, field in HOUSE_FIELDS.items() if field.metadata["kind"] == "grade"]
Houses = list[dict[str, Any]]


def merged_codes(houses: Houses, least: int) -> dict[str, dict[str, str]]:
    """Per grade field, each code fewer than ``least`` of ``houses`` have (but none) and the
    nearest code towards TA that enough have."""
    merged = {}
    for name in GRADES:
        counts = Counter(house.get(name) for house in houses if house.get(name) in ORDER)
        table = {}
        for code in ORDER:
            if counts[code] == 0 or counts[code] >= least:
                continue
            step = 1 if ORDER.index(code) < ORDER.index("TA") else -1
            index = ORDER.index(code)
            while 0 <= index < len(ORDER) and counts[ORDER[index]] < least:
                index += step
            if 0 <= index < len(ORDER):
                table[code] = ORDER[index]
        if table:
            merged[name] = table
    return merged


def rescored(houses: Houses, merged: dict[str, dict[str, str]]) -> Houses:
    """``houses`` with each merged code replaced."""
    return [
        {
            **house,
            **{
                name: table[house[name]]
                for name, table in merged.items()
                if house.get(name) in table
            },
        }
        for house in houses
    ]


def main(thresholds: list[int]) -> None:
    config = load_config()
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    variants = {"none merged": {}} | {f"< {n} merged": merged_codes(houses, n) for n in thresholds}
    found: dict[str, list[float]] = {}
    for seed in (42, 0, 1):
        seeded = config.model_copy(
            update={"data": config.data.model_copy(update={"split_seed": seed})}
        )
        for name, merged in variants.items():
            start = time.time()
            out = out_of_fold(
                validate_inputs(rescored(houses, merged)),
                prices,
                seeded,
                excluded=(validate_inputs(rescored(big, merged)), big_prices),
            )
            residuals = (out.log_actual - out.log_predicted)[~out.excluded]
            found.setdefault(name, []).append(float(np.sqrt(np.mean(residuals**2))))
            took = time.time() - start
            print(f"seed {seed} {name:<14} RMSLE {found[name][-1]:.5f} ({took:.0f} s)")
    for name, merged in variants.items():
        change = np.array(found[name]) - np.array(found["none merged"])
        mean = np.mean(found[name])
        print(f"{name:<14} mean {mean:.5f}, per seed {change.round(5).tolist()}: {merged}")


if __name__ == "__main__":
    main([int(argument) for argument in sys.argv[1:]] or [10, 20, 40])
