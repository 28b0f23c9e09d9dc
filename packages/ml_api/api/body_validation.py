"""A JSON body validator for Connexion that enforces the request limits and reports every error.

Connexion's own validator stops at the first jsonschema error, builds a new jsonschema validator
on every request, turns invalid UTF-8 into a 500, and accepts ``NaN`` and ``Infinity``, which are
not JSON. This one lists every error (up to a limit) with the row and field it concerns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any, NoReturn

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator
from jsonschema import Draft4Validator, Draft6Validator, ValidationError, validators
from starlette.types import Scope

from api.json_depth import json_depth
from api.problems import FieldError, InvalidHousesProblem

#: Draft 4 as Connexion extends it, but ``2.0`` counts as an integer (as from Draft 6 on, and as
#: in the model package): clients serialising a pandas column with gaps send whole floats.
RequestValidator = validators.extend(
    Draft4RequestValidator,
    type_checker=Draft4RequestValidator.TYPE_CHECKER.redefine(
        "integer",
        lambda _checker, instance: Draft6Validator.TYPE_CHECKER.is_type(instance, "integer"),
    ),
)

#: A message quotes the bad value; a huge value must not come back whole.
_MAX_MESSAGE = 300

#: Compiled validators by schema: Connexion makes a body validator per request.
_COMPILED: dict[int, tuple[dict[str, Any], Draft4Validator]] = {}


@dataclass(frozen=True)
class BodyLimits:
    max_json_depth: int
    max_listed_errors: int
    detail_errors: int


def _compiled(schema: dict[str, Any]) -> Draft4Validator:
    cached = _COMPILED.get(id(schema))
    if cached is None or cached[0] is not schema:
        validator = RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        cached = _COMPILED[id(schema)] = (schema, validator)
    return cached[1]


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else f"{message[:_MAX_MESSAGE]}..."


def field_errors(error: ValidationError) -> Iterable[FieldError]:
    """The invalid fields behind one jsonschema error, with their row and field."""
    path = list(error.absolute_path)
    row = path[0] if path and isinstance(path[0], int) else None
    field = str(path[1]) if len(path) > 1 else None
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        for name in error.validator_value:
            if name not in instance:
                yield FieldError(row, name, "is required")
    elif error.validator == "additionalProperties" and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        for name in instance:
            if name not in known:
                yield FieldError(row, _short(name), "is not a known house detail")
    elif error.validator == "maxLength":
        yield FieldError(row, field, f"is longer than {error.validator_value} characters")
    elif error.validator == "maxItems":
        yield FieldError(row, field, f"has more than the limit of {error.validator_value} items")
    else:
        yield FieldError(row, field, _short(error.message))


class AllErrorsJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Validate a JSON body against the operation's schema, reporting every error."""

    def __init__(self, *, limits: BodyLimits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._limits = limits

    @property
    def _validator(self) -> Draft4Validator:
        return _compiled(self._schema)

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw:
            return None
        try:
            text = raw.decode(self._encoding)
        except UnicodeDecodeError as error:
            raise BadRequestProblem(
                detail=f"Request body is not valid {self._encoding}: {error}"
            ) from error
        depth = json_depth(raw)
        if depth > self._limits.max_json_depth:
            raise BadRequestProblem(
                detail=f"Request body nests {depth} deep, past the limit of "
                f"{self._limits.max_json_depth}."
            )
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as error:
            raise BadRequestProblem(detail=f"Request body is not valid JSON: {error}") from error

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            raise BadRequestProblem(detail="Request body must not be empty")
        limit = self._limits.max_listed_errors
        found = (
            item for error in self._validator.iter_errors(body) for item in field_errors(error)
        )
        errors = list(islice(found, limit + 1))
        if errors:
            raise InvalidHousesProblem(
                errors, listed_limit=limit, detail_limit=self._limits.detail_errors
            )
