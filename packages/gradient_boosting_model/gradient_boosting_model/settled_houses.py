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
from collections.abc import Set as AbstractSet
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
    copied with them.

    A house that gives a size as 0 has its details not given filled in here (an area 0, a
    grade none: ``NONE_WHEN_ZERO`` alone, as validation fills them); one that gives a kind as
    null is validated (about 15 us a house), whose rules leave its size unknown where another
    detail says the feature is there. A house validation refuses is left as it is (the
    caller's reading names any value of the wrong type), the others settled all the same.
    """
    said_none: list[int] = []
    settled: dict[int, dict[str, Any]] = {}
    wanted = set(fields)
    for row in sorted(set(rows)):
        house = houses[row]
        if not isinstance(house, Mapping):
            continue
        if _kind_said_none(house):
            said_none.append(row)
        elif zero := _zero_sizes(house):
            filled = _details_of_none(house, zero, wanted)
            if filled:
                settled[row] = {**house, **filled}
    for row, filled in _validated(houses, said_none, fields):
        settled[row] = {**houses[row], **filled}
    changed = sorted(settled)
    return changed, [settled[row] for row in changed]


def _validated(
    houses: Houses, rows: list[int], fields: Sequence[str]
) -> list[tuple[int, dict[str, Any]]]:
    """(row, values filled in) of ``rows`` settled by validation; the houses it refuses left
    out (one refused house does not keep the others from being settled)."""
    if not rows:
        return []
    try:
        batch = validate_batch([houses[row] for row in rows])
    except InvalidInputError as refused:
        kept = [row for place, row in enumerate(rows) if place not in refused.errors]
        if len(kept) == len(rows):  # refused as a whole: no house to leave out
            return []
        return _validated(houses, kept, fields)
    layout = batch.layout
    numbers = [(f, layout.number_positions[f]) for f in fields if f in layout.number_positions]
    texts = [(f, layout.text_positions[f]) for f in fields if f in layout.text_positions]
    found = []
    for place, row in enumerate(rows):
        house = houses[row]
        filled: dict[str, Any] = {}
        for field, position in numbers:
            value = float(batch.numbers[place, position])
            if house.get(field) is None and not math.isnan(value):
                filled[field] = value
        for field, position in texts:
            if field not in house and batch.texts[place][position] is None:
                filled[field] = None
        if filled:
            found.append((row, filled))
    return found


def _kind_said_none(house: Mapping[str, Any]) -> bool:
    """Whether ``house`` gives a feature's kind as null and not its size."""
    get = house.get
    return any(get(kind, OMITTED) is None and get(size) is None for size, kind in _SAID_NONE)


def _zero_sizes(house: Mapping[str, Any]) -> list[int]:
    """The features (positions in ``_DETAILS``) whose size ``house`` gives as 0 and not all of
    whose details it gives."""
    get = house.get
    return [
        k
        for k, (size, numbers, texts) in enumerate(_DETAILS)
        if type(get(size)) in (int, float)
        and get(size) == 0
        and (any(get(d) is None for d in numbers) or any(d not in house for d in texts))
    ]


def _details_of_none(
    house: Mapping[str, Any], features: list[int], wanted: AbstractSet[str]
) -> dict[str, Any]:
    """Of the ``wanted`` fields, the details of each of ``features`` (of size 0) ``house``
    does not give, as validation fills them in: an area or count 0 (null or left out), a grade
    or kind none (left out; a null is none already)."""
    filled: dict[str, Any] = {}
    for k in features:
        _, numbers, texts = _DETAILS[k]
        filled |= {d: 0.0 for d in numbers if d in wanted and house.get(d) is None}
        filled |= {d: None for d in texts if d in wanted and d not in house}
    return filled
