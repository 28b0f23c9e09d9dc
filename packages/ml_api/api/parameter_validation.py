"""Query (and path, header) parameters checked by Connexion, refused naming the parameter.

Connexion's ``ParameterValidator`` answered a bad parameter with jsonschema's whole report:
``'abc' is not of type 'integer'``, then "Failed validating 'type' in schema", the schema and
the instance, and no name, so a client could not tell ``predictions`` from ``sales``. Here the
message is one line that names the parameter (``query parameter predictions: 'abc' is not of
type 'integer'``), with a long value cut short.

Two things Connexion lets through are refused too: a query parameter given more than once
(``?explain=false&explain=true``: one of the two would be taken silently), and an integer written
as Python reads one but JSON does not (``+10``, ``1_000``, `` 10``, ``010``, Arabic-Indic
digits). The names of parameters the spec does not declare, which Connexion's 400 lists, are
cut short as values are (a 15,000-character name came back whole). Everything else is
Connexion's.
"""

from __future__ import annotations

import re
from typing import Any

from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.datastructures import QueryParams

#: A message quotes the value; a long one must not come back whole.
_MAX_MESSAGE = 200
#: Characters of an unknown parameter's name that a refusal quotes (up to 50 of them).
_MAX_NAME = 64

#: An integer as JSON writes one (ASCII digits, no leading zero, a minus sign if negative).
_JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


class NamedParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validator, its messages naming the parameter."""

    def validate_query_parameter(self, param: dict[str, Any], request: Any) -> str | None:
        """Connexion's check of one query parameter, after the two of the module's docstring
        on the values as sent."""
        query = request.scope.get("query_string", b"")
        if query:
            sent = QueryParams(query).getlist(param["name"])
            kind = param.get("schema", param).get("type")
            if len(sent) > 1 and kind != "array":
                return f"query parameter {param['name']}: given {len(sent)} times; give it once"
            if sent and kind == "integer" and not _JSON_INTEGER.fullmatch(sent[0]):
                return _named("query", param, f"{_clipped(sent[0])!r} is not of type 'integer'")
        found: str | None = super().validate_query_parameter(param, request)
        return found

    @staticmethod
    def validate_parameter_list(request_params: Any, spec_params: Any) -> set[str]:
        """The names sent that the spec does not declare (Connexion's), each cut short."""
        extra = set(request_params).difference(spec_params)
        return {_clipped(name, _MAX_NAME) for name in extra}

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> str | None:
        if value is None or (is_nullable(param) and is_null(value)):  # missing, or null
            found: str | None = ParameterValidator.validate_parameter(
                parameter_type, value, param, param_name
            )
            return found
        schema = param.get("schema", param)
        try:
            Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).validate(value)
        except ValidationError as error:
            return _named(parameter_type, param, _clipped(error.message))
        return None


def _named(parameter_type: str, param: dict[str, Any], message: str) -> str:
    return f"{parameter_type} parameter {param['name']}: {message}"


def _clipped(text: str, limit: int = _MAX_MESSAGE) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
