"""Round 12 (2026-12-07): what fitting on the holdout too (0.4.0) is worth, on the holdout's houses.

0.4.0 serves 0.3.8's procedure fitted on every labelled house kept (1311), where 0.3.8 was
fitted on the training split (1048); the holdout can no longer measure the served model. This
measures the step on houses no model priced them trained on, in two ways, for each fold seed:

- **the holdout's 263 houses**: priced by the twin (0.3.8: fitted on the 1048), and out of fold
  by 10-fold cross-validation of all 1311 (each fold model fitted on about 1180, the other
  holdout houses among them, never the house it prices): the same houses, each priced by a
  model that never saw it, paired;
- **the training split's 1048 houses**: out of fold by 10-fold cross-validation of the training
  split alone (fold models on about 943) and of all 1311 (about 1180).

Each fold model is the package's ``fit_pipeline`` with today's config (the fold seed apart);
RMSLE over every house (warned or not). Run from the package folder::

    PYTHONPATH=. python -m study.round12_all_labelled 0 1 2

Results: ``results_round12.md``.
"""

from __future__ import annotations

import sys

import numpy as np
import numpy.typing as npt

from gradient_boosting_model.bootstrap import paired_interval
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, served_split, split_holdout
from gradient_boosting_model.fitting import out_of_fold
from gradient_boosting_model.persistence import load_holdout_model
from gradient_boosting_model.predict import make_prediction
from gradient_boosting_model.validation import validate_inputs

FloatArray = npt.NDArray[np.float64]


def _fold_seeded(config: Config, seed: int) -> Config:
    """``config`` with ``seed`` for the folds (``out_of_fold`` reads ``data.split_seed``); the
    holdout is split off before, with the config's own."""
    return config.model_copy(update={"data": config.data.model_copy(update={"split_seed": seed})})


def _rmsle(log_predicted: FloatArray, log_actual: FloatArray) -> float:
    return float(np.sqrt(np.mean((log_predicted - log_actual) ** 2)))


def main(seeds: list[int]) -> None:
    config = load_config()
    split = split_holdout(config)
    everything = served_split(split, config)
    train_houses, train_prices = features_and_target(split.train, config)
    all_houses, all_prices = features_and_target(everything.train, config)
    holdout_houses, holdout_prices = features_and_target(split.holdout, config)
    in_train = len(train_houses)
    assert all_houses[:in_train] == train_houses  # the training split first, then the holdout
    twin = np.log(make_prediction(holdout_houses, model=load_holdout_model(config)).predictions)
    actual = np.log(holdout_prices)
    print(f"holdout, the twin (fitted on {in_train}): RMSLE {_rmsle(twin, actual):.5f}")
    for seed in seeds:
        seeded = _fold_seeded(config, seed)
        alone = out_of_fold(validate_inputs(train_houses), train_prices, seeded)
        together = out_of_fold(validate_inputs(all_houses), all_prices, seeded)
        on_holdout = together.log_predicted[in_train:]
        on_train = together.log_predicted[:in_train]
        print(
            f"fold seed {seed}: holdout, out of fold of all {len(all_houses)}: RMSLE "
            f"{_rmsle(on_holdout, actual):.5f} (twin minus it "
            f"{_rmsle(twin, actual) - _rmsle(on_holdout, actual):+.5f}, 90% interval "
            f"{_interval(twin, on_holdout, actual)}); training split out of fold: alone "
            f"{_rmsle(alone.log_predicted, alone.log_actual):.5f}, with the holdout "
            f"{_rmsle(on_train, alone.log_actual):.5f}",
            flush=True,
        )


def _interval(first: FloatArray, second: FloatArray, actual: FloatArray) -> str:
    """A paired bootstrap's 90% interval of RMSLE(first) - RMSLE(second) (fixed seed)."""

    def difference(drawn: npt.NDArray[np.intp]) -> FloatArray:
        one = np.sqrt(np.mean((first[drawn] - actual[drawn]) ** 2, axis=1))
        other = np.sqrt(np.mean((second[drawn] - actual[drawn]) ** 2, axis=1))
        return np.asarray(one - other, dtype=np.float64)

    low, high = paired_interval(difference, actual.size, seed=0)
    return f"{low:+.5f} to {high:+.5f}"


if __name__ == "__main__":
    main([int(seed) for seed in sys.argv[1:]] or [0])
