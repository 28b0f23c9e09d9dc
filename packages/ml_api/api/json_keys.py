"""Keys given more than once in one JSON object, which parsers resolve silently.

``{"GrLivArea": 1000, "GrLivArea": 5000}`` parses (orjson, like the standard library, keeps the
last value): the house would be priced on one of two areas its sender gave, and nobody told.
RFC 8259 leaves such an object's meaning to the parser; this API refuses it instead, naming the
row and the key.

The check is cheap for the bodies that have none, which is nearly all of them: an object of the
parsed body holds one member per colon of its text, unless a key was given twice (or a colon
sits inside a string). So the text's colons are counted (by numpy) against the members
parsed; only when they differ is the text parsed again, by the standard library, keeping every
member, to find where.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from api.problems import FieldError, quoted

#: A key is quoted in a message; a huge one must not come back whole.
_MAX_KEY = 100

#: The types a parsed JSON value's containers have (orjson's, and the standard library's).
_CONTAINERS = frozenset({list, dict})


class _Members(dict[str, Any]):
    """A parsed JSON object that remembers the keys its text gave more than once."""

    repeated: Sequence[str] = ()

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]]) -> _Members:
        members = cls(pairs)
        if len(members) < len(pairs):
            counts = Counter(map(itemgetter(0), pairs))  # counted in C
            members.repeated = [key for key, count in counts.items() if count > 1]
        return members


def may_repeat_keys(value: Any, *, colons: int, opening: int) -> bool:
    """Whether the JSON text of ``value`` may give a key twice in one object: it has more
    colons (``colons``) than ``value`` has members. ``opening``: its count of ``[`` and ``{``
    (``json_depth.byte_counts`` counts them with the colons, in one pass)."""
    return colons != 0 and colons != _members(value, opening)


def repeated_keys(text: bytes) -> list[FieldError]:
    """Where the JSON ``text`` gives a key twice in one object: the row (the item of a list
    body; ``None`` for an object body), the field of that row it is in, and what is wrong.
    Empty if nowhere. A second parse, by the standard library: ``text`` must nest within its
    recursion limit (the depth limit of a body is far under it)."""
    try:
        reparsed = json.loads(text, object_pairs_hook=_Members.of)
    except ValueError:  # a text orjson accepts and the standard library does not: not known
        return []
    if isinstance(reparsed, list):
        return [
            FieldError(row, field, message)
            for row, item in enumerate(reparsed)
            for field, message in _found(item)
        ]
    return [FieldError(None, field, message) for field, message in _found(reparsed)]


def _members(value: Any, opening: int) -> int:
    """How many members the objects of a parsed JSON value hold in all."""
    # One bracket for the list and one for each item: if every item is an object, none holds
    # a list or an object, and the count is the items' lengths.
    flat = type(value) is list and opening == len(value) + 1
    if flat and all(type(item) is dict for item in value):
        return sum(map(len, value))
    count = 0
    pending = [value] if isinstance(value, list | dict) else []
    while pending:
        node = pending.pop()
        items: Iterable[Any] = node
        if isinstance(node, dict):
            count += len(node)
            items = node.values()
        # A list of five million numbers is looked through in C (50 ms), not item by item.
        if not _CONTAINERS.isdisjoint(map(type, items)):
            pending.extend(item for item in items if isinstance(item, list | dict))
    return count


def _found(row: Any) -> Iterator[tuple[str | None, str]]:
    """The repeated keys in one row: each as the row's field it is in, and a message."""
    if isinstance(row, _Members):
        for key in row.repeated:
            yield _clipped(key), "is given more than once (a JSON object's keys must be unique)"
        for key, member in row.items():
            if not isinstance(member, list | dict):
                continue
            inner = next(_repeated_within(member), None)
            if inner is not None:
                yield _clipped(key), f"holds an object that gives {quoted(inner)} more than once"
        return
    inner = next(_repeated_within(row), None)
    if inner is not None:
        yield None, f"holds an object that gives {quoted(inner)} more than once"


def _repeated_within(value: Any) -> Iterator[str]:
    """The repeated keys of the objects in ``value``, itself included, clipped."""
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, _Members):
            yield from (_clipped(key) for key in node.repeated)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


def _clipped(key: str) -> str:
    return key if len(key) <= _MAX_KEY else f"{key[:_MAX_KEY]}..."
