"""The end of ``api/spec/api.yaml``, generated: ``PredictionRequest``, ``HouseDetails`` and
``HoldoutSplit``.

The model package's schema (``gradient_boosting_model.schemas``) is the one declaration of the
house fields: their types, ranges, codes, descriptions and house rules. This module turns it into
OpenAPI, with an example of each field read from test.csv (its first known value), and writes it
below the marker line of ``api.yaml``. The model card's ``holdout_split`` (``HoldoutSplit``) is
made the same way from the record the model keeps (``holdout_identity.HoldoutIdentity``: its
fields, their types and descriptions), with the holdout the config splits off as its example.
``make spec`` runs it; ``tests/test_spec.py`` fails when the file differs from what it makes.
The request limits come from the settings' defaults here, in the hand-written part above the
marker too (each value edited in place, wherever ``api.spec_document.with_limits`` puts a
limit: the sales a request may hold, the monitoring windows, ``GET /v1/model``'s examples); a
server serves its own.

    python -m tools.house_spec [--check]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from gradient_boosting_model import ModelError
from gradient_boosting_model.area_parts import LIVING_AREA
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import read_dataset, split_holdout
from gradient_boosting_model.fields import JsonNumber, WholeNumber
from gradient_boosting_model.holdout_identity import HoldoutIdentity, holdout_identity
from gradient_boosting_model.schemas import (
    HOUSE_FIELDS,
    HOUSE_RULES,
    ID_FIELD,
    ID_SCHEMA_FIELD,
    NONE_WHEN_LEFT_OUT,
    NONE_WHEN_ZERO,
    THERE_WHEN_GIVEN,
    ZERO_WHEN_NONE,
    HouseRule,
)
from marshmallow import fields, validate

from api.body_validation import CHECKED_BY_HANDLER, ROW_NOUN
from api.config import Settings
from api.spec_document import SPEC_PATH, request_limits, with_limits

MARKER = (
    "    # Below: made by `make spec` (tools/house_spec.py) from the model's schema. Do not edit.\n"
)

HOUSE_INTRO = (
    "Details of one house, by the Ames data's column names (data_description.txt). Only the"
    " required fields must be given; any other may be null or left out, and is then taken as"
    " a typical house's, but for a feature a house may lack (a basement's grades, a garage's,"
    " a pool's), where null means the house has none, as in the Ames records; left out, such"
    " a grade is typical unless its feature's size is 0 (given as 0, or not given beside the"
    " feature's kind given as null), an alley, a fence or a shed left out is none, and floors"
    " left out are what the living area leaves (each field's description says which)."
)

HOLDOUT_SPLIT_INTRO = (
    "Which houses holdout_metrics are of: the split's settings, how many houses, and SHA-256"
    " digests of their sorted Ids and of their rows. The release's diff-test and replay refuse"
    " to compare models on another holdout. Null for a model trained before it was recorded."
)
#: The OpenAPI type of each Python type a record's field has.
OPENAPI_TYPES = {str: "string", int: "integer", float: "number"}


def _number(value: Any) -> Any:
    """A whole float as an int, so that the YAML reads 80, not 80.0."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _type(field: fields.Field[Any]) -> str:
    if isinstance(field, WholeNumber):
        return "integer"
    if isinstance(field, JsonNumber):
        return "number"
    return "string"


