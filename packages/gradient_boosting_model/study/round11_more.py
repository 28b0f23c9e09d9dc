"""Round 11 (2026-12): more of a good thing (a garage car, a deck, a porch, frontage) never
lowering a price.

0.3.7 holds a better grade (``blend.monotone_grades``) and a later year
(``blend.later_never_lower``) to never price a house lower. The README's probe of test.csv
(its figures on 0.3.6) found steps that still lower some prices; under 0.3.7's artifact, priced
lower by more than 0.05%: one more garage car, its area grown by a car's share, 57 of 1382 (at
most 5.0%); 100 sq ft more of wood deck 293 of 1459 (3.2%); 50 sq ft more of open porch 519 of
1459 (2.7%); 10 ft more of lot frontage 277 of 1232 (2.0%); 50 sq ft more of masonry veneer 997
of 1444 (1.0%). This round measures a numeric "more never lowers"
set, the rising twin of ``later_never_lower``: each field hidden from the trees
(``tree_hidden_columns``), its slope in the linear start and in the Lasso held at or above 0
(``rising_columns`` / ``monotone_columns``, as the grades'), its Lasso "> 0" indicator (an
area that is 0 for some houses) held at or above 0 too, and no spline of it (a curve may fall).
A derived total that holds one of them (``TotalOutdoorSF``, the deck and porches summed) is
held with it: the deck raises it.

Candidates, by round 10's protocol (the package's own cross-validation,
``fitting.out_of_fold``: 10 folds, fold seeds 42, 0 and 1 by changing only the folds' seed,
the training split, the holdout not read):

- **(a) 0.3.7**: the package's config through ``out_of_fold`` untouched (seed 42 gives the
  card's CV unwarned figure);
- **(b) garage**: ``GarageCars`` and ``GarageArea`` held rising;
- **(c) deck and porch**: ``WoodDeckSF``, ``OpenPorchSF`` and ``TotalOutdoorSF`` held rising;
- **(d) frontage and veneer**: ``LotFrontage`` and ``MasVnrArea`` held rising;
- **(b+c+d)**: all seven held rising; **(e)** is the union of those costing at most about the
  noise of refitting: (b+d) (``results_round11.md``);
- **(f) hidden only**: the seven hidden from the trees, the linear parts as today (splines,
  free slopes): no promise;
- **(g) rising slopes only**: the seven's linear slopes held at or above 0 and not splined,
  the trees still splitting on them: no promise either;
- **(h)**: (b+c+d) with ``GarageArea`` and ``LotFrontage`` kept splined, their curves rising
  (``RisingLasso``'s ``rising_splines``);
- the deck and porch's total: **(c1)** the deck and porch held, ``TotalOutdoorSF`` as today
  (the trees still read it: no promise); **(c5)** held, ``TotalOutdoorSF`` taken out of the
  model; **(c6)** held, ``TotalOutdoorSF`` replaced by ``OtherPorchSF`` (the other three
  porches' total, which neither grows); **(c-deck)** and **(c-porch)** one of the two with
  the total; and **(b+d+c5)**, **(b+d+c6)**;
- **(a')**: (a) through this file's ``fit_variant``, threaded: the same figures to the last
  digit, so that the differences are the candidates'.
- added after 0.3.7's release (its one more half bath lowers 121 of test.csv's prices, none
  under 0.3.6): **(e+half)**, (e) with ``HalfBath`` and ``TotalBaths`` held rising, and
  **(e+baths)**, with ``FullBath`` too; and the steps **half bath** and **full bath**.

The package has no "rising" numeric fields: here ``fit_variant`` is a copy of
``fitting.fit_pipeline`` with the candidate's columns added to the grades' rising and hidden
columns, and ``RisingLasso`` a ``BasisLasso`` that also holds the "> 0" indicators of its
rising areas at or above 0 (refitted with those bounds only if one came out below 0: the
bounded fit's optimum is then the same). The candidates other than (a) run ``out_of_fold`` with
``fitting.fit_pipeline`` replaced and joblib's threading backend (round 9's way: the
replacement does not reach loky's worker processes); the folds and every other step are the
package's.

Per candidate and seed: RMSLE of the 1048 training-split houses, all and unwarned, the package's
CV figures (``cross_validated_metrics``: the card's unwarned RMSLE, coverage, median width),
and for each step below, each training-split house priced by the fold model that did not see
it, before and after the step: the share priced lower by more than 0.05% (bench.py's floor) and
the largest drop. The steps, as the probe's:

- **car**: one more garage car, ``GarageArea`` grown by the area per car (houses with a garage);
- **deck**: ``WoodDeckSF`` + 100; **porch**: ``OpenPorchSF`` + 50 (every house);
- **frontage**: ``LotFrontage`` + 10 (houses that give it); **veneer**: ``MasVnrArea`` + 50
  (houses that give it);
- **half bath**: ``HalfBath`` + 1; **full bath**: ``FullBath`` + 1 (houses that give it).

Run from the package folder (about 2 minutes per candidate, its three seeds, on 2 shared
cores)::

    python -m study.round11_more RUNS.json [candidate key ...]   # measure, add to RUNS.json
    python -m study.round11_more RUNS.json --table               # results_round11.md's table
    python -m study.round11_more RUNS.json --served KEY ...      # test.csv, fitted as make train
    python -m study.round11_more RUNS.json --grids KEY ...       # each held field over a grid

Results: ``results_round11.md``; the package README's "Round 11".
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.pipeline import Pipeline

from gradient_boosting_model import basis_lasso, fitting
from gradient_boosting_model.basis_lasso import BasisLasso
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, read_dataset, split_holdout
from gradient_boosting_model.house_batch import Columns
from gradient_boosting_model.linear_start import LinearStart, slope_signs
from gradient_boosting_model.pipeline import fields_of_kind
from gradient_boosting_model.trained_model import Pricing, run_stages
from gradient_boosting_model.validation import validate_batch, validate_inputs
from study.oof_protocol import accuracy, drop, fitted_blend, prepared, training_out_of_fold

FloatArray = npt.NDArray[np.float64]
House = dict[str, Any]
SEEDS = (42, 0, 1)
#: bench.py's floor: a step up priced lower by more than this counts.
FLOOR = 0.0005

GARAGE = ("GarageCars", "GarageArea")
DECK_PORCH = ("WoodDeckSF", "OpenPorchSF", "TotalOutdoorSF")
FRONTAGE_VENEER = ("LotFrontage", "MasVnrArea")
ALL = (*GARAGE, *DECK_PORCH, *FRONTAGE_VENEER)
#: The bathrooms above grade, with the total that grows with them (``features.sums``).
HALF_BATH = ("HalfBath", "TotalBaths")
BATHS = ("HalfBath", "FullBath", "TotalBaths")
#: A total the trees may keep when the deck and open porch are held: the other porches'.
OTHER_PORCHES = ("OtherPorchSF", ("EnclosedPorch", "3SsnPorch", "ScreenPorch"))


@dataclass(frozen=True)
class Candidate:
    """A candidate's differences from 0.3.7's fit (matrix columns by name)."""

    name: str
    #: Hidden from the trees, slopes (value, "> 0" indicator) at or above 0, not splined.
    rising: tuple[str, ...] = ()
    #: Hidden from the trees only.
    hidden: tuple[str, ...] = ()
    #: Slopes at or above 0, not splined; the trees still split on them.
    bounded: tuple[str, ...] = ()
    #: Of ``rising``, those kept splined, with a rising curve (``RisingLasso``).
    curves: tuple[str, ...] = ()
    #: Derived totals taken out of the model (``features.sums``, ``linear_start.log_features``).
    dropped: tuple[str, ...] = ()
    #: Derived areas added (each its parts' sum, logged in the linear parts).
    added: tuple[tuple[str, tuple[str, ...]], ...] = ()


CANDIDATES = {
    "a": Candidate("(a) 0.3.7"),
    "a2": Candidate("(a') 0.3.7 through fit_variant, threaded"),
    "b": Candidate("(b) garage held rising", rising=GARAGE),
    "c": Candidate("(c) deck and porch held rising", rising=DECK_PORCH),
    "d": Candidate("(d) frontage and veneer held rising", rising=FRONTAGE_VENEER),
    "bcd": Candidate("(b+c+d) all seven held rising", rising=ALL),
    "bd": Candidate("(b+d) garage, frontage and veneer", rising=(*GARAGE, *FRONTAGE_VENEER)),
    "bdh": Candidate(
        "(e+half) garage, frontage, veneer and half bath (and TotalBaths) held rising",
        rising=(*GARAGE, *FRONTAGE_VENEER, *HALF_BATH),
    ),
    "bdhf": Candidate(
        "(e+baths) garage, frontage, veneer, half and full baths (and TotalBaths) held rising",
        rising=(*GARAGE, *FRONTAGE_VENEER, *BATHS),
    ),
    "f": Candidate("(f) the seven hidden from the trees only", hidden=ALL),
    "g": Candidate("(g) the seven's slopes rising only", bounded=ALL),
    "h": Candidate(
        "(h) all seven held rising, GarageArea and LotFrontage splined rising",
        rising=ALL,
        curves=("GarageArea", "LotFrontage"),
    ),
    "c1": Candidate(
        "(c1) deck and porch held rising, their total as today",
        rising=("WoodDeckSF", "OpenPorchSF"),
    ),
    "c5": Candidate(
        "(c5) deck and porch held rising, no TotalOutdoorSF",
        rising=("WoodDeckSF", "OpenPorchSF"),
        dropped=("TotalOutdoorSF",),
    ),
    "cdeck": Candidate(
        "(c-deck) deck and its total held rising", rising=("WoodDeckSF", "TotalOutdoorSF")
    ),
    "cporch": Candidate(
        "(c-porch) porch and its total held rising", rising=("OpenPorchSF", "TotalOutdoorSF")
    ),
    "bdc5": Candidate(
        "(b+d+c5) garage, frontage, veneer, deck and porch held rising, no TotalOutdoorSF",
        rising=(*GARAGE, *FRONTAGE_VENEER, "WoodDeckSF", "OpenPorchSF"),
        dropped=("TotalOutdoorSF",),
    ),
    "c6": Candidate(
        "(c6) deck and porch held rising, TotalOutdoorSF of the other three porches",
        rising=("WoodDeckSF", "OpenPorchSF"),
        dropped=("TotalOutdoorSF",),
        added=(OTHER_PORCHES,),
    ),
    "bdc6": Candidate(
        "(b+d+c6) garage, frontage, veneer, deck and porch held rising, other porches' total",
        rising=(*GARAGE, *FRONTAGE_VENEER, "WoodDeckSF", "OpenPorchSF"),
        dropped=("TotalOutdoorSF",),
        added=(OTHER_PORCHES,),
    ),
}
TODAY = CANDIDATES["a"]


def _car(house: House) -> House | None:
    cars, area = house.get("GarageCars"), house.get("GarageArea")
    if not cars or not area:
        return None
    return {**house, "GarageCars": cars + 1, "GarageArea": area + round(area / cars)}


def _more(field: str, amount: int) -> Callable[[House], House | None]:
    def step(house: House) -> House | None:
        value = house.get(field)
        return None if value is None else {**house, field: value + amount}

    return step


#: The probe's steps: each house's record after the step, or ``None`` where it does not apply.
STEPS: dict[str, Callable[[House], House | None]] = {
    "car": _car,
    "deck": _more("WoodDeckSF", 100),
    "porch": _more("OpenPorchSF", 50),
    "frontage": _more("LotFrontage", 10),
    "veneer": _more("MasVnrArea", 50),
    "half bath": _more("HalfBath", 1),
    "full bath": _more("FullBath", 1),
}


class RisingLasso(BasisLasso):
    """``BasisLasso`` whose ``monotone_columns`` that are areas also have their "> 0" indicator
    held at or above 0 (the package holds only a grade's steps up, whose thresholds are above
    0): an area grown from 0 never lowers the term. ``rising_splines``, monotone columns that
    are splined too, get a rising curve: the Lasso fits their B-spline functions as tail sums
    (``S_j = B_j + ... + B_last``, each slope at or above 0), so the curve's coefficient on
    ``B_i`` is the sum of the slopes up to ``j = i``: a non-decreasing sequence, and a B-spline
    with non-decreasing coefficients never falls. Turned back to the ``B_i``, the fitted state
    is the package's (``_compile`` and the pricing forms unchanged). Refitted with these bounds
    only where needed: with no rising curve and every such indicator at or above 0, the first
    fit is the bounded fit's optimum already.
    """

    def __init__(self, *, rising_splines: Sequence[int] = (), **params: Any) -> None:
        super().__init__(**params)
        self.rising_splines = rising_splines

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted({*BasisLasso._get_param_names(), "rising_splines"})

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> RisingLasso:
        curved = set(self.rising_splines)
        if not curved <= set(self.monotone_columns) & set(self.spline_columns):
            raise ValueError("a rising curve is of a monotone, splined column")
        params = {name: getattr(self, name) for name in BasisLasso._get_param_names()}
        params["monotone_columns"] = tuple(c for c in self.monotone_columns if c not in curved)
        inner = BasisLasso(**params).fit(X, y)  # the basis, and the fit without the bounds
        self.__dict__.update({k: v for k, v in vars(inner).items() if k.endswith("_")})
        held = np.isin(self.indicator_columns_, list(self.monotone_columns)) & (
            self.indicator_thresholds_ <= 0
        )
        if not curved and not np.any(self.basis_coef_[self._indicator_slice()][held] < 0):
            return self
        raw = self._raw(np.asarray(X, dtype=np.float64))
        signs = slope_signs(raw.shape[1], list(self.monotone_columns), self.falling_columns)
        signs[self._indicator_slice()] = (self.indicator_thresholds_ > 0) | held
        blocks = []
        if self.spline_ is not None:
            first = self._indicator_slice().stop
            per = self.spline_.n_features_out_ // self.spline_idx_.size
            for k, column in enumerate(self.spline_idx_.tolist()):
                if column in curved:
                    block = slice(first + k * per, first + (k + 1) * per)
                    raw[:, block] = np.cumsum(raw[:, block][:, ::-1], axis=1)[:, ::-1]
                    raw[:, block.start] = 0.0  # S_0 = 1 (partition of unity): the intercept's
                    signs[block] = 1
                    blocks.append(block)
        mean = raw.mean(axis=0)
        spread = raw.std(axis=0)
        scale = np.where(spread > 0, spread, 1.0)
        coef, self.intercept_ = basis_lasso._lasso(
            (raw - mean) / scale,
            np.asarray(y, dtype=np.float64),
            signs,
            alpha=self.alpha,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        # Back to the B_i: the same function of the house, so the same intercept (its value at
        # the basis's means); outside the curves the basis and its standardisation are the same.
        for block in blocks:
            coef[block] = np.cumsum(coef[block] / scale[block]) * self.scale_[block]
        self.basis_coef_ = coef
        self._compile()
        return self


def with_candidate(config: Config, candidate: Candidate, *, seed: int) -> Config:
    """0.3.7's config with the fold seed and ``candidate``'s totals dropped and added."""
    sums = {k: v for k, v in config.features.sums.items() if k not in candidate.dropped}
    sums.update({name: dict.fromkeys(parts, 1.0) for name, parts in candidate.added})
    features = config.features.model_copy(update={"sums": sums})
    logged = (
        *(n for n in config.linear_start.log_features if n not in candidate.dropped),
        *(name for name, _ in candidate.added),
    )
    return config.model_copy(
        update={
            "features": features,
            "linear_start": config.linear_start.model_copy(update={"log_features": logged}),
            "data": config.data.model_copy(update={"split_seed": seed}),
        }
    )


def fit_variant(candidate: Candidate) -> Callable[..., Pipeline]:
    """``fitting.fit_pipeline`` with ``candidate``'s columns (a copy of it; the grades and the
    years of ``later_never_lower`` as 0.3.7 holds them)."""

    def fit(
        columns: Columns, prices: FloatArray, config: Config, *, progress: bool = False
    ) -> Pipeline:
        pipeline, matrix, names = prepared(columns, prices, config)

        def index(fields: Sequence[str]) -> tuple[int, ...]:
            return tuple(names.index(name) for name in fields)

        log_columns = index(config.linear_start.log_features)
        rising = (*index(config.rising_fields), *index(candidate.rising), *index(candidate.bounded))
        falling = index(config.blend.later_never_lower)
        hidden = (
            *index(config.rising_fields),
            *falling,
            *index(candidate.rising),
            *index(candidate.hidden),
        )
        lasso = config.blend.lasso
        one_hot = [*fields_of_kind("category"), *fields_of_kind("grade"), *lasso.one_hot_features]
        unsplined = {*candidate.rising, *candidate.bounded} - set(candidate.curves)
        linear = RisingLasso(
            **lasso.model_dump(exclude={"one_hot_features", "spline_features"}),
            monotone_columns=rising,
            falling_columns=falling,
            rising_splines=index(candidate.curves),
            log_columns=log_columns,
            one_hot_columns=tuple(names.index(n) for n in one_hot if n in names),
            spline_columns=index(
                [n for n in lasso.spline_features if n in names and n not in unsplined]
            ),
        )
        start = LinearStart(
            alpha=config.linear_start.alpha,
            log_columns=log_columns,
            rising_columns=rising,
            falling_columns=falling,
        )
        return fitted_blend(pipeline, matrix, prices, start=start, linear=linear, hidden=hidden)

    return fit


def step_effects(out: fitting.OutOfFold, houses: list[House]) -> dict[str, list[float]]:
    """Per step: [houses it applies to, share priced lower by more than ``FLOOR``, largest
    drop (negative: every house priced higher)], each house priced by the fold model that did
    not see it."""
    train = ~out.excluded
    changes: dict[str, list[FloatArray]] = {name: [] for name in STEPS}
    for index, pricing in enumerate(out.pricings):
        fold_houses = [houses[i] for i in np.flatnonzero((out.fold == index) & train)]
        for name, step in STEPS.items():
            pairs = [(h, after) for h in fold_houses if (after := step(h)) is not None]
            before = pricing.stages(validate_batch([h for h, _ in pairs])).log_price
            after_ = pricing.stages(validate_batch([a for _, a in pairs])).log_price
            changes[name].append(np.expm1(after_ - before))
    effects = {}
    for name, parts in changes.items():
        change = np.concatenate(parts)
        effects[name] = [
            float(change.size),
            float(np.mean(change < -FLOOR)),
            float(-change.min()),
        ]
    return effects


def measure(config: Config, candidate: Candidate, *, seed: int) -> dict[str, Any]:
    """One candidate and fold seed: accuracy, coverage and the steps' effects out of fold."""
    settings = with_candidate(config, candidate, seed=seed)
    fit = None if candidate == TODAY else fit_variant(candidate)
    out, houses, seconds = training_out_of_fold(config, settings, fit)
    return {**accuracy(out, settings), "steps": step_effects(out, houses), "seconds": seconds}


