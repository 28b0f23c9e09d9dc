"""Houses changed for a test: a copy with some details replaced or (``DROP``) taken out."""

from __future__ import annotations

import re
from typing import Any

#: A change's value that removes the detail instead of setting it.
DROP = object()


def changed(house: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``house`` with ``changes`` applied."""
    copy = dict(house)
    for field, value in changes.items():
        if value is DROP:
            del copy[field]
        else:
            copy[field] = value
    return copy


#: A priced house's id: the request's random token, and the house's place in it.
PREDICTION_ID = re.compile(r"[0-9a-f]{16}-(\d+)")


def without_ids(answer: Any) -> Any:
    """A prediction's answer without its ``prediction_ids`` (random), once they are checked:
    one per house, in order, all of one request. Anything else comes back as it is."""
    if not isinstance(answer, dict) or "prediction_ids" not in answer:
        return answer
    rest = dict(answer)
    ids = rest.pop("prediction_ids")
    places = [PREDICTION_ID.fullmatch(found) for found in ids]
    assert all(places), ids[:3]
    assert [int(place.group(1)) for place in places if place] == list(range(len(ids)))
    assert len({found.split("-")[0] for found in ids}) <= 1
    assert len(ids) == len(rest["predictions"])
    return rest
