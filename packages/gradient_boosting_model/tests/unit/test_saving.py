"""Training a new version keeps the version before out of the package, for the replay."""

from __future__ import annotations

from pathlib import Path

from gradient_boosting_model import __version__
from gradient_boosting_model.config import Config, load_config
from gradient_boosting_model.persistence import NOT_RELEASED, kept_path, save_model


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
