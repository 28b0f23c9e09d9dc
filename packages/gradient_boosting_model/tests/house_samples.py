"""Valid houses no client sent, drawn to reach the corners of the preprocessing: every field left
out, null, at an end of its schema range (far beyond training's), any code the schema allows
(codes training never saw included), or a value test.csv has for it (an area sometimes with a
fraction, so that its sums round); the house rules then repaired. And the reference answers of
``make_prediction`` before the compiled path: the pipeline's fitted steps, the answer lists
built array by array."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from marshmallow import validate

from gradient_boosting_model import __version__
from gradient_boosting_model.fields import JsonNumber, WholeNumber
from gradient_boosting_model.predict import PredictionResult, PriceInterval
from gradient_boosting_model.schemas import HOUSE_FIELDS, HOUSE_RULES
from gradient_boosting_model.trained_model import TrainedModel
from gradient_boosting_model.validation import validate_batch, validate_inputs

#: A house with the seven required fields only (``make_prediction``'s example): what most
#: clients send.
REQUIRED_HOUSE: dict[str, Any] = {
    "Neighborhood": "NAmes",
    "OverallQual": 5,
    "OverallCond": 6,
    "YearBuilt": 1961,
    "YrSold": 2010,
    "GrLivArea": 896,
    "LotArea": 11622,
}


def _edges(name: str) -> list[Any]:
    """The ends of a number field's range, or every code of a coded field."""
    field = HOUSE_FIELDS[name]
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return list(validator.choices)
        if isinstance(validator, validate.Range):
            ends = [validator.min, validator.max]
            return [int(end) if isinstance(field, WholeNumber) else end for end in ends]
    return []


def accepted_years(house: Mapping[str, Any], field: str) -> range:
    """Every year ``field`` may take in ``house``, its other details as they are, the house not
    refused: the field's schema range, narrowed by each house rule (``HOUSE_RULES``) bounding it
    by a detail the house gives. ``YearBuilt`` from the schema's earliest year to a year after
    the sale and after the remodel; ``YearRemodAdd`` from a year before the building, and
    ``GarageYrBlt`` from the earliest year, to the schema's latest: a year more than one after
    the sale is warned of (``YEARS_AFTER_SALE_WARNED``), not refused, and priced as it reads."""
    low, high = _edges(field)
    for rule in HOUSE_RULES:
        if rule.field == field and house.get(rule.at_most) is not None:
            high = min(high, math.floor(house[rule.at_most] + rule.slack))
        if rule.at_most == field and house.get(rule.field) is not None:
            low = max(low, math.ceil(house[rule.field] - rule.slack))
    return range(low, high + 1)


def sampled_houses(
    rows: Sequence[Mapping[str, Any]], count: int, seed: int
) -> list[dict[str, Any]]:
    """``count`` valid houses, each field drawn on its own (see the module)."""
    draw = random.Random(seed)
    seen = {name: [row.get(name) for row in rows] for name in HOUSE_FIELDS}
    edges = {name: _edges(name) for name in HOUSE_FIELDS}
    fractional = {
        name: isinstance(field, JsonNumber) and not isinstance(field, WholeNumber)
        for name, field in HOUSE_FIELDS.items()
    }
    houses = []
    for _ in range(count):
        house: dict[str, Any] = {}
        for name, field in HOUSE_FIELDS.items():
            chance = draw.random()
            if not field.required and chance < 0.08:
                continue  # left out
            if not field.required and chance < 0.16:
                house[name] = None
            elif chance < 0.3 and edges[name]:
                house[name] = draw.choice(edges[name])
            else:
                given = [value for value in seen[name] if value is not None]
                house[name] = draw.choice(given or edges[name])
                if fractional[name] and chance > 0.8:  # all of a double's bits in use
                    house[name] += draw.random()
        for rule in HOUSE_RULES:  # the field at most its bound
            value, bound = house.get(rule.field), house.get(rule.at_most)
            if value is not None and bound is not None and value > bound + rule.slack:
                house[rule.field] = bound
        houses.append(house)
    return houses


def pipeline_answers(
    model: TrainedModel, houses: Sequence[Mapping[str, Any]], *, explain: bool = False
) -> PredictionResult:
    """``make_prediction``'s answer as it was made before the compiled path: ``validate_inputs``'
    columns through the pipeline's fitted steps, each list rounded and built from its own array."""
    evidence = model.evidence(model.stages(validate_inputs(houses)), explain=explain)
    prices = np.round(np.exp(evidence.log_price), 2).tolist()
    lower = np.round(np.exp(evidence.log_lower), 2).tolist()
    upper = np.round(np.exp(evidence.log_upper), 2).tolist()
    level = model.intervals.level
    return PredictionResult(
        predictions=prices,
        intervals=[
            PriceInterval(
                lower=low, upper=high, level=level, calibrated=calibrated, partial=partial
            )
            for low, high, calibrated, partial in zip(
                lower, upper, evidence.calibrated.tolist(), evidence.partial.tolist(), strict=True
            )
        ],
        warnings=evidence.warnings,
        explanations=evidence.explanations,
        model_version=__version__,
    )


class RecordCheck(Protocol):
    """A check of records (``contradictions``, ``record_rules``): (house, field, message) found."""

    def found(self, raw: Any) -> list[tuple[int, str, str]]: ...


def found_every_way(check: RecordCheck, houses: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """``check.found`` of a validated batch, asserted equal to that of its columns and, house by
    house, to that of each house alone (the one-house path)."""
    batch = validate_batch(houses)
    found = check.found(batch)
    assert found == check.found(batch.columns())
    one_by_one = [
        (house, field, message)
        for house, alone in enumerate(houses)
        for _, field, message in check.found(validate_batch([alone]))
    ]
    assert found == one_by_one
    return found
