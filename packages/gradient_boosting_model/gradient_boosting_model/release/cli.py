"""``python -m gradient_boosting_model.release``: the differential test, and the baseline.

::

    python -m gradient_boosting_model.release diff --baseline DIR [--model ARTIFACT]
    python -m gradient_boosting_model.release baseline --baseline DIR [--model ARTIFACT]

``diff`` prints the report of the packaged model (or the artifact at ``--model``) against the
baseline declared in ``DIR``; ``baseline`` makes that model's answers the baseline (``make
baseline`` runs it after ``diff``). The holdout's answers are those of the model's twin where
it was fitted on the holdout too (``persistence.holdout_model_path``), which they record
(``HoldoutAnswers.answered_by``) and the report says. Both first check that
the holdout the config splits off now is the one the model's figures (its metadata's
``holdout_split``) and the baseline's holdout answers were measured on; a model or baseline
without the record is said so on stderr ("warning: ..."), and not checked.

Exit status: 0 when the test passed or the baseline was written; 1 when the test failed (the
report names the houses); 2 for a wrong command line, or a baseline or model that cannot be
read; 3 when the holdout is not the one measured (the message names both).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gradient_boosting_model import load_model, load_model_with_card
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.data import split_holdout
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.holdout_identity import (
    HoldoutMismatchError,
    check_holdout,
    holdout_identity,
)
from gradient_boosting_model.persistence import artifact_path, holdout_model_path
from gradient_boosting_model.release.baseline import (
    declared_version,
    holdout_file,
    read_baseline,
    read_baseline_holdout,
    write_baseline,
)
from gradient_boosting_model.release.diff import diff_test, price_requests
from gradient_boosting_model.release.holdout_answers import answer_holdout
from gradient_boosting_model.trained_model import TrainedModel

#: The exit status of a refusal to measure on another holdout (1 is a failed test).
HOLDOUT_MISMATCH = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gradient_boosting_model.release",
        description="diff: compare a model's answers for every house of test.csv (and the "
        "holdout's) with the released version's, its baseline; baseline: make them the "
        "baseline.",
        epilog=(__doc__ or "").rsplit("\n\n", 1)[-1],  # the exit statuses
    )
    parser.add_argument("command", choices=["diff", "baseline"])
    parser.add_argument(
        "--baseline",
        type=Path,
        required=True,
        help="the baseline directory (VERSION and <version>.json.gz)",
    )
    parser.add_argument(
        "--model", type=Path, help="a model artifact (.joblib); the packaged model by default"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = load_config()
    try:
        model, card = load_model_with_card(args.model)
        version = str(card["version"])
        # The model fitted on the holdout too is measured there by its twin, in its place.
        measured = _measured_by(config, args.model, model)
        split = split_holdout(config)
        holdout = holdout_identity(split, config)
        _warn(check_holdout(holdout, card["holdout_split"], measured=f"model {version}"))
        if args.command == "baseline":
            snapshot = price_requests(model, model_version=version, config=config)
            answers = answer_holdout(
                measured, split, config, model_version=version, identity=holdout
            )
            path = write_baseline(args.baseline, snapshot, answers)
            print(f"baseline of version {version}: {path} ({len(snapshot)} houses)")
            return 0
        released = declared_version(args.baseline)
        baseline_holdout = read_baseline_holdout(args.baseline, released)
        _warn(
            check_holdout(
                holdout,
                baseline_holdout.identity.to_json() if baseline_holdout else None,
                measured=f"the baseline of {released} ({holdout_file(args.baseline, released)})",
            )
        )
        result = diff_test(
            model,
            holdout_model=measured,
            model_version=version,
            baseline=read_baseline(args.baseline),
            config=config,
            split=split,
            holdout=holdout,
            baseline_holdout=baseline_holdout,
        )
    except HoldoutMismatchError as error:
        print(f"error: {error}", file=sys.stderr)
        return HOLDOUT_MISMATCH
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.report)
    return 0 if result.passed else 1


def _measured_by(config: Config, path: Path | None, model: TrainedModel) -> TrainedModel:
    """The model the holdout measures for ``model`` (the artifact at ``path``, the packaged one
    by default): its twin, where it was fitted on the holdout too; else ``model`` itself, not
    loaded again (the report says when the holdout's answers are a twin's)."""
    measured = holdout_model_path(config, path=path)
    return model if measured == (path or artifact_path(config)) else load_model(measured)


def _warn(warning: str | None) -> None:
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
