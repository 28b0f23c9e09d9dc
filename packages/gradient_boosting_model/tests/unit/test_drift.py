"""The inputs' training distributions and the population stability index, on tiny columns."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradient_boosting_model.config import Config
from gradient_boosting_model.drift import (
    CodeDistribution,
    DriftTally,
    InputDistributions,
    NumberDistribution,
    drift_tally,
    fit_distributions,
    input_drift,
    population_stability_index,
)
from gradient_boosting_model.errors import InvalidInputError, ModelArtifactError
from gradient_boosting_model.fields import MISSING_MARKER_MESSAGE
from gradient_boosting_model.house_values import as_numbers
from gradient_boosting_model.validation import ROW_MESSAGE

FLOOR = 1e-4
HOUSES = 1000


def _training() -> dict[str, np.ndarray]:
    """Validated columns as training makes them: numbers as floats (NaN where missing), codes
    as objects (None where missing)."""
    rng = np.random.default_rng(0)
    area = rng.lognormal(7.2, 0.3, HOUSES).round()
    area[:50] = np.nan  # 5% missing
    basement = np.where(rng.random(HOUSES) < 0.3, 0.0, rng.uniform(100, 1500, HOUSES).round())
    neighborhood = np.array(rng.choice(["NAmes", "OldTown", "Edwards"], HOUSES), dtype=object)
    dwelling = rng.choice([20.0, 60.0], HOUSES)  # a numeric code, as validation makes it
    return {
        "GrLivArea": area,
        "BsmtFinSF1": basement,
        "OverallQual": rng.integers(3, 9, HOUSES).astype(np.float64),
        "Neighborhood": neighborhood,
        "MSSubClass": dwelling,
    }


FIELDS = ("GrLivArea", "BsmtFinSF1", "OverallQual", "Neighborhood", "MSSubClass")


def _fitted(columns: dict[str, np.ndarray] | None = None) -> InputDistributions:
    return fit_distributions(
        columns or _training(), fields=FIELDS, bins=10, floor=FLOOR, watch=0.1, alert=0.25
    )


def _houses(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The columns as JSON-shaped houses, as the service receives them (None for missing)."""
    values = {name: column.tolist() for name, column in columns.items()}
    size = len(next(iter(values.values())))
    return [
        {name: None if column[i] != column[i] else column[i] for name, column in values.items()}
        for i in range(size)
    ]


def _psi(reference: list[float], live: list[float]) -> float:
    """The index by hand: sum of (live - ref) * ln(live / ref), shares floored."""
    total = 0.0
    for ref, now in zip(reference, live, strict=True):
        ref, now = max(ref, FLOOR), max(now, FLOOR)
        total += (now - ref) * math.log(now / ref)
    return total


def test_the_same_houses_score_zero() -> None:
    columns = _training()
    drift = _fitted(columns).drift(_houses(columns))
    assert set(drift) == set(FIELDS)
    for field in drift.values():
        assert field.psi == pytest.approx(0, abs=1e-12)
        assert field.houses == HOUSES
        assert field.status == "ok"


def test_another_sample_of_the_same_distribution_stays_below_the_watch_level() -> None:
    rng = np.random.default_rng(1)
    area = rng.lognormal(7.2, 0.3, 5000).round()
    houses: list[dict[str, float | None]] = [{"GrLivArea": float(value)} for value in area]
    for house in houses[:250]:
        house["GrLivArea"] = None  # the training sample's 5% missing
    psi = _fitted().drift(houses)["GrLivArea"].psi
    assert 0 < psi < 0.03


def test_a_shifted_number_alerts() -> None:
    columns = _training()
    shifted = {**columns, "GrLivArea": columns["GrLivArea"] * 1.3}
    drift = _fitted(columns).drift(_houses(shifted))
    assert drift["GrLivArea"].psi > 0.25
    assert drift["GrLivArea"].status == "alert"
    assert drift["BsmtFinSF1"].psi == pytest.approx(0, abs=1e-12)


