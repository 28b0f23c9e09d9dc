"""How a message writes a value a client sent: the one wording that warnings, refusals of a
house rule and the rejects of ``score-houses`` share, so that a value reads alike in each."""

from __future__ import annotations

from typing import Any


def shown(value: Any) -> str:
    """A value as a message shows it: text as it is, a number as a person writes it
    (MSSubClass 150, not 150.0), anything else (bytes in columns given directly) as Python
    writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return repr(value)
