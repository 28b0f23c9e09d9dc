"""The fitted pipeline's preprocessing, compiled into a few operations on whole matrices.

The pipeline's steps (``transformers``) each take and return a dict of columns and check their
fitted state and their columns on every call: for one house, some 200 numpy operations on
arrays of one value and seven scikit-learn checks, 40% of ``make_prediction``'s time. What they
compute is fixed once they are fitted, so ``CompiledPipeline.from_pipeline`` reads it off them,
once, into a plan that builds the model's matrix from a validated batch (``HouseBatch``: its
number matrix and its matrix of text codes) in some twenty operations, whatever the number of
houses (one house: 0.05 ms, where the steps took 0.5):

1. the numeric fields are copied into their columns of the matrix; years become years elapsed
   until the sale (``YearsElapsed``: the reference year minus the year, never below 0);
2. every coded field is looked up in one table per field composed from the steps that map it: a
   missing code read as "none" where Ames means none (``AbsentCategoryFiller``), then a grade's
   score (``GradeScorer``) or a category's rank (``TargetOrderedEncoder``); NaN for a code the
   table lacks, as there. For the text fields the tables are laid out as one array of each
   allowed value's number, which the batch's codes index (one operation for every text field
   of every house); numeric codes (MSSubClass) are looked up in their table as the step does;
3. a missing value (NaN) becomes its column's training statistic (``MissingValueImputer``),
   but for parts of an area, which share what the given parts leave of it (``area_parts``);
4. each derived total is summed from its parts, in the order of its weights (``WeightedSums``).

Every number is computed as the steps compute it: the same float64 operation on the same values,
sums in the same order. So the matrix, and the columns kept for the evidence (before imputation,
and the features by name), are the pipeline's to the last bit; tests hold them equal on
test.csv and on sampled and edge-case houses (missing values, unseen codes, values beyond the
training ranges). The plan is built when the model is trained and kept in the artifact with
the model's other priced forms (``pricing``): it is arrays and tables, and runs without
scikit-learn. It knows this package's steps, in the order ``build_pipeline``
puts them (imputation, then totals, then the matrix); a pipeline it cannot compile is refused
with a ``TypeError`` naming the step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.area_parts import AreaParts, share_the_rest
from gradient_boosting_model.derived_state import trained
from gradient_boosting_model.house_batch import BatchLayout, HouseBatch, code_offsets
from gradient_boosting_model.matrix_columns import MatrixColumns

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class _Number:
    """A numeric field as sent: column ``position`` of the batch's number matrix."""

    position: int


@dataclass(frozen=True)
class _Age:
    """Years from field ``year`` to field ``reference`` (positions in the number matrix)."""

    year: int
    reference: int


@dataclass(frozen=True)
class _Code:
    """A coded field (a text field by name, or a numeric one by position), mapped by the steps
    so far: while ``looked_up`` is false a code not in ``table`` is itself (only renamed, as
    "none" for a missing one); once looked up, a code not in ``table`` is NaN."""

    source: str | int
    table: Mapping[Any, Any]
    looked_up: bool


@dataclass(frozen=True)
class _Total:
    """A weighted sum of other columns (``WeightedSums``), in the order of ``parts``."""

    parts: tuple[tuple[str, Any], ...]


_Recipe = _Number | _Age | _Code | _Total


def _renamed(recipe: _Recipe, name: str, fill: Any) -> _Code:
    """``AbsentCategoryFiller`` on a column of codes: a missing code (None) becomes ``fill``."""
    if not isinstance(recipe, _Code) or recipe.looked_up:
        raise TypeError(f"AbsentCategoryFiller fills column {name!r}, which holds no codes")
    table = {None: fill, **{code: fill if v is None else v for code, v in recipe.table.items()}}
    return _Code(recipe.source, table, looked_up=False)


def _looked_up(recipe: _Recipe, name: str, table: Mapping[Any, Any]) -> _Code:
    """A lookup (``GradeScorer``, ``TargetOrderedEncoder``) on a column of codes or numbers:
    each code's value in ``table``, NaN if it has none."""
    if isinstance(recipe, _Number):
        recipe = _Code(recipe.position, {}, looked_up=False)
    if not isinstance(recipe, _Code) or recipe.looked_up:
        raise TypeError(f"cannot compile a lookup of column {name!r} after {recipe}")
    renamed = recipe.table
    composed = {code: table.get(code, math.nan) for code in table if code not in renamed}
    composed.update({code: table.get(value, math.nan) for code, value in renamed.items()})
    return _Code(recipe.source, composed, looked_up=True)


def _aged(recipe: _Recipe, reference: _Recipe, name: str) -> _Age:
    if not isinstance(recipe, _Number) or not isinstance(reference, _Number):
        raise TypeError(f"YearsElapsed measures column {name!r}, which is no year as sent")
    return _Age(recipe.position, reference.position)


