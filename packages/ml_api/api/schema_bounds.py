"""What a request schema (draft 7, as ``json_schema`` converts the spec's) lets a body hold, and
a refused body cut down to what the schema's messages need.

``nesting_bound``, ``container_bound``, ``member_bound`` and ``value_bound`` bound every body a
schema accepts: how deep its arrays and objects nest, how many there are, how many members its
objects hold, how many values they hold in all. A
body past them is refused for that alone, from its text, before anything reads it whole
(api/body_validation.py). ``clip_strings`` cuts a refused body's long strings, and the lists and
objects where the schema takes none, before a validator quotes them in its messages.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

#: OpenAPI 3.0 keywords that are not JSON Schema (or carry no rule).
_OPENAPI_ONLY = {
    "nullable",
    "example",
    "description",
    "readOnly",
    "writeOnly",
    "deprecated",
    "discriminator",
    "xml",
    "externalDocs",
    # What Connexion attaches for resolving references: resolved already, and it refers back
    # to the schema itself.
    "components",
}


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema draft 7.

    ``nullable: true`` adds ``"null"`` to the type, OpenAPI-only keywords go, and a boolean
    ``exclusiveMinimum``/``exclusiveMaximum`` (draft 4 style) becomes draft 7's number form.
    Under draft 7, ``2.0`` is an integer, as it is for the model package.
    """
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: value if key in ("enum", "required") else json_schema(value)
        for key, value in node.items()
        if key not in _OPENAPI_ONLY and key != "properties"
    }
    converted = {key: value for key, value in converted.items() if not key.startswith("x-")}
    if isinstance(node.get("properties"), dict):  # names, not keywords: any name goes
        converted["properties"] = {
            name: json_schema(subschema) for name, subschema in node["properties"].items()
        }
    if node.get("nullable") is True and isinstance(node.get("type"), str):
        converted["type"] = [node["type"], "null"]
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(node.get(exclusive), bool):
            if node[exclusive] and bound in node:
                converted[exclusive] = converted.pop(bound)
            else:
                converted.pop(exclusive)
    return converted


