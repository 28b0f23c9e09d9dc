"""The OpenAPI document a server serves: ``spec/api.yaml`` with this server's request limits.

The file on disk is plain OpenAPI 3.0 (tools can read it), written with the default settings'
limits; ``with_limits`` puts a server's own limits in the places the schema keeps them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from api.config import MIN_MONITORING_WINDOW, Settings

SPEC_PATH = Path(__file__).parent / "spec" / "api.yaml"
#: The keys of a path item that name an operation (OpenAPI 3.0); its others (``parameters``,
#: shared by its operations, ``summary``...) do not.
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def request_limits(config: Settings) -> dict[str, int]:
    """The limits a client must keep to, as ``GET /v1/model`` reports them."""
    return {
        "max_body_bytes": config.max_body_bytes,
        "max_rows": config.max_rows,
        "max_explained_rows": config.max_explained_rows,
        "max_string_length": config.max_string_length,
        "max_json_depth": config.max_json_depth,
        "max_monitoring_predictions": config.max_monitoring_predictions,
        "max_monitoring_sales": config.max_monitoring_sales,
    }


def with_limits(spec: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """A copy of ``spec`` whose schema keywords carry ``limits``: the houses (and sales) a
    request may hold (``maxItems``), the characters of any text detail (``maxLength``), the
    smallest and largest monitoring windows (``minimum``: ``MIN_MONITORING_WINDOW``;
    ``maximum``), and ``GET /v1/model``'s examples of them."""
    served = copy.deepcopy(spec)
    schemas = served["components"]["schemas"]
    if "ModelCard" in schemas:  # (``make spec`` writes the file's head's limits with this too)
        for name, prop in schemas["ModelCard"]["properties"]["limits"]["properties"].items():
            prop["example"] = limits[name]
    for name in ("PredictionRequest", "SalesRequest"):
        if name in schemas:  # (``make spec`` writes the first alone)
            schemas[name]["maxItems"] = limits["max_rows"]
    monitoring = served.get("paths", {}).get("/v1/monitoring", {}).get("get", {})
    for parameter in monitoring.get("parameters", []):
        parameter["schema"]["minimum"] = MIN_MONITORING_WINDOW
        parameter["schema"]["maximum"] = limits[f"max_monitoring_{parameter['name']}"]
    for prop in schemas["HouseDetails"]["properties"].values():
        if prop["type"] == "string":
            prop["maxLength"] = limits["max_string_length"]
    return served


@cache
def _declared_spec() -> dict[str, Any]:
    """``spec/api.yaml`` as written, parsed once a process (about 190 ms): never changed, as
    ``with_limits`` serves a copy of it."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


def read_spec(config: Settings) -> dict[str, Any]:
    """The OpenAPI document as served with ``config``."""
    return with_limits(_declared_spec(), request_limits(config))


def request_examples(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The prediction request examples that Swagger UI offers, by name (the first is the one
    "Try it out" starts with)."""
    operation = spec["paths"]["/v1/predictions"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    return {name: example["value"] for name, example in examples.items()}


def example_houses(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every house of the spec's request examples: what a worker prices before it serves."""
    return [house for houses in request_examples(spec).values() for house in houses]


def request_schema(spec: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema of ``POST path``'s JSON body, its references resolved (as Connexion resolves
    them for its validator)."""
    operation = spec["paths"][path]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _resolved(schema, spec)  # type: ignore[no-any-return]


def prediction_request_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """The schema of ``POST /v1/predictions``' body (``request_schema``)."""
    return request_schema(spec, "/v1/predictions")


@cache
def request_field_names() -> frozenset[str]:
    """Every field name a request body (or each item of a list body) declares, in any
    operation of ``spec/api.yaml``: the houses' details and the sales' fields."""
    spec = _declared_spec()
    names: set[str] = set()
    for _, _, operation in operations(spec):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            schema = _resolved(body["schema"], spec)
            names.update(schema.get("items", schema).get("properties", {}))
    return frozenset(names)


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each operation of ``spec``: its path, its method (lower case, as the spec writes it) and
    the operation, the other keys of its path item (its shared ``parameters``) left out."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def _resolved(node: Any, spec: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolved(item, spec) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # local references only: '#/components/schemas/Name'
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolved(target, spec)
    return {key: _resolved(value, spec) for key, value in node.items()}
