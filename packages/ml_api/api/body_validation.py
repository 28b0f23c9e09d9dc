"""The spec's check of JSON request bodies: the request limits, and every error listed.

Connexion's own validator stops at the first jsonschema error, validates in pure Python (most of
the time of a 1459-house request), turns invalid UTF-8 into a 500, and accepts ``NaN`` and
``Infinity``, which are not JSON. ``AllErrorsJSONBodyValidator`` (Connexion's validator interface:
``_parse`` and ``_validate``, called by its ``wrap_receive``, which refuses an empty body first,
in the service's words) validates with jsonschema-rs, lists every error (up to a limit) with the
row and field it concerns, and refuses those bodies with a 400. ``BodyCheck`` is that check on its
own, for whoever checks a body later.

Each body is checked once for its rules:

- A list schema marked ``x-items-checked-by-handler: true`` in the spec is checked here for
  its own shape only (a list, how many items); its handler checks the items (each an object),
  so that a 400 for the schema's errors names beside them the rules the schema cannot express
  that its other rows break. The houses of ``POST /v1/predictions`` are checked by the model
  package against the very rules of the spec's ``HouseDetails``, which is generated from the
  model's schema; only when the model refuses a house does the prediction service
  (api/service.py) check the body against the spec with ``BodyCheck``, for the 400 and its
  messages. The sales of ``POST /v1/sales`` are checked with ``BodyCheck``, the store's rules
  (a known id, not sold already) looked up for the rows it accepts when it refuses others.
  Any other schema, a new endpoint's included, is checked whole here: nothing is skipped
  unless the spec says who checks it.
- A body the schema accepts nests no deeper than the schema lets it (two levels for a list of
  houses), so the nesting limit is checked, with a pass over every byte, only for a body that
  is refused anyway, and is the first reason given: the answers are those of checking it
  first. The parser stops at 1024 levels by itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cached_property
from typing import Any, NoReturn

import jsonschema_rs
from connexion.validators import JSONRequestBodyValidator
from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from api import json_codec
from api.json_depth import JsonShape, byte_counts, json_shape, text_depth, value_depth
from api.json_keys import may_repeat_keys, repeated_keys
from api.problems import (
    BodyNotJsonProblem,
    BodyNotTextProblem,
    BodyTooDeepProblem,
    BodyTooWideProblem,
    EmptyBodyProblem,
    FieldError,
    InvalidHousesProblem,
)
from api.request_context import current_request
from api.schema_bounds import (
    clip_strings,
    container_bound,
    json_schema,
    member_bound,
    nesting_bound,
    value_bound,
)
from api.schema_cache import SchemaCache

Kind = jsonschema_rs.ValidationErrorKind

#: A message quotes the bad value; a huge value must not come back whole.
_MAX_MESSAGE = 300

#: The spec's mark on a list schema whose items are checked by its handler, not here (see the
#: module's docstring).
CHECKED_BY_HANDLER = "x-items-checked-by-handler"

#: The spec's name for an item of a list body (``house``, ``sale``), as its messages say it.
ROW_NOUN = "x-row-noun"

#: Arrays and objects, or members of objects, a body may hold past the most a valid one holds
#: and still be parsed (and refused with the schema's own errors, such as too many houses):
#: parsing 100,000 empty lists costs about 20 ms. Past it, a body is refused unparsed
#: (``BodyTooWideProblem``).
WIDTH_SLACK = 100_000

#: How alike a code must be to the one sent to be suggested (``difflib``'s ratio): ``NAmse``
#: for ``NAmes`` (0.8), not ``Gd`` for ``Ex``.
SUGGESTION_CUTOFF = 0.75

#: Keywords whose error says most about a value, best first (a long string also fails enum).
_TELLING = {"type": 0, "maxLength": 1}


@dataclass(frozen=True)
class BodyLimits:
    max_json_depth: int
    max_listed_errors: int
    detail_errors: int
    max_string_length: int


class BodyCheck:
    """The spec's check of a JSON body against one schema: every error listed, with the row and
    field it concerns (``InvalidHousesProblem``, 400), or a body nesting past the limit first."""

    def __init__(self, schema: dict[str, Any], limits: BodyLimits) -> None:
        """``schema``: an OpenAPI 3.0 schema object, its references resolved."""
        converted = json_schema(schema)
        #: The schema as JSON Schema draft 7.
        self.schema = converted
        self.limits = limits
        self.validator = jsonschema_rs.Draft7Validator(converted)
        #: How deep a valid body nests (``inf`` where the schema leaves it open).
        self.nesting = nesting_bound(converted)
        #: How many arrays and objects a valid body holds at most, how many members of objects,
        #: how many values in them in all (``inf``: open).
        self.containers = container_bound(converted)
        self.members = member_bound(converted)
        self.values = value_bound(converted)
        #: For a list whose items its handler checks (``CHECKED_BY_HANDLER``): the list's own
        #: keywords, its items only required to be objects. Else ``None``: check it whole.
        self.shape = _list_shape(converted) if schema.get(CHECKED_BY_HANDLER) is True else None
        #: What the messages call a row of the body.
        self.noun = str(schema.get(ROW_NOUN, "row"))
        #: For a list schema with one schema for its items: the list's own keywords alone, and
        #: the items' schema, so that a refused list is checked row by row (``_errors``).
        self.rows = _RowChecks.of(converted)
        #: The fields the schema names, of a row (a list's item) or of the body.
        self.fields = frozenset(_properties(converted["items"] if self.rows else converted))
        #: The invalid fields a refusal looks for: as many as it lists, and one more to say
        #: that the list is cut short (whoever describes rows, the model included, stops there:
        #: describing a row costs far more than checking it).
        self.errors_sought = limits.max_listed_errors + 1

    def is_valid(self, body: Any) -> bool:
        return bool(self.validator.is_valid(body))

    def accepted_fields(self, body: Any) -> dict[int, dict[str, Any]]:
        """Of a list body, each row's fields that its schema accepts (each field on its own),
        by the row's place in the list: what a handler checks its rules on, beside the
        schema's errors (none of a body that is not a list, or a schema not of one)."""
        if self.rows is None or not isinstance(body, list):
            return {}
        fields = self.rows.fields
        return {
            row: {
                name: value
                for name, value in item.items()
                if name in fields and fields[name].is_valid(value)
            }
            for row, item in enumerate(body)
            if isinstance(item, dict)
        }

    def refuse_if_invalid(
        self,
        body: Any,
        *,
        depth: Callable[[], int] | None = None,
        also: Iterable[FieldError] | Callable[[], Iterable[FieldError]] = (),
    ) -> None:
        """Refuse ``body`` if the schema does not accept it. ``depth`` tells how deep the body
        nests, when that is cheaper to know from its text than from its value; ``also``, what
        else is known to be wrong in it (see ``refuse``)."""
        if not self.validator.is_valid(body):
            self.refuse(body, depth=depth or (lambda: self._depth_of(body)), also=also)

    def _depth_of(self, body: Any) -> int:
        """How deep ``body`` nests: from its text when it is the current request's body as
        parsed (a walk over the 3.5 million lists of a 10 MiB body took 2.5 s), else walked."""
        request = current_request()
        if request is not None and request.body is not None and request.body[1] is body:
            return text_depth(request.body[0], self.limits.max_json_depth)
        return value_depth(body)

    def refuse(
        self,
        body: Any,
        *,
        depth: Callable[[], int],
        also: Iterable[FieldError] | Callable[[], Iterable[FieldError]] = (),
    ) -> None:
        """Refuse a body the schema does not accept, with every error it finds in it, and
        ``also`` those of its fields the schema did not find wrong (a rule between fields that
        only the model knows, or the store), row by row: found by ``also()`` where it is a
        function, once the body is known not to nest too deep for them to be sought."""
        found_depth, limit = depth(), self.limits.max_json_depth
        if found_depth > limit:  # bounds the work below too: the clipping and the error paths
            raise BodyTooDeepProblem(found_depth, limit)
        if callable(also):
            also = also()
        listed = self.limits.max_listed_errors
        # One field may break several keywords (a long string fails enum too): keep its most
        # telling error, and stop once one more field than can be listed is known to be bad.
        best: dict[tuple[int | None, str | None], tuple[int, FieldError]] = {}
        for rank, found in self._errors(body):
            key = (found.row, found.field)
            if key not in best or rank < best[key][0]:
                best[key] = (rank, found)
            if len(best) > listed:
                break
        errors = [found for _, found in best.values()]
        if errors:  # (the problem orders them by row)
            self.refuse_listed(errors + self._beside(also, best, cut=len(best) > listed))

    def refuse_listed(self, errors: list[FieldError]) -> None:
        """Refuse the body for ``errors``, if any (the schema's, or a check of its text: a key
        given twice, which the parse resolved)."""
        if errors:
            raise self.problem(errors)

    def problem(self, errors: Iterable[FieldError], status: int = 400) -> InvalidHousesProblem:
        """A refusal of this schema's bodies listing ``errors`` (found by the schema, or by
        whoever checks its rows further: the model, the store) within the limits, each row
        called by the spec's name for it."""
        return InvalidHousesProblem(
            errors,
            listed_limit=self.limits.max_listed_errors,
            detail_limit=self.limits.detail_errors,
            status=status,
            noun=self.noun,
        )

    def _beside(
        self,
        also: Iterable[FieldError],
        found: Mapping[tuple[int | None, str | None], object],
        *,
        cut: bool,
    ) -> list[FieldError]:
        """Of ``also``, the errors of fields the schema knows (or of a whole row) that it did
        not find wrong; when its listing was ``cut``, only in the rows before its last, which
        it looked at whole."""
        last = max((row for row, _ in found if row is not None), default=-1)
        return [
            error
            for error in also
            if (error.field is None or error.field in self.fields)
            and (error.row, error.field) not in found
            and not (cut and (error.row is None or error.row >= last))
        ]

    def _errors(self, body: Any) -> Iterator[tuple[int, FieldError]]:
        """The body's invalid fields, each with its error's rank (``_TELLING``), as they are
        found: the caller stops once it has more than it can list.

        jsonschema-rs makes every error of an instance before it gives the first: a list is
        checked by its own keywords first (too many items is the one error then: a 10 MiB list
        of ``{}`` would make seven errors of each of its 3.5 million items), then row by row,
        each row's strings clipped as it comes, so that the work stops with the listing.
        """
        limit, unknown_kept = self.limits.max_string_length, self.errors_sought
        rows = self.rows
        if rows is None or not isinstance(body, list):
            clipped = clip_strings(body, limit, self.schema, unknown_kept=unknown_kept)
            errors = self.validator.iter_errors(clipped)
            yield from (
                (_rank(error), found)
                for error in errors
                for found in field_errors(error, noun=self.noun)
            )
            return
        if rows.too_many(body):  # said before the validator reads the list (see _validate)
            yield len(_TELLING), FieldError(None, None, _too_many(rows.max_items))
            return
        for error in rows.outer.iter_errors(body):  # the list's own keywords but its length
            yield from ((_rank(error), found) for found in field_errors(error, noun=self.noun))
        for row, item in enumerate(body):
            clipped = clip_strings(item, limit, rows.item_schema, unknown_kept=unknown_kept)
            for error in rows.item.iter_errors(clipped):
                for found in field_errors(error, row=row, noun=self.noun):
                    yield _rank(error), found


