"""Predicting from lists must not import pandas: it costs every service worker 40 MB."""

from __future__ import annotations

import subprocess
import sys


def test_make_prediction_does_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from gradient_boosting_model.predict import make_prediction\n"
        "from gradient_boosting_model.validation import validate_inputs\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
