"""One house at a time, as the service prices it, against the reference evaluator, on many houses.

Run with ``make one-house-check`` (``HOUSES=...``, 1,000,000 by default: about 15 minutes on one
core). The houses are drawn field by field from test.csv's (each field's value from a random
row, fixed seed; the fields a house rule ties from one row), so nearly all are combinations no
file holds; the few the schema still refuses are counted and left out. In chunks of 10,000:

- the reference: the fitted pipeline's own steps and the regressor's own ``predict``
  (scikit-learn's trees, the Lasso's B-splines by scipy), what ``make_prediction`` computed
  before its compiled steps, ``TreeArrays``, the pattern codes and the spline pieces; its
  ranges, warnings and explanation made from those stages by the model's ``evidence``;
- the service's path: ``make_prediction([house], explain=True)``, house by house.

Prices and both bounds must be equal to the cent, the calibration flag and the warnings equal,
and every explanation factor within 1e-9 (in log price). Any difference fails the run (exit 1).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Any

import numpy as np
from verdicts import Target, report  # beside this script, on sys.path when it runs

from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import read_dataset
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.predict import default_model, make_prediction
from gradient_boosting_model.schemas import HOUSE_RULES
from gradient_boosting_model.trained_model import TrainedModel, run_stages
from gradient_boosting_model.validation import validate_inputs

CHUNK = 10_000
EXPLANATION_TOLERANCE = 1e-9


def field_groups(names: list[str]) -> list[list[str]]:
    """The fields drawn together: those a house rule ties (``HOUSE_RULES``: a year built after
    the sale, a first floor larger than the living area) from one row, any other alone."""
    tied: list[set[str]] = []
    for rule in HOUSE_RULES:
        pair = {rule.field, rule.at_most}
        joined = [group for group in tied if group & pair]
        tied = [group for group in tied if not group & pair] + [pair.union(*joined)]
    together = set().union(*tied)
    return [sorted(group) for group in tied] + [[name] for name in names if name not in together]


def drawn_houses(rows: list[dict[str, Any]], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` houses, each group of fields (``field_groups``) taken from a row drawn for it."""
    draw = random.Random(seed)
    groups = field_groups([name for name in rows[0] if name != "Id"])
    houses = []
    for _ in range(count):
        house: dict[str, Any] = {}
        for group in groups:
            row = rows[draw.randrange(len(rows))]
            house.update((name, row[name]) for name in group)
        houses.append(house)
    return houses


def valid(houses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The houses the schema accepts (``InvalidInputError`` names the others)."""
    try:
        validate_inputs(houses)
    except InvalidInputError as refused:
        return [house for i, house in enumerate(houses) if i not in refused.errors]
    return houses


def reference(model: TrainedModel, houses: list[dict[str, Any]]) -> dict[str, Any]:
    """Prices, bounds (dollars, to the cent), warnings, calibration flags and explanation
    factors of ``houses`` by the fitted steps and the regressor's own ``predict``: the stages
    the evaluators under check replace, handed to the model's own ``evidence`` (its ranges,
    scaled for details assumed since 0.3.4, warnings and explanation), as the service's path
    hands it its stages."""
    stages = run_stages(model.pipeline, validate_inputs(houses))  # scikit-learn's own predict
    evidence = model.evidence(stages, explain=True)
    dollars = np.round(
        np.exp(np.stack([evidence.log_price, evidence.log_lower, evidence.log_upper])), 2
    )
    explained = evidence.explanations
    assert explained is not None
    return {
        "dollars": dollars.T,
        "warnings": evidence.warnings,
        "calibrated": evidence.calibrated,
        "factors": explained.log_factors,
        "base": explained.base_log_price,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--houses", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=25)
    houses_wanted = parser.parse_args().houses
    model = default_model()
    rows = read_dataset(load_config().data.requests_file)
    checked = refused = wrong_prices = wrong_warnings = 0
    worst_factor = 0.0
    started = time.perf_counter()
    for first in range(0, houses_wanted, CHUNK):
        drawn = drawn_houses(rows, min(CHUNK, houses_wanted - first), seed=first + 1)
        houses = valid(drawn)
        refused += len(drawn) - len(houses)
        expected = reference(model, houses)
        for i, house in enumerate(houses):
            got = make_prediction([house], model=model, explain=True)
            interval = got.intervals[0]
            priced = [got.predictions[0], interval.lower, interval.upper]
            wrong_prices += priced != expected["dollars"][i].tolist()
            warnings = got.warnings[0]
            wrong_warnings += (
                warnings != expected["warnings"][i]
                or interval.calibrated != expected["calibrated"][i]
            )
            explanation = got.explanations
            assert explanation is not None
            gaps = np.abs(explanation.log_factors[0] - expected["factors"][i])
            base_gap = abs(explanation.base_log_price - expected["base"])
            worst_factor = max(worst_factor, float(gaps.max()), base_gap)
        checked += len(houses)
        rate = checked / (time.perf_counter() - started)
        print(
            f"{checked:>9,} houses checked ({refused:,} refused), {rate:,.0f}/s: "
            f"{wrong_prices} prices or bounds off, {wrong_warnings} warnings differ, "
            f"largest factor gap {worst_factor:.2e}",
            flush=True,
        )
    return report(
        "one house against the reference",
        [
            Target("houses checked", checked, low=1, gates=True),
            Target("prices or bounds not equal to the cent", wrong_prices, high=0, gates=True),
            Target("warnings or calibration flags that differ", wrong_warnings, high=0, gates=True),
            Target(
                "explanation factor gap (log)", worst_factor, high=EXPLANATION_TOLERANCE, gates=True
            ),
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
