"""Load and validate ``config.yml`` into frozen pydantic models."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gradient_boosting_model.errors import ConfigError
from gradient_boosting_model.schemas import HOUSE_FIELDS

PACKAGE_ROOT = Path(str(resources.files("gradient_boosting_model")))
CONFIG_FILE = PACKAGE_ROOT / "config.yml"
DATASET_DIR = PACKAGE_ROOT / "datasets"

HouseField = Annotated[str, Field(min_length=1)]
#: What a model is fitted on (``data.served_fit``, and its metadata's ``fitted_on``): the
#: training split alone, or every labelled house kept, the holdout too (since 0.4.0).
FittedOn = Literal["training_split", "all_labelled"]
TRAINING_SPLIT, ALL_LABELLED = cast(tuple[FittedOn, FittedOn], get_args(FittedOn))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _unknown(names: list[str]) -> list[str]:
    return [name for name in names if name not in HOUSE_FIELDS]


class DataConfig(_Frozen):
    training_file: str = Field(min_length=1)
    requests_file: str = Field(min_length=1)
    target: str = Field(min_length=1)
    holdout_fraction: float = Field(gt=0, lt=1)
    split_seed: int = Field(ge=0)
    max_living_area: float = Field(gt=0)
    served_fit: FittedOn


class ElapsedYearsConfig(_Frozen):
    reference: HouseField
    variables: tuple[HouseField, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_fields(self) -> ElapsedYearsConfig:
        unknown = _unknown([self.reference, *self.variables])
        if unknown:
            raise ValueError(f"not house fields: {unknown}")
        return self


class FeaturesConfig(_Frozen):
    absent_label: str = Field(min_length=1)
    grade_scores: dict[str, float] = Field(min_length=1)
    absent_grade_score: float
    elapsed_years: ElapsedYearsConfig
    sums: dict[str, dict[HouseField, float]]
    impute_strategy: Literal["median", "mean"]

    @property
    def grade_scale(self) -> dict[str, float]:
        """Each grade's score, the absent label's (the house has none of the feature)
        included: what the pipeline scores grades by (``GradeScorer``) and the range warnings
        name a grade's score by (``input_ranges``)."""
        return {**self.grade_scores, self.absent_label: self.absent_grade_score}

    @property
    def grades_in_order(self) -> list[str]:
        """The grades, worst first (Po to Ex): the order a better grade never prices a house
        lower in (``blend.monotone_grades``)."""
        return sorted(self.grade_scores, key=self.grade_scores.__getitem__)

    @model_validator(mode="after")
    def _known_fields(self) -> FeaturesConfig:
        clashes = [name for name in self.sums if name in HOUSE_FIELDS]
        if clashes:
            raise ValueError(f"sums would overwrite house fields: {clashes}")
        unknown = _unknown([part for parts in self.sums.values() for part in parts])
        if unknown:
            raise ValueError(f"sums name columns that are not house fields: {unknown}")
        return self


class ModelConfig(_Frozen):
    loss: Literal["squared_error", "absolute_error", "huber", "quantile"]
    n_estimators: int = Field(ge=1, le=20_000)
    learning_rate: float = Field(gt=0, le=1)
    max_depth: int = Field(ge=1, le=32)
    min_samples_leaf: int = Field(ge=1)
    subsample: float = Field(gt=0, le=1)
    max_features: Literal["sqrt", "log2"] | float | None
    random_state: int = Field(ge=0)


Share = Annotated[float, Field(gt=0, lt=1)]


class LinearStartConfig(_Frozen):
    alpha: float = Field(gt=0)
    log_features: tuple[HouseField, ...]


class LassoConfig(_Frozen):
    alpha: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    tol: float = Field(gt=0)
    one_hot_features: tuple[HouseField, ...]
    min_count: int = Field(ge=1)
    indicator_shares: tuple[Share, Share]
    spline_features: tuple[HouseField, ...]
    spline_knots: int = Field(ge=2, le=50)
    spline_degree: int = Field(ge=1, le=5)

    @model_validator(mode="after")
    def _ordered_shares(self) -> LassoConfig:
        if self.indicator_shares[0] > self.indicator_shares[1]:
            raise ValueError("indicator_shares must be (low, high)")
        return self


class BlendConfig(_Frozen):
    weight: float = Field(gt=0, le=1)
    monotone_grades: bool
    later_never_lower: tuple[HouseField, ...]
    more_never_lower: tuple[HouseField, ...]
    lasso: LassoConfig


