from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gradient_boosting_model.config import CONFIG_FILE, Config, load_config
from gradient_boosting_model.errors import ConfigError


def _write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture
def raw() -> dict[str, dict[str, object]]:
    loaded: dict[str, dict[str, object]] = yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))
    return loaded


def test_packaged_config_loads_and_is_frozen() -> None:
    config = load_config()
    assert isinstance(config, Config)
    assert 0 < config.data.holdout_fraction < 1
    with pytest.raises(ValueError, match="frozen"):
        config.data.split_seed = 1  # type: ignore[misc]


def test_missing_key_is_named(tmp_path: Path, raw: dict[str, dict[str, object]]) -> None:
    del raw["model"]["learning_rate"]
    with pytest.raises(ConfigError, match=r"model\.learning_rate: Field required"):
        load_config(_write(tmp_path, raw))


def test_wrong_type_is_named(tmp_path: Path, raw: dict[str, dict[str, object]]) -> None:
    raw["model"]["n_estimators"] = "many"
    with pytest.raises(ConfigError, match=r"model\.n_estimators"):
        load_config(_write(tmp_path, raw))


def test_out_of_range_value_is_named(tmp_path: Path, raw: dict[str, dict[str, object]]) -> None:
    raw["data"]["holdout_fraction"] = 1.5
    with pytest.raises(ConfigError, match=r"data\.holdout_fraction: Input should be less than 1"):
        load_config(_write(tmp_path, raw))


def test_unknown_key_is_named(tmp_path: Path, raw: dict[str, dict[str, object]]) -> None:
    raw["model"]["learning_rat"] = 0.1
    with pytest.raises(ConfigError, match=r"model\.learning_rat: Extra inputs are not permitted"):
        load_config(_write(tmp_path, raw))


def test_unknown_house_field_is_refused(tmp_path: Path, raw: dict[str, dict[str, object]]) -> None:
    raw["features"]["sums"] = {"TotalSF": {"FirstFloorSF": 1}}
    with pytest.raises(ConfigError, match="FirstFloorSF"):
        load_config(_write(tmp_path, raw))


def test_unparsable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text("data: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yml"):
        load_config(tmp_path / "nowhere.yml")


def test_drift_fields_must_be_house_fields(
    tmp_path: Path, raw: dict[str, dict[str, object]]
) -> None:
    raw["drift"]["extra_fields"] = ["SalePrice"]
    with pytest.raises(ConfigError, match=r"drift: .*not house fields: \['SalePrice'\]"):
        load_config(_write(tmp_path, raw))


def test_fields_checked_for_warnings_must_be_house_fields(
    tmp_path: Path, raw: dict[str, dict[str, object]]
) -> None:
    raw["warnings"]["also_checked"] = ["YrSold", "SalePrice"]
    with pytest.raises(ConfigError, match=r"warnings: .*not house fields: \['SalePrice'\]"):
        load_config(_write(tmp_path, raw))


def test_the_drift_alert_level_is_above_the_watch_level(
    tmp_path: Path, raw: dict[str, dict[str, object]]
) -> None:
    raw["drift"]["alert"] = 0.05
    with pytest.raises(ConfigError, match="alert must be above watch"):
        load_config(_write(tmp_path, raw))


def test_a_monotone_grade_is_not_splined(tmp_path: Path, raw: dict[str, dict[str, object]]) -> None:
    """A spline curve may fall: a grade splined would break ``blend.monotone_grades``."""
    lasso = raw["blend"]["lasso"]
    assert isinstance(lasso, dict)
    lasso["spline_features"] = [*lasso["spline_features"], "KitchenQual"]
    with pytest.raises(ConfigError, match=r"monotone_grades.*\['KitchenQual'\]"):
        load_config(_write(tmp_path, raw))
    raw["blend"]["monotone_grades"] = False  # not promised: allowed
    assert "KitchenQual" in load_config(_write(tmp_path, raw)).blend.lasso.spline_features


