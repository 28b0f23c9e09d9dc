"""Round 10 (2026-12): should a later year built, or a later garage, never lower a price too?

0.3.6 holds a more recent remodel to never price a house lower (``blend.later_never_lower:
[YearRemodAdd]``). A doc probe found a house built 10 years later priced lower for 51 of
test.csv's 1034 houses (by up to 2.9%). This round measures adding ``YearBuilt`` and
``GarageYrBlt`` to ``later_never_lower`` (their ages hidden from the trees, their linear slopes
at or below 0, not splined), by round 8's protocol: the package's own cross-validation
(``fitting.out_of_fold``), 10 folds, fold seeds 42, 0 and 1, the holdout not read; RMSLE of the
1048 training-split houses, all and unwarned (each candidate's own warnings), and per year field
the share of one-year steps later priced lower by more than 0.05% and the largest drop, each
training house priced by the fold model that did not see it (``YearBuilt`` from 20 years before
its remodel year to it; ``GarageYrBlt`` from its year built to its sale, for a house with a
garage).

Run from the package folder::

    python -m study.round10_built

Results: ``results_round10.md``.
"""

from __future__ import annotations

import statistics
from typing import Any

import numpy as np

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import out_of_fold
from gradient_boosting_model.validation import validate_batch, validate_inputs

SEEDS = (42, 0, 1)
FLOOR = 0.0005  # bench.py's: a drop below this matters to no one
CANDIDATES: dict[str, tuple[str, ...]] = {
    "(a) 0.3.6": ("YearRemodAdd",),
    "(b) + YearBuilt": ("YearRemodAdd", "YearBuilt"),
    "(c) + GarageYrBlt": ("YearRemodAdd", "GarageYrBlt"),
    "(d) + both": ("YearRemodAdd", "YearBuilt", "GarageYrBlt"),
}


def settings(config: Config, years: tuple[str, ...], seed: int) -> Config:
    lasso = config.blend.lasso
    splines = tuple(name for name in lasso.spline_features if name not in years)
    blend = config.blend.model_copy(
        update={
            "later_never_lower": years,
            "lasso": lasso.model_copy(update={"spline_features": splines}),
        }
    )
    data = config.data.model_copy(update={"split_seed": seed})
    return config.model_copy(update={"blend": blend, "data": data})


def year_range(house: dict[str, Any], field: str) -> range:
    if field == "YearBuilt":
        remodel = house.get("YearRemodAdd") or house["YearBuilt"]
        return range(remodel - 20, remodel + 1)
    if house.get("GarageYrBlt") is None:
        return range(0)
    return range(house["YearBuilt"], max(house["YearBuilt"], house["YrSold"]) + 1)


def measure(config: Config, years: tuple[str, ...], seed: int) -> dict[str, Any]:
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    chosen = settings(config, years, seed)
    out = out_of_fold(
        validate_inputs(houses), prices, chosen, excluded=(validate_inputs(big), big_prices)
    )
    train = ~out.excluded
    residuals = (out.log_actual - out.log_predicted)[train]
    figures: dict[str, Any] = {
        "rmsle": float(np.sqrt(np.mean(residuals**2))),
        "rmsle_unwarned": float(np.sqrt(np.mean(residuals[~out.warned[train]] ** 2))),
    }
    for field in ("YearBuilt", "GarageYrBlt"):
        steps = lowered = 0
        largest = 0.0
        for index, pricing in enumerate(out.pricings):
            for i in np.flatnonzero((out.fold == index) & train):
                span = year_range(houses[i], field)
                if len(span) < 2:
                    continue
                batch = validate_batch([{**houses[i], field: year} for year in span])
                log_prices = pricing.stages(batch).log_price
                drops = 1 - np.exp(np.diff(log_prices))
                steps += drops.size
                lowered += int(np.sum(drops > FLOOR))
                largest = max(largest, float(drops.max()))
        figures[field] = (lowered / steps, largest)
    return figures


def main() -> int:
    config = load_config()
    runs = {
        name: [measure(config, years, seed) for seed in SEEDS] for name, years in CANDIDATES.items()
    }
    base = runs["(a) 0.3.6"]
    print(
        "| candidate | RMSLE all | change per seed | unwarned | a year later built: lower, "
        "largest drop | a later garage: lower, largest drop |\n" + "| --- " * 6 + "|"
    )
    for name, figures in runs.items():
        change = " ".join(
            f"{run['rmsle'] - b['rmsle']:+.5f}" for run, b in zip(figures, base, strict=True)
        )
        cells = [
            f"{statistics.mean(f[field][0] for f in figures):.2%}, "
            f"{max(f[field][1] for f in figures):.2%}"
            for field in ("YearBuilt", "GarageYrBlt")
        ]
        print(
            f"| {name} | {statistics.mean(f['rmsle'] for f in figures):.5f} "
            f"| {change if name != '(a) 0.3.6' else ''} "
            f"| {statistics.mean(f['rmsle_unwarned'] for f in figures):.5f} "
            f"| {cells[0]} | {cells[1]} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
