from __future__ import annotations

import dataclasses
import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest

import gradient_boosting_model
from gradient_boosting_model import __version__, load_card
from gradient_boosting_model.batch_rules import batch_layout
from gradient_boosting_model.config import Config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.missing import OMITTED
from gradient_boosting_model.persistence import (
    artifact_path,
    load_metadata,
    load_model,
    metadata_path,
)
from gradient_boosting_model.predict import default_model, make_prediction
from gradient_boosting_model.schemas import REQUIRED_FIELDS

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


def test_the_readme_says_where_the_metadata_is_and_under_which_names(config: Config) -> None:
    """A probe's: the README named no place for "the metadata JSON" it points a reader to, and
    sent them to "the metadata's `intervals.coverage`", which is the card's: the JSON keeps
    the coverage in its ``metrics``. Each name the README gives is found where it says."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    package = Path(gradient_boosting_model.__file__).parent
    named = "trained_models/gradient_boosting_model_v<version>.json"
    assert f"`{named}`" in readme
    path = package / named.replace("<version>", __version__)
    assert path == metadata_path(config) and path.is_file()
    documents = {"metadata": load_metadata(config), "card": load_card()}
    found = re.findall(r"(metadata|card)'s and `GET /v1/model`'s `([a-z_.]+)`", readme)
    assert {where for where, _ in found} >= {"card"}
    for where, name in found:
        value: Any = documents[where]
        for key in name.split("."):
            assert key in value, f"the README's {where}'s `{name}`"
            value = value[key]


def test_a_missing_artifact_fails_naming_the_file(config: Config, tmp_path: Path) -> None:
    """Only the packaged model is trained with ``make train``: a file named by its path (a
    challenger's, a promoted one's) was told the same (a release probe's)."""
    missing = tmp_path / "gone.joblib"
    with pytest.raises(ModelArtifactError, match=r"not found: .*gone\.joblib$"):
        load_model(config, path=missing)
    elsewhere = config.model_copy(
        update={"artifacts": config.artifacts.model_copy(update={"directory": str(tmp_path)})}
    )
    with pytest.raises(ModelArtifactError, match=r"not found: .*\(train it with `make train`\)"):
        load_model(elsewhere)


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


def test_an_artifact_other_releases_wrote_is_refused_naming_them(
    config: Config, tmp_path: Path
) -> None:
    """An artifact that cannot be unpickled here (a class of another release of this package,
    say) is not called corrupt when its metadata names other releases: the message says which,
    so that the fix (train again, or load it there) is plain."""
    other = tmp_path / "other.joblib"
    other.write_bytes(b"\x80\x04\x95garbage")
    metadata = json.loads(artifact_path(config).with_suffix(".json").read_text(encoding="utf-8"))
    metadata["model_version"] = "0.1.0"
    metadata["library_versions"]["numpy"] = "1.0.0"
    other.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelArtifactError) as refusal:
        load_model(config, path=other)
    message = str(refusal.value)
    assert message.startswith(f"model artifact cannot be loaded: {other}")
    assert f"gradient_boosting_model 0.1.0 (this is {__version__})" in message
    assert "numpy 1.0.0 (this is " in message and "scikit-learn" not in message
    # The same releases as here (an artifact's local version part, as a made-up challenger's,
    # is no other release): the bytes are what is wrong.
    same = json.loads(artifact_path(config).with_suffix(".json").read_text(encoding="utf-8"))
    same["model_version"] = f"{__version__}+challenger"
    other.with_suffix(".json").write_text(json.dumps(same), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=r"corrupt.*other\.joblib"):
        load_model(config, path=other)


@pytest.mark.parametrize(
    ("besides", "named"),
    [("RoomsAboveGround", "RoomsAboveGround"), (["RoomsAboveGround"], "['RoomsAboveGround']")],
    ids=["a field", "no name (a hand-edited JSON): not a TypeError"],
)
def test_an_artifact_for_other_house_fields_is_refused_naming_them(
    config: Config, tmp_path: Path, besides: Any, named: str
) -> None:
    """A challenger trained on a schema with a field removed (TotRmsAbvGrd, a probe's) was
    refused at the service's start-up as "compiled for other house fields than this
    package's", naming none: the message names the fields it lacks and has besides."""
    other = tmp_path / "other.joblib"
    other.write_bytes(b"\x80\x04\x95garbage")
    metadata = json.loads(artifact_path(config).with_suffix(".json").read_text(encoding="utf-8"))
    metadata["input_fields"] = [
        *(name for name in metadata["input_fields"] if name != "TotRmsAbvGrd"),
        besides,
    ]
    other.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelArtifactError) as refusal:
        load_model(config, path=other)
    message = str(refusal.value)
    assert message.startswith(f"model artifact cannot be loaded: {other}")
    assert (
        "it was written with house fields other than this package's schema (without "
        f"TotRmsAbvGrd; with {named} besides): train it again here"
    ) in message


