"""What is made from one of the spec's schemas, made once and found again by the schema itself.

Connexion makes its validators per request, each handed the same schema objects (the spec's,
loaded once), so a check compiled from a schema (jsonschema-rs) is kept by the schema's
identity. Kept beside it, the schema itself: an id can be reused once an object is gone, and
the entry then belongs to another schema.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

Made = TypeVar("Made")


class SchemaCache(Generic[Made]):
    """Objects made from schemas (and, where they depend on more, on further arguments), one
    each."""

    def __init__(self, make: Callable[..., Made]) -> None:
        #: Makes the object of ``(schema, *more)``.
        self.make = make
        self._made: dict[tuple[int, tuple[Hashable, ...]], tuple[object, Made]] = {}

    def get(self, schema: Any, *more: Hashable) -> Made:
        """The object made for ``schema`` (and ``more``): ``make(schema, *more)`` the first
        time (no closure made a call: this is on every request's path)."""
        found = self._made.get((id(schema), more))
        if found is None or found[0] is not schema:
            found = self._made[id(schema), more] = (schema, self.make(schema, *more))
        return found[1]
