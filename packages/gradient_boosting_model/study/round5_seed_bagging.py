"""Round 5 (2026-12-05): the boosted half averaged over several random seeds.

The trees are grown on random subsamples of houses (``subsample`` 0.8) and of fields at each
split (``max_features`` sqrt), so two seeds give two different ensembles; round 2 found that
averaging today's trees with CatBoost's gained 0.0008 (variance, not information). Averaging k
seeds of the same boosting gains the same kind of thing with no new code to explain or evaluate
(the trees of all seeds are one ensemble with leaf values divided by k), at k times the trees'
cost. At today's cost: k ensembles of 1000 / k trees at k times the learning rate.

The package's own cross-validation (``fitting.out_of_fold``: 10 folds, the big houses priced
but never trained on), fold seeds 42, 0 and 1; each seed's out-of-fold log prices of the whole
blend are kept, and a bag's are their mean (the Lasso half does not depend on the seed, so this
is exactly the out-of-fold price of the blend whose trees are the bag). RMSLE over the training
split's houses; the holdout is not read.

Run from the package folder (about 25 s a fit of the 10 folds here)::

    PYTHONPATH=. python -m study.round5_seed_bagging

Results: ``results_round5.md``.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import features_and_target, split_holdout
from gradient_boosting_model.fitting import out_of_fold
from gradient_boosting_model.validation import validate_inputs

FOLD_SEEDS = (42, 0, 1)
TREE_SEEDS = (0, 1, 2, 3)
#: (trees, learning rate) of each bagged ensemble: today's, and k ensembles at today's cost.
SETTINGS = {"1000 x 0.03": (1000, 0.03), "500 x 0.06": (500, 0.06), "333 x 0.09": (333, 0.09)}


def configured(config: Config, fold_seed: int, tree_seed: int, trees: int, rate: float) -> Config:
    model = config.model.model_copy(
        update={"random_state": tree_seed, "n_estimators": trees, "learning_rate": rate}
    )
    data = config.data.model_copy(update={"split_seed": fold_seed})
    return config.model_copy(update={"model": model, "data": data})


def main() -> None:
    config = load_config()
    split = split_holdout(config)
    houses, prices = features_and_target(split.train, config)
    big, big_prices = features_and_target(split.excluded, config)
    columns, excluded = validate_inputs(houses), (validate_inputs(big), big_prices)
    results: dict[tuple[str, int], list[float]] = {}
    for fold_seed in FOLD_SEEDS:
        for name, (trees, rate) in SETTINGS.items():
            kept = []
            for tree_seed in TREE_SEEDS:
                start = time.time()
                out = out_of_fold(
                    columns,
                    prices,
                    configured(config, fold_seed, tree_seed, trees, rate),
                    excluded=excluded,
                )
                kept.append(out.log_predicted[~out.excluded])
                actual = out.log_actual[~out.excluded]
                took = time.time() - start
                print(f"fold seed {fold_seed} {name} tree seed {tree_seed} ({took:.0f} s)")
            for k in range(1, len(TREE_SEEDS) + 1):
                # every bag of k seeds, so that no one seed decides
                scores = [
                    float(np.sqrt(np.mean((np.mean([kept[i] for i in bag], axis=0) - actual) ** 2)))
                    for bag in itertools.combinations(range(len(TREE_SEEDS)), k)
                ]
                results.setdefault((name, k), []).append(float(np.mean(scores)))
                print(
                    f"  fold seed {fold_seed} {name} k={k}: RMSLE {np.mean(scores):.5f}", flush=True
                )
    today = np.array(results[("1000 x 0.03", 1)])
    print("\nsetting, k: mean RMSLE over fold seeds; change from today's (one seed) per fold seed")
    for (name, k), found in results.items():
        change = np.array(found) - today
        print(f"{name:<12} k={k}: {np.mean(found):.5f}  {change.round(5).tolist()}")


if __name__ == "__main__":
    main()