def test_the_index_is_the_formula_over_the_buckets() -> None:
    distributions = _fitted()
    [area] = [d for d in distributions.fields if d.field == "GrLivArea"]
    assert isinstance(area, NumberDistribution)
    # A few values, some in the outer open bins, one missing.
    values = [1.0, 1e9, area.edges[3], area.edges[3] + 0.5, None, 1e9, 1e9, 2.0]
    live = [0.0] * (len(area.shares) + 1)
    live[0], live[-2], live[3], live[4], live[-1] = 2 / 8, 3 / 8, 1 / 8, 1 / 8, 1 / 8
    expected = _psi([*area.shares, area.missing], live)
    psi = distributions.drift([{"GrLivArea": v} for v in values])["GrLivArea"].psi
    assert psi == pytest.approx(expected, rel=1e-12)
    assert psi > 0.25


def test_bins_are_training_deciles_with_equal_edges_merged_and_open_ends() -> None:
    distributions = _fitted()
    by_field = {d.field: d for d in distributions.fields}
    area, basement, quality = by_field["GrLivArea"], by_field["BsmtFinSF1"], by_field["OverallQual"]
    assert isinstance(area, NumberDistribution)
    assert len(area.edges) == 9 and list(area.edges) == sorted(set(area.edges))
    assert area.missing == pytest.approx(0.05)
    assert sum(area.shares) + area.missing == pytest.approx(1)
    assert all(share == pytest.approx(0.095, abs=0.01) for share in area.shares)
    # A third of the basements are 0: the three lowest deciles are one edge, and one bin.
    assert isinstance(basement, NumberDistribution)
    assert basement.edges[0] == 0 and len(basement.edges) < 9
    assert basement.shares[0] == pytest.approx(0.3, abs=0.04)
    # A rating of six grades: one bin per grade below the top edge, each edge a grade seen.
    assert isinstance(quality, NumberDistribution)
    assert set(quality.edges) <= {3.0, 4.0, 5.0, 6.0, 7.0, 8.0}
    # Bins are (lower, upper]: an edge's own value falls in the bin it closes.
    edge = area.edges[2]
    assert area.buckets([edge, edge + 0.5, -1e9, 1e12]).tolist() == [2, 3, 0, 9]


def test_a_missing_only_sample_puts_everything_in_the_missing_bucket() -> None:
    distributions = _fitted()
    [area] = [d for d in distributions.fields if d.field == "GrLivArea"]
    assert isinstance(area, NumberDistribution)
    expected = _psi([*area.shares, area.missing], [0.0] * len(area.shares) + [1.0])
    drift = distributions.drift([{"GrLivArea": None, "Neighborhood": None}] * 20)
    assert drift["GrLivArea"].psi == pytest.approx(expected, rel=1e-12)
    assert drift["GrLivArea"].houses == 20 and drift["GrLivArea"].unknown == 0
    assert drift["GrLivArea"].status == "alert"
    # No training house had a null Neighborhood: a null is an unknown, not measured.
    assert (drift["Neighborhood"].houses, drift["Neighborhood"].unknown) == (0, 20)
    assert math.isnan(drift["Neighborhood"].psi)


@pytest.mark.parametrize("not_given", ["left out", "null"])
def test_a_value_not_given_is_not_measured_and_is_counted_apart(not_given: str) -> None:
    """A house without a field's key, or with a null where no training house had one (every
    field here but GrLivArea), says nothing of that field: the index is over the houses that
    give it, and the others are counted as unknown. Counted as missing, a client sending only
    some fields made the others alert for good."""
    columns = _training()
    distributions = _fitted(columns)
    houses = _houses(columns)
    partial = [
        (
            {"GrLivArea": house["GrLivArea"]}
            if not_given == "left out"
            else {**dict.fromkeys(house), "GrLivArea": house["GrLivArea"]}
        )
        if i % 4 == 0
        else house
        for i, house in enumerate(houses)
    ]
    given = [house for i, house in enumerate(houses) if i % 4 != 0]
    drift, of_given = distributions.drift(partial), distributions.drift(given)
    assert drift["GrLivArea"] == distributions.drift(houses)["GrLivArea"]  # every house gives it
    assert drift["GrLivArea"].psi == 0.0 and drift["GrLivArea"].unknown == 0
    for field in ("BsmtFinSF1", "OverallQual", "Neighborhood", "MSSubClass"):
        assert drift[field].psi == of_given[field].psi  # the same houses, the same counts
        assert drift[field].psi < 0.01 and drift[field].status == "ok"
        assert drift[field].houses == len(given) and drift[field].unknown == HOUSES - len(given)
    # Nobody gives a field: nothing measured, nothing to alert on.
    value = {} if not_given == "left out" else {"Neighborhood": None}
    required_only = distributions.drift([{"GrLivArea": 1500.0, **value}] * 20)
    assert math.isnan(required_only["Neighborhood"].psi)
    assert required_only["Neighborhood"].houses == 0
    assert required_only["Neighborhood"].unknown == 20
    assert required_only["Neighborhood"].status == "ok"