class SaleGroupsConfig(_Frozen):
    field: HouseField
    min_houses: int = Field(ge=2)
    groups: dict[str, tuple[str, ...]]

    @model_validator(mode="after")
    def _each_value_once(self) -> SaleGroupsConfig:
        values = [value for group in self.groups.values() for value in group]
        if len(values) != len(set(values)):
            raise ValueError("a sale condition is in two groups")
        return self


class PartialHousesConfig(_Frozen):
    """How the ranges of houses sent with details left out are scaled (``partial_ranges``)."""

    seed: int = Field(ge=0)
    keep_probabilities: tuple[Share, ...] = Field(min_length=1)
    masks_per_probability: int = Field(ge=2, le=100)
    field_sets: dict[str, tuple[HouseField, ...]] = Field(min_length=1)
    coverage_target: tuple[Share, Share]

    @model_validator(mode="after")
    def _known_fields(self) -> PartialHousesConfig:
        unknown = _unknown([name for names in self.field_sets.values() for name in names])
        if unknown:
            raise ValueError(f"unknown fields in field_sets: {', '.join(unknown)}")
        low, high = self.coverage_target
        if low >= high:
            raise ValueError("coverage_target is (lowest, highest), the lowest first")
        return self


class CalibrationConfig(_Frozen):
    level: Share
    folds: int = Field(ge=2, le=20)
    knots: int = Field(ge=2, le=100)
    bandwidth: float = Field(gt=0, le=5)
    group_quantiles: tuple[Share, ...]
    lower_levels: tuple[Share, ...]
    upper_levels: tuple[Share, ...]
    sale_groups: SaleGroupsConfig
    partial_houses: PartialHousesConfig

    @model_validator(mode="after")
    def _groups(self) -> CalibrationConfig:
        quantiles = self.group_quantiles
        if list(quantiles) != sorted(set(quantiles)):
            raise ValueError("group_quantiles must increase strictly")
        groups = len(quantiles) + 1
        if len(self.lower_levels) != groups or len(self.upper_levels) != groups:
            raise ValueError(f"lower_levels and upper_levels need one level per group ({groups})")
        return self


class WarningsConfig(_Frozen):
    top_features: int = Field(ge=1)
    also_checked: tuple[HouseField, ...]
    every_code: bool
    contradictions: bool
    record_rules: bool
    most_requests_warned: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _known_fields(self) -> WarningsConfig:
        unknown = _unknown(list(self.also_checked))
        if unknown:
            raise ValueError(f"also_checked are not house fields: {unknown}")
        return self


class DriftConfig(_Frozen):
    extra_fields: tuple[HouseField, ...]
    bins: int = Field(ge=2, le=100)
    floor: float = Field(gt=0, le=0.01)
    watch: float = Field(gt=0)
    alert: float = Field(gt=0)

    @model_validator(mode="after")
    def _fields_and_levels(self) -> DriftConfig:
        unknown = _unknown(list(self.extra_fields))
        if unknown:
            raise ValueError(f"extra_fields are not house fields: {unknown}")
        if self.alert <= self.watch:
            raise ValueError("alert must be above watch")
        return self


class NewVersionConfig(_Frozen):
    """How far a new version may move the released version's answers for the houses of the
    requests file (``release.diff``); a move is ``price / released price - 1``, either way."""

    max_median_move: Share
    #: A move -> the largest share of houses that may move by more than it.
    max_share_moving_more_than: dict[Share, Share] = Field(min_length=1)
    max_largest_move: float = Field(gt=0)
    max_share_warnings_changed: float = Field(ge=0, le=1)
    #: How far the ranges' median width (after / before) may move from 1, either way.
    max_median_width_change: Share


class ReleaseConfig(_Frozen):
    new_version: NewVersionConfig


class ArtifactsConfig(_Frozen):
    directory: str = Field(min_length=1)
    kept_directory: str = Field(min_length=1)
    name: str = Field(pattern=r"^[A-Za-z0-9_]+$")


