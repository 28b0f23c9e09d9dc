"""Round 6 (2026-12-06): price ranges for houses sent with details left out.

The 90% ranges are calibrated on complete records; a house sent with only some of its details
(the rest assumed typical) is priced less surely, and its range held 0.60 of holdout prices for
seven-field houses (README, "A house with details left out"). This study measures that gap on
the training split alone and two ways to close it:

- **A, Mondrian by mask**: for a set of fields given (a mask), a scale of the served range: the
  conformal quantile (at the ranges' level) of the normalised scores of the out-of-fold houses
  cut to that mask, as ``calibration.fit_sale_groups`` scales each group of sale conditions.
- **B, one curve**: the scale as a function of a single number per mask, fitted on some masks
  and checked on others: the summed importance of the fields left out (each field's mean
  absolute log factor in the explanations of the training houses), or the spread of the
  model's log prices when the left-out fields are drawn from other training houses.

Protocol. The package's own folds (``config.yml``'s ``folds``, ``data.split_seed``: the
``KFold`` of ``fitting.out_of_fold``), one fold model each (``fitting.fit_pipeline``, with its
training ranges and what its training houses had assumed, as ``train.train_model`` builds the
served one), its ranges calibrated (``fitting.calibrate``) on the other folds' out-of-fold
residuals, as ``fitting.cross_validated_metrics`` does. Each training house is priced by the
fold model that did not see it, cut to a mask, through ``make_prediction`` (the served range,
warnings) and the same model's stages (the normalised score of its price against the shared
shape, divided by its sale group's scale: the share of the served range's half that its price
reaches, so that the served range holds it when the score is at most 1 and a range scaled by s
when it is at most s). Only the training split is read until the last step, which prices the
holdout with the served model (scales from the training folds) and only reports.

Needs the trained model (``make train``): the importances, B's spread and the holdout step use
it. Run from the package folder (about 3.5 minutes of CPU, the fits in 2 processes)::

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python -m study.round6_partial_ranges

Results: ``results_round6.md``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
from joblib import Parallel, delayed
from sklearn.model_selection import KFold

from gradient_boosting_model.calibration import conformal_quantile, normalised_scores
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.errors import InvalidInputError
from gradient_boosting_model.fitting import (
    OutOfFold,
    assumed_fields,
    calibrate,
    cross_validated_metrics,
    fit_pipeline,
    take,
    training_distributions,
    training_ranges,
)
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.persistence import load_model
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.schemas import HOUSE_FIELDS, REQUIRED_FIELDS
from gradient_boosting_model.trained_model import TrainedModel, run_stages
from gradient_boosting_model.validation import validate_batch, validate_inputs

FloatArray = npt.NDArray[np.float64]
Row = dict[str, Any]

OPTIONAL = tuple(name for name in HOUSE_FIELDS if name not in REQUIRED_FIELDS)
SEED = 6
#: Random masks: each optional field kept with probability p; per p, the first half of the
#: masks fit B, the second half check it.
KEEP_PROBABILITIES = (0.2, 0.5, 0.8)
MASKS_PER_P = 20
#: The spread of a mask: this many training houses, each with this many donors' values for
#: the fields left out (the same houses and donors for every mask).
SPREAD_HOUSES, SPREAD_DONORS = 60, 5


@dataclass(frozen=True)
class Mask:
    name: str
    #: Optional fields kept (the seven required ones always are).
    kept: frozenset[str]
    kind: str  # "table", "fit" (B is fitted on it) or "check" (B is checked on it)

    def cut(self, house: Row) -> Row:
        return {k: v for k, v in house.items() if k in REQUIRED_FIELDS or k in self.kept}

    @property
    def left_out(self) -> tuple[str, ...]:
        return tuple(name for name in OPTIONAL if name not in self.kept)


@dataclass(frozen=True)
class Priced:
    """Every training house cut to one mask, priced by its fold model."""

    covered: npt.NDArray[np.bool_]  # the served range (dollars, as make_prediction answers)
    score: FloatArray  # share of the served range's half the price reaches
    below: FloatArray  # the served range's halves, in log
    above: FloatArray
    warned: npt.NDArray[np.bool_]
    calibrated: npt.NDArray[np.bool_]


def table_masks(served: TrainedModel, config: Config) -> list[Mask]:
    """The field sets of the README's table ("A house with details left out")."""
    ranges = served.ranges.ranges[: config.warnings.top_features]
    warned = [name for found in ranges for name in found.fields if name not in REQUIRED_FIELDS]
    ten = list(dict.fromkeys(warned))
    more = ["FullBath", "HalfBath", "GarageArea", "Fireplaces", "YearRemodAdd", "MSZoning"]
    sets = {
        "7 required": [],
        "+TotalBsmtSF GarageCars FullBath HalfBath BedroomAbvGr": [
            "TotalBsmtSF",
            "GarageCars",
            "FullBath",
            "HalfBath",
            "BedroomAbvGr",
        ],
        "+1stFlrSF 2ndFlrSF KitchenQual TotalBsmtSF GarageCars": [
            "1stFlrSF",
            "2ndFlrSF",
            "KitchenQual",
            "TotalBsmtSF",
            "GarageCars",
        ],
        "+the ten warned features' fields": ten,
        "+those, 7 more": [*ten, *more, "CentralAir"],
    }
    masks = [Mask(name, frozenset(kept), "table") for name, kept in sets.items()]
    return [*masks, Mask("every field", frozenset(OPTIONAL), "fit")]


