"""What counts as a missing value in a column of codes."""

from __future__ import annotations

from typing import Any


def is_missing(code: Any) -> bool:
    """None, or NaN (a numeric code such as MSSubClass arrives as a float)."""
    return code is None or code != code
