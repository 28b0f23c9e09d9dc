"""How far to trust a price, in a few sentences made from a model card's own figures.

The card (``card.model_card``, the service's ``GET /v1/model``) holds every figure an ML
engineer needs, as numbers among hundreds: knots, deciles, codes. Whoever acts on a price (a
buyer, a lender, an appraiser) needs five of them said plainly: what years a price is of, how
close prices came on houses the pricing procedure never saw, how often the range held, and what
``calibrated: false`` and ``partial: true`` mean. The card's ``summary`` says them; the model
README's **How far to trust a price** quotes it, and a test holds the quotation to it, so the
figures and their rounding are declared here alone.

A card of a model older than some figure leaves out what it cannot say: no sentence on partial
houses before 0.3.4, no clause on kinds of sale before 0.3.0.
"""

from __future__ import annotations

import math
from typing import Any

from gradient_boosting_model.config import ALL_LABELLED

#: The feature whose training range gives the years a price is of.
SALE_YEAR = "YrSold"
#: The partial houses' field set the summary quotes: a house sent with the required fields only.
FEWEST_FIELDS = "7 required"


def card_summary(card: dict[str, Any]) -> dict[str, str]:
    """The sentences of ``card`` (a ``model_card``) for whoever acts on a price, by subject:
    ``prices``, ``accuracy``, ``ranges``, ``warned`` and, for a model that widens a partial
    house's range, ``partial``."""
    summary = {
        "prices": _prices(card),
        "accuracy": _accuracy(card),
        "ranges": _ranges(card),
        "warned": _warned(card),
    }
    partial = _partial(card)
    if partial is not None:
        summary["partial"] = partial
    return summary


def _prices(card: dict[str, Any]) -> str:
    years = next(
        (feature for feature in card["input_ranges"] if feature["feature"] == SALE_YEAR), None
    )
    if years is None:
        return (
            "A price is what Ames, Iowa paid for such a house in the years of the sales the "
            "model learned from: no change in the market since is applied."
        )
    return (
        f"A price is what Ames, Iowa paid for such a house from {years['low']:.0f} to "
        f"{years['high']:.0f}, the years of the sales the model learned from: no change in the "
        f"market since is applied, and a later {SALE_YEAR} is warned about."
    )


def _accuracy(card: dict[str, Any]) -> str:
    holdout = card["holdout_metrics"]
    unwarned = holdout.get("calibrated", holdout)
    whose = (
        "priced by the model's twin, the same procedure fitted without them"
        if card["fitted_on"] == ALL_LABELLED
        else "houses the model never saw"
    )
    return (
        f"Of {unwarned['rows']} held-out houses without a warning ({whose}), half sold within "
        f"{unwarned['median_ape']:.1%} of their price, the mean miss "
        f"${round(unwarned['mae_dollars'], -2):,.0f}; RMSLE {unwarned['rmsle']:.3f} (most "
        f"prices within about {math.expm1(unwarned['rmsle']):.0%}). A price is an estimate "
        "from the county's record of the house, not an appraisal: what the record does not "
        "hold, it cannot see."
    )


def _ranges(card: dict[str, Any]) -> str:
    intervals = card["intervals"]
    holdout = intervals["coverage"]["holdout"]
    crossed = intervals["coverage"]["cross_validation"]
    held = round(holdout["coverage"] * holdout["rows"])
    said = (
        f"The {intervals['level']:.0%} range held {held} of those {holdout['rows']} sale prices "
        f"({holdout['coverage']:.3f}), and {crossed['coverage']:.3f} in cross-validation"
    )
    groups = [group["coverage"] for group in crossed.get("by_sale_condition", {}).values()]
    if groups:
        said += (
            "; for each kind of sale (SaleCondition: a foreclosure, a new house sold before it "
            f"was finished, a sale between relatives) from {min(groups):.3f} to "
            f"{max(groups):.3f} in cross-validation: send SaleCondition"
        )
    deciles = crossed["coverage_by_price_decile"]
    return (
        f"{said}. The range is wider where prices are less sure, and held from "
        f"{min(deciles):.2f} to {max(deciles):.2f} of the prices of each tenth of houses by "
        "price in cross-validation."
    )


def _warned(card: dict[str, Any]) -> str:
    folds = card["cross_validation_metrics"]
    return (
        "calibrated: false means a warning: some detail is outside what the model learned "
        "from. Read the warning, and trust the price far less: in cross-validation the "
        f"{folds['warned_houses']} warned houses of {folds['houses']} were priced with an "
        f"RMSLE of {folds['rmsle_warned']:.3f}, against {folds['rmsle_unwarned']:.3f} for the "
        "others, and their ranges were not measured on houses like them."
    )


def _partial(card: dict[str, Any]) -> str | None:
    partial = card["intervals"].get("partial_houses")
    if partial is None:
        return None
    fewest = partial["cross_validation"]["field_sets"][FEWEST_FIELDS]
    return (
        "partial: true means a detail was assumed, taken as typical: left out, or null where "
        "no training house had it null. Such a house is priced less closely, and its range is "
        f"widened for it: it held {fewest['coverage']:.2f} of the prices of houses sent with "
        "the seven required fields alone, in cross-validation. Send every detail you have."
    )