@dataclass(frozen=True)
class _Plan:
    """What the steps do to each column, and the imputer's statistics, read off the steps."""

    recipes: dict[str, _Recipe]
    fills: dict[str, float]
    names: tuple[str, ...]
    #: The imputer's areas whose parts left out share what the others leave (``area_parts``).
    parts: tuple[AreaParts, ...] = ()


def _read_steps(
    steps: Sequence[Any], number_positions: Mapping[str, int], text_names: Sequence[str]
) -> _Plan:
    """Follow each fitted step's effect on every column, from the validated fields to the
    stacked matrix; refuse a step or an order this module cannot compile."""
    # Compiling reads fitted steps, so scikit-learn is loaded already; the plan needs neither.
    from sklearn.utils.validation import check_is_fitted

    from gradient_boosting_model.transformers import (
        AbsentCategoryFiller,
        ColumnStacker,
        GradeScorer,
        MissingValueImputer,
        TargetOrderedEncoder,
        WeightedSums,
        YearsElapsed,
    )

    # The steps compiled here, in an order checked below.
    compiled = (
        AbsentCategoryFiller,
        GradeScorer,
        YearsElapsed,
        TargetOrderedEncoder,
        MissingValueImputer,
        WeightedSums,
        ColumnStacker,
    )
    recipes: dict[str, _Recipe] = {name: _Number(j) for name, j in number_positions.items()}
    recipes |= {name: _Code(name, {}, looked_up=False) for name in text_names}
    fills: dict[str, float] | None = None
    parts: tuple[AreaParts, ...] = ()
    totals: dict[str, _Total] | None = None
    for step in steps:
        kind = type(step)
        if kind not in compiled:
            raise TypeError(f"cannot compile {kind.__name__}: not one of the package's steps")
        check_is_fitted(step)
        if fills is not None and kind not in (WeightedSums, ColumnStacker):
            raise TypeError(f"cannot compile {kind.__name__} after the imputation")
        if kind is AbsentCategoryFiller:
            for name in step.variables:
                recipes[name] = _renamed(recipes[name], name, step.fill_value)
        elif kind is GradeScorer:
            for name in step.variables:
                recipes[name] = _looked_up(recipes[name], name, step.scores or {})
        elif kind is TargetOrderedEncoder:
            for name, ranks in step.categories_.items():
                recipes[name] = _looked_up(recipes[name], name, ranks)
        elif kind is YearsElapsed:
            for name in step.variables:
                recipes[name] = _aged(recipes[name], recipes[step.reference], name)
        elif kind is MissingValueImputer:
            fills = {name: float(fill) for name, fill in step.statistics_.items()}
            missing = set(fills) - set(recipes)
            if missing:
                raise TypeError(f"the imputer fills columns the pipeline lacks: {missing}")
            parts = tuple(step.parts)
            for area in parts:
                named = {area.whole, *area.shared, *area.others}
                if not named <= set(fills):
                    raise TypeError(f"the imputer shares areas it does not fill: {named}")
        elif kind is WeightedSums and fills is not None and totals is None:
            totals = {}
            for name, summed in (step.sums or {}).items():
                if not set(summed) <= set(recipes):
                    raise TypeError(f"total {name!r} sums columns the pipeline lacks")
                totals[name] = _Total(tuple(summed.items()))
        elif kind is ColumnStacker and step is steps[-1]:
            names = tuple(step.feature_names_in_.tolist())
            columns = {**recipes, **(totals or {})}
            if set(names) != set(columns):
                raise TypeError("the matrix does not stack every column of the pipeline")
            return _Plan(recipes=columns, fills=fills or {}, names=names, parts=parts)
        else:
            raise TypeError(f"cannot compile {kind.__name__} in this place of the pipeline")
    raise TypeError("the pipeline does not end in a ColumnStacker")


def _positions(plan: _Plan, kind: type[Any]) -> tuple[list[int], list[Any]]:
    """The matrix positions of the columns made by recipes of ``kind``, and those recipes."""
    found = [(j, plan.recipes[name]) for j, name in enumerate(plan.names)]
    chosen = [(j, recipe) for j, recipe in found if isinstance(recipe, kind)]
    return [j for j, _ in chosen], [recipe for _, recipe in chosen]


def _indices(values: Sequence[int]) -> IntArray:
    return np.asarray(values, dtype=np.intp)


@dataclass(frozen=True)
class CompiledStages:
    """One batch through the compiled preprocessing: the matrix, and the stages kept for the
    evidence (the columns before imputation; the features by name, views of the matrix)."""

    matrix: FloatArray
    before_impute: MatrixColumns
    features: MatrixColumns