def test_a_refused_value_is_named_by_its_row_among_houses_that_leave_fields_out() -> None:
    houses: list[dict[str, Any]] = [{}, {"GrLivArea": 1500.0}, {}, {"GrLivArea": "large"}]
    with pytest.raises(InvalidInputError) as refused:
        _fitted().drift(houses)
    assert refused.value.errors == {3: {"GrLivArea": ["Not a valid number."]}}
    with pytest.raises(InvalidInputError) as refused:
        _fitted().drift([{}, {"Neighborhood": ["NAmes"]}])
    assert refused.value.errors == {1: {"Neighborhood": ["Not a valid string."]}}
    # A house that is no mapping, beside one that leaves fields out.
    with pytest.raises(InvalidInputError) as refused:
        _fitted().drift([{}, "not a house"])  # type: ignore[list-item]
    assert refused.value.errors == {1: {"_schema": [ROW_MESSAGE]}}


def test_a_number_the_schema_refuses_is_refused_in_its_words() -> None:
    """A probe's: numpy read ``"896"`` and ``True`` as numbers, and counted ``inf`` in the top
    bin, where ``make_prediction`` refuses each; numpy's own numbers stay numbers."""
    sent: list[Any] = ["896", True, math.inf, -math.inf, 10**400, np.float64(900), np.int64(7)]
    houses = [{"GrLivArea": value} for value in sent]
    with pytest.raises(InvalidInputError) as refused:
        _fitted().drift(houses)
    invalid, special = (
        "Not a valid number.",
        ("Special numeric values (nan or infinity) are not permitted."),
    )
    assert refused.value.errors == {
        0: {"GrLivArea": [invalid]},
        1: {"GrLivArea": [invalid]},
        2: {"GrLivArea": [special]},
        3: {"GrLivArea": [special]},
        4: {"GrLivArea": ["Number too large."]},
    }
    assert _fitted().drift(houses[5:])["GrLivArea"].houses == 2
    # A review's: an array of texts or of objects is looked at value by value too.
    for texts in (np.array(["896"]), np.array(["896"], dtype=object), np.array([True])):
        with pytest.raises(InvalidInputError) as refused_array:
            as_numbers(texts, "GrLivArea")
        assert refused_array.value.errors == {0: {"GrLivArea": [invalid]}}


def test_codes_unseen_in_training_go_to_the_other_bucket() -> None:
    reference = {"Neighborhood": np.array(["NAmes", "OldTown"] * 50, dtype=object)}
    distributions = fit_distributions(
        reference, fields=["Neighborhood"], bins=10, floor=FLOOR, watch=0.1, alert=0.25
    )
    [codes] = distributions.fields
    assert isinstance(codes, CodeDistribution)
    assert codes.codes == ("NAmes", "OldTown") and codes.shares == (0.5, 0.5)
    live = ["NAmes"] * 50 + ["OldTown"] * 40 + ["Timber"] * 6 + ["Veenker"] * 4
    drift = distributions.drift([{"Neighborhood": code} for code in live])["Neighborhood"]
    # NAmes, OldTown, other (empty in training), missing.
    assert drift.psi == pytest.approx(_psi([0.5, 0.5, 0, 0], [0.5, 0.4, 0.1, 0]), rel=1e-12)
    assert drift.status == "alert"  # 10% of houses with codes the model never saw


def test_numeric_codes_match_however_they_are_sent_and_a_validated_nan_is_missing() -> None:
    distributions = _fitted()
    [dwelling] = [d for d in distributions.fields if d.field == "MSSubClass"]
    assert isinstance(dwelling, CodeDistribution)
    # As a client sends them, not 20.0 (which == 20: the types say it).
    assert [(code, type(code)) for code in dwelling.codes] == [(20, int), (60, int)]
    assert dwelling.buckets([20, 20.0, 60, 75, None]).tolist() == [0, 0, 1, 2, 3]
    # A validated column (training's) holds a missing numeric code as NaN.
    column = np.array([20.0, 60.0, 75.0, math.nan])
    assert dwelling.buckets(column, sent=False).tolist() == [0, 1, 2, 3]


