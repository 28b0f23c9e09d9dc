"""``python -m gradient_boosting_model.release``: the differential test, and the baseline.

::

    python -m gradient_boosting_model.release diff --baseline DIR [--model ARTIFACT]
    python -m gradient_boosting_model.release baseline --baseline DIR [--model ARTIFACT]

``diff`` prints the report of the packaged model (or the artifact at ``--model``) against the
baseline declared in ``DIR``; ``baseline`` makes that model's answers the baseline (``make
baseline`` runs it after ``diff``). Exit status: 0 when the test passed or the baseline was
written; 1 when the test failed (the report names the houses); 2 for a wrong command line, or a
baseline or model that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gradient_boosting_model import load_card, load_model
from gradient_boosting_model.config import load_config
from gradient_boosting_model.errors import ModelError
from gradient_boosting_model.release.baseline import read_baseline, write_baseline
from gradient_boosting_model.release.diff import diff_test, price_requests


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gradient_boosting_model.release",
        description="Compare a model's answers for every house of test.csv with the released "
        "version's, or make them the baseline.",
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
        model = load_model(args.model)
        version = str(load_card(args.model)["version"])
        if args.command == "baseline":
            snapshot = price_requests(model, model_version=version, config=config)
            path = write_baseline(args.baseline, snapshot)
            print(f"baseline of version {version}: {path} ({len(snapshot)} houses)")
            return 0
        result = diff_test(
            model, model_version=version, baseline=read_baseline(args.baseline), config=config
        )
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(result.report)
    return 0 if result.passed else 1
