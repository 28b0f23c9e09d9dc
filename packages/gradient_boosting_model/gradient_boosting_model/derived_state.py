"""What an artifact pickles of an object: what was trained, not what was made from it since.

Several parts of the model make arrays, tables or compiled forms of their fitted state on first
use (``functools.cached_property``, kept in the instance's ``__dict__``) and would otherwise
pickle them into the artifact; each one's ``__getstate__`` leaves them out with ``trained``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def trained(state: Mapping[str, Any], *derived: str) -> dict[str, Any]:
    """``state`` (an instance's ``__dict__``, or what its base class pickles) without the
    ``derived`` attributes."""
    return {name: value for name, value in state.items() if name not in derived}