class Config(_Frozen):
    data: DataConfig
    features: FeaturesConfig
    model: ModelConfig
    linear_start: LinearStartConfig
    blend: BlendConfig
    calibration: CalibrationConfig
    warnings: WarningsConfig
    drift: DriftConfig
    release: ReleaseConfig
    artifacts: ArtifactsConfig

    @model_validator(mode="after")
    def _log_features_exist(self) -> Config:
        known = {*HOUSE_FIELDS, *self.features.sums}
        unknown = [name for name in self.linear_start.log_features if name not in known]
        if unknown:
            raise ValueError(f"linear_start.log_features are not features: {unknown}")
        lasso = self.blend.lasso
        unknown = [
            name for name in (*lasso.one_hot_features, *lasso.spline_features) if name not in known
        ]
        if unknown:
            raise ValueError(f"blend.lasso's features are not features: {unknown}")
        ages = self.features.elapsed_years.variables
        unknown = [name for name in self.blend.later_never_lower if name not in ages]
        if unknown:
            raise ValueError(
                f"blend.later_never_lower takes years that become ages "
                f"(features.elapsed_years.variables): {unknown}"
            )
        self._check_more_never_lower()
        held = (*self.rising_fields, *self.blend.later_never_lower, *self.more_never_lower_columns)
        splined = [name for name in held if name in lasso.spline_features]
        if splined:
            raise ValueError(
                f"blend.lasso.spline_features has fields blend.monotone_grades, "
                f"later_never_lower or more_never_lower keeps monotone, and a curve may fall: "
                f"{splined}"
            )
        by_value = (*self.blend.later_never_lower, *self.more_never_lower_columns)
        coded = [name for name in by_value if name in lasso.one_hot_features]
        if coded:
            raise ValueError(
                f"blend.later_never_lower's years, more_never_lower's fields and the totals that "
                f"grow with them enter the Lasso as their value, and blend.lasso one-hots them "
                f"(a code may fall): {coded}"
            )
        return self

    def _check_more_never_lower(self) -> None:
        """``blend.more_never_lower``: house numbers (counts, areas) that are no year; a total
        of ``features.sums`` is held with them where it grows with one
        (``more_never_lower_columns``), and must not fall with one. (Neither splined nor
        one-hot, as ``later_never_lower``'s years: ``_log_features_exist``.)"""
        listed = self.blend.more_never_lower
        years = {*self.features.elapsed_years.variables, self.features.elapsed_years.reference}
        unfit = [
            name
            for name in listed
            if name not in HOUSE_FIELDS
            or HOUSE_FIELDS[name].metadata["kind"] != "number"
            or name in years
        ]
        if unfit:
            raise ValueError(
                f"blend.more_never_lower takes house numbers (counts, areas), no year: {unfit}"
            )
        falling = [
            total
            for total, parts in self.features.sums.items()
            if any(parts.get(name, 0) < 0 for name in listed)
        ]
        if falling:
            raise ValueError(
                f"features.sums has totals that fall as a field of blend.more_never_lower "
                f"rises (a negative weight): {falling}"
            )

    @property
    def more_never_lower_columns(self) -> tuple[str, ...]:
        """The matrix columns held rising for ``blend.more_never_lower`` (``fitting``): its
        fields, and each total of ``features.sums`` that grows with one of them (the half bath's
        ``TotalBaths``): the trees reading the total would price the field's step anew."""
        listed = self.blend.more_never_lower
        totals = tuple(
            total
            for total, parts in self.features.sums.items()
            if any(parts.get(name, 0) > 0 for name in listed)
        )
        return (*listed, *totals)

    @property
    def rising_fields(self) -> tuple[str, ...]:
        """The fields a better value of which never prices a house lower: the schema's grade
        fields where ``blend.monotone_grades`` (held rising in the model, ``fitting``, and
        named by the card, ``train``), else none."""
        if not self.blend.monotone_grades:
            return ()
        return tuple(name for name, f in HOUSE_FIELDS.items() if f.metadata["kind"] == "grade")


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        lines.append(f"  {key}: {problem['msg']}")
    return "\n".join(lines)


def load_config(path: Path = CONFIG_FILE) -> Config:
    """Read and validate the YAML config at ``path``.

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or any key is missing, unknown or invalid;
        the message names the file and every bad key.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    try:
        return Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"invalid config {path}:\n{_describe(error)}") from error


@cache
def packaged_config() -> Config:
    """The package's own config (``CONFIG_FILE``), read once a process: the packaged model is
    loaded with it and its card made with it (``predict.packaged_model_and_metadata``,
    ``loading.load_model_with_card``), where each read took a YAML parse and a validation."""
    return load_config()