@pytest.mark.parametrize("library_versions", [None, "scikit-learn 1.9.1"], ids=["left out", "text"])
def test_a_metadata_without_library_versions_is_refused_by_name(
    config: Config, tmp_path: Path, library_versions: Any
) -> None:
    """A metadata JSON that does not list its library releases (a hand-edited or older one's):
    the artifact is refused as one whose scikit-learn is not known, not by a ``KeyError`` out
    of ``load_model``; one that cannot be unpickled still has its other house fields named
    (the missing list emptied the whole message, a review's)."""
    metadata = json.loads(artifact_path(config).with_suffix(".json").read_text(encoding="utf-8"))
    if library_versions is None:
        del metadata["library_versions"]
    else:
        metadata["library_versions"] = library_versions
    copy = tmp_path / "copy.joblib"
    copy.write_bytes(artifact_path(config).read_bytes())
    copy.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    refusal = r"copy\.json does not say which scikit-learn trained the model"
    with pytest.raises(ModelArtifactError, match=refusal):
        load_model(config, path=copy)

    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"\x80\x04\x95garbage")
    metadata["input_fields"] = [n for n in metadata["input_fields"] if n != "TotRmsAbvGrd"]
    broken.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=r"cannot be loaded.*without TotRmsAbvGrd"):
        load_model(config, path=broken)


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
    copy.with_suffix(".json").write_text(json.dumps([metadata]), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=r"metadata is not a JSON object: .*other\.json"):
        load_model(config, path=copy)


def test_an_artifact_compiled_for_fields_coded_otherwise_is_compiled_again(
    request_rows: list[dict[str, Any]],
) -> None:
    """An artifact of an earlier release keeps its pipeline compiled for the text fields as
    that release coded them (before 2026-12-05, with no code for a field left out): loaded,
    its pipeline is compiled again for this package's, and it prices as the same model
    compiled now (it was refused as compiled "for other house fields"). (An imputer pickled
    before floors were shared, ``parts`` empty, keeps typical floors: the model as it was.)"""
    model = default_model()
    layout = model.pricing.compiled_pipeline.layout
    earlier = dataclasses.replace(
        layout,
        text_choices=tuple(
            tuple(value for value in choices if value is not OMITTED)
            for choices in layout.text_choices
        ),
    )
    compiled = dataclasses.replace(model.pricing.compiled_pipeline, layout=earlier)
    old = dataclasses.replace(model)
    old.__dict__["pricing"] = dataclasses.replace(model.pricing, compiled_pipeline=compiled)
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.compiled_pipeline.layout is batch_layout()
    minimal = {name: request_rows[0][name] for name in REQUIRED_FIELDS}
    houses = [*request_rows[:50], minimal]
    assert (
        make_prediction(houses, model=loaded).predictions
        == make_prediction(houses, model=model).predictions
    )


def test_the_public_loaders_take_a_path_as_text_and_refuse_an_incomplete_card(
    config: Config, tmp_path: Path
) -> None:
    """A probe's: ``load_model("...")`` and ``load_card("...")`` failed on a str path with an
    AttributeError, and a card whose metadata lacked a key with a bare KeyError."""
    import gradient_boosting_model as package

    path = artifact_path(config)
    assert package.load_model(str(path)).intervals == default_model().intervals
    assert package.load_card(str(path))["version"] == __version__
    partial = tmp_path / path.name
    partial.with_suffix(".json").write_text(json.dumps({"model_name": "x"}), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=r"metadata incomplete.*KeyError"):
        package.load_card(str(partial))


def test_a_loaded_artifact_answers_with_the_version_its_metadata_names(
    config: Config, tmp_path: Path, house: dict[str, Any]
) -> None:
    """A released file loaded to compare (a ``+challenger`` copy, a version kept in
    ``released/``) prices under its own version, not this package's: ``make_prediction`` said
    the package's for any model."""
    copy = tmp_path / "copy.joblib"
    copy.write_bytes(artifact_path(config).read_bytes())
    metadata = json.loads(artifact_path(config).with_suffix(".json").read_text(encoding="utf-8"))
    metadata["model_version"] = f"{__version__}+challenger"
    copy.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    copied = make_prediction([house], model=load_model(config, path=copy))
    assert copied.model_version == f"{__version__}+challenger"
    packaged = make_prediction([house])
    assert packaged.model_version == __version__
    assert copied.predictions == packaged.predictions


def test_a_model_and_its_card_are_loaded_together_from_one_reading_of_its_metadata(
    config: Config, tmp_path: Path, house: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's start read the metadata JSON twice, for the model (``load_model``) and
    for its card (``load_card``): ``load_model_with_card`` gives both as those do, from one
    reading; the packaged model's is the one ``load_model`` keeps for the process."""
    import gradient_boosting_model as package

    copy = tmp_path / artifact_path(config).name
    copy.write_bytes(artifact_path(config).read_bytes())
    metadata = load_metadata(config)
    metadata["model_version"] = f"{__version__}+copy"
    copy.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(path: Path, *args: Any, **kwargs: Any) -> str:
        if path.suffix == ".json":
            reads.append(path)
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    model, card = package.load_model_with_card(str(copy))
    assert reads == [copy.with_suffix(".json")]
    monkeypatch.undo()
    assert card == package.load_card(copy) and card["version"] == f"{__version__}+copy"
    assert model.version == card["version"]
    answered = make_prediction([house], model=model)
    assert answered.predictions == make_prediction([house]).predictions
    assert answered.model_version == f"{__version__}+copy"
    # The packaged model: the one load_model keeps, and a card of its own each time.
    packaged, packaged_card = package.load_model_with_card()
    assert packaged is package.load_model() and packaged_card == package.load_card()
    packaged_card["library_versions"]["scikit-learn"] = "changed by a caller"
    assert package.load_model_with_card()[1] == package.load_card()
    # An incomplete card is refused as load_card refuses it, naming the file.
    partial = tmp_path / "partial.joblib"
    partial.write_bytes(copy.read_bytes())
    kept = {key: metadata[key] for key in ("model_version", "library_versions")}
    partial.with_suffix(".json").write_text(json.dumps(kept), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=r"metadata incomplete: .*partial\.json"):
        package.load_model_with_card(partial)