def test_a_later_never_lower_year_is_an_age_neither_splined_nor_one_hot(
    tmp_path: Path, raw: dict[str, dict[str, object]]
) -> None:
    """Its age enters the Lasso as its value alone, its slope held at or below 0."""
    lasso = raw["blend"]["lasso"]
    assert isinstance(lasso, dict)
    splines, codes = list(lasso["spline_features"]), list(lasso["one_hot_features"])
    for key, value, message in (
        ("spline_features", [*splines, "YearRemodAdd"], r"a curve may fall: \['YearRemodAdd'\]"),
        ("one_hot_features", [*codes, "YearRemodAdd"], r"a code may fall\): \['YearRemodAdd'\]"),
    ):
        lasso[key] = value
        with pytest.raises(ConfigError, match=message):
            load_config(_write(tmp_path, raw))
        lasso["spline_features"], lasso["one_hot_features"] = splines, codes
    raw["blend"]["later_never_lower"] = ["YrSold"]
    with pytest.raises(ConfigError, match=r"years that become ages .*\['YrSold'\]"):
        load_config(_write(tmp_path, raw))


def test_more_never_lower_takes_counts_and_areas_neither_splined_nor_one_hot(
    tmp_path: Path, raw: dict[str, dict[str, object]]
) -> None:
    """A field of ``blend.more_never_lower`` enters the Lasso as its value (and an area's "> 0"
    indicator), its slopes held at or above 0: no year, no code, no curve; a total that grows
    with one is held with it, and one falling with it refused."""
    config = load_config()
    assert config.more_never_lower_columns == (*config.blend.more_never_lower, "TotalBaths")
    blend, lasso = raw["blend"], raw["blend"]["lasso"]
    assert isinstance(blend, dict) and isinstance(lasso, dict)
    listed, splines = list(config.blend.more_never_lower), list(lasso["spline_features"])
    for field in ("YearBuilt", "YrSold", "Neighborhood", "KitchenQual", "Garage"):
        blend["more_never_lower"] = [*listed, field]
        with pytest.raises(ConfigError, match=rf"house numbers .*\['{field}'\]"):
            load_config(_write(tmp_path, raw))
    blend["more_never_lower"] = [*listed, "OverallCond"]
    with pytest.raises(ConfigError, match=r"a code may fall\): \['OverallCond'\]"):
        load_config(_write(tmp_path, raw))
    blend["more_never_lower"] = [*listed, "1stFlrSF"]  # splined, and so is its total TotalSF
    with pytest.raises(ConfigError, match=r"a curve may fall: \['1stFlrSF', 'TotalSF'\]"):
        load_config(_write(tmp_path, raw))
    blend["more_never_lower"] = listed
    lasso["spline_features"] = [*splines, "GarageArea"]
    with pytest.raises(ConfigError, match=r"a curve may fall: \['GarageArea'\]"):
        load_config(_write(tmp_path, raw))
    lasso["spline_features"] = splines
    sums = raw["features"]["sums"]
    assert isinstance(sums, dict)
    sums["TotalBaths"] = {**sums["TotalBaths"], "HalfBath": -0.5}
    with pytest.raises(ConfigError, match=r"fall as a field .* \['TotalBaths'\]"):
        load_config(_write(tmp_path, raw))
    blend["more_never_lower"] = []  # none held: no total either
    assert load_config(_write(tmp_path, raw)).more_never_lower_columns == ()


def test_the_rising_fields_are_the_grades_only_where_promised(
    tmp_path: Path, raw: dict[str, dict[str, object]]
) -> None:
    config = load_config()
    assert (
        config.rising_fields[:2] == ("ExterQual", "ExterCond") and len(config.rising_fields) == 10
    )
    raw["blend"]["monotone_grades"] = False
    assert load_config(_write(tmp_path, raw)).rising_fields == ()