def test_a_nan_sent_is_refused_in_the_schemas_words_as_make_prediction_refuses_it() -> None:
    """A probe's: a house's NaN (as ``DataFrame.to_dict("records")`` gives for a gap) was
    counted as missing where ``make_prediction`` refuses it, being no JSON number; every row
    and field is named as the schema names it (a text's NaN, or number, is no string), among
    houses that leave fields out, and a refused batch is not counted."""
    special = MISSING_MARKER_MESSAGE.format(marker="NaN")
    houses: list[dict[str, Any]] = [
        {"GrLivArea": 1500.0, "Neighborhood": "NAmes", "MSSubClass": 20},
        {},
        {"GrLivArea": math.nan, "Neighborhood": math.nan, "MSSubClass": math.nan},
        {"GrLivArea": np.float64("nan"), "Neighborhood": None, "MSSubClass": None},
        {"GrLivArea": None, "Neighborhood": 5, "MSSubClass": "20"},
    ]
    tally = DriftTally(_fitted())
    with pytest.raises(InvalidInputError) as refused:
        tally.add(houses)
    assert refused.value.errors == {
        2: {"GrLivArea": [special], "Neighborhood": [special], "MSSubClass": [special]},
        3: {"GrLivArea": [special]},
        4: {"Neighborhood": ["Not a valid string."], "MSSubClass": ["Not a valid number."]},
    }
    assert tally.houses == 0 and all(not counts.any() for counts in tally.counts)
    # Without the NaNs and the values of another type, the same houses are counted: a null
    # is missing, as before.
    fixed = [houses[0], houses[1], {**houses[3], "GrLivArea": None}]
    tally.add(fixed)
    assert tally.drift()["GrLivArea"].houses == 2  # a null: missing, a bucket training had


def test_the_floor_keeps_an_empty_bucket_finite() -> None:
    reference, live = np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.45, 0.05])
    psi = population_stability_index(reference, live, floor=FLOOR)
    assert math.isfinite(psi)
    assert psi == pytest.approx(_psi([0.5, 0.5, 0.0], [0.5, 0.45, 0.05]), rel=1e-12)
    # The floor's documented bound: a new bucket with 5 houses in 100 alerts on its own.
    assert 0.25 < (0.05 - FLOOR) * math.log(0.05 / FLOOR) < psi
    assert population_stability_index(live, reference, floor=FLOOR) == pytest.approx(psi)
    assert population_stability_index(live, live, floor=FLOOR) == 0