@dataclass(frozen=True)
class _RowChecks:
    """A list schema's own keywords (its items left out) and its items' schema, apart."""

    outer: jsonschema_rs.Draft7Validator
    item: jsonschema_rs.Draft7Validator
    max_items: int | None
    #: The items' schema (draft 7).
    item_schema: dict[str, Any]

    @cached_property
    def fields(self) -> dict[str, jsonschema_rs.Draft7Validator]:
        """Each field the items' schema declares, checked on its own (made when first asked:
        only the sales' check asks)."""
        properties = self.item_schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        return {name: jsonschema_rs.Draft7Validator(field) for name, field in properties.items()}

    def too_many(self, body: Any) -> bool:
        """Whether ``body`` is a list longer than the schema allows."""
        return self.max_items is not None and isinstance(body, list) and len(body) > self.max_items

    @classmethod
    def of(cls, schema: Any) -> _RowChecks | None:
        """For a draft 7 schema of a list with one schema for every item; else ``None``."""
        if not isinstance(schema, dict) or schema.get("type") != "array":
            return None
        items = schema.get("items")
        if not isinstance(items, dict) or "additionalItems" in schema or "contains" in schema:
            return None
        outer = {key: value for key, value in schema.items() if key != "items"}
        max_items = schema.get("maxItems")
        return cls(
            jsonschema_rs.Draft7Validator(outer),
            jsonschema_rs.Draft7Validator(items),
            max_items if isinstance(max_items, int) else None,
            items,
        )


