"""A JSON body validator for Connexion that reports every schema error, not only the first.

Connexion's own validator stops at the first jsonschema error, builds a new jsonschema validator
on every request, turns invalid UTF-8 into a 500, and accepts ``NaN`` and ``Infinity``, which are
not JSON. This one lists every error with the row and field it concerns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from typing import Any, NoReturn

from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator
from jsonschema import Draft4Validator, Draft6Validator, ValidationError, validators
from starlette.types import Scope

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

#: Compiled validators by schema: Connexion makes a body validator per request.
_COMPILED: dict[int, tuple[dict[str, Any], Draft4Validator]] = {}


def _compiled(schema: dict[str, Any]) -> Draft4Validator:
    cached = _COMPILED.get(id(schema))
    if cached is None or cached[0] is not schema:
        validator = RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        cached = _COMPILED[id(schema)] = (schema, validator)
    return cached[1]


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


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
                yield FieldError(row, name, "is not a known house detail")
    else:
        yield FieldError(row, field, error.message)


class AllErrorsJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """Validate a JSON body against the operation's schema, reporting every error."""

    detail_limit = 10

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
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except ValueError as error:
            raise BadRequestProblem(detail=f"Request body is not valid JSON: {error}") from error

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            raise BadRequestProblem(detail="Request body must not be empty")
        errors = [
            found for error in self._validator.iter_errors(body) for found in field_errors(error)
        ]
        if errors:
            raise InvalidHousesProblem(errors, detail_limit=self.detail_limit)
