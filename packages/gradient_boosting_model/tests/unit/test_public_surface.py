"""The package's public surface: what the service and other programs import, and only that."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gradient_boosting_model


@pytest.mark.parametrize("name", gradient_boosting_model.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(gradient_boosting_model, name) is not None


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'predict_houses'"):
        gradient_boosting_model.predict_houses  # noqa: B018


def test_importing_the_package_loads_no_model_code() -> None:
    """A batch worker imports the package before its job: that must cost nothing."""
    code = (
        "import sys, gradient_boosting_model; "
        "print(sorted({'sklearn', 'numpy'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_dir_lists_every_public_name_before_it_is_used() -> None:
    """They load on first use (PEP 562's ``__getattr__``): ``dir()``, and so a REPL's
    completion, listed none of them until then (a new user's)."""
    code = (
        "import gradient_boosting_model as g; names = dir(g); "
        "print(all(name in names for name in g.__all__), 'load_card' in vars(g))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]  # listed, and still not loaded