def _properties(schema: Any) -> Iterable[str]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else ()


def _rank(error: jsonschema_rs.ValidationError) -> int:
    return _TELLING.get(error.kind.name, len(_TELLING))


#: Checks by schema and limits: Connexion makes a body validator per request.
_CHECKS: SchemaCache[BodyCheck] = SchemaCache(BodyCheck)


def _list_shape(schema: dict[str, Any]) -> jsonschema_rs.Draft7Validator | None:
    """A validator of a list schema's own keywords (its items, objects, left to the handler,
    which refuses a row that is no object as the schema words it, beside what else its other
    rows break: a row ``1`` refused here hid the other rows' unknown ids); else ``None``."""
    items = schema.get("items")
    of_objects = isinstance(items, dict) and items.get("type") == "object"
    if schema.get("type") != "array" or not of_objects:
        return None
    return jsonschema_rs.Draft7Validator({**schema, "items": {}})


def _too_many(limit: int | None) -> str:
    return f"has more than the limit of {limit} items"


def _suggestion(sent: str, kind: Any) -> str:
    """``; did you mean "NAmes"?`` for a code sent in another case (``names``), or close to one
    (``NAmse``): an enum's message lists a few of its codes, maybe not that one."""
    codes = [code for code in kind.options if isinstance(code, str)]
    folded = sent.casefold()
    near = [code for code in codes if code.casefold() == folded] or get_close_matches(
        sent, codes, n=1, cutoff=SUGGESTION_CUTOFF
    )
    return f'; did you mean "{near[0]}"?' if near else ""


