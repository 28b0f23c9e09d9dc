"""A JSON body validator for Connexion that enforces the request limits and reports every error.

Connexion's own validator stops at the first jsonschema error, validates in pure Python (most of
the time of a 1459-house request), turns invalid UTF-8 into a 500, and accepts ``NaN`` and
``Infinity``, which are not JSON. This one validates with jsonschema-rs, lists every error (up
to a limit) with the row and field it concerns, and refuses those bodies with a 400.

Each body is checked once for its rules:

- A list of objects (the houses) is checked here for its own shape only (a list, how many
  items, each an object). Each house is checked by the model package (``make_prediction``),
  against the very rules of the spec's ``HouseDetails``, which is generated from the model's
  schema; only when the model refuses a house does the handler call ``check_deferred_items``,
  which checks the body against the spec as this validator would have, for the 400 and its
  messages. A body the spec accepts but the model refuses breaks a house rule: the model's 422.
- A body the schema accepts nests no deeper than the schema lets it (two levels for a list of
  houses), so the nesting limit is checked, with a pass over every byte, only for a body that
  is refused anyway, and is the first reason given: the answers are those of checking it
  first. The parser stops at 1024 levels by itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncGenerator, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from connexion.exceptions import BadRequestProblem
from connexion.validators import JSONRequestBodyValidator
from starlette.types import Scope

from api import json_codec
from api.json_depth import json_depth
from api.problems import FieldError, InvalidHousesProblem

Kind = jsonschema_rs.ValidationErrorKind

#: A message quotes the bad value; a huge value must not come back whole.
_MAX_MESSAGE = 300

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

#: Keywords whose error says most about a value, best first (a long string also fails enum).
_TELLING = {"type": 0, "maxLength": 1}


@dataclass(frozen=True)
class CompiledSchema:
    """A body schema ready to check bodies: its validator, and how deep a valid body nests."""

    validator: jsonschema_rs.Draft7Validator
    nesting: float
    #: For a list of objects: the list's own keywords, its items only required to be objects.
    shape: jsonschema_rs.Draft7Validator | None


#: The current request's item check, left to its handler (see the module's docstring). The
#: handler's thread gets a copy of the request's context, so it sees the one set here.
_deferred_items: ContextVar[Callable[[], None] | None] = ContextVar("deferred_items", default=None)


def check_deferred_items() -> None:
    """Refuse the current body with the spec's 400 if its items break the schema (at most once a
    request; nothing if this validator checked them already)."""
    check = _deferred_items.get()
    if check is not None:
        _deferred_items.set(None)
        check()


#: Compiled schemas by schema: Connexion makes a body validator per request.
_COMPILED: dict[int, tuple[dict[str, Any], CompiledSchema]] = {}


@dataclass(frozen=True)
class BodyLimits:
    max_json_depth: int
    max_listed_errors: int
    detail_errors: int
    max_string_length: int


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


def _compiled(schema: dict[str, Any]) -> CompiledSchema:
    cached = _COMPILED.get(id(schema))
    if cached is None or cached[0] is not schema:
        converted = json_schema(schema)
        compiled = CompiledSchema(
            validator=jsonschema_rs.Draft7Validator(converted),
            nesting=nesting_bound(converted),
            shape=_list_shape(converted),
        )
        cached = _COMPILED[id(schema)] = (schema, compiled)
    return cached[1]


def _list_shape(schema: dict[str, Any]) -> jsonschema_rs.Draft7Validator | None:
    """A validator of a list schema's own keywords, if its items are objects; else ``None``."""
    items = schema.get("items")
    of_objects = isinstance(items, dict) and items.get("type") == "object"
    if schema.get("type") != "array" or not of_objects:
        return None
    return jsonschema_rs.Draft7Validator({**schema, "items": {"type": "object"}})


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else f"{message[:_MAX_MESSAGE]}..."


def field_errors(error: jsonschema_rs.ValidationError) -> Iterable[FieldError]:
    """The invalid fields behind one schema error, with their row and field."""
    path = list(error.instance_path)
    row = path[0] if path and isinstance(path[0], int) else None
    field = str(path[1]) if len(path) > 1 else None
    kind = error.kind
    if isinstance(kind, Kind.Required):
        yield FieldError(row, str(kind.property), "is required")
    elif isinstance(kind, Kind.AdditionalProperties):
        for name in kind.unexpected:
            yield FieldError(row, _short(str(name)), "is not a known house detail")
    elif isinstance(kind, Kind.MaxLength):
        yield FieldError(row, field, f"is longer than {kind.limit} characters")
    elif isinstance(kind, Kind.MaxItems):
        yield FieldError(row, field, f"has more than the limit of {kind.limit} items")
    else:
        yield FieldError(row, field, _short(error.message))