def _per_seed(seeds: list[dict[str, Any]], key: str) -> str:
    """A figure's mean over the seeds, then each seed's."""
    each = " ".join(format(r[key], ".3f") for r in seeds)
    return f"{statistics.mean(r[key] for r in seeds):.3f} ({each})"


def table(runs: dict[str, list[dict[str, Any]]]) -> str:
    """results_round11.md's tables: accuracy (means over the seeds, RMSLE per seed and its
    change from (a)) and, per step, the share lowered (mean) and the largest drop (worst)."""
    base = runs[TODAY.name]
    lines = [
        "| candidate | RMSLE all | per seed (42, 0, 1) | change per seed | change, mean "
        "| unwarned | per seed | coverage (per seed) | median width (per seed) |",
        "| --- " * 9 + "|",
    ]
    for name, seeds in runs.items():
        change = [r["rmsle"] - b["rmsle"] for r, b in zip(seeds, base, strict=True)]
        lines.append(
            f"| {name} "
            f"| {statistics.mean(r['rmsle'] for r in seeds):.5f} "
            f"| {' '.join(format(r['rmsle'], '.5f') for r in seeds)} "
            f"| {' '.join(format(c, '+.5f') for c in change) if seeds is not base else ''} "
            f"| {format(statistics.mean(change), '+.5f') if seeds is not base else ''} "
            f"| {statistics.mean(r['rmsle_unwarned'] for r in seeds):.5f} "
            f"| {' '.join(format(r['rmsle_unwarned'], '.5f') for r in seeds)} "
            f"| {_per_seed(seeds, 'coverage')} "
            f"| {_per_seed(seeds, 'width')} |"
        )
    lines += [
        "",
        "| candidate | " + " | ".join(f"{s}: lower, largest drop" for s in STEPS) + " |",
        "| --- " * (len(STEPS) + 1) + "|",
    ]
    for name, seeds in runs.items():
        cells = [
            f"{statistics.mean(r['steps'][s][1] for r in seeds):.2%}, "
            f"{drop(max(r['steps'][s][2] for r in seeds))}"
            for s in STEPS
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    houses = {s: int(base[0]["steps"][s][0]) for s in STEPS}
    lines += ["", f"Houses each step applies to (of 1048): {houses}."]
    return "\n".join(lines)


def served(config: Config, keys: list[str]) -> None:
    """What a release would do to test.csv: 0.3.7 and each candidate fitted as ``make train``
    fits (the training split, the package's seed); per step, the test.csv houses priced lower
    by more than ``FLOOR`` and by more than 1%, and the largest drop (the probe's figures);
    per candidate, its moves from 0.3.7's prices (``release.new_version``'s figures) and the
    warnings gained or lost."""
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    columns = validate_inputs(houses)
    requests = read_dataset(config.data.requests_file)
    today: FloatArray | None = None
    today_warned = np.zeros(0, dtype=bool)
    for key in ["a", *keys]:
        candidate = CANDIDATES[key]
        fit = fitting.fit_pipeline if candidate == TODAY else fit_variant(candidate)
        settings = with_candidate(config, candidate, seed=config.data.split_seed)
        pipeline = fit(columns, prices, settings)
        pricing = Pricing.from_pipeline(pipeline)
        log_price = pricing.stages(validate_batch(requests)).log_price
        stages = run_stages(pipeline, validate_inputs(requests))
        checks = fitting.training_ranges(pipeline, columns, settings).check(
            stages.raw, stages.features, stages.assumed
        )
        warned = np.array([bool(found) for found in checks])
        cells = []
        for name, step in STEPS.items():
            pairs = [(h, after) for h in requests if (after := step(h)) is not None]
            before = pricing.stages(validate_batch([h for h, _ in pairs])).log_price
            change = np.expm1(
                pricing.stages(validate_batch([a for _, a in pairs])).log_price - before
            )
            cells.append(
                f"{name} {np.sum(change < -FLOOR)} of {change.size} "
                f"({np.sum(change < -0.01)} beyond 1%, largest {drop(-change.min())})"
            )
        line = f"{candidate.name}: " + "; ".join(cells)
        if today is None:
            today, today_warned = log_price, warned
        else:
            move = np.abs(np.expm1(log_price - today))
            line += (
                f"; moves from 0.3.7: median {np.median(move):.2%}, beyond 2% "
                f"{np.mean(move > 0.02):.1%}, 5% {np.mean(move > 0.05):.1%}, 10% "
                f"{np.mean(move > 0.10):.1%}, largest {move.max():.2%}; warned "
                f"{warned.sum()} (0.3.7: {today_warned.sum()}), "
                f"{np.sum(warned != today_warned)} houses' warning gained or lost"
            )
        print(line, flush=True)


#: Each held field over a grid of values (others as the house's record), for ``grids``.
GRIDS = {
    "GarageCars": range(1, 6),
    "GarageArea": range(10, 1500, 10),
    "LotFrontage": range(20, 320, 5),
    "MasVnrArea": range(0, 1500, 25),
}


def grids(config: Config, keys: list[str], *, houses: int = 300) -> None:
    """Each candidate fitted as ``make train`` fits; test.csv's first ``houses`` houses priced
    at every value of each of ``GRIDS``' fields: the houses with a step to the next value
    priced lower at all (a property test's check, on one fit)."""
    split = split_holdout(config)
    train, prices = features_and_target(split.train, config)
    requests = read_dataset(config.data.requests_file)[:houses]
    for key in keys:
        candidate = CANDIDATES[key]
        fit = fitting.fit_pipeline if candidate == TODAY else fit_variant(candidate)
        settings = with_candidate(config, candidate, seed=config.data.split_seed)
        pricing = Pricing.from_pipeline(fit(validate_inputs(train), prices, settings))
        cells = []
        for field, values in GRIDS.items():
            rows = [{**house, field: value} for house in requests for value in values]
            log_price = pricing.stages(validate_batch(rows)).log_price.reshape(len(requests), -1)
            steps = np.diff(log_price, axis=1)
            cells.append(
                f"{field} {int(np.sum(steps.min(axis=1) < 0))} of {len(requests)} "
                f"(largest drop {drop(-float(np.expm1(steps.min())))})"
            )
        print(f"{candidate.name}: " + "; ".join(cells), flush=True)


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    runs: dict[str, list[dict[str, Any]]] = json.loads(path.read_text()) if path.exists() else {}
    if argv[1:] == ["--table"]:
        ordered = {c.name: runs[c.name] for c in CANDIDATES.values() if c.name in runs}
        print(table(ordered))
        return 0
    config = load_config()
    if argv[1:2] == ["--served"]:
        served(config, argv[2:])
        return 0
    if argv[1:2] == ["--grids"]:
        grids(config, argv[2:])
        return 0
    for key in argv[1:]:
        candidate = CANDIDATES[key]
        runs[candidate.name] = [measure(config, candidate, seed=seed) for seed in SEEDS]
        path.write_text(json.dumps(runs, indent=1))
        print(candidate.name, json.dumps(runs[candidate.name]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
