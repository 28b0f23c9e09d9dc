"""What the rules settle of JSON-shaped houses (``settled_houses``): as validation settles it,
whether filled in directly (a size given as 0) or by validating (a kind given as null)."""

from __future__ import annotations

import random
from typing import Any

from gradient_boosting_model.schemas import REQUIRED_FIELDS
from gradient_boosting_model.settled_houses import SETTLED_FIELDS, settled_houses
from gradient_boosting_model.validation import validate_batch

FIELDS = sorted(SETTLED_FIELDS)


def _as_validation_reads(house: dict[str, Any]) -> dict[str, Any]:
    """``house``'s values of ``FIELDS`` as ``validate_batch`` settles them (those it fills
    in only: a value given is kept as given)."""
    batch = validate_batch([house])
    read: dict[str, Any] = {}
    for field in FIELDS:
        value = batch[field][0]
        if field in batch.layout.number_positions:
            if house.get(field) is None and value == value:  # not NaN: filled in
                read[field] = float(value)
            elif field in house:
                read[field] = house[field]
        elif field in house or value is None:
            read[field] = house.get(field)
    return read


def test_houses_are_settled_as_validation_settles_them(
    request_rows: list[dict[str, Any]],
) -> None:
    """test.csv's houses with details dropped or nulled at random (400 of them): each field
    the rules may fill in, as validation has it, however it was filled in."""
    generator = random.Random(3)
    houses = []
    for _ in range(400):
        house = dict(generator.choice(request_rows))
        for field in [f for f in house if f not in REQUIRED_FIELDS]:
            draw = generator.random()
            if draw < 0.3:
                del house[field]
            elif draw < 0.4:
                house[field] = None
        houses.append(house)
    changed, settled = settled_houses(houses, range(len(houses)), FIELDS)
    assert len(changed) > 100  # the draw reaches both ways of settling
    by_row = dict(zip(changed, settled, strict=True))
    for row, house in enumerate(houses):
        mine = by_row.get(row, house)
        assert {f: mine[f] for f in FIELDS if f in mine} == _as_validation_reads(house), row


def test_a_house_validation_refuses_keeps_the_others_settled(
    request_rows: list[dict[str, Any]],
) -> None:
    minimal = {name: request_rows[0][name] for name in REQUIRED_FIELDS}
    said_none = {**minimal, "GarageType": None}
    refused = {**said_none, "Foo": 1}
    changed, settled = settled_houses([refused, said_none], [0, 1], ["GarageCars"])
    assert changed == [1] and settled[0]["GarageCars"] == 0.0
