"""Training ranges and the warnings outside them, on tiny hand-made columns."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_boosting_model.input_ranges import InputRanges, fit_ranges

SUMS = {"TotalSF": {"TotalBsmtSF": 1.0, "1stFlrSF": 1.0, "2ndFlrSF": 1.0}}
NAMES = ["GrLivArea", "TotalSF", "YearBuilt", "KitchenQual", "Neighborhood", "LotArea"]


def _ranges(also: tuple[str, ...] = ()) -> InputRanges:
    raw = {
        "GrLivArea": np.array([800.0, 1500.0, 3000.0]),
        "TotalBsmtSF": np.array([0.0, 700.0, 1500.0]),
        "1stFlrSF": np.array([800.0, 900.0, 1500.0]),
        "2ndFlrSF": np.array([0.0, 600.0, 1500.0]),
        "YearBuilt": np.array([1900.0, 1960.0, 2005.0]),
        "YrSold": np.array([2008.0, 2008.0, 2008.0]),
        "KitchenQual": np.array(["TA", "Gd", "Ex"], dtype=object),
        "Neighborhood": np.array(["NAmes", "OldTown", "NAmes"], dtype=object),
    }
    features = {
        "GrLivArea": raw["GrLivArea"],
        "TotalSF": raw["TotalBsmtSF"] + raw["1stFlrSF"] + raw["2ndFlrSF"],
        "YearBuilt": raw["YrSold"] - raw["YearBuilt"],
        "KitchenQual": np.array([3.0, 4.0, 5.0]),
        "LotArea": np.array([1300.0, 9000.0, 21000.0]),
    }
    return fit_ranges(
        feature_names=NAMES,
        importances=np.array([0.3, 0.4, 0.1, 0.1, 0.08, 0.02]),
        features=features,
        raw=raw,
        top=5,  # LotArea, the least important, is left out
        sums=SUMS,
        ages=["YearBuilt"],
        age_reference="YrSold",
        grade_scores={"Ex": 5, "Gd": 4, "TA": 3, "Fa": 2, "Po": 1, "NA": 0},
        also=also,
    )


def _house(**changes: object) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One house inside every range, with ``changes``; its raw columns and features."""
    raw = {
        "GrLivArea": 1200.0,
        "TotalBsmtSF": 600.0,
        "1stFlrSF": 1200.0,
        "2ndFlrSF": 0.0,
        "YearBuilt": 1950.0,
        "YrSold": 2008.0,
        "KitchenQual": "Gd",
        "Neighborhood": "NAmes",
        "LotArea": 1e7,
    }
    raw.update(changes)
    scores = {"Ex": 5.0, "Gd": 4.0, "TA": 3.0, "Fa": 2.0, "Po": 1.0}
    features = {
        "GrLivArea": raw["GrLivArea"],
        "TotalSF": raw["TotalBsmtSF"] + raw["1stFlrSF"] + raw["2ndFlrSF"],  # type: ignore[operator]
        "YearBuilt": raw["YrSold"] - raw["YearBuilt"],  # type: ignore[operator]
        "KitchenQual": scores[str(raw["KitchenQual"])],
        "LotArea": raw["LotArea"],
    }
    as_columns = {name: np.array([value], dtype=object) for name, value in raw.items()}
    for name in ("GrLivArea", "TotalBsmtSF", "1stFlrSF", "2ndFlrSF", "YearBuilt", "YrSold"):
        as_columns[name] = as_columns[name].astype(np.float64)
    return as_columns, {
        name: np.array([value], dtype=np.float64) for name, value in features.items()
    }


def _nothing_assumed(name: str) -> np.ndarray:
    return np.array([False])


def _messages(**changes: object) -> list[tuple[str, str]]:
    raw, features = _house(**changes)
    [found] = _ranges().check(raw, features, _nothing_assumed)
    return [(warning.field, warning.message) for warning in found]


def test_the_top_features_are_stored_most_important_first() -> None:
    described = _ranges().describe()
    features = ["TotalSF", "GrLivArea", "YearBuilt", "KitchenQual", "Neighborhood"]
    assert [entry["feature"] for entry in described] == features
    assert described[0] == {
        "feature": "TotalSF",
        "kind": "total",
        "fields": ["TotalBsmtSF", "1stFlrSF", "2ndFlrSF"],
        "importance": 0.4,
        "low": 800.0,
        "high": 4500.0,
    }
    assert described[4]["seen"] == ["NAmes", "OldTown"]


def test_a_house_inside_every_range_is_not_warned() -> None:
    assert _messages() == []
    assert _messages(LotArea=1e9) == []  # not among the top features


def test_a_number_above_the_range_is_named_with_its_value_and_the_range() -> None:
    assert ("GrLivArea", "GrLivArea 3500 is above the largest seen in training, 3000") in (
        _messages(GrLivArea=3500.0)
    )


def test_a_total_outside_is_reported_against_its_largest_part() -> None:
    [(field, message)] = _messages(**{"1stFlrSF": 1200.0, "2ndFlrSF": 0.0, "TotalBsmtSF": 4000.0})
    assert field == "TotalBsmtSF"
    assert message == (
        "TotalBsmtSF + 1stFlrSF + 2ndFlrSF = 5200 is above the largest seen in training, 4500"
    )