@dataclass(frozen=True, eq=False)
class CompiledPipeline:
    """A fitted pipeline's preprocessing as whole-matrix operations (see the module)."""

    #: Where the batches it reads keep each field.
    layout: BatchLayout
    #: Matrix columns copied from number columns.
    number_to: IntArray
    number_from: IntArray
    #: Matrix columns of years elapsed: the year's and the reference year's number columns.
    age_to: IntArray
    age_year: IntArray
    age_reference: IntArray
    #: Text fields looked up: their matrix columns, their columns in the batch's code matrix,
    #: and their composed tables, also as one array of every field's number for each of its
    #: allowed values (``layout.text_choices``), where each field starts at its offset.
    text_to: IntArray
    text_fields: IntArray
    text_tables: tuple[dict[Any, Any], ...]
    text_lookup: FloatArray
    text_offsets: IntArray
    #: Numeric codes looked up: (matrix column, number column, composed table).
    number_codes: tuple[tuple[int, int, dict[Any, Any]], ...]
    #: Each column's imputation value (NaN for a column the imputer does not fill).
    fills: FloatArray
    #: Totals: their matrix columns; (totals x most parts) the parts' matrix columns and
    #: weights, a total with fewer parts padded with its first part at weight 0.
    total_to: IntArray
    part_columns: IntArray
    part_weights: FloatArray
    #: Every column's matrix position by name, and the fields' alone (before imputation).
    positions: Mapping[str, int]
    field_positions: Mapping[str, int]
    #: Areas whose parts left out share what the others leave (``area_parts``), by matrix
    #: position: (whole, others, shared). Empty in a plan compiled before they were.
    area_parts: tuple[tuple[int, tuple[int, ...], tuple[int, ...]], ...] = ()

    @cached_property
    def order(self) -> IntArray:
        """Where each matrix column is among the columns ``run`` makes side by side: the
        numbers, the ages, the texts, the numeric codes, then the totals."""
        made = [
            self.number_to,
            self.age_to,
            self.text_to,
            _indices([position for position, _, _ in self.number_codes]),
            self.total_to,
        ]
        order = np.empty(len(self.positions), dtype=np.intp)
        order[np.concatenate(made)] = np.arange(len(self.positions))
        return order

    @classmethod
    def from_pipeline(cls, pipeline: Pipeline, *, layout: BatchLayout) -> CompiledPipeline:
        """Compile the fitted preprocessing of ``pipeline`` (its steps but the regressor) for
        batches kept as ``layout`` says.

        Raises
        ------
        TypeError
            If a step is not one of this package's transformers, or out of their order.
        """
        steps = [step for _, step in pipeline.steps[:-1]]
        plan = _read_steps(steps, layout.number_positions, layout.text_names)
        positions = {name: j for j, name in enumerate(plan.names)}
        number_to, number_recipes = _positions(plan, _Number)
        age_to, ages = _positions(plan, _Age)
        code_to, codes = _positions(plan, _Code)
        if any(not code.looked_up for code in codes):
            raise TypeError("a column of codes reaches the matrix without being looked up")
        texts = [(j, c) for j, c in zip(code_to, codes, strict=True) if isinstance(c.source, str)]
        fields = [layout.text_positions[str(code.source)] for _, code in texts]
        tables = tuple(dict(code.table) for _, code in texts)
        lookup, offsets = _lookup_arrays(tables, [layout.text_choices[f] for f in fields])
        total_to, totals = _positions(plan, _Total)
        columns, weights = _padded_parts(totals, positions)
        return cls(
            layout=layout,
            number_to=_indices(number_to),
            number_from=_indices([recipe.position for recipe in number_recipes]),
            age_to=_indices(age_to),
            age_year=_indices([age.year for age in ages]),
            age_reference=_indices([age.reference for age in ages]),
            text_to=_indices([j for j, _ in texts]),
            text_fields=_indices(fields),
            text_tables=tables,
            text_lookup=lookup,
            text_offsets=offsets,
            number_codes=tuple(
                (j, code.source, dict(code.table))
                for j, code in zip(code_to, codes, strict=True)
                if isinstance(code.source, int)
            ),
            fills=np.array([plan.fills.get(name, math.nan) for name in plan.names]),
            total_to=_indices(total_to),
            part_columns=columns,
            part_weights=weights,
            positions=positions,
            field_positions={
                name: j
                for name, j in positions.items()
                if not isinstance(plan.recipes[name], _Total)
            },
            area_parts=tuple(
                (
                    positions[area.whole],
                    tuple(positions[name] for name in area.others),
                    tuple(positions[name] for name in area.shared),
                )
                for area in plan.parts
            ),
        )

    def __getstate__(self) -> dict[str, Any]:
        return trained(self.__dict__, "order")  # made again on first use

    def run(self, batch: HouseBatch) -> CompiledStages:
        """The model's matrix of ``batch``, as the pipeline's steps make it, with the stages."""
        if batch.layout is not self.layout:
            raise ValueError("the batch is not laid out as the plan was compiled for")
        houses, numbers = batch.houses, batch.numbers
        elapsed = numbers.take(self.age_reference, axis=1) - numbers.take(self.age_year, axis=1)
        codes = [
            np.fromiter(
                map(table.get, numbers[:, column].tolist(), repeat(math.nan)),
                dtype=np.float64,
                count=houses,
            )[:, None]
            for _, column, table in self.number_codes
        ]
        # Every column made apart, side by side, then put in the matrix's order in one gather:
        # for one house the calls, not the numbers, are the cost.
        made = np.concatenate(
            [
                numbers.take(self.number_from, axis=1),
                np.maximum(elapsed, 0.0),  # NaN stays NaN where a year is missing
                self._text_numbers(batch),
                *codes,
                np.zeros((houses, self.total_to.size)),  # not summed yet: nothing to impute
            ],
            axis=1,
        )
        before = made.take(self.order, axis=1)
        missing = np.isnan(before)
        matrix = np.where(missing, self.fills, before)
        if self.area_parts and missing.any():
            self._share_areas(matrix, missing)
        matrix[:, self.total_to] = self._totals(matrix)
        return CompiledStages(
            matrix=matrix,
            before_impute=MatrixColumns(before, self.field_positions),
            features=MatrixColumns(matrix, self.positions),
        )

    def _text_numbers(self, batch: HouseBatch) -> FloatArray:
        """(houses x text fields looked up): each value's number in its field's table, NaN if
        it has none: the batch's codes index the tables laid out as one array."""
        codes = batch.text_codes.take(self.text_fields, axis=1)
        looked_up = self.text_lookup.take(codes + self.text_offsets)
        if batch.uncoded:  # a value the schema accepted as no allowed one: looked up as sent
            for house, field in np.argwhere(codes < 0).tolist():
                sent = batch.texts[house][self.text_fields[field]]
                looked_up[house, field] = self.text_tables[field].get(sent, math.nan)
        return looked_up

    def _share_areas(self, matrix: FloatArray, missing: npt.NDArray[np.bool_]) -> None:
        """``MissingValueImputer``'s areas, in place: the parts left out share what the given
        ones leave of the whole, by the function the step calls (``area_parts``)."""
        for whole, others, shared in self.area_parts:
            left_out = [missing[:, j] for j in shared]
            if not any(column.any() for column in left_out):
                continue
            filled = share_the_rest(
                matrix[:, whole], [matrix[:, j] for j in others],
                [matrix[:, j] for j in shared], left_out,
            )  # fmt: skip
            for j, column in zip(shared, filled, strict=True):
                matrix[:, j] = column

    def _totals(self, matrix: FloatArray) -> FloatArray:
        """(houses x totals): each total added up as ``WeightedSums`` adds it, from 0, part by
        part in order. A pad adds its part (finite: validated, imputed) times 0, a zero, which
        changes no sum: the running sum is never -0 (it starts as 0 + the first part, +0 when
        that part is a zero)."""
        products = matrix.take(self.part_columns, axis=1) * self.part_weights
        # Running sums part by part, in order, from the first part: the same sums as from 0
        # but for the sign of a zero, which the last + 0.0 makes +0 as a sum from 0 ends.
        running = np.add.accumulate(products, axis=2)
        total: FloatArray = running[:, :, -1] + 0.0
        return total


def _lookup_arrays(
    tables: Sequence[Mapping[Any, Any]], values: Sequence[Sequence[Any]]
) -> tuple[FloatArray, IntArray]:
    """Each table's number for each of its field's ``values`` (NaN where it has none), the
    fields one after another, and where each field's numbers start."""
    looked_up = [
        [table.get(value, math.nan) for value in field]
        for table, field in zip(tables, values, strict=True)
    ]
    flat = np.array([value for field in looked_up for value in field], dtype=np.float64)
    return flat, code_offsets(values)


def _padded_parts(
    totals: Sequence[_Total], positions: Mapping[str, int]
) -> tuple[IntArray, FloatArray]:
    """The totals' parts as (totals x most parts) matrix columns and weights, padded."""
    most = max((len(total.parts) for total in totals), default=0)
    columns = np.zeros((len(totals), most), dtype=np.intp)
    weights = np.zeros((len(totals), most), dtype=np.float64)
    for row, total in enumerate(totals):
        parts = [positions[part] for part, _ in total.parts]
        columns[row] = parts + [parts[0]] * (most - len(parts))
        weights[row, : len(parts)] = [weight for _, weight in total.parts]
    return columns, weights
