"""Training a new version keeps the version before out of the package, for the replay; a model
fitted on every labelled house is saved with its twin, which the holdout measures."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradient_boosting_model import __version__
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.errors import ModelArtifactError
from gradient_boosting_model.persistence import (
    NOT_RELEASED,
    holdout_model_path,
    kept_path,
    save_model,
    twin_path,
)


def _config(tmp_path: Path) -> Config:
    config = load_config()
    artifacts = config.artifacts.model_copy(
        update={"directory": str(tmp_path / "models"), "kept_directory": str(tmp_path / "kept")}
    )
    return config.model_copy(update={"artifacts": artifacts})


def test_a_new_version_moves_the_one_before_out_of_the_package(tmp_path: Path) -> None:
    """The release's replay needs the version served until now as its champion; training the
    new one removed it, and the release procedure had a step to copy it out first, easily
    forgotten (this project's release of 0.3.6 forgot it)."""
    config = _config(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    before = [
        models / "gradient_boosting_model_v0.0.1.joblib",
        models / "gradient_boosting_model_v0.0.1.json",
    ]
    for path in before:
        path.write_text(path.suffix, encoding="utf-8")
    unrelated = models / "notes.txt"
    unrelated.write_text("kept where it is", encoding="utf-8")
    saved = save_model({"a": "model"}, {"model_version": __version__}, config)  # type: ignore[arg-type]
    assert saved == models / f"gradient_boosting_model_v{__version__}.joblib" and saved.is_file()
    assert sorted(p.name for p in models.iterdir()) == sorted(
        [saved.name, saved.with_suffix(".json").name, "notes.txt"]
    )
    assert kept_path(config) == tmp_path / "kept"
    for path in before:
        moved = tmp_path / "kept" / path.name
        assert moved.read_text(encoding="utf-8") == path.suffix  # whole, not copied anew
    save_model({"a": "again"}, {"model_version": __version__}, config)  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == sorted(p.name for p in before)


def test_a_version_after_the_one_trained_is_kept_apart_as_never_released(tmp_path: Path) -> None:
    """A release the replay refused is undone by training the version before again, which
    moved the refused version's files among the released ones: a later replay's champion or
    a rollback could be taken from them. Only a version before this one can have been
    released; a later one (or a name that is no release number) is kept apart."""
    config = _config(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    names = {
        "before": "gradient_boosting_model_v0.0.1.joblib",
        "after": "gradient_boosting_model_v99.0.0.joblib",
        "labelled after": f"gradient_boosting_model_v{__version__}+trial.json",
        "no number": "gradient_boosting_model_vnext.joblib",
    }
    for name in names.values():
        (models / name).write_text(name, encoding="utf-8")
    save_model({"a": "model"}, {"model_version": __version__}, config)  # type: ignore[arg-type]
    kept = tmp_path / "kept"
    assert sorted(p.name for p in kept.iterdir()) == sorted([names["before"], NOT_RELEASED])
    apart = [names["after"], names["labelled after"], names["no number"]]
    assert sorted(p.name for p in (kept / NOT_RELEASED).iterdir()) == sorted(apart)
    assert all((kept / NOT_RELEASED / name).read_text(encoding="utf-8") == name for name in apart)


def test_the_packaged_config_keeps_them_beside_the_package_outside_the_wheel() -> None:
    """``make train`` trains from the source tree: beside its package folder, which git
    ignores (the tests run against the installed wheel, whose package root is elsewhere)."""
    source = Path(__file__).resolve().parents[2]  # packages/gradient_boosting_model
    kept = (source / "gradient_boosting_model" / load_config().artifacts.kept_directory).resolve()
    assert kept == source / "released"
    gitignore = (source.parents[1] / ".gitignore").read_text(encoding="utf-8")
    assert "packages/gradient_boosting_model/released/" in gitignore.splitlines()


def test_a_model_fitted_on_the_holdout_too_is_saved_with_its_twin_measured_in_its_place(
    tmp_path: Path,
) -> None:
    """``data.served_fit`` ``all_labelled``: the holdout's figures of such a model are its
    twin's (fitted on the training split alone), found beside it by name; a model fitted on
    the training split is measured itself."""
    config = _config(tmp_path)
    served = {"model_version": __version__, "fitted_on": "all_labelled"}
    twin = {"model_version": f"{__version__}+twin", "fitted_on": "training_split"}
    saved = save_model({"a": "model"}, served, config, twin=({"a": "twin"}, twin))  # type: ignore[arg-type]
    assert twin_path(saved) == saved.with_name(
        f"gradient_boosting_model_v{__version__}.twin.joblib"
    )
    assert twin_path(saved).is_file() and twin_path(saved).with_suffix(".json").is_file()
    assert holdout_model_path(config, path=saved) == twin_path(saved)
    assert holdout_model_path(config, path=twin_path(saved)) == twin_path(saved)
    recorded = twin_path(saved).read_bytes()
    twin_path(saved).write_bytes(recorded + b"another try's twin")
    with pytest.raises(ModelArtifactError, match=r"twin beside it is not the one trained with it"):
        holdout_model_path(config, path=saved)
    twin_path(saved).write_bytes(recorded)
    assert holdout_model_path(config, path=saved) == twin_path(saved)
    twin_path(saved).unlink()
    with pytest.raises(ModelArtifactError, match=r"fitted on the holdout too.*twin.* is missing"):
        holdout_model_path(config, path=saved)
    save_model({"a": "model"}, {"model_version": __version__}, config)  # type: ignore[arg-type]
    assert holdout_model_path(config, path=saved) == saved  # no fitted_on: before 0.4.0


def test_a_twin_goes_with_its_version_and_a_stale_one_of_this_version_is_removed(
    tmp_path: Path,
) -> None:
    """A version before this one has its twin kept beside it for the replay (whose champion
    is measured by it); this version trained again without one leaves none behind, which would
    stand for a model it is not the twin of."""
    config = _config(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    names = [
        "gradient_boosting_model_v0.0.1.joblib",
        "gradient_boosting_model_v0.0.1.twin.joblib",
        "gradient_boosting_model_v0.0.1.twin.json",
        "gradient_boosting_model_v99.0.0.twin.joblib",
    ]
    for name in names:
        (models / name).write_text(name, encoding="utf-8")
    twin = ({"a": "twin"}, {"model_version": f"{__version__}+twin"})
    saved = save_model({"a": "model"}, {"model_version": __version__}, config, twin=twin)  # type: ignore[arg-type]
    kept = tmp_path / "kept"
    assert sorted(p.name for p in kept.iterdir()) == sorted([*names[:3], NOT_RELEASED])
    assert [p.name for p in (kept / NOT_RELEASED).iterdir()] == [names[3]]
    assert twin_path(saved).is_file()
    save_model({"a": "model"}, {"model_version": __version__}, config)  # type: ignore[arg-type]
    assert sorted(p.name for p in models.iterdir()) == sorted(
        [saved.name, saved.with_suffix(".json").name]
    )
