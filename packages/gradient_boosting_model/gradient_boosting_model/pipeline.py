"""Build the (unfitted) training pipeline from the config and the house-details schema."""

from __future__ import annotations

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import Pipeline

from gradient_boosting_model.area_parts import LIVING_AREA
from gradient_boosting_model.basis_lasso import BasisLasso
from gradient_boosting_model.blend import BlendedRegressor
from gradient_boosting_model.config import Config
from gradient_boosting_model.schemas import HOUSE_FIELDS
from gradient_boosting_model.transformers import (
    AbsentCategoryFiller,
    ColumnStacker,
    GradeScorer,
    MissingValueImputer,
    TargetOrderedEncoder,
    WeightedSums,
    YearsElapsed,
)


def fields_of_kind(kind: str) -> tuple[str, ...]:
    return tuple(name for name, f in HOUSE_FIELDS.items() if f.metadata["kind"] == kind)


def _absent_means_none() -> tuple[str, ...]:
    return tuple(name for name, f in HOUSE_FIELDS.items() if f.metadata["absent_means_none"])


def build_pipeline(config: Config) -> Pipeline:
    """Preprocessing steps, then gradient boosting blended with a Lasso on log(SalePrice),
    predicting dollars.

    The steps work on columns (see ``transformers``) until ``ColumnStacker`` makes a matrix.
    Which of the matrix's columns the linear parts log, one-hot or spline is set once the
    matrix's columns are known (``fitting.fit_pipeline``).
    """
    features = config.features
    lasso = config.blend.lasso
    regressor = BlendedRegressor(
        boosted=GradientBoostingRegressor(**config.model.model_dump()),
        # The fields to one-hot and spline become matrix columns once the matrix is known.
        linear=BasisLasso(**lasso.model_dump(exclude={"one_hot_features", "spline_features"})),
        weight=config.blend.weight,
    )
    return Pipeline(
        [
            (
                "absent_as_none",
                AbsentCategoryFiller(
                    variables=_absent_means_none(), fill_value=features.absent_label
                ),
            ),
            (
                "grades",
                GradeScorer(variables=fields_of_kind("grade"), scores=features.grade_scale),
            ),
            (
                "ages",
                YearsElapsed(
                    variables=features.elapsed_years.variables,
                    reference=features.elapsed_years.reference,
                ),
            ),
            ("categories", TargetOrderedEncoder(variables=fields_of_kind("category"))),
            # An unknown value is taken as typical: trained trees never saw most columns missing.
            # Floors left out are what the given parts leave of the living area (area_parts).
            (
                "impute",
                MissingValueImputer(strategy=features.impute_strategy, parts=(LIVING_AREA,)),
            ),
            ("totals", WeightedSums(sums=features.sums)),
            ("matrix", ColumnStacker()),
            (
                "regressor",
                TransformedTargetRegressor(regressor=regressor, func=np.log, inverse_func=np.exp),
            ),
        ]
    )
