"""What counts as a missing value in a column of codes, and a text field left out of a house.

A text field a house does not have as a key is ``OMITTED``, not ``None``: where Ames records
"none" as a missing value (no basement, no garage: ``absent_means_none``), a null says the house
has none, but a field left out says nothing, and is taken as typical (imputed), as a number
left out is. A seven-field house was priced as one with no basement and no garage: about 10%
below what the same houses sold for (the package README). Left out beside its feature's size
given as 0 (or not given beside the feature's kind given as null: ``schemas.ZERO_WHEN_NONE``),
it is none (``schemas.NONE_WHEN_ZERO``); an alley, a fence or another feature
left out is none too (``schemas.NONE_WHEN_LEFT_OUT``)."""

from __future__ import annotations

import enum
from typing import Any


class Omitted(enum.Enum):
    """The value of a text field left out of a house (one member: an enum pickles by name, so
    a layout kept in an artifact holds this very object once loaded)."""

    OMITTED = "omitted"

    def __repr__(self) -> str:
        return "OMITTED"


OMITTED = Omitted.OMITTED


def is_missing(code: Any) -> bool:
    """None, left out, or NaN (a numeric code such as MSSubClass arrives as a float)."""
    return code is None or code is OMITTED or code != code


#: A text field's value in a validated batch: a code, null, or left out.
TextValue = str | None | Omitted