def test_a_total_is_warned_only_for_a_part_the_client_gave_above_0() -> None:
    """A total beyond training's made of floors left out (what a living area beyond training's
    leaves) beside a basement given as 0: the living area's warning says it; the total's would
    name the basement of 0 sq ft. With a floor given, the total is warned on it."""
    changes = {"GrLivArea": 5000.0, "1stFlrSF": 5000.0, "2ndFlrSF": 0.0, "TotalBsmtSF": 0.0}
    raw, features = _house(**changes)
    features["TotalSF"] = np.array([5000.0])

    def floors_left_out(name: str) -> np.ndarray:
        return np.array([name in ("1stFlrSF", "2ndFlrSF")])

    found = [(w.field, w.message) for w in _ranges().check(raw, features, floors_left_out)[0]]
    assert [field for field, _ in found] == ["GrLivArea"]
    given = [(w.field, w.message) for w in _ranges().check(raw, features, _nothing_assumed)[0]]
    assert ("1stFlrSF", "TotalBsmtSF + 1stFlrSF + 2ndFlrSF = 5000 is above the largest seen in "
            "training, 4500") in given  # fmt: skip


def test_an_age_is_reported_with_the_year_sent() -> None:
    [(field, message)] = _messages(YearBuilt=1850.0)
    assert field == "YearBuilt"
    assert message == (
        "YearBuilt 1850 is 158 years before the sale (YrSold 2008), more than any house seen "
        "in training, 108"
    )


def test_a_grade_below_any_seen_and_an_unseen_code_are_warned() -> None:
    assert _messages(KitchenQual="Po") == [
        ("KitchenQual", "KitchenQual Po is below the lowest grade seen in training, TA")
    ]
    assert _messages(Neighborhood="Blueste") == [
        ("Neighborhood", "Neighborhood Blueste was not seen in training")
    ]


def test_an_assumed_value_is_never_warned() -> None:
    raw, features = _house(GrLivArea=9000.0)
    [found] = _ranges().check(raw, features, lambda name: np.array([name == "GrLivArea"]))
    assert found == []


def test_a_number_below_the_range_is_named_with_its_value_and_the_range() -> None:
    assert _messages(GrLivArea=500.0) == [
        ("GrLivArea", "GrLivArea 500 is below the smallest seen in training, 800")
    ]


@pytest.mark.parametrize(
    ("area", "said"),
    [
        (799.9999999, "799.9999999"),  # to the cent, 800: below a smallest of 800?
        (3000.0000001, "3000.0000001"),
        (1e-7, "1e-07"),
        (512.345, "512.35"),  # to the cent where that says how it differs
        (799.5, "799.5"),
    ],
)
def test_a_number_is_written_so_that_it_differs_from_the_bound_it_passes(
    area: float, said: str
) -> None:
    [(_, message)] = _messages(GrLivArea=area)
    assert message.startswith(f"GrLivArea {said} is ")


def test_a_batch_gets_each_houses_warnings_as_every_range_would_give_them() -> None:
    """``check`` looks at every range of numbers at once first, and skips the ranges no house
    is outside: the same warnings, in the same order, as asking every range of every house."""
    houses: list[dict[str, object]] = [
        {},
        {"GrLivArea": 3500.0},
        {"GrLivArea": 500.0, "KitchenQual": "Po"},
        {"1stFlrSF": 100.0, "GrLivArea": 100.0, "TotalBsmtSF": 0.0},
        {"YearBuilt": 2009.0, "Neighborhood": "Blueste"},
        {"YearBuilt": 1850.0, "TotalBsmtSF": 4000.0, "KitchenQual": "Fa"},
    ]
    parts = [_house(**changes) for changes in houses]
    raw = {name: np.concatenate([one[name] for one, _ in parts]) for name in parts[0][0]}
    features = {name: np.concatenate([one[name] for _, one in parts]) for name in parts[0][1]}

    def assumed(name: str) -> np.ndarray:
        return np.zeros(len(houses), dtype=bool)

    ranges = _ranges()
    expected: list[list[object]] = [[] for _ in houses]
    for feature_range in ranges.ranges:
        for house in np.flatnonzero(feature_range.outside(raw, features, assumed)).tolist():
            expected[house].append(feature_range.warning(house, raw, features))
    found = ranges.check(raw, features, assumed)
    assert found == expected
    assert [len(warnings) for warnings in found] == [0, 1, 2, 2, 2, 3]


def test_a_feature_checked_whatever_its_importance_is_stored_after_the_top_ones() -> None:
    """``also`` (config.yml's ``also_checked``: the year of sale): LotArea, the least
    important, is checked once named; one named among the top ones is stored once."""
    ranges = _ranges(also=("LotArea", "GrLivArea", "LotArea"))
    described = ranges.describe()
    assert [entry["feature"] for entry in described] == [
        "TotalSF", "GrLivArea", "YearBuilt", "KitchenQual", "Neighborhood", "LotArea"
    ]  # fmt: skip
    assert (described[5]["low"], described[5]["high"]) == (1300.0, 21000.0)
    raw, features = _house(LotArea=1e7)
    [found] = ranges.check(raw, features, _nothing_assumed)
    assert [(w.field, w.message) for w in found] == [
        ("LotArea", "LotArea 10000000 is above the largest seen in training, 21000")
    ]
    with pytest.raises(ValueError, match="no feature YrSold"):
        _ranges(also=("YrSold",))
