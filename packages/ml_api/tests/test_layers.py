"""How a request goes down: HTTP handlers, the prediction service, the model package's public
surface; and which bodies are checked where."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import gradient_boosting_model
import jsonschema_rs
import pytest
from connexion.utils import inspect_function_arguments

from api import config
from api.body_validation import CHECKED_BY_HANDLER, BodyCheck, BodyLimits
from api.controller import Handlers
from api.problems import InvalidHousesProblem
from api.spec_document import operations, prediction_request_schema, read_spec

API = Path(__file__).parent.parent / "api"
SPEC = read_spec(config.Settings(environment="testing"))
LIMITS = BodyLimits(max_json_depth=8, max_listed_errors=10, detail_errors=3, max_string_length=64)
OBJECTS = {"type": "array", "items": {"type": "object", "required": ["a"]}, "maxItems": 3}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("module", sorted(API.glob("*.py")), ids=lambda path: path.name)
def test_the_api_uses_only_the_model_packages_public_surface(module: Path) -> None:
    deeper = {name for name in _imports(module) if name.startswith("gradient_boosting_model.")}
    assert not deeper, f"{module.name} imports {sorted(deeper)}: use the package's top level"


def test_what_the_api_takes_from_the_model_package_is_public() -> None:
    taken = {
        alias.name
        for module in API.glob("*.py")
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "gradient_boosting_model"
        for alias in node.names
    }
    assert taken and taken <= set(gradient_boosting_model.__all__)


def test_a_list_of_objects_is_checked_whole_unless_the_spec_says_who_checks_its_items() -> None:
    """A new endpoint taking a list cannot skip the spec's item rules by forgetting a call."""
    whole = BodyCheck(OBJECTS, LIMITS)
    assert whole.shape is None
    assert not whole.is_valid([{"b": 1}])
    marked = BodyCheck({**OBJECTS, CHECKED_BY_HANDLER: True}, LIMITS)
    assert marked.shape is not None and marked.shape.is_valid([{"b": 1}])
    assert not marked.is_valid([{"b": 1}])  # the service's own check still knows the items


def _bodies_checked_by_their_handlers() -> set[str]:
    marked: set[str] = set()
    for path, method, operation in operations(SPEC):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        schema = body and body["schema"]
        if schema and "$ref" in schema:
            schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        if schema and schema.get(CHECKED_BY_HANDLER):
            marked.add(f"{method} {path} -> {operation['operationId']}")
    return marked


def test_only_the_services_that_check_their_rows_are_trusted_to() -> None:
    """Each operation whose rows the validator leaves to its handler must be one whose handler
    checks them with the spec: ``PredictionService.predict`` (when the model refuses a house)
    and ``record_sales`` (``sale_check``, every batch). Marking another body means giving its
    handler that check too."""
    assert _bodies_checked_by_their_handlers() == {
        "post /v1/predictions -> predict",
        "post /v1/sales -> record_sales",
    }
    assert prediction_request_schema(SPEC)[CHECKED_BY_HANDLER] is True


def test_every_operation_resolves_to_a_handler_and_nothing_else_does() -> None:
    handlers = Handlers(service=None)  # type: ignore[arg-type]
    for _, _, operation in operations(SPEC):
        controller = operation["x-openapi-router-controller"]
        assert callable(handlers.resolve(f"{controller}.{operation['operationId']}"))
    for name in ("api.controller.resolve", "api.controller.service", "os.system", "predict"):
        with pytest.raises(ImportError):
            handlers.resolve(name)


def test_a_handler_carries_its_signature_computed_once() -> None:
    """Connexion reads a handler's signature on every request: the resolved handler states
    it (a bound method's is computed anew each time, 29 us against 5), and it is the method's,
    so Connexion passes the same arguments."""
    service = SimpleNamespace(model_version="1.2.3", api_version="4.5.6")
    handlers = Handlers(service=service)  # type: ignore[arg-type]
    handler = handlers.resolve("api.controller.predict")
    assert inspect.signature(handler) is inspect.signature(handler)
    assert inspect_function_arguments(handler) == (["explain"], False)
    assert handlers.resolve("api.controller.health")() == handlers.health()


