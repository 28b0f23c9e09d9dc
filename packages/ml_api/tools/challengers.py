"""A challenger model for tests and benchmarks: another version's artifact file, made in seconds.

The packaged model with its trees' learning rate scaled (a new model of the changed pipeline,
whose pricing forms are built from the changed trees): another model, whose prices move a few
percent, saved as another version's
``.joblib`` with its metadata JSON beside it, as a real release's file would reach a server.

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
from gradient_boosting_model.persistence import artifact_path, load_metadata


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
    """The challenger's artifact in ``folder`` (made if it is not there); its path. Its
    metadata is the packaged model's, but for the version and the holdout's figures, measured
    again on the challenger (what the service's live checks are judged against once it is
    promoted; a probe found them the packaged model's); the cross-validated ones, which would
    take a retraining, stay the packaged model's."""
    packaged = load_model()
    pipeline = copy.deepcopy(packaged.pipeline)
    boosting = boosted_part(pipeline[-1].regressor_)  # the blend's trees (0.3.0 on)
    boosting.learning_rate *= learning_rate_scale
    # A new model of the changed pipeline: its pricing forms are built from the changed trees.
    model = dataclasses.replace(packaged, pipeline=pipeline)
    config = load_config()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / artifact_path(config, version=version).name
    joblib.dump(model, path, compress=3)
    packaged_metadata = load_metadata(config)
    metrics = {
        **packaged_metadata["metrics"],
        "holdout": holdout_metrics(model, split_holdout(config), config),
    }
    metadata = {**packaged_metadata, "model_version": version, "metrics": metrics}
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
