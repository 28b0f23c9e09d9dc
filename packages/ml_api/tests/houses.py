"""Houses changed for a test: a copy with some details replaced or (``DROP``) taken out."""

from __future__ import annotations

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
