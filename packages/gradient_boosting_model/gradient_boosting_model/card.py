"""The model's card: what a trained model says about itself, from its metadata JSON.

The metadata JSON is written at training time (``train.training_metadata``); its layout is this
package's business. The card is what a client is shown (the service's ``GET /v1/model``):
a summary for whoever acts on a price (``card_summary``), versions, training date, holdout and
cross-validated accuracy, the price ranges' method and measured coverage, the inputs' training
ranges and the inputs themselves.
"""

from __future__ import annotations

from typing import Any

from gradient_boosting_model.card_summary import card_summary
from gradient_boosting_model.config import ALL_LABELLED, TRAINING_SPLIT, Config, FittedOn
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.seen_codes import as_sent


def fitted_on(metadata: dict[str, Any]) -> FittedOn:
    """What the model whose training ``metadata`` this is was fitted on (``config.FittedOn``):
    its ``fitted_on``, written since 0.4.0; a model trained before was fitted on the training
    split."""
    recorded = metadata.get("fitted_on", TRAINING_SPLIT)
    return ALL_LABELLED if recorded == ALL_LABELLED else TRAINING_SPLIT


def model_card(metadata: dict[str, Any], config: Config) -> dict[str, Any]:
    """The card of the model whose training ``metadata`` this is (JSON-shaped), its
    ``summary`` (``card_summary``, naming fields as ``config`` does) after its name and
    version, where a person reads first."""
    card = _figures(metadata)
    summary = card_summary(card, config)
    return {"name": card["name"], "version": card["version"], "summary": summary, **card}


def _figures(metadata: dict[str, Any]) -> dict[str, Any]:
    metrics = metadata["metrics"]
    return {
        "name": metadata["model_name"],
        "version": metadata["model_version"],
        "trained_at": metadata["trained_at"],
        "python_version": metadata["python_version"],
        "library_versions": metadata["library_versions"],
        # Since 0.4.0: the houses the model was fitted on, training_split or all_labelled (the
        # holdout too: then every holdout figure is its twin's, the same version's procedure
        # fitted on the training split alone), and how many.
        "fitted_on": fitted_on(metadata),
        "houses_fitted": metadata.get("houses_fitted"),
        "holdout_metrics": _without_intervals(metrics["holdout"]),
        # Which houses those are (holdout_identity.py); null for a model trained before it was
        # recorded.
        "holdout_split": metadata.get("holdout_split"),
        "cross_validation_metrics": _without_intervals(metrics["cross_validation"]),
        "intervals": {
            **metadata["intervals"],
            "coverage": {
                "holdout": metrics["holdout"]["intervals"],
                "cross_validation": metrics["cross_validation"]["intervals"],
            },
            **_partial_houses(metadata),
        },
        "input_ranges": [_codes_as_sent(feature) for feature in metadata["input_ranges"]],
        # Since 0.3.1: per category and grade field, the codes seen in training (another is
        # warned of); null for an older artifact, which checked the ranges' codes only.
        "codes_seen": _seen_as_sent(metadata.get("codes_seen")),
        # Since 0.3.2: the features (by size) a record saying both has and has none of is
        # warned of; null for an older artifact.
        "presence_checked": metadata.get("presence_checked"),
        # Since 0.3.3: the rules of a record (an area the sum of its parts, no year of remodel
        # or garage after the sale, no more bedrooms than rooms) a house breaking one is warned
        # of; null for an older one.
        "rules_checked": metadata.get("rules_checked"),
        # Since 0.3.5: the grade fields a better value of which (in ``order``, worst first)
        # never prices a house lower, whatever else it says; null for an older artifact.
        "monotone_grades": metadata.get("monotone_grades"),
        # Since 0.3.6: the years (blend.later_never_lower: the remodel's; since 0.3.7 the
        # building's and the garage's too) a later value of which never prices a house lower,
        # whatever else it says; null for an older artifact.
        "later_never_lower": metadata.get("later_never_lower"),
        # Since 0.3.8: the counts and areas (blend.more_never_lower) more of which never prices
        # a house lower, whatever else it says; null for an older artifact.
        "more_never_lower": metadata.get("more_never_lower"),
        "input_fields": [
            {
                "name": name,
                "required": field.required,
                "description": field.metadata["description"],
            }
            for name, field in HOUSE_FIELDS.items()
        ],
    }


def _seen_as_sent(codes_seen: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
    """Each field's codes as a client sends them (``as_sent``): the metadata keeps numeric
    codes as training's columns held them, 20.0 for an integer field's 20."""
    if codes_seen is None:
        return None
    return {field: [as_sent(code) for code in codes] for field, codes in codes_seen.items()}


def _codes_as_sent(feature: dict[str, Any]) -> dict[str, Any]:
    """An input range with a category's ``seen`` codes as a client sends them."""
    if "seen" not in feature:
        return feature
    return {**feature, "seen": [as_sent(code) for code in feature["seen"]]}


def _without_intervals(metrics: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in metrics.items()
        if name not in ("intervals", "partial_houses")
    }


def _partial_houses(metadata: dict[str, Any]) -> dict[str, Any]:
    """Since 0.3.4, the ranges of houses with details left out (``partial_ranges``): the
    curve, its cross-validated coverage per field set and the holdout's; nothing for an older
    model, whose partial houses' ranges are not calibrated."""
    described = metadata["intervals"].get("partial_houses")
    if described is None:
        return {}
    holdout = metadata["metrics"]["holdout"].get("partial_houses")
    return {"partial_houses": {**described, "holdout": holdout}}