def clip_strings(node: Any, limit: int) -> Any:
    """``node`` with every string (key or value) over ``limit`` characters cut to ``limit + 1``.

    Such a string breaks ``maxLength`` (and any enum) just the same, but the validator copies
    each failing instance into its messages: a 10 MiB string of escaped quotes took a quarter
    of a second to report. Nesting is bounded already (``max_json_depth``).
    """
    if isinstance(node, str):
        return node[: limit + 1] if len(node) > limit else node
    if isinstance(node, list):
        return [clip_strings(item, limit) for item in node]
    if isinstance(node, dict):
        return {clip_strings(k, limit): clip_strings(v, limit) for k, v in node.items()}
    return node


class AllErrorsJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Validate a JSON body against the operation's schema, reporting every error."""

    def __init__(self, *, limits: BodyLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limits = limits
        self._raw = b""
        self._nesting_checked = False

    @property
    def _compiled(self) -> CompiledSchema:
        return _compiled(self._schema)

    def _refuse_deep(self) -> None:
        """Refuse the body if it nests past the limit (at most once a body)."""
        if self._nesting_checked:
            return
        self._nesting_checked = True
        raw, limit = self._raw, self._limits.max_json_depth
        # A body with no more opening brackets than the limit cannot nest past it: counting
        # them runs at memchr speed, while the exact depth is a pass of numpy over every byte.
        opening = raw.count(b"[") + raw.count(b"{")
        depth = json_depth(raw) if opening > limit else 0
        if depth > limit:
            raise BadRequestProblem(
                detail=f"Request body nests {depth} deep, past the limit of {limit}."
            )

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        self._raw = raw
        if self._compiled.nesting > self._limits.max_json_depth:
            self._refuse_deep()  # the schema does not bound it: check every body, first
        try:
            body = json_codec.loads(raw)  # the bytes: orjson checks their UTF-8 as it parses
        except ValueError as error:
            self._refuse_deep()  # too deep to parse, or just nesting past the limit
            try:  # which is wrong, the encoding or the JSON? (decoded only now: 7 ms a 10 MiB)
                raw.decode(self._encoding)
            except UnicodeDecodeError as bad_text:
                raise BadRequestProblem(
                    detail=f"Request body is not valid {self._encoding}: {bad_text}"
                ) from bad_text
            raise BadRequestProblem(detail=f"Request body is not valid JSON: {error}") from error
        json_codec.remember(raw, body)
        return body

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            raise BadRequestProblem(detail="Request body must not be empty")
        compiled = self._compiled
        _deferred_items.set(None)
        if compiled.shape is not None and compiled.shape.is_valid(body):
            # Its items are the handler's to have checked (see the module's docstring).
            _deferred_items.set(functools.partial(self._refuse_if_invalid, body))
            return
        if compiled.validator.is_valid(body):
            return  # it nests no deeper than the schema allows: checked in _parse if too deep
        self._refuse_invalid(body)

    def _refuse_if_invalid(self, body: Any) -> None:
        if not self._compiled.validator.is_valid(body):
            self._refuse_invalid(body)

    def _refuse_invalid(self, body: Any) -> None:
        """Refuse a body the schema does not accept, with every error it finds in it."""
        validator = self._compiled.validator
        self._refuse_deep()  # bounds the work below too: the clipping and the error paths
        limit = self._limits.max_listed_errors
        # One field may break several keywords (a long string fails enum too): keep its most
        # telling error, and stop once one more field than can be listed is known to be bad.
        best: dict[tuple[int | None, str | None], tuple[int, FieldError]] = {}
        clipped = clip_strings(body, self._limits.max_string_length)
        for error in validator.iter_errors(clipped):
            rank = _TELLING.get(error.kind.name, len(_TELLING))
            for found in field_errors(error):
                key = (found.row, found.field)
                if key not in best or rank < best[key][0]:
                    best[key] = (rank, found)
            if len(best) > limit:
                break
        errors = [found for _, found in best.values()]
        if errors:
            raise InvalidHousesProblem(
                errors, listed_limit=limit, detail_limit=self._limits.detail_errors
            )