def _description(name: str, field: fields.Field[Any]) -> str:
    text = str(field.metadata["description"]).rstrip(".") + "."
    if field.required or name == ID_FIELD:
        return text
    if name in NONE_WHEN_LEFT_OUT:
        return f"{text} Null or left out means the house has none."
    size = next((size for size, of in NONE_WHEN_ZERO.items() if name in of), None)
    if field.metadata.get("absent_means_none"):
        kind = ZERO_WHEN_NONE.get(size or "")
        unless = (
            ""
            if size is None
            else f", unless {size} is given as 0 (then none)"
            if kind is None or kind == name
            else f", unless {size} is 0 (given as 0, or not given beside {kind} given as null:"
            " then none)"
        )
        return f"{text} Null means the house has none; left out, a typical one is assumed{unless}."
    if name in LIVING_AREA.shared:
        return (
            f"{text} Null or left out: what {LIVING_AREA.whole} leaves beside the other parts"
            " given (neither floor given: a one-storey house)."
        )
    if size is not None:
        kind = ZERO_WHEN_NONE[size]
        return (
            f"{text} Null or left out: 0 if {size} is 0 (given as 0, or not given beside"
            f" {kind} given as null), else a typical value."
        )
    if name in ZERO_WHEN_NONE:
        aside = "".join(
            f" ({field} aside: given, the house is warned of)"
            for field in THERE_WHEN_GIVEN.get(name, ())
        )
        return (
            f"{text} Null or left out if unknown (a typical value is assumed); beside"
            f" {ZERO_WHEN_NONE[name]} given as null (the house has none), 0, unless another"
            f" detail of it is given{aside}."
        )
    evidence_of = next((size for size, of in THERE_WHEN_GIVEN.items() if name in of), None)
    if evidence_of is not None:
        return (
            f"{text} Null or left out if unknown (a typical value is assumed); given beside"
            f" {evidence_of} 0 or {ZERO_WHEN_NONE[evidence_of]} null, the house is warned of"
            " (its record says both that it has one and that it has none)."
        )
    return f"{text} Null or left out if unknown (a typical value is assumed)."


def field_property(name: str, field: fields.Field[Any], example: Any) -> dict[str, Any]:
    """One house field as an OpenAPI 3.0 property: type, description, range or codes, example."""
    prop: dict[str, Any] = {"type": _type(field), "description": _description(name, field)}
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            prop["minimum"] = _number(validator.min)
            prop["maximum"] = _number(validator.max)
        if isinstance(validator, validate.OneOf):
            # OpenAPI 3.0.3: a nullable enum lists null among its values.
            prop["enum"] = [*validator.choices, *([] if field.required else [None])]
    if not field.required:
        prop["nullable"] = True
    prop["example"] = _number(example)
    return prop


def rule_statement(rule: HouseRule) -> str:
    slack = f" + {rule.slack:g}" if rule.slack else ""
    return f"{rule.field} at most {rule.at_most}{slack}"


def house_details_schema(examples: dict[str, Any]) -> dict[str, Any]:
    """``HouseDetails``: every field of the model's schema, then ``Id``, with the house rules.

    Raises
    ------
    ValueError
        If ``examples`` (test.csv's) lack a field: a field added to ``schemas.py`` alone (a
        contributor's trial) stopped ``make spec`` on a bare ``KeyError``.
    """
    if lacking := [name for name in HOUSE_FIELDS if name not in examples]:
        raise ValueError(
            f"test.csv gives no value of {', '.join(lacking)}, whose example in the spec is "
            "its first value there: add the field's values to the model package's datasets"
        )
    rules = "; ".join(rule_statement(rule) for rule in HOUSE_RULES)
    return {
        "type": "object",
        "description": (
            f"{HOUSE_INTRO} Beyond each field's type, range and codes, a house must be consistent"
            f" where both details are known, or it is refused with 422 (named beside the errors"
            f" of a 400 too): {rules}."
        ),
        "required": [name for name, field in HOUSE_FIELDS.items() if field.required],
        "additionalProperties": False,
        "properties": {
            ID_FIELD: field_property(ID_FIELD, ID_SCHEMA_FIELD, examples[ID_FIELD]),
            **{
                name: field_property(name, field, examples[name])
                for name, field in HOUSE_FIELDS.items()
            },
        },
    }


def holdout_split_schema(example: HoldoutIdentity) -> dict[str, Any]:
    """``HoldoutSplit``: the model card's ``holdout_split``, each field of ``HoldoutIdentity``
    with its type and description (and pattern), ``example``'s value as its example."""
    types = typing.get_type_hints(HoldoutIdentity)
    properties = {
        field.name: {
            "type": OPENAPI_TYPES[types[field.name]],
            **field.metadata,
            "example": _number(getattr(example, field.name)),
        }
        for field in dataclasses.fields(HoldoutIdentity)
    }
    return {
        "type": "object",
        "nullable": True,
        "description": HOLDOUT_SPLIT_INTRO,
        "required": list(properties),
        "additionalProperties": False,
        "properties": properties,
    }


def first_known_values() -> dict[str, Any]:
    """Each field's first known (not null) value in the model package's test.csv."""
    examples: dict[str, Any] = {}
    for row in read_dataset("test.csv"):
        for name, value in row.items():
            if value is not None and name not in examples:
                examples[name] = value
    return examples


