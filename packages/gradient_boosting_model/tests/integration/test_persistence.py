from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradient_boosting_model import __version__
from gradient_boosting_model.config import Config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.persistence import artifact_path, load_metadata, load_model

pytestmark = pytest.mark.integration


def test_the_artifact_is_named_and_described_by_the_package_version(config: Config) -> None:
    path = artifact_path(config)
    assert path.is_file()
    assert path.name == f"gradient_boosting_model_v{__version__}.joblib"
    metadata = load_metadata(config)
    assert metadata["model_version"] == __version__
    assert metadata["library_versions"]["scikit-learn"] == "1.9.1"
    assert set(metadata["metrics"]) == {"train", "holdout", "cross_validation"}
    assert metadata["intervals"]["level"] == config.calibration.level
    checked = [entry["feature"] for entry in metadata["input_ranges"]]
    assert len(checked) == len(set(checked)) >= config.warnings.top_features
    assert set(config.warnings.also_checked) <= set(checked)


def test_a_missing_artifact_fails_naming_the_file(config: Config, tmp_path: Path) -> None:
    missing = tmp_path / "gone.joblib"
    with pytest.raises(ModelArtifactError, match=r"not found: .*gone\.joblib"):
        load_model(config, path=missing)


@pytest.mark.parametrize(
    "content", [b"", b"not a pickle at all", b"\x80\x04\x95garbage"], ids=["empty", "text", "bytes"]
)
def test_a_corrupt_artifact_fails_naming_the_file(
    config: Config, tmp_path: Path, content: bytes
) -> None:
    corrupt = tmp_path / "corrupt.joblib"
    corrupt.write_bytes(content)
    with pytest.raises(ModelArtifactError, match=r"corrupt.*corrupt\.joblib"):
        load_model(config, path=corrupt)


def test_an_artifact_of_the_wrong_kind_is_refused(config: Config, tmp_path: Path) -> None:
    import joblib

    wrong = tmp_path / "wrong.joblib"
    joblib.dump({"not": "a model"}, wrong)
    with pytest.raises(ModelArtifactError, match="holds dict, not a TrainedModel"):
        load_model(config, path=wrong)


def test_a_model_trained_with_another_scikit_learn_is_refused(
    config: Config, tmp_path: Path
) -> None:
    """A pickle is only good for the scikit-learn release that wrote it: every loader (the
    service, score-houses) gets this check from ``load_model``."""
    copy = tmp_path / "other.joblib"
    copy.write_bytes(artifact_path(config).read_bytes())
    metadata = json.loads(artifact_path(config).with_suffix(".json").read_text(encoding="utf-8"))
    metadata["library_versions"]["scikit-learn"] = "1.0.2"
    copy.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    refusal = r"other\.joblib was trained with scikit-learn 1\.0\.2"
    with pytest.raises(ModelArtifactError, match=refusal):
        load_model(config, path=copy)
    copy.with_suffix(".json").unlink()
    with pytest.raises(ModelArtifactError, match=r"metadata unreadable: .*other\.json"):
        load_model(config, path=copy)