def test_no_handler_has_flask_read_its_body_again() -> None:
    """An operation's JSON body reaches its handler as the validator parsed it
    (``validated_body``): a handler taking a ``body`` argument would have Connexion make Flask
    read the body again (2.3 MB for 1459 houses: 3 ms of a 45 ms request), to parse it again."""
    service = SimpleNamespace(model_version="1.2.3", api_version="4.5.6")
    handlers = Handlers(service=service)  # type: ignore[arg-type]
    with_bodies = [
        operation
        for _, _, operation in operations(read_spec(config.Settings()))
        if "requestBody" in operation
    ]
    assert {operation["operationId"] for operation in with_bodies} >= {"predict", "record_sales"}
    for operation in with_bodies:
        controller, name = operation["x-openapi-router-controller"], operation["operationId"]
        handler = handlers.resolve(f"{controller}.{name}")
        arguments, has_kwargs = inspect_function_arguments(handler)
        assert "body" not in arguments and not has_kwargs, operation["operationId"]


def _refused_errors(check: BodyCheck, body: object) -> list[dict[str, object]]:
    with pytest.raises(InvalidHousesProblem) as refused:
        check.refuse(body, depth=lambda: 1)
    errors: list[dict[str, object]] = refused.value.ext["errors"]
    return errors


def test_a_list_past_its_item_limit_is_refused_for_that_alone() -> None:
    """Its items are not checked: a 10 MiB list of ``{}`` took a worker past 8 GB, its
    validator making seven errors for each of 3.5 million items before the first was read."""
    check = BodyCheck(OBJECTS, LIMITS)
    assert _refused_errors(check, [{}] * 5) == [
        {"row": None, "field": None, "message": "has more than the limit of 3 items"}
    ]


@dataclass
class _CountingValidator:
    """A validator that counts the instances it was asked for the errors of."""

    validator: jsonschema_rs.Draft7Validator
    instances: int = 0

    def iter_errors(self, instance: object) -> Iterator[jsonschema_rs.ValidationError]:
        self.instances += 1
        return iter(self.validator.iter_errors(instance))


def test_rows_are_checked_only_until_the_listing_is_full() -> None:
    many = {**OBJECTS, "maxItems": 5000}
    check = BodyCheck(many, LIMITS)
    assert check.rows is not None
    counting = _CountingValidator(check.rows.item)
    object.__setattr__(check.rows, "item", counting)
    errors = _refused_errors(check, [{"b": 1}] * 4000)
    listed = LIMITS.max_listed_errors
    assert errors == [{"row": row, "field": "a", "message": "is required"} for row in range(listed)]
    # one more than can be listed is found, to say that the list is cut short: then it stops
    assert counting.instances == listed + 1


def test_rows_checked_apart_give_the_errors_of_the_list_checked_whole() -> None:
    schema = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "s": {"type": "string", "maxLength": 3}},
            "required": ["a"],
            "additionalProperties": False,
        },
    }
    check = BodyCheck(schema, LIMITS)
    body = [{"a": 1}, {"a": "x", "s": "long"}, {"s": "ok"}, {"a": 2, "z": 0}, "not an object"]
    by_rows = _refused_errors(check, body)
    object.__setattr__(check, "rows", None)  # the whole list at once, as before
    assert _refused_errors(check, body) == by_rows
    assert [error["row"] for error in by_rows] == [1, 1, 2, 3, 4]
    # The list's own keywords broken too (but its length, said alone): every error still.
    at_least = BodyCheck({**schema, "minItems": 9, "uniqueItems": True}, LIMITS)
    body = [{"a": "x"}, {"a": "x"}]
    by_rows = _refused_errors(at_least, body)
    object.__setattr__(at_least, "rows", None)
    assert _refused_errors(at_least, body) == by_rows
    # (one error a field: the list's two keywords are one, its most telling)
    assert [(error["row"], error["field"]) for error in by_rows] == [
        (None, None),
        (0, "a"),
        (1, "a"),
    ]
