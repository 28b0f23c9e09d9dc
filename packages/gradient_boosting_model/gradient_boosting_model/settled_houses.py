"""JSON-shaped houses with what a house says of its features' absence settled, as the model
reads them: a size not given beside its feature's kind given as null is 0, the details of a
feature of size 0 not given are none (``schemas.ZERO_WHEN_NONE``, ``schemas.NONE_WHEN_ZERO``).

For measures over houses as sent (``drift``): a house sent with ``GarageType: null`` and no
``GarageCars`` is priced with no garage, a fact, not an assumption; read as sent, its garage
size was an unknown, left out of the drift of ``GarageCars``, whose training bucket of 0 (5.5%
of the houses) then looked empty to a client that sends its garageless houses so: a PSI of
about 0.35, an alert no retraining could clear. The rules are validation's own
(``validate_batch`` settles the houses that may need it); only values a house did not give
are filled in, so a null stays a null and a field left out stays left out everywhere else.
Only the houses a measure found without one of the fields the rules fill in are looked at: a
complete record (test.csv's) has them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.missing import OMITTED
from gradient_boosting_model.schemas import (
    HOUSE_FIELDS,
    NONE_WHEN_ZERO,
    REQUIRED_FIELDS,
    ZERO_WHEN_NONE,
)
from gradient_boosting_model.validation import validate_batch

Houses = Sequence[Mapping[str, Any]]

#: The fields the rules read: a caller settling only some fields sends these too, and the
#: required ones, without which a house is not valid.
RULE_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            *REQUIRED_FIELDS,
            *ZERO_WHEN_NONE,
            *ZERO_WHEN_NONE.values(),
            *NONE_WHEN_ZERO,
            *(detail for details in NONE_WHEN_ZERO.values() for detail in details),
        ]
    )
)
#: (size, kind) of ``ZERO_WHEN_NONE``; (size, its numeric details, its text details) of
#: ``NONE_WHEN_ZERO``.
_SAID_NONE = tuple(ZERO_WHEN_NONE.items())
_DETAILS = tuple(
    (
        size,
        tuple(d for d in details if HOUSE_FIELDS[d].metadata["kind"] == "number"),
        tuple(d for d in details if HOUSE_FIELDS[d].metadata["kind"] != "number"),
    )
    for size, details in NONE_WHEN_ZERO.items()
)


#: The fields the rules may fill in: sizes, and details of a feature of size 0.
SETTLED_FIELDS = frozenset(
    [*ZERO_WHEN_NONE, *(detail for details in NONE_WHEN_ZERO.values() for detail in details)]
)


def settled_houses(
    houses: Houses, rows: Iterable[int], fields: Sequence[str]
) -> tuple[list[int], list[dict[str, Any]]]:
    """Of ``rows`` (houses that leave out, or give as null, one of ``fields`` the rules may
    fill in), those whose value of one of ``fields`` the rules settle, and each such house
    copied with them. Validation reads only the houses that give a feature's kind as null or
    its size as 0 (about 15 us a house); when it refuses them, none (the caller's reading
    names what is wrong)."""
    candidates = [row for row in sorted(set(rows)) if _may_settle(houses[row])]
    if not candidates:
        return [], []
    try:
        batch = validate_batch([houses[row] for row in candidates])
    except InvalidInputError:
        return [], []
    layout = batch.layout
    numbers = [(f, layout.number_positions[f]) for f in fields if f in layout.number_positions]
    texts = [(f, layout.text_positions[f]) for f in fields if f in layout.text_positions]
    changed, settled = [], []
    for place, row in enumerate(candidates):
        house = houses[row]
        given: dict[str, Any] = {}
        for field, position in numbers:
            value = float(batch.numbers[place, position])
            if house.get(field) is None and not math.isnan(value):
                given[field] = value
        for field, position in texts:
            if field not in house and batch.texts[place][position] is None:
                given[field] = None
        if given:
            changed.append(row)
            settled.append({**house, **given})
    return changed, settled


def _may_settle(house: Any) -> bool:
    """Whether ``house`` gives a feature's kind as null and not its size, or its size as 0 and
    not all its details (a house that is no mapping is left to the caller)."""
    if not isinstance(house, Mapping):
        return False
    get = house.get
    for size, kind in _SAID_NONE:
        if get(kind, OMITTED) is None and get(size) is None:
            return True
    for size, numbers, texts in _DETAILS:
        if get(size) == 0 and (
            any(get(detail) is None for detail in numbers)
            or any(detail not in house for detail in texts)
        ):
            return True
    return False
