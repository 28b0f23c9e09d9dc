"""What is made from one of the spec's schemas, made once and found again by the schema itself.

Connexion makes its validators per request, each handed the same schema objects (the spec's,
loaded once), so a check compiled from a schema (jsonschema-rs) is kept by the schema's
identity. Kept beside it, the schema itself: an id can be reused once an object is gone, and
the entry then belongs to another schema.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Made = TypeVar("Made")


class SchemaCache(Generic[Made]):
    """Objects made from schemas (and, where they depend on more, a key), one each."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, Hashable], tuple[object, Made]] = {}

    def get(self, schema: object, make: Callable[[], Made], key: Hashable = None) -> Made:
        """The object made for ``schema`` (and ``key``), by ``make`` the first time."""
        found = self._made.get((id(schema), key))
        if found is None or found[0] is not schema:
            found = self._made[id(schema), key] = (schema, make())
        return found[1]