def _types(types: Sequence[str]) -> str:
    """The types a value should have been, as jsonschema-rs's messages name them."""
    quoted = ", ".join(f'"{name}"' for name in types)
    return f"type {quoted}" if len(types) == 1 else f"types {quoted}"


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else f"{message[:_MAX_MESSAGE]}..."


def field_errors(
    error: jsonschema_rs.ValidationError, *, row: int | None = None, noun: str = "house"
) -> Iterable[FieldError]:
    """The invalid fields behind one schema error, with their row and field: ``row``, for
    an error of one row checked on its own, else the first step of the error's path."""
    path = list(error.instance_path)
    if row is None:
        row = path[0] if path and isinstance(path[0], int) else None
        path = path[1:]
    field = str(path[0]) if path else None
    kind = error.kind
    if isinstance(kind, Kind.Required):
        yield FieldError(row, str(kind.property), "is required")
    elif isinstance(kind, Kind.AdditionalProperties):
        for name in kind.unexpected:
            yield FieldError(row, _short(str(name)), f"is not a known {noun} detail")
    elif isinstance(kind, Kind.MaxLength):
        yield FieldError(row, field, f"is longer than {kind.limit} characters")
    elif isinstance(kind, Kind.MaxItems):
        yield FieldError(row, field, _too_many(kind.limit))
    elif isinstance(kind, Kind.Enum) and isinstance(error.instance, str):
        yield FieldError(row, field, _short(error.message) + _suggestion(error.instance, kind))
    elif isinstance(kind, Kind.Type) and isinstance(error.instance, dict):
        # jsonschema-rs quotes an object with its keys sorted, a cut one's marker ("...")
        # first: not the object as sent, and its members say nothing of its type.
        yield FieldError(row, field, f"an object is not of {_types(kind.types)}")
    else:
        yield FieldError(row, field, _short(error.message))


class AllErrorsJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Validate a JSON body against the operation's schema, reporting every error."""

    def __init__(self, *, limits: BodyLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limits = limits
        self._raw = b""
        #: Opening brackets in the body's text, strings' included: at most its containers.
        self._opening = 0
        self._depth: int | None = None

    @property
    def _check(self) -> BodyCheck:
        return _CHECKS.get(self._schema, self._limits)

    def _raw_depth(self) -> int:
        """How deep the body's text nests (at most one pass over it a body)."""
        if self._depth is None:
            limit = self._limits.max_json_depth
            self._depth = text_depth(self._raw, limit, opening=self._opening)
        return self._depth

    def _refuse_deep(self) -> None:
        depth, limit = self._raw_depth(), self._limits.max_json_depth
        if depth > limit:
            raise BodyTooDeepProblem(depth, limit)

    def _refuse_wide(self, shape: JsonShape) -> None:
        """Refuse a body holding far more than any valid one, before it is parsed: never valid,
        and costly to parse and to list (nesting past the limit said first, as everywhere)."""
        self._depth = shape.depth
        check, slack = self._check, WIDTH_SLACK
        found = [
            (shape.containers, check.containers, "arrays and objects"),
            (shape.members, check.members, "members of objects"),
            # Each comma separates two values: one fewer than the values, per container.
            (shape.commas, check.values, "values in arrays and objects"),
        ]
        for count, bound, what in found:
            if count > bound + slack:
                self._refuse_deep()
                raise BodyTooWideProblem(count, bound, what)

    def _refuse_empty(self) -> NoReturn:
        raise EmptyBodyProblem(self._schema.get(ROW_NOUN))

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        """Connexion's (the body parsed by ``_parse``, then checked by ``_validate``), but a
        body the operation requires refused in the service's words when it is empty: Connexion
        checks a Content-Length of 0 first, before either, and said "RequestBody is required".
        (A chunked body reaches here with its length declared: api/body_limit.py.)"""
        if self._required and self._schema.get("default") is None:
            declared = Headers(scope=scope).get("content-length", "0")
            if declared.isdigit() and not int(declared):
                self._refuse_empty()
        received: tuple[Receive, Scope] = await super().wrap_receive(receive, scope=scope)
        return received

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        self._raw = raw
        brackets, braces, colons, commas = byte_counts(raw, b"[", b"{", b":", b",")
        self._opening = brackets + braces
        check = self._check
        if check.nesting > self._limits.max_json_depth:
            self._refuse_deep()  # the schema does not bound it: check every body, first
        if (
            self._opening > check.containers + WIDTH_SLACK
            or colons > check.members + WIDTH_SLACK
            or commas > check.values + WIDTH_SLACK
        ):
            self._refuse_wide(json_shape(raw))  # outside strings: the pass over every byte
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
        if may_repeat_keys(body, colons=colons, opening=self._opening):
            self._refuse_deep()  # said first, as everywhere; and the second parse recurses
            check.refuse_listed(repeated_keys(raw))
        request = current_request()
        if request is not None:  # the handler takes this parse (api.controller.validated_body)
            request.body = (raw, body)
        return body

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            if not self._raw:  # (a body of JSON's null is not empty: the schema says why)
                self._refuse_empty()
            self._check.refuse(body, depth=self._raw_depth)
        check = self._check
        if check.rows is not None and check.rows.too_many(body):
            # Before the validator reads it: jsonschema-rs copies a list whole into its own
            # values first (a 10 MiB list of 3.5 million ``{}``: 500 MB more, for a second).
            check.refuse(body, depth=self._raw_depth)
        if check.shape is not None and check.shape.is_valid(body):
            return  # its items are its handler's to check (the model's, the service's: see above)
        if not check.is_valid(body):  # it nests no deeper than the schema allows, if valid
            check.refuse(body, depth=self._raw_depth)
