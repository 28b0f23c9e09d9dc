"""Round 4 (2026-12-05): how much would more houses help? A learning curve on the training split.

The released model is fitted on the training split (80% of the labelled houses, 1048), and the
holdout (263) is kept for the card's figures, ``make bench`` and the shadow replay. Refitting
the served model on all of them would give it 25% more houses. This estimates what that is worth
without reading the holdout: in 5-fold CV of the training split, each fold's model is fitted on
all its training rows (838) and on a random 80% of them (670, as 1048 is 80% of 1311), and both
price the fold's test rows. The difference, 670 -> 838 houses, is what 1048 -> 1311 would be
worth if the curve did not flatten (it does, so it is an upper estimate).

Run from the package folder, one process per fold seed (each about 2 minutes here)::

    PYTHONPATH=. OMP_NUM_THREADS=1 python -m study.round4_learning_curve 0
    PYTHONPATH=. OMP_NUM_THREADS=1 python -m study.round4_learning_curve 1
    PYTHONPATH=. OMP_NUM_THREADS=1 python -m study.round4_learning_curve 2

Results: ``results_round4.md``.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.model_selection import KFold

from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import fit_pipeline
from gradient_boosting_model.validation import validate_inputs

FOLDS = 5
SHARE = 0.8  # the training split's share of the labelled houses


def main(seed: int) -> None:
    config = load_config()
    houses, prices = features_and_target(split_holdout(config).train, config)
    squared: dict[str, float] = {"all": 0.0, "80%": 0.0}
    folds = KFold(FOLDS, shuffle=True, random_state=seed).split(houses)
    for fold, (train, test) in enumerate(folds):
        priced = validate_inputs([houses[i] for i in test])
        rng = np.random.default_rng(100 + 10 * seed + fold)
        fewer = np.sort(rng.choice(train, size=round(SHARE * len(train)), replace=False))
        line = [f"seed {seed} fold {fold}:"]
        for name, rows in (("all", train), ("80%", fewer)):
            pipeline = fit_pipeline(
                validate_inputs([houses[i] for i in rows]), prices[rows], config
            )
            errors = np.log(pipeline.predict(priced)) - np.log(prices[test])
            squared[name] += float(np.sum(errors**2))
            line.append(f"{name} ({len(rows)}) {np.sqrt(np.mean(errors**2)):.4f}")
        print(" ".join(line), flush=True)
    rmsle = {name: np.sqrt(total / len(houses)) for name, total in squared.items()}
    print(
        f"seed {seed}: RMSLE with all of each fold's rows {rmsle['all']:.5f}, with 80% "
        f"{rmsle['80%']:.5f}: {rmsle['all'] - rmsle['80%']:+.5f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