def random_masks() -> list[Mask]:
    rng = np.random.default_rng(SEED)
    masks = []
    for p in KEEP_PROBABILITIES:
        for index in range(MASKS_PER_P):
            kept = frozenset(np.asarray(OPTIONAL)[rng.random(len(OPTIONAL)) < p].tolist())
            kind = "fit" if index < MASKS_PER_P // 2 else "check"
            masks.append(Mask(f"p={p} #{index}", kept, kind))
    return masks


def _fit_fold(fitted: Columns, prices: FloatArray, held: Columns, config: Config) -> Any:
    pipeline = fit_pipeline(fitted, prices, config)
    stages = run_stages(pipeline, fitted)
    ranges = training_ranges(pipeline, fitted, config, stages=stages)
    held_stages = run_stages(pipeline, held)
    checks = ranges.check(held_stages.raw, held_stages.features, held_stages.assumed)
    return (
        pipeline,
        ranges,
        assumed_fields(stages),
        training_distributions(fitted, ranges, config),
        held_stages.log_price,
        np.array([bool(found) for found in checks]),
    )


def fold_models(
    columns: Columns, prices: FloatArray, config: Config
) -> tuple[list[TrainedModel], OutOfFold]:
    """One model per fold of ``fitting.out_of_fold``'s folds, each as the served model is
    built, its ranges calibrated on the other folds' out-of-fold residuals."""
    folds = KFold(config.calibration.folds, shuffle=True, random_state=config.data.split_seed)
    splits = list(folds.split(prices))
    fitted = Parallel(n_jobs=2)(
        delayed(_fit_fold)(take(columns, fit), prices[fit], take(columns, held), config)
        for fit, held in splits
    )
    size = prices.size
    log_predicted, fold, warned = np.zeros(size), np.zeros(size, np.intp), np.zeros(size, bool)
    for index, ((_, held), answer) in enumerate(zip(splits, fitted, strict=True)):
        log_predicted[held], fold[held], warned[held] = answer[4], index, answer[5]
    field = config.calibration.sale_groups.field
    out = OutOfFold(
        log_predicted=log_predicted,
        log_actual=np.log(prices),
        fold=fold,
        warned=warned,
        excluded=np.zeros(size, bool),
        sale_conditions=np.asarray(columns[field], dtype=object),
    )
    models = []
    for index, (pipeline, ranges, assumed, distributions, _, _) in enumerate(fitted):
        others = fold != index
        intervals = calibrate(
            log_predicted[others], out.log_actual[others], out.sale_conditions[others], config
        )
        models.append(
            TrainedModel(
                pipeline=pipeline,
                intervals=replace(intervals, assumed_fields=assumed),
                ranges=ranges,
                distributions=distributions,
            )
        )
    return models, out


