"""Query (and path, header) parameters checked by Connexion, refused naming the parameter.

Connexion's ``ParameterValidator`` answered a bad parameter with jsonschema's whole report:
``'abc' is not of type 'integer'``, then "Failed validating 'type' in schema", the schema and
the instance, and no name, so a client could not tell ``predictions`` from ``sales``. Here the
message is one line that names the parameter (``query parameter predictions: "abc" is not of
type "integer"``, quoted as the bodies' messages quote values), with a long value cut short.

Two things Connexion lets through are refused too: a query parameter given more than once
(``?explain=false&explain=true``: one of the two would be taken silently), and an integer written
as Python reads one but JSON does not (``+10``, ``1_000``, `` 10``, ``010``, Arabic-Indic
digits). The names of parameters the spec does not declare, which Connexion's 400 lists, are
cut short as values are (a 15,000-character name came back whole), and said beside the ones the
operation takes. Everything else is Connexion's.

Each refusal is raised here as a problem that knows the parameter (``ParameterProblem``,
``UnknownParametersProblem``), not returned as a message for Connexion to raise as a
``BadRequestProblem``: the refusal's log line then names the parameter the spec declares
(``400 Bad Request, query parameter predictions``) and never its value, as a body's names its
fields; Connexion's problem carried the name only inside the detail, beside the value, and the
log said ``400 Bad Request`` alone. Unknown parameters are counted, not named: their names are
the client's.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema_rs
from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from starlette.datastructures import QueryParams

from api.problems import ParameterProblem, UnknownParametersProblem, quoted
from api.schema_cache import SchemaCache

#: A message quotes the value; a long one must not come back whole.
_MAX_MESSAGE = 200
#: Characters of a value, or of an unknown parameter's name, that a refusal quotes (of up to
#: 50 names).
_MAX_QUOTED = 64

#: An integer as JSON writes one (ASCII digits, no leading zero, a minus sign if negative).
_JSON_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


class NamedParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validator, its messages naming the parameter."""

    def validate_query_parameter(self, param: dict[str, Any], request: Any) -> None:
        """Connexion's check of one query parameter, after the two of the module's docstring
        on the values as sent; raises ``ParameterProblem``."""
        query = request.scope.get("query_string", b"")
        if query:
            sent = QueryParams(query).getlist(param["name"])
            kind = param.get("schema", param).get("type")
            if len(sent) > 1 and kind != "array":
                raise _refused("query", param, f"given {len(sent)} times; give it once")
            if sent and kind == "integer" and not _JSON_INTEGER.fullmatch(sent[0]):
                raise _refused("query", param, f'{_shown(sent[0])} is not of type "integer"')
        super().validate_query_parameter(param, request)

    def validate_query_parameter_list(self, request: Any, security_params: Any = None) -> set[str]:
        """Connexion's check for query parameters the spec does not declare; raises
        ``UnknownParametersProblem`` naming them (each cut short) to the client, beside the ones
        the operation takes."""
        extra: set[str] = super().validate_query_parameter_list(request, security_params)
        if extra:
            raise UnknownParametersProblem(
                {_clipped(name, _MAX_QUOTED) for name in extra},
                declared=[
                    *(param["name"] for param in self.parameters.get("query", [])),
                    *(security_params or ()),
                ],
            )
        return extra

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: str | None = None
    ) -> None:
        """Connexion's check of a parameter's value (or its absence), raising
        ``ParameterProblem`` with a message of one line instead of returning jsonschema's
        report. Called by each of Connexion's ``validate_*_parameter``, for every location."""
        if value is None or (is_nullable(param) and is_null(value)):  # missing, or null
            found: str | None = ParameterValidator.validate_parameter(
                parameter_type, value, param, param_name
            )
            if found:
                raise ParameterProblem(found, location=parameter_type, name=param["name"])
            return
        schema = param.get("schema", param)
        check = _VALIDATORS.get(schema)  # outside the try: a spec's fault is no client's
        try:
            check.validate(value)
        except jsonschema_rs.ValidationError as error:
            raise _refused(parameter_type, param, _message(error.message, value)) from None


#: Each parameter's check: jsonschema-rs, as the bodies', so that the messages of both quote
#: values alike (``"yes" is not of type "boolean"``), as JSON writes them.
_VALIDATORS: SchemaCache[jsonschema_rs.Draft4Validator] = SchemaCache(
    functools.partial(jsonschema_rs.Draft4Validator, validate_formats=True)
)


def _written(value: Any) -> str:
    """A value as JSON writes it, as the validator's messages quote it (a text ``quoted``)."""
    return quoted(value) if isinstance(value, str) else json.dumps(value, default=str)


def _shown(value: Any) -> str:
    """``_written``, a long value cut short (marked ``...``)."""
    if isinstance(value, str):
        return quoted(_clipped(value, _MAX_QUOTED))
    return _clipped(_written(value), _MAX_QUOTED)


def _message(message: str, value: Any) -> str:
    """The validator's ``message`` about ``value``, the value in it cut short and the reason
    kept (400 nines: their first 64, ``...``, then ``is greater than the maximum of 20000``;
    the message cut as a whole lost the reason); cut as a whole only as a last resort."""
    whole = _written(value)
    if message.startswith(whole):
        message = _shown(value) + message[len(whole) :]
    return _clipped(message)


def _refused(parameter_type: str, param: dict[str, Any], message: str) -> ParameterProblem:
    """The refusal of ``param``: its message as one line that names it."""
    return ParameterProblem(
        f"{parameter_type} parameter {param['name']}: {message}",
        location=parameter_type,
        name=param["name"],
    )


def _clipped(text: str, limit: int = _MAX_MESSAGE) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."
