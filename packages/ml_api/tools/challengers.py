"""A challenger model for tests and benchmarks: another version's artifact file, made in seconds.

The model the holdout measures for the packaged one (the packaged model itself, or, where it
was fitted on the holdout too, its twin fitted on the training split alone:
``persistence.holdout_model_path``) with its trees' learning rate scaled (a new model of the
changed pipeline, whose pricing forms are built from the changed trees): another model, whose
prices move a few percent, saved as another version's ``.joblib`` with its metadata JSON beside
it, as a real release's file would reach a server. It is fitted on the training split, so its
holdout figures, measured on itself, are honest.

    python -m tools.challengers docker/models             # version <packaged>+challenger
    python -m tools.challengers docker/models 0.2.1       # another version's name

writes one where the compose stack mounts its models (docker/models/README.md).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
from pathlib import Path

import joblib  # type: ignore[import-untyped]
from gradient_boosting_model import ModelError, __version__, load_model
from gradient_boosting_model.blend import boosted_part
from gradient_boosting_model.config import load_config
from gradient_boosting_model.data import split_holdout
from gradient_boosting_model.evaluation import holdout_metrics
from gradient_boosting_model.persistence import artifact_path, holdout_model_path, load_metadata


def challenger_version(version: str = __version__) -> str:
    """The made-up challenger's version beside a packaged ``version``: marked, another
    version whatever the packaged one is."""
    return f"{version}+challenger"


def artifact_name(version: str) -> str:
    """The name of a ``version``'s artifact file, as the package names its own."""
    return artifact_path(load_config(), version=version).name


#: The packaged version, marked (the default challenger's version).
CHALLENGER_VERSION = challenger_version()


def write_challenger(
    folder: Path, *, version: str = CHALLENGER_VERSION, learning_rate_scale: float = 0.8
) -> Path:
    """The challenger's artifact in ``folder`` (made if it is not there); its path.

    It is made from the model the holdout measures for the packaged one (its twin, where the
    packaged model was fitted on the holdout too: a challenger made from that one had seen
    every house of the holdout its figures are measured on). Its metadata is that model's
    (``fitted_on`` ``training_split``, its houses), but for the version and the holdout's
    figures, measured again on the challenger (what the service's live checks are judged
    against once it is promoted; a probe found them the packaged model's); the
    cross-validated ones, which would take a retraining, stay that model's.

    Raises
    ------
    gradient_boosting_model.ModelError
        If the packaged model was fitted on the holdout too and its twin is missing, or a
        model or dataset is unreadable.
    """
    config = load_config()
    source = holdout_model_path(config)
    base = load_model(source)
    pipeline = copy.deepcopy(base.pipeline)
    boosting = boosted_part(pipeline[-1].regressor_)  # the blend's trees (0.3.0 on)
    boosting.learning_rate *= learning_rate_scale
    # A new model of the changed pipeline: its pricing forms are built from the changed trees.
    model = dataclasses.replace(base, pipeline=pipeline)
    base_metadata = load_metadata(config, path=source.with_suffix(".json"))
    metrics = {
        **base_metadata["metrics"],
        "holdout": holdout_metrics(model, split_holdout(config), config),
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / artifact_path(config, version=version).name
    joblib.dump(model, path, compress=3)
    metadata = {**base_metadata, "model_version": version, "metrics": metrics}
    path.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("version", nargs="?", default=CHALLENGER_VERSION)
    arguments = parser.parse_args(argv)
    try:
        print(write_challenger(arguments.folder, version=arguments.version))
    except ModelError as error:  # a dataset or model the package refuses: said, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