def nesting_bound(schema: Any) -> float:
    """How deep arrays and objects nest in any instance valid against a draft 7 ``schema``.

    ``inf`` where the schema leaves it open: no ``type``, an object with properties beyond those
    it names, an array without one schema for its items, a ``$ref``. Other keywords only narrow
    what is valid, so they cannot make it deeper.
    """
    if not isinstance(schema, dict) or "$ref" in schema:
        return math.inf
    types = schema.get("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list):
        return math.inf
    deepest = 0.0
    if "array" in types:
        items = schema.get("items")
        deepest = max(deepest, 1 + nesting_bound(items) if isinstance(items, dict) else math.inf)
    if "object" in types:
        closed = schema.get("additionalProperties") is False and "patternProperties" not in schema
        properties = schema.get("properties", {}) if closed else None
        inner = (
            max((nesting_bound(prop) for prop in properties.values()), default=0.0)
            if isinstance(properties, dict)
            else math.inf
        )
        deepest = max(deepest, 1 + inner)
    return deepest


def container_bound(schema: Any) -> float:
    """How many arrays and objects any instance valid against a draft 7 ``schema`` holds,
    itself included: ``inf`` where ``nesting_bound`` finds the nesting open, or a list has no
    ``maxItems``."""
    return _bound(schema, lambda node, kind: 1)


def member_bound(schema: Any) -> float:
    """How many members (key and value pairs) the objects of any instance valid against a draft
    7 ``schema`` hold in all: ``inf`` as for ``container_bound`` (an object open to other keys
    has open nesting)."""
    return _bound(
        schema, lambda node, kind: len(node.get("properties", {})) if kind == "object" else 0
    )


def value_bound(schema: Any) -> float:
    """How many values (the items of its arrays and the members of its objects) any instance
    valid against a draft 7 ``schema`` holds in all: ``inf`` as for ``container_bound``."""
    return _bound(
        schema,
        lambda node, kind: (
            node.get("maxItems", math.inf) if kind == "array" else len(node.get("properties", {}))
        ),
    )


def _bound(schema: Any, own: Callable[[dict[str, Any], str], float]) -> float:
    """The most of something any valid instance holds, where an array or object node holds
    ``own(node, "array" or "object")`` of it, besides what its items and properties hold."""
    if nesting_bound(schema) == math.inf:
        return math.inf
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types
    most = 0.0
    if "array" in types:
        count = schema.get("maxItems", math.inf)
        inner = _bound(schema["items"], own)
        most = max(most, own(schema, "array") + (inner * count if inner and count else 0))
    if "object" in types:
        properties = schema.get("properties", {})
        inner = sum(_bound(prop, own) for prop in properties.values())
        most = max(most, own(schema, "object") + inner)
    return most


#: Items kept of a list or object where the schema takes none: enough to quote its start.
_KEPT_ITEMS = 4
#: The mark of what was cut: a string's end, a list's last item, a key's end.
_CUT = "..."


def clip_strings(node: Any, limit: int, schema: Any, *, unknown_kept: int | None = None) -> Any:
    """``node`` with every string value over ``limit`` characters cut to ``limit`` and marked
    ``...`` (every key likewise: ``_clipped_key``), every list or object where the draft 7
    ``schema`` takes none (or names no schema for it: a property it does not know) cut to its
    first ``_KEPT_ITEMS`` items (marked by a last item, or member, ``...``: a message quoting
    it must not pass it off as what was sent), all within it likewise,
    every list it takes cut to one more item than its ``maxItems``, and every object it takes
    to the properties it names and the first ``unknown_kept`` others (``None``: all).

    Such a string breaks ``maxLength`` (and any enum) just the same, and such a list its
    ``type``, but the validator copies each failing instance into its messages: a 10 MiB string
    of escaped quotes took a quarter of a second to report, a house's field holding 3.5
    million empty lists seconds (and clipping them a walk over each), a house that was a list
    of 5 million numbers 3 s, a house of 450,000 unknown fields 5 s (listed whole, then cut).
    Nesting is bounded already (``max_json_depth``).
    """
    if isinstance(node, str):
        # Never below the string's own maxLength (a sale's date keeps its ten characters
        # under a smaller limit for the houses' strings), and marked cut.
        own = schema.get("maxLength") if isinstance(schema, dict) else None
        longest = max(limit, own) if isinstance(own, int) else limit
        return f"{node[:longest]}{_CUT}" if len(node) > longest else node
    if isinstance(node, list):
        if not _takes(schema, "array"):
            kept_items = [clip_strings(item, limit, None) for item in node[:_KEPT_ITEMS]]
            return [*kept_items, _CUT] if len(node) > _KEPT_ITEMS else kept_items
        most, items = schema.get("maxItems"), schema.get("items")
        kept = node if not isinstance(most, int) else node[: most + 1]
        item_schema = items if isinstance(items, dict) else None
        return [clip_strings(item, limit, item_schema, unknown_kept=unknown_kept) for item in kept]
    if isinstance(node, dict):
        if not _takes(schema, "object"):
            pairs: Iterable[tuple[Any, Any]] = islice(node.items(), _KEPT_ITEMS)
            if len(node) > _KEPT_ITEMS:  # marked cut, as a list is
                pairs = [*pairs, (_CUT, _CUT)]
            properties: dict[str, Any] = {}
        else:
            properties = schema.get("properties") or {}
            pairs = _fewer_unknown(node, properties, unknown_kept)
        return {
            _clipped_key(key, limit): clip_strings(
                value, limit, properties.get(key), unknown_kept=unknown_kept
            )
            for key, value in pairs
        }
    return node


def _clipped_key(key: str, limit: int) -> str:
    """A key over ``limit`` characters cut to ``limit`` and marked cut: a property name (no
    schema bounds one), an error names it, and a client must not take the cut for its name."""
    return key if len(key) <= limit else f"{key[:limit]}{_CUT}"


def _fewer_unknown(
    node: dict[str, Any], known: Mapping[str, Any], kept: int | None
) -> Iterable[tuple[Any, Any]]:
    """``node``'s items: those of ``known`` keys, and the first ``kept`` of the others."""
    if kept is None or len(node) <= len(known) + kept:
        return node.items()
    unknown = ((key, value) for key, value in node.items() if key not in known)
    return [*((key, value) for key, value in node.items() if key in known), *islice(unknown, kept)]


def _takes(schema: Any, kind: str) -> bool:
    """Whether ``schema`` (``None``: none) takes a value of JSON type ``kind``, by its ``type``
    alone (no ``type``: any)."""
    if not isinstance(schema, dict):
        return False
    types = schema.get("type", kind)
    return kind == types if isinstance(types, str) else kind in types
