"""The model card shows what the metadata keeps, in the form a client sends it."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from gradient_boosting_model.card import model_card
from gradient_boosting_model.config import Config
from gradient_boosting_model.loading import load_card
from gradient_boosting_model.persistence import load_metadata
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS

pytestmark = pytest.mark.integration


def test_numeric_codes_are_shown_as_the_integers_a_client_sends(config: Config) -> None:
    """Training's columns keep MSSubClass as floats, and the card said ``[20.0, 30.0, ...]``
    where the spec's example (and the house schema, an integer field) says ``[20, 30, ...]``
    (a probe's): a client comparing codes as text ("20" against "20.0") found none seen."""
    metadata = load_metadata(config)
    metadata["input_ranges"] = [
        *metadata["input_ranges"],
        {"feature": "MSSubClass", "kind": "category", "fields": ["MSSubClass"],
         "importance": 0.01, "seen": [20.0, 60.0]},
    ]  # fmt: skip
    card = json.loads(json.dumps(model_card(metadata, config)))
    assert card["codes_seen"]["MSSubClass"][:3] == [20, 30, 40]
    assert all(type(code) is int for code in card["codes_seen"]["MSSubClass"])
    assert card["codes_seen"]["Exterior1st"] == metadata["codes_seen"]["Exterior1st"]
    assert card["input_ranges"][-1]["seen"] == [20, 60]
    assert type(card["input_ranges"][-1]["seen"][0]) is int
    assert card["input_ranges"][:-1] == metadata["input_ranges"][:-1]


def test_the_card_names_the_grades_a_better_value_of_which_never_lowers_a_price(
    config: Config,
) -> None:
    """Since 0.3.5 (``blend.monotone_grades``): which fields, in which order; null for an
    artifact trained before, or with the setting off."""
    metadata = load_metadata(config)
    shown = model_card(metadata, config)["monotone_grades"]
    assert shown == {
        "fields": [name for name, kind in _kinds().items() if kind == "grade"],
        "order": ["Po", "Fa", "TA", "Gd", "Ex"],
    }
    assert config.blend.monotone_grades
    del metadata["monotone_grades"]
    assert model_card(metadata, config)["monotone_grades"] is None


def test_the_card_names_the_years_a_later_value_of_which_never_lowers_a_price(
    config: Config,
) -> None:
    """Since 0.3.6 (``blend.later_never_lower``): the remodel's year, since 0.3.7 every year
    made an age (built, remodelled, the garage's); null before."""
    metadata = load_metadata(config)
    assert model_card(metadata, config)["later_never_lower"] == list(config.blend.later_never_lower)
    assert set(config.blend.later_never_lower) == set(config.features.elapsed_years.variables)
    del metadata["later_never_lower"]
    assert model_card(metadata, config)["later_never_lower"] is None


def test_the_card_names_the_counts_and_areas_more_of_which_never_lowers_a_price(
    config: Config,
) -> None:
    """Since 0.3.8 (``blend.more_never_lower``): the garage's cars and area, the frontage, the
    veneer and the bathrooms as the config lists them; null before."""
    metadata = load_metadata(config)
    assert model_card(metadata, config)["more_never_lower"] == list(config.blend.more_never_lower)
    assert {"GarageCars", "GarageArea", "LotFrontage", "MasVnrArea"} <= set(
        config.blend.more_never_lower
    )
    del metadata["more_never_lower"]
    assert model_card(metadata, config)["more_never_lower"] is None


def _kinds() -> dict[str, str]:
    from gradient_boosting_model.schemas import HOUSE_FIELDS

    return {name: field.metadata["kind"] for name, field in HOUSE_FIELDS.items()}


def test_the_summary_says_the_cards_figures() -> None:
    """The summary's figures are the packaged model's card's, rounded as it says them (a
    rounding that would read a different figure, or a figure from another part of the card,
    fails this)."""
    card = load_card()
    summary = card["summary"]
    assert set(summary) == {"prices", "accuracy", "ranges", "warned", "partial"}
    years = re.search(r"from (\d{4}) to (\d{4}), the years of the sales", summary["prices"])
    close = re.search(
        r"Of (\d+) held-out houses without a warning \(priced by the model's twin, [^)]*\), half "
        r"sold within ([0-9.]+)% of their price, the mean miss \$([0-9,]+); RMSLE ([0-9.]+) \(most "
        r"prices within about (\d+)%\)",
        summary["accuracy"],
    )
    held = re.search(
        r"The 90% range held (\d+) of (\d+) held-out houses' sale prices \(([0-9.]+); those "
        r"whose range is calibrated\), and ([0-9.]+) in cross-validation; for each kind of sale "
        r"\(SaleCondition: .*? from ([0-9.]+) to ([0-9.]+) in cross-validation: send "
        r"SaleCondition\. .*? held from ([0-9.]+) to ([0-9.]+) of the prices of each tenth",
        summary["ranges"],
    )
    warned = re.search(
        r"in cross-validation the (\d+) warned houses of (\d+) were priced with an RMSLE of "
        r"([0-9.]+), against ([0-9.]+) for the others",
        summary["warned"],
    )
    partial = re.search(
        r"it held ([0-9.]+) of the prices of houses sent with (\d+) of their (\d+) details",
        summary["partial"],
    )
    assert years and close and held and warned and partial, summary
    sold = next(feature for feature in card["input_ranges"] if feature["feature"] == "YrSold")
    holdout = card["holdout_metrics"]["calibrated"]
    coverage = card["intervals"]["coverage"]
    crossed = coverage["cross_validation"]
    groups = [group["coverage"] for group in crossed["by_sale_condition"].values()]
    folds = card["cross_validation_metrics"]
    assert years.groups() == (f"{sold['low']:.0f}", f"{sold['high']:.0f}")
    assert close.groups() == (
        str(holdout["rows"]),
        f"{100 * holdout['median_ape']:.1f}",
        f"{round(holdout['mae_dollars'], -2):,.0f}",
        f"{holdout['rmsle']:.3f}",
        f"{100 * (math.exp(holdout['rmsle']) - 1):.0f}",
    )
    assert held.groups() == (
        str(round(coverage["holdout"]["coverage"] * coverage["holdout"]["rows"])),
        str(coverage["holdout"]["rows"]),
        f"{coverage['holdout']['coverage']:.3f}",
        f"{crossed['coverage']:.3f}",
        f"{min(groups):.3f}",
        f"{max(groups):.3f}",
        f"{min(crossed['coverage_by_price_decile']):.2f}",
        f"{max(crossed['coverage_by_price_decile']):.2f}",
    )
    assert warned.groups() == (
        str(folds["warned_houses"]),
        str(folds["houses"]),
        f"{folds['rmsle_warned']:.3f}",
        f"{folds['rmsle_unwarned']:.3f}",
    )
    seven = card["intervals"]["partial_houses"]["cross_validation"]["field_sets"]["7 required"]
    assert partial.groups() == (
        f"{seven['coverage']:.2f}",
        str(len(REQUIRED_FIELDS)),
        str(len(HOUSE_FIELDS)),
    )


def test_an_older_models_card_loads_and_its_summary_says_only_what_it_can(
    config: Config, tmp_path: Path
) -> None:
    """A model before 0.3.0 recorded no holdout figures apart for houses without a warning, no
    coverage per kind of sale and (at first) no median miss; before 0.3.4 no partial houses'
    ranges; any model may lack a sale-year range. Its card still loads (a figure read
    unguarded was a ``ModelArtifactError``), and its summary says nothing it has no figure for,
    nor that houses without a warning were measured where all were."""
    metadata = load_metadata(config)
    metrics = metadata["metrics"]
    metrics["holdout"] = {
        **metrics["holdout"].pop("calibrated"),
        **{name: metrics["holdout"][name] for name in ("intervals",)},
    }
    del metrics["holdout"]["median_ape"]
    for kind in ("holdout", "cross_validation"):
        del metrics[kind]["intervals"]["by_sale_condition"]
    del metadata["intervals"]["partial_houses"]
    metadata["input_ranges"] = [
        feature for feature in metadata["input_ranges"] if feature["feature"] != "YrSold"
    ]
    older = tmp_path / "older.joblib"
    older.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    summary = load_card(older)["summary"]
    assert set(summary) == {"prices", "accuracy", "ranges", "warned"}
    assert "in the years of the sales the model learned from" in summary["prices"]
    assert "YrSold" not in summary["prices"]
    assert summary["accuracy"].startswith(f"Of {metrics['holdout']['rows']} held-out houses (")
    assert "without a warning" not in summary["accuracy"]
    assert "half sold within" not in summary["accuracy"]
    assert "SaleCondition" not in summary["ranges"]
    assert "or a detail was left out" in summary["warned"]


def test_the_readmes_short_account_of_trust_quotes_the_summary() -> None:
    """``How far to trust a price`` opens with the card's summary, word for word (its
    formatting aside: backticks and bold), so a retrained model fails this until the README
    says its figures."""
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    plain = " ".join(re.sub(r"[`*]", "", readme).split())
    for subject, sentences in load_card()["summary"].items():
        assert " ".join(sentences.split()) in plain, subject
