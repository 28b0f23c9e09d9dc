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


def _accepted_span(house: Mapping[str, Any], field: str) -> tuple[Any, Any]:
    """The lowest and highest value ``field`` may take in ``house``, its other details as they
    are, the house not refused: the field's schema range, narrowed by each house rule
    (``HOUSE_RULES``) bounding it by a detail the house gives (a whole number's bounds whole)."""
    low, high = _edges(field)
    whole = isinstance(HOUSE_FIELDS[field], WholeNumber)
    for rule in HOUSE_RULES:
        if rule.field == field and house.get(rule.at_most) is not None:
            bound = house[rule.at_most] + rule.slack
            high = min(high, math.floor(bound) if whole else bound)
        if rule.at_most == field and house.get(rule.field) is not None:
            bound = house[rule.field] - rule.slack
            low = max(low, math.ceil(bound) if whole else bound)
    return low, high


def accepted_years(house: Mapping[str, Any], field: str) -> range:
    """Every year ``field`` may take in ``house``, its other details as they are, the house not
    refused (``_accepted_span``). ``YearBuilt`` from the schema's earliest year to a year after
    the sale and after the remodel; ``YearRemodAdd`` from a year before the building, and
    ``GarageYrBlt`` from the earliest year, to the schema's latest: a year more than one after
    the sale is warned of (``YEARS_AFTER_SALE_WARNED``), not refused, and priced as it reads."""
    low, high = _accepted_span(house, field)
    return range(low, high + 1)


#: The areas an area field is stepped over (``accepted_amounts``): its lowest, then this many
#: from 1 (or its lowest) to its highest, each a fixed ratio above the one before (about 6% for
#: the schema's 100,000 sq ft): a step of the trees' (0.3.7 split the garage area at hundreds
#: of square feet) falls between two of them.
AREA_STEPS = 200


def accepted_amounts(house: Mapping[str, Any], field: str) -> list[Any]:
    """Values of the count or area ``field`` that ``house`` accepts, in increasing order, its
    other details as they are (``_accepted_span``: no house rule bounds the garage, frontage,
    veneer or bathrooms today): every count, or an area's lowest and a geometric grid of
    ``AREA_STEPS`` to its highest, rounded to whole feet (the lowest and highest as they are)."""
    low, high = _accepted_span(house, field)
    if isinstance(HOUSE_FIELDS[field], WholeNumber):
        return list(range(low, high + 1))
    grid = np.round(np.geomspace(max(low, 1), high, AREA_STEPS))
    inside = sorted({float(v) for v in grid if low < v < high})
    return [low, *inside, high]


#: The garage areas per car ``more_garage_cars`` grows a garage by: from 10 sq ft a car to the
#: schema's largest area shared by its most cars, each about 17% above the one before (Ames's
#: garages have about 150 to 400 sq ft a car).
AREAS_PER_CAR = 40


def more_garage_cars(house: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """Per area per car (``AREAS_PER_CAR`` of them), ``house`` with each number of garage cars
    from 1 to the schema's most, its garage area that many cars' share: one more car, its share
    of area with it, over the span the schema accepts (no house rule bounds a garage)."""
    most_cars, most_area = _edges("GarageCars")[1], _edges("GarageArea")[1]
    shares = np.geomspace(10, most_area / most_cars, AREAS_PER_CAR)
    return [
        [
            {**house, "GarageCars": cars, "GarageArea": share * cars}
            for cars in range(1, most_cars + 1)
        ]
        for share in np.round(shares).tolist()
    ]


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