def test_the_readme_gives_the_configs_levels(config: Config) -> None:
    """The levels the README's API table states are ``config.yml``'s: they were copied."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    said = re.search(r"`watch` \(from ([0-9.]+)\) or `alert` \(from ([0-9.]+)\)", readme)
    assert said is not None
    assert (float(said[1]), float(said[2])) == (config.drift.watch, config.drift.alert)


def test_status_follows_the_levels() -> None:
    distributions = _fitted()
    assert [distributions.status(psi) for psi in (0, 0.0999, 0.1, 0.2499, 0.25, 3)] == [
        "ok",
        "ok",
        "watch",
        "watch",
        "alert",
        "alert",
    ]


def test_the_description_is_json_with_kind_edges_shares_and_missing() -> None:
    described = json.loads(json.dumps(_fitted().describe()))
    assert described["houses"] == HOUSES
    assert (described["floor"], described["watch"], described["alert"]) == (FLOOR, 0.1, 0.25)
    assert list(described["fields"]) == list(FIELDS)
    area = described["fields"]["GrLivArea"]
    assert area["kind"] == "number" and set(area) == {"kind", "edges", "shares", "missing"}
    assert len(area["shares"]) == len(area["edges"]) + 1
    neighborhood = described["fields"]["Neighborhood"]
    assert neighborhood["kind"] == "code"
    assert neighborhood["codes"] == ["Edwards", "NAmes", "OldTown"]
    assert sum(neighborhood["shares"]) + neighborhood["missing"] == pytest.approx(1)


@pytest.mark.parametrize(
    ("houses", "message"),
    [
        ([], "no houses given"),
        ({"GrLivArea": 1}, "must be a list"),
        ([{"GrLivArea": 1}, "a house"], "1 invalid row"),
        ([{"GrLivArea": "big"}], "1 invalid row"),
        ([{"Neighborhood": ["NAmes"]}], "1 invalid row"),
    ],
    ids=["empty", "one house", "not an object", "text for a number", "list for a code"],
)
def test_what_is_not_a_batch_of_houses_is_refused(houses: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        _fitted().drift(houses)


def test_a_model_without_distributions_is_named() -> None:
    class OldModel:  # an artifact pickled before the distributions were stored
        pass

    with pytest.raises(ModelArtifactError, match="no input distributions"):
        input_drift(OldModel(), [{"GrLivArea": 1}])  # type: ignore[arg-type]
    with pytest.raises(ModelArtifactError, match="no input distributions"):
        drift_tally(OldModel())  # type: ignore[arg-type]


def test_a_tally_of_batches_gives_the_indexes_of_all_the_houses_at_once() -> None:
    """Whole counts added batch by batch, divided once: to the bit, the index of each field's
    shares over all the houses (counted here apart, from the buckets), in batches of any size,
    empty ones included."""
    columns = _training()
    shifted = {**columns, "GrLivArea": columns["GrLivArea"] * 1.3}
    # 999 houses: shares that a multiplication by 1/999 would round otherwise.
    houses = _houses(columns)[:600] + _houses(shifted)[600:999]
    houses[7] = {}  # every field left out: not counted
    houses[9] = dict.fromkeys(houses[9])  # every field null
    houses[8] = {**houses[8], "Neighborhood": "Timber"}  # a code training never saw
    distributions = _fitted(columns)
    expected = {}
    for distribution in distributions.fields:
        name = distribution.field
        null_is_unknown = distribution.missing == 0  # no training house had a null
        column = [
            house[name]
            for house in houses
            if name in house and not (null_is_unknown and house[name] is None)
        ]
        size = distribution.reference.size
        live = np.bincount(distribution.buckets(column), minlength=size) / len(column)
        expected[distribution.field] = population_stability_index(
            distribution.reference, live, floor=FLOOR
        )
    assert distributions.drift(houses)["GrLivArea"].status != "ok"  # something to measure
    for size in (1, 7, 333, 1000):
        tally = DriftTally(distributions)
        assert tally.fields == FIELDS
        tally.add([])
        for start in range(0, len(houses), size):
            tally.add(houses[start : start + size])
        assert tally.houses == len(houses)
        drift = tally.drift()
        assert {name: found.psi for name, found in drift.items()} == expected
        # One house leaves every field out, one gives every field as null: missing where
        # training had nulls (GrLivArea), else unknown.
        assert {name: found.unknown for name, found in drift.items()} == {
            name: 1 if name == "GrLivArea" else 2 for name in FIELDS
        }
        assert {found.houses + found.unknown for found in drift.values()} == {len(houses)}
        assert drift == distributions.drift(houses)


def test_a_refused_batch_leaves_the_tally_as_it_was() -> None:
    distributions = _fitted()
    tally = DriftTally(distributions)
    tally.add([{"GrLivArea": 1500.0, "Neighborhood": "NAmes"}])
    before = [counts.copy() for counts in tally.counts]
    # The first fields read fine; a later one (Neighborhood, a list) is refused.
    with pytest.raises(InvalidInputError, match="1 invalid row"):
        tally.add([{"GrLivArea": 1600.0, "Neighborhood": ["NAmes"]}])
    assert tally.houses == 1
    assert all((b == a).all() for b, a in zip(before, tally.counts, strict=True))
    with pytest.raises(InvalidInputError, match="must be a list"):
        tally.add({"GrLivArea": 1})  # type: ignore[arg-type]
    # A batch whose every value of a number is a list (numpy would read them as rows).
    with pytest.raises(InvalidInputError, match="1 invalid row"):
        tally.add([{"GrLivArea": [1600.0]}])
    assert tally.houses == 1


def test_a_tally_of_no_houses_has_no_drift() -> None:
    with pytest.raises(InvalidInputError, match="no houses given"):
        DriftTally(_fitted()).drift()