def generated_schemas() -> dict[str, Any]:
    """The schemas, with the default settings' limits, as they are written to the file."""
    config = load_config()
    schemas = {
        "PredictionRequest": {
            "type": "array",
            "description": "The houses to price, in the order their prices are returned.",
            "minItems": 1,
            "items": {"$ref": "#/components/schemas/HouseDetails"},
            # The service has the model check each house, with the same rules: the request
            # validator checks this list's shape only (api/body_validation.py).
            CHECKED_BY_HANDLER: True,
            ROW_NOUN: "house",  # what its refusals call an item
        },
        "HouseDetails": house_details_schema(first_known_values()),
        "HoldoutSplit": holdout_split_schema(holdout_identity(split_holdout(config), config)),
    }
    document = with_limits({"components": {"schemas": schemas}}, request_limits(Settings()))
    generated: dict[str, Any] = document["components"]["schemas"]
    return generated


class _Dumper(yaml.SafeDumper):
    """Block style, but lists of scalars on one line (enums read as they do in the Ames docs)."""

    def represent_list(self, data: Any) -> yaml.Node:  # type: ignore[override]
        flow = all(not isinstance(item, dict | list) for item in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    def represent_text(self, data: str) -> yaml.Node:
        """Prose folded over lines, as a person writes it in YAML; short strings plain."""
        style = ">" if len(data) > 80 else None
        return self.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(list, _Dumper.represent_list)
_Dumper.add_representer(str, _Dumper.represent_text)


def generated_text() -> str:
    """The YAML below the marker: the schemas, indented as entries of ``components.schemas``."""
    text = yaml.dump(
        generated_schemas(),
        Dumper=_Dumper,
        sort_keys=False,
        width=84,  # the lines are indented by 4 more below
        allow_unicode=True,
        default_flow_style=False,
    )
    return "".join(f"    {line}" if line.strip() else line for line in text.splitlines(True))


def _changed_leaves(
    before: Any, after: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The path and new value of each scalar that differs from ``before`` to ``after``."""
    if isinstance(after, dict):
        for key, value in after.items():
            if not isinstance(before, dict) or key not in before:
                where = "/".join(map(str, (*path, key)))
                raise ValueError(f"{SPEC_PATH}: no {where} to write its limit into: add it")
            yield from _changed_leaves(before[key], value, (*path, key))
    elif isinstance(after, list):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _changed_leaves(old, new, (*path, index))
    elif before != after:
        yield path, after


def _node_at(node: yaml.Node, path: tuple[str | int, ...]) -> yaml.Node:
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next(value for key, value in node.value if key.value == step)
        else:
            assert isinstance(node, yaml.SequenceNode) and isinstance(step, int)
            node = node.value[step]
    return node


def with_default_limits(current: str) -> str:
    """``current`` (the file's text) with every limit it keeps set to the default settings',
    each scalar rewritten where it stands (the comments and layout of the hand-written part
    kept)."""
    written = yaml.safe_load(current)
    root = yaml.compose(current)
    assert root is not None  # (it holds the marker line)
    changes = [
        (_node_at(root, path), value)
        for path, value in _changed_leaves(
            written, with_limits(written, request_limits(Settings()))
        )
    ]
    for node, value in sorted(changes, key=lambda change: -change[0].start_mark.index):
        start, end = node.start_mark.index, node.end_mark.index
        current = current[:start] + str(int(value)) + current[end:]
    return current


def spec_text(current: str) -> str:
    """``current`` (the file's text) with everything below the marker made anew, then its
    limits set to the default settings' (those of the part made anew are already): the limits
    below the marker as the file had them are never read, so one edited or removed there by
    hand is made again, not refused."""
    head, marker, _ = current.partition(MARKER)
    if not marker:
        raise ValueError(f"the marker line is missing from {SPEC_PATH}: {MARKER.strip()}")
    return with_default_limits(head + MARKER + generated_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    current = SPEC_PATH.read_text(encoding="utf-8")
    try:
        wanted = spec_text(current)
    except ModelError as error:  # a dataset or model the package refuses: said, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"{SPEC_PATH} cannot be made: {error}", file=sys.stderr)
        return 1
    if args.check:
        if wanted != current:
            print(f"{SPEC_PATH} is out of date: run `make spec`", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        Path(SPEC_PATH).write_text(wanted, encoding="utf-8")
        print(f"wrote {SPEC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