def served_scores(
    model: TrainedModel, houses: list[Row], prices: FloatArray, field: str
) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray, FloatArray, Any, Any]:
    """Houses priced as served: whether the served range holds each price, the score, the
    range's halves in log, warned, calibrated."""
    answer = make_prediction(houses, model=model)
    lower = np.array([interval.lower for interval in answer.intervals])
    upper = np.array([interval.upper for interval in answer.intervals])
    covered = (lower <= prices) & (prices <= upper)
    stages = model.compiled_stages(validate_batch(houses))
    evidence = model.evidence(stages)
    log_price, log_actual = stages.log_price, np.log(prices)
    groups = model.intervals.groups
    assert groups is not None
    scale = groups.scale_of([house.get(field) for house in houses])
    score = normalised_scores(model.intervals, log_price, log_actual) / scale
    return (
        covered,
        score,
        log_price - evidence.log_lower,
        evidence.log_upper - log_price,
        np.array([bool(found) for found in answer.warnings]),
        evidence.calibrated,
    )


def price_mask(
    mask: Mask | None,
    models: list[TrainedModel],
    fold: npt.NDArray[np.intp],
    houses: list[Row],
    prices: FloatArray,
    config: Config,
    per_house: Sequence[Mask] | None = None,
) -> Priced:
    """Each house cut to ``mask`` (or to its own mask of ``per_house``) by its fold model."""
    arrays = [np.zeros(len(houses), bool), *(np.zeros(len(houses)) for _ in range(3))]
    arrays += [np.zeros(len(houses), bool), np.zeros(len(houses), bool)]
    field = config.calibration.sale_groups.field
    for index, model in enumerate(models):
        rows = np.flatnonzero(fold == index)
        if per_house is None:
            assert mask is not None
            cut = [mask.cut(houses[row]) for row in rows.tolist()]
        else:
            cut = [per_house[row].cut(houses[row]) for row in rows.tolist()]
        for array, part in zip(arrays, served_scores(model, cut, prices[rows], field), strict=True):
            array[rows] = part
    return Priced(*arrays)


def width(priced: Priced, scale: FloatArray | float) -> float:
    """Median width of the ranges scaled by ``scale``, as a share of the price predicted."""
    return float(np.median(np.exp(scale * priced.above) - np.exp(-scale * priced.below)))


def cross_fitted_scale(
    priced: Priced, fold: npt.NDArray[np.intp], level: float
) -> tuple[FloatArray, float]:
    """A: per house, the conformal quantile of the other folds' houses' scores; and the
    scale from every house (what would ship)."""
    scale = np.zeros(fold.size)
    for index in np.unique(fold).tolist():
        held = fold == index
        scale[held] = conformal_quantile(priced.score[~held], level)
    return scale, conformal_quantile(priced.score, level)


def field_importance(model: TrainedModel, houses: list[Row]) -> dict[str, float]:
    """Each field's mean absolute log factor over ``houses`` (complete records)."""
    explained = make_prediction(houses, model=model, explain=True).explanations
    assert explained is not None
    sizes = np.abs(explained.log_factors).mean(axis=0)
    return dict(zip(explained.fields, sizes.tolist(), strict=True))


def spread_of(model: TrainedModel, houses: list[Row], donors: list[list[Row]], mask: Mask) -> float:
    """RMS over ``houses`` of the standard deviation of the model's log price when the fields
    ``mask`` leaves out take each donor's values (a donor whose values make a record the
    schema refuses, a floor larger than the living area, say, is passed over)."""
    left_out = mask.left_out
    if not left_out:
        return 0.0
    filled, owner = [], []
    for index, (house, own) in enumerate(zip(houses, donors, strict=True)):
        for donor in own:
            filled.append({**mask.cut(house), **{k: donor[k] for k in left_out if k in donor}})
            owner.append(index)
    try:
        validate_batch(filled)
    except InvalidInputError as error:
        refused = set(error.errors)
        owner = [o for row, o in enumerate(owner) if row not in refused]
        filled = [house for row, house in enumerate(filled) if row not in refused]
    log_prices = np.log(make_prediction(filled, model=model).predictions)
    who = np.asarray(owner)
    count = np.bincount(who, minlength=len(houses))
    mean = np.bincount(who, log_prices, minlength=len(houses)) / np.maximum(count, 1)
    squares = np.bincount(who, (log_prices - mean[who]) ** 2, minlength=len(houses))
    usable = count >= 2
    return float(np.sqrt(np.mean(squares[usable] / count[usable])))


