"""How far to trust a price, in a few sentences made from a model card's own figures.

The card (``card.model_card``, the service's ``GET /v1/model``) holds every figure an ML
engineer needs, as numbers among hundreds: knots, deciles, codes. Whoever acts on a price (a
buyer, a lender, an appraiser) needs a few of them said plainly: what years a price is of, how
close prices came on houses the pricing procedure never saw, how often the range held, and what
``calibrated: false`` and ``partial: true`` mean. The card's ``summary`` says them; the model
README's **How far to trust a price** quotes it, and a test holds the quotation to it, so the
figures and their rounding are declared here alone. Each subject's sentences stand alone: a
client may show one without the others.

A card of an older model says only what its figures can: no clause on kinds of sale before
0.3.0 (ranges calibrated on all sales at once), the holdout's figures over all its houses
before 0.3.0 too (not over those without a warning), no median miss before it was recorded,
and before 0.3.4 a range marked not calibrated for a detail left out as for a warning, and no
sentence on partial houses, whose ranges were not widened.
"""

from __future__ import annotations

import math
from typing import Any

from gradient_boosting_model.config import ALL_LABELLED, Config
from gradient_boosting_model.schemas import HOUSE_FIELDS


def card_summary(card: dict[str, Any], config: Config) -> dict[str, str]:
    """The sentences of ``card`` (a ``model_card``'s figures) for whoever acts on a price, by
    subject: ``prices``, ``accuracy``, ``ranges``, ``warned`` and, for a model that widens a
    partial house's range, ``partial``. ``config`` names the fields the sentences name (the
    year of sale, the kind of sale)."""
    summary = {
        "prices": _prices(card, config.features.elapsed_years.reference),
        "accuracy": _accuracy(card),
        "ranges": _ranges(card, config.calibration.sale_groups.field),
        "warned": _warned(card),
    }
    partial = _partial(card)
    if partial is not None:
        summary["partial"] = partial
    return summary


def holdout_accuracy(card: dict[str, Any]) -> dict[str, Any]:
    """The holdout's accuracy over its houses whose range is calibrated (those without a
    warning), which the summary says and the service's live accuracy is compared with; over
    all its houses for a model before 0.3.0, which did not record them apart."""
    holdout: dict[str, Any] = card["holdout_metrics"]
    apart: dict[str, Any] | None = holdout.get("calibrated")
    return holdout if apart is None else apart


def _prices(card: dict[str, Any], sale_year: str) -> str:
    years = next(
        (feature for feature in card["input_ranges"] if feature["feature"] == sale_year), None
    )
    if years is None:
        return (
            "A price is what Ames, Iowa paid for such a house in the years of the sales the "
            "model learned from: no change in the market since is applied."
        )
    return (
        f"A price is what Ames, Iowa paid for such a house from {years['low']:.0f} to "
        f"{years['high']:.0f}, the years of the sales the model learned from: no change in the "
        f"market since is applied, and a later {sale_year} is warned about."
    )


def _accuracy(card: dict[str, Any]) -> str:
    figures = holdout_accuracy(card)
    apart = "calibrated" in card["holdout_metrics"]
    houses = "held-out houses without a warning" if apart else "held-out houses"
    whose = (
        "priced by the model's twin, the same procedure fitted without them"
        if card["fitted_on"] == ALL_LABELLED
        else "houses the model never saw"
    )
    miss = f"the mean miss ${round(figures['mae_dollars'], -2):,.0f}"
    if "median_ape" in figures:
        miss = f"half sold within {figures['median_ape']:.1%} of their price, {miss}"
    return (
        f"Of {figures['rows']} {houses} ({whose}), {miss}; RMSLE {figures['rmsle']:.3f} (most "
        f"prices within about {math.expm1(figures['rmsle']):.0%}). A price is an estimate from "
        "the county's record of the house, not an appraisal: what the record does not hold, it "
        "cannot see."
    )


def _ranges(card: dict[str, Any], sale_kind: str) -> str:
    intervals = card["intervals"]
    holdout = intervals["coverage"]["holdout"]
    crossed = intervals["coverage"]["cross_validation"]
    held = round(holdout["coverage"] * holdout["rows"])
    said = (
        f"The {intervals['level']:.0%} range held {held} of {holdout['rows']} held-out houses' "
        f"sale prices ({holdout['coverage']:.3f}; those whose range is calibrated), and "
        f"{crossed['coverage']:.3f} in cross-validation"
    )
    groups = [group["coverage"] for group in crossed.get("by_sale_condition", {}).values()]
    if groups:
        said += (
            f"; for each kind of sale ({sale_kind}: a foreclosure, a new house sold before it "
            f"was finished, a sale between relatives) from {min(groups):.3f} to "
            f"{max(groups):.3f} in cross-validation: send {sale_kind}"
        )
    deciles = crossed["coverage_by_price_decile"]
    return (
        f"{said}. The range is wider where prices are less sure, and held from "
        f"{min(deciles):.2f} to {max(deciles):.2f} of the prices of each tenth of houses by "
        "price in cross-validation."
    )


def _warned(card: dict[str, Any]) -> str:
    folds = card["cross_validation_metrics"]
    meaning = "a warning: some detail is outside what the model learned from"
    if "partial_houses" not in card["intervals"]:
        meaning += ", or a detail was left out (this model does not widen such a house's range)"
    return (
        f"calibrated: false means {meaning}. Read the warning, and trust the price far less: "
        f"in cross-validation the {folds['warned_houses']} warned houses of {folds['houses']} "
        f"were priced with an RMSLE of {folds['rmsle_warned']:.3f}, against "
        f"{folds['rmsle_unwarned']:.3f} for the others, and their ranges were not measured on "
        "houses like them."
    )


def _partial(card: dict[str, Any]) -> str | None:
    partial = card["intervals"].get("partial_houses")
    if partial is None:
        return None
    # The field set with the most fields left out: the required fields alone.
    fewest = max(
        partial["cross_validation"]["field_sets"].values(),
        key=lambda field_set: field_set["fields_left_out"],
    )
    sent = len(HOUSE_FIELDS) - fewest["fields_left_out"]
    return (
        "partial: true means a detail was assumed, taken as typical: left out, or null where "
        "no training house had it null. Such a house is priced less closely, and its range is "
        f"widened for it: it held {fewest['coverage']:.2f} of the prices of houses sent with "
        f"{sent} of their {len(HOUSE_FIELDS)} details, in cross-validation. Send every detail "
        "you have."
    )
