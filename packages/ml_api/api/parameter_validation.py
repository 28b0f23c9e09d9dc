"""Query (and path, header) parameters checked by Connexion, refused naming the parameter.

Connexion's ``ParameterValidator`` answered a bad parameter with jsonschema's whole report:
``'abc' is not of type 'integer'``, then "Failed validating 'type' in schema", the schema and
the instance, and no name, so a client could not tell ``predictions`` from ``sales``. Here the
message is one line that names the parameter (``query parameter predictions: 'abc' is not of
type 'integer'``), with a long value cut short. Everything else is Connexion's.
"""

from __future__ import annotations

from typing import Any

from connexion.utils import is_null, is_nullable
from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, ValidationError

#: A message quotes the value; a long one must not come back whole.
_MAX_MESSAGE = 200


class NamedParameterValidator(ParameterValidator):  # type: ignore[misc]
    """Connexion's parameter validator, its messages naming the parameter."""

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
            message = error.message
            if len(message) > _MAX_MESSAGE:
                message = f"{message[:_MAX_MESSAGE]}..."
            return f"{parameter_type} parameter {param['name']}: {message}"
        return None