def named(names: set[str]) -> Callable[[Mask], bool]:
    """Whether a mask is one of ``names``."""
    return lambda mask: mask.name in names


#: B's curves: the scale as a function of the mask's number (a, b fitted by least squares).
FORMS: dict[str, tuple[Callable[[FloatArray], FloatArray], Callable[[FloatArray], FloatArray]]] = {
    # (transform of x, inverse of the transform of s): s = a + b x  or  s^2 = a + b x^2
    "linear": (lambda x: x, lambda y: y),
    "quadrature": (lambda x: x**2, lambda y: np.sqrt(np.maximum(y, 0.0))),
}


def fit_curve(x: FloatArray, scale: FloatArray, form: str) -> Callable[[FloatArray], FloatArray]:
    transform, inverse = FORMS[form]
    target = scale if form == "linear" else scale**2
    b, a = np.polyfit(transform(x), target, 1)
    return lambda new: inverse(a + b * transform(np.asarray(new, dtype=np.float64)))


def main() -> None:
    started = time.process_time()
    config = load_config()
    level = config.calibration.level
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    columns = validate_inputs(houses)
    served = load_model(config)  # trained on the training split; its holdout figures unread

    models, out = fold_models(columns, prices, config)
    fold = out.fold
    check = cross_validated_metrics(out, config)["intervals"]
    card = served.summary["cross_validation"]["intervals"]
    print(
        f"fold models: CV coverage {check['coverage']:.4f} width "
        f"{check['median_relative_width']:.4f} on {check['rows']} houses; the card's "
        f"{card['coverage']:.4f} {card['median_relative_width']:.4f} on {card['rows']} "
        f"({time.process_time() - started:.0f} s CPU in this process)",
        flush=True,
    )

    masks = [*table_masks(served, config), *random_masks()]
    rng = np.random.default_rng(SEED + 1)
    sample = rng.choice(len(houses), SPREAD_HOUSES, replace=False)
    spread_houses = [houses[i] for i in sample]
    spread_donors = [
        [houses[j] for j in rng.choice(len(houses), SPREAD_DONORS, replace=False)] for _ in sample
    ]
    importance = field_importance(served, houses)

    def number(mask: Mask) -> dict[str, float]:
        return {
            "importance": sum(importance.get(name, 0.0) for name in mask.left_out),
            "spread": spread_of(served, spread_houses, spread_donors, mask),
        }

    priced: dict[str, Priced] = {}
    numbers: dict[str, dict[str, float]] = {}
    timings = []
    for mask in masks:
        tic = time.perf_counter()
        priced[mask.name] = price_mask(mask, models, fold, houses, prices, config)
        timings.append(time.perf_counter() - tic)
        numbers[mask.name] = number(mask)
    mismatch = sum(int(np.sum(p.covered != (p.score <= 1.0 + 1e-9))) for p in priced.values())
    print(f"served range vs score <= 1 disagree on {mismatch} house-masks (cent rounding)")

    # B: choose the number and the form on the fit masks alone (leave one mask out).
    fit_masks = [m for m in masks if m.kind == "fit"]
    full_scale = {m.name: cross_fitted_scale(priced[m.name], fold, level)[1] for m in masks}
    choice = {}
    for x_name in ("importance", "spread"):
        for form in FORMS:
            x = np.array([numbers[m.name][x_name] for m in fit_masks])
            s = np.array([full_scale[m.name] for m in fit_masks])
            errors = []
            for i in range(x.size):
                keep = np.arange(x.size) != i
                errors.append(float(fit_curve(x[keep], s[keep], form)(x[i : i + 1])[0] - s[i]))
            choice[(x_name, form)] = float(np.sqrt(np.mean(np.square(errors))))
    for key, rmse in choice.items():
        print(f"B {key[0]:<10} {key[1]:<10}: leave-one-fit-mask-out RMSE of the scale {rmse:.4f}")
    best = min(choice, key=lambda key: choice[key])
    print(f"B chosen: {best}")

    def b_scales(chosen: tuple[str, str]) -> dict[str, FloatArray]:
        """Per mask, per house: B's scale fitted on the fit masks' other-fold houses."""
        x_name, form = chosen
        x_fit = np.array([numbers[m.name][x_name] for m in fit_masks])
        curves = {}
        for index in np.unique(fold).tolist():
            held = fold == index
            s = np.array(
                [conformal_quantile(priced[m.name].score[~held], level) for m in fit_masks]
            )
            curves[index] = fit_curve(x_fit, s, form)
        result = {}
        for mask in masks:
            x = np.array([numbers[mask.name][x_name]])
            scale = np.zeros(fold.size)
            for index, curve in curves.items():
                scale[fold == index] = curve(x)[0]
            result[mask.name] = scale
        return result

    b_by_choice = {key: b_scales(key) for key in choice}
    b = b_by_choice[best]
    print(
        "\nmask | kind | left out | importance | spread | today cov / width | A scale, cov /"
        " width | B scale, cov / width | calibrated today"
    )
    rows: list[dict[str, Any]] = []
    for mask in masks:
        p = priced[mask.name]
        a_scale, a_full = cross_fitted_scale(p, fold, level)
        row: dict[str, Any] = {
            "mask": mask.name,
            "kind": mask.kind,
            "left_out": len(mask.left_out),
            **numbers[mask.name],
            "today": (float(p.covered.mean()), width(p, 1.0)),
            "A": (a_full, float(np.mean(p.score <= a_scale)), width(p, a_scale)),
            "B": (
                float(np.median(b[mask.name])),
                float(np.mean(p.score <= b[mask.name])),
                width(p, b[mask.name]),
            ),
            "B_all": {
                f"{k[0]}/{k[1]}": float(np.mean(p.score <= v[mask.name]))
                for k, v in b_by_choice.items()
            },
            "calibrated": float(p.calibrated.mean()),
            "warned": int(p.warned.sum()),
        }
        rows.append(row)
        print(
            f"{row['mask']:<56} {row['kind']:<5} {row['left_out']:>2} "
            f"{row['importance']:.3f} {row['spread']:.3f} | "
            f"{row['today'][0]:.3f} / {row['today'][1]:.3f} | "
            f"{row['A'][0]:.2f} {row['A'][1]:.3f} / {row['A'][2]:.3f} | "
            f"{row['B'][0]:.2f} {row['B'][1]:.3f} / {row['B'][2]:.3f} | "
            f"{row['calibrated']:.2f} warned {row['warned']}",
            flush=True,
        )

    def summary(kind: str, chosen_by: Callable[[Mask], bool]) -> None:
        chosen = [row for row, mask in zip(rows, masks, strict=True) if chosen_by(mask)]
        for what in ("today", "A", "B"):
            cov = np.array([r[what][0 if what == "today" else 1] for r in chosen])
            wid = np.array([r[what][1 if what == "today" else 2] for r in chosen])
            print(
                f"  {kind:<28} {what:<5}: coverage mean {cov.mean():.3f} min {cov.min():.3f} "
                f"max {cov.max():.3f}; median width {np.median(wid):.3f} ({len(chosen)} masks)"
            )
        for key in b_by_choice:
            cov = np.array([r["B_all"][f"{key[0]}/{key[1]}"] for r in chosen])
            print(f"    B {key}: coverage mean {cov.mean():.3f} min {cov.min():.3f}")

    print("\nsummaries (coverage on out-of-fold houses, scales cross-fitted by fold)")
    for keep in KEEP_PROBABILITIES:
        for kind in ("check", "fit"):
            names = {m.name for m in masks if m.kind == kind and m.name.startswith(f"p={keep} ")}
            summary(f"{kind} masks p={keep}", named(names))
    summary("table field sets", lambda m: m.kind == "table")

    # Each house its own random mask: today and B only (A needs a scale per mask).
    x_name, form = best
    x_fit = np.array([numbers[m.name][x_name] for m in fit_masks])
    s_fit = np.array([full_scale[m.name] for m in fit_masks])
    curve = fit_curve(x_fit, s_fit, form)
    transform, _ = FORMS[form]
    b_coef, a_coef = np.polyfit(transform(x_fit), s_fit if form == "linear" else s_fit**2, 1)
    print(f"\nB's curve ({x_name}, {form}) from every fit mask: a {a_coef:.3f}, b {b_coef:.3f}")
    print("each house its own random mask (B's curve from every fit mask's scale)")
    for keep in KEEP_PROBABILITIES:
        own = [
            Mask(
                "own",
                frozenset(np.asarray(OPTIONAL)[rng.random(len(OPTIONAL)) < keep].tolist()),
                "",
            )
            for _ in houses
        ]
        each = price_mask(None, models, fold, houses, prices, config, per_house=own)
        if x_name == "importance":
            x = np.array([number(m)["importance"] for m in own])
        else:  # one spread per house's mask: the cost B would have when served
            x = np.array([spread_of(served, spread_houses, spread_donors, m) for m in own])
        scale = curve(x)
        print(
            f"  p={keep}: today {each.covered.mean():.3f} / {width(each, 1.0):.3f}; "
            f"B {np.mean(each.score <= scale):.3f} / {width(each, scale):.3f}",
            flush=True,
        )

    # Costs.
    print(
        f"\ncost of A per new mask: repricing {len(houses)} training houses with the fold models"
        f": median {1000 * np.median(timings):.0f} ms (min {1000 * np.min(timings):.0f})"
    )
    tic = time.perf_counter()
    for mask in masks[:10]:
        spread_of(served, spread_houses, spread_donors, mask)
    print(
        f"cost of B's spread per mask ({SPREAD_HOUSES} houses x {SPREAD_DONORS} donors): "
        f"{100 * (time.perf_counter() - tic):.0f} ms"
    )
    sizes = []
    for model in models:
        buffer = io.BytesIO()
        joblib.dump(model, buffer, compress=3)
        sizes.append(buffer.tell())
    buffer = io.BytesIO()
    joblib.dump(served, buffer, compress=3)
    print(
        f"artifact: served {buffer.tell() / 1e6:.2f} MB; the {len(models)} fold models "
        f"{sum(sizes) / 1e6:.2f} MB more (compress=3)"
    )
    print(f"training-split part: {time.process_time() - started:.0f} s CPU in this process")

    # Last: the holdout, read only to report (the served model; scales from the training folds).
    holdout, holdout_prices = features_and_target(split.holdout, config)
    field = config.calibration.sale_groups.field
    print("\nholdout (served model, 263 houses): today | A | B  (coverage / median width)")
    for mask in [m for m in masks if m.kind == "table" or m.name == "every field"]:
        covered, score, below, above, _, _ = served_scores(
            served, [mask.cut(h) for h in holdout], holdout_prices, field
        )
        on = Priced(covered, score, below, above, np.zeros(0, bool), np.zeros(0, bool))
        a = full_scale[mask.name]
        bs = float(curve(np.array([numbers[mask.name][x_name]]))[0])
        print(
            f"  {mask.name:<56} {covered.mean():.3f} / {width(on, 1.0):.3f} | "
            f"{np.mean(score <= a):.3f} / {width(on, a):.3f} (x{a:.2f}) | "
            f"{np.mean(score <= bs):.3f} / {width(on, bs):.3f} (x{bs:.2f})",
            flush=True,
        )
    print(f"total: {time.process_time() - started:.0f} s CPU in this process")


if __name__ == "__main__":
    main()
