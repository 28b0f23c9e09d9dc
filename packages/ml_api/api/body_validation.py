"""The spec's check of JSON request bodies: the request limits, and every error listed.

Connexion's own validator stops at the first jsonschema error, validates in pure Python (most of
the time of a 1459-house request), turns invalid UTF-8 into a 500, and accepts ``NaN`` and
``Infinity``, which are not JSON. ``AllErrorsJSONBodyValidator`` (Connexion's validator interface:
``_parse`` and ``_validate``, called by its ``wrap_receive``) validates with jsonschema-rs, lists
every error (up to a limit) with the row and field it concerns, and refuses those bodies with a
400. ``BodyCheck`` is that check on its own, for whoever checks a body later.

Each body is checked once for its rules:

- A list schema marked ``x-items-checked-by-model: true`` in the spec (the houses of
  ``POST /v1/predictions``) is checked here for its own shape only (a list, how many items,
  each an object). Each house is then checked by the model package against the very rules of
  the spec's ``HouseDetails``, which is generated from the model's schema; only when the model
  refuses a house does the prediction service (api/service.py) check the body against the spec
  with ``BodyCheck``, for the 400 and its messages. Any other schema, a new endpoint's
  included, is checked whole here: nothing is skipped unless the spec says who checks it.
- A body the schema accepts nests no deeper than the schema lets it (two levels for a list of
  houses), so the nesting limit is checked, with a pass over every byte, only for a body that
  is refused anyway, and is the first reason given: the answers are those of checking it
  first. The parser stops at 1024 levels by itself.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from connexion.exceptions import BadRequestProblem
from connexion.validators import JSONRequestBodyValidator
from starlette.types import Scope

from api import json_codec
from api.json_depth import json_depth, value_depth
from api.problems import (
    BodyNotJsonProblem,
    BodyNotTextProblem,
    BodyTooDeepProblem,
    FieldError,
    InvalidHousesProblem,
)
from api.request_context import current_request

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

#: The spec's mark on a list schema whose items are checked by the model, not here (see the
#: module's docstring).
CHECKED_BY_MODEL = "x-items-checked-by-model"

#: Keywords whose error says most about a value, best first (a long string also fails enum).
_TELLING = {"type": 0, "maxLength": 1}


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


class BodyCheck:
    """The spec's check of a JSON body against one schema: every error listed, with the row and
    field it concerns (``InvalidHousesProblem``, 400), or a body nesting past the limit first."""

    def __init__(self, schema: dict[str, Any], limits: BodyLimits) -> None:
        """``schema``: an OpenAPI 3.0 schema object, its references resolved."""
        converted = json_schema(schema)
        self.limits = limits
        self.validator = jsonschema_rs.Draft7Validator(converted)
        #: How deep a valid body nests (``inf`` where the schema leaves it open).
        self.nesting = nesting_bound(converted)
        #: For a list whose items the model checks (``CHECKED_BY_MODEL``): the list's own
        #: keywords, its items only required to be objects. Else ``None``: check it whole.
        self.shape = _list_shape(converted) if schema.get(CHECKED_BY_MODEL) is True else None

    def is_valid(self, body: Any) -> bool:
        return bool(self.validator.is_valid(body))

    def refuse_if_invalid(self, body: Any, *, depth: Callable[[], int] | None = None) -> None:
        """Refuse ``body`` if the schema does not accept it. ``depth`` tells how deep the body
        nests, when that is cheaper to know from its text than from its value."""
        if not self.validator.is_valid(body):
            self.refuse(body, depth=depth or (lambda: value_depth(body)))

    def refuse(self, body: Any, *, depth: Callable[[], int]) -> None:
        """Refuse a body the schema does not accept, with every error it finds in it."""
        found_depth, limit = depth(), self.limits.max_json_depth
        if found_depth > limit:  # bounds the work below too: the clipping and the error paths
            raise BodyTooDeepProblem(found_depth, limit)
        listed = self.limits.max_listed_errors
        # One field may break several keywords (a long string fails enum too): keep its most
        # telling error, and stop once one more field than can be listed is known to be bad.
        best: dict[tuple[int | None, str | None], tuple[int, FieldError]] = {}
        clipped = clip_strings(body, self.limits.max_string_length)
        for error in self.validator.iter_errors(clipped):
            rank = _TELLING.get(error.kind.name, len(_TELLING))
            for found in field_errors(error):
                key = (found.row, found.field)
                if key not in best or rank < best[key][0]:
                    best[key] = (rank, found)
            if len(best) > listed:
                break
        errors = [found for _, found in best.values()]
        if errors:
            raise InvalidHousesProblem(
                errors, listed_limit=listed, detail_limit=self.limits.detail_errors
            )


#: Checks by schema: Connexion makes a body validator per request.
_CHECKS: dict[tuple[int, BodyLimits], tuple[dict[str, Any], BodyCheck]] = {}


def _check_for(schema: dict[str, Any], limits: BodyLimits) -> BodyCheck:
    cached = _CHECKS.get((id(schema), limits))
    if cached is None or cached[0] is not schema:
        cached = _CHECKS[id(schema), limits] = (schema, BodyCheck(schema, limits))
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
        self._depth: int | None = None

    @property
    def _check(self) -> BodyCheck:
        return _check_for(self._schema, self._limits)

    def _raw_depth(self) -> int:
        """How deep the body's text nests (at most one pass over it a body)."""
        if self._depth is None:
            raw, limit = self._raw, self._limits.max_json_depth
            # A body with no more opening brackets than the limit cannot nest past it: counting
            # them runs at memchr speed, while the exact depth is a pass of numpy over every byte.
            opening = raw.count(b"[") + raw.count(b"{")
            self._depth = json_depth(raw) if opening > limit else 0
        return self._depth

    def _refuse_deep(self) -> None:
        depth, limit = self._raw_depth(), self._limits.max_json_depth
        if depth > limit:
            raise BodyTooDeepProblem(depth, limit)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        self._raw = raw
        if self._check.nesting > self._limits.max_json_depth:
            self._refuse_deep()  # the schema does not bound it: check every body, first
        try:
            body = json_codec.loads(raw)  # the bytes: orjson checks their UTF-8 as it parses
        except ValueError as error:
            self._refuse_deep()  # too deep to parse, or just nesting past the limit
            try:  # which is wrong, the encoding or the JSON? (decoded only now: 7 ms a 10 MiB)
                raw.decode(self._encoding)
            except UnicodeDecodeError as bad_text:
                raise BodyNotTextProblem(
                    f"Request body is not valid {self._encoding}: {bad_text}"
                ) from bad_text
            raise BodyNotJsonProblem(f"Request body is not valid JSON: {error}") from error
        request = current_request()
        if request is not None:  # the handler's own parse reuses this one (json_codec)
            request.body = (raw, body)
        return body

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            raise BadRequestProblem(detail="Request body must not be empty")
        check = self._check
        if check.shape is not None and check.shape.is_valid(body):
            return  # its items are the model's to check, then the service's (see above)
        if not check.is_valid(body):  # it nests no deeper than the schema allows, if valid
            check.refuse(body, depth=self._raw_depth)
