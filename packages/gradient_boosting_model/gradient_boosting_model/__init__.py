"""Gradient boosting model of Ames house prices: validated inputs, a versioned trained pipeline.

The public surface, for the service and any other program (``score-houses`` included); the
modules behind it are the package's own business::

    from gradient_boosting_model import input_drift, load_model, load_card, make_prediction

    model = load_model()            # the packaged model, checked (or load_model(path))
    card = load_card()              # what the model says about itself (GET /v1/model)
    result = make_prediction(houses, model=model, explain=True)
    drift = input_drift(model, last_houses)  # per monitored field: PSI, houses, status, unknown

- ``load_model(path=None)``: the packaged model, loaded once a process, or another version's
  artifact; refuses one trained with another scikit-learn release (``ModelArtifactError``).
- ``load_card(path=None)``: its card: a ``summary`` for whoever acts on a price, versions,
  accuracy, the ranges' calibration and coverage, the inputs' training ranges and the inputs.
  ``holdout_accuracy(card)``: the card's holdout accuracy over the houses without a warning
  (an older model's: over all), which live accuracy is compared with.
- ``load_model_with_card(path=None)``: both, ``(model, card)``, the model's metadata read once
  for both (the service's start).
- ``make_prediction(houses, *, model=None, explain=False, max_errors=None)``: a
  ``PredictionResult``.
- ``input_drift(model, houses)``: per monitored input, a ``FieldDrift``: the population
  stability index of ``houses`` that give the field against the training houses, how many,
  ``ok``, ``watch`` or ``alert``, and how many did not give it (left out, or null where
  training had no null). ``drift_tally(model)``: the same over houses added a batch at a
  time (``DriftTally.add``, then ``.drift()``), holding counts, not houses.
- ``KNOWN_FIELDS``: every field name a house may carry; ``REQUIRED_FIELDS``: those it must.
- ``SOLD_BEFORE_FINISHED``: the years a house may be sold before it is built (a year built
  after ``YrSold`` by more is refused): the service's rule for a day of sale posted back.
- ``paired_interval(statistic, houses, *, seed)``: the ``BOOTSTRAP_CONFIDENCE`` interval of a
  difference between two models measured on the same houses, the houses resampled with both
  models' answers together (the release's diff-test and the service's shadow challenger).
- Errors: ``ModelError`` (the base), ``ModelArtifactError``, ``InvalidInputError``.

These are imported on first use, so that importing the package (as a batch worker does before
its job) costs nothing.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import TYPE_CHECKING, Any


def _read_version() -> str:
    """``VERSION``, read beside this file (the package is installed as files, as
    ``config.PACKAGE_ROOT`` has it): ``importlib.resources`` took 12 ms of the 50 of a
    ``score-houses`` start, before the command could catch a Ctrl-C (``batch.command``)."""
    with open(os.path.join(os.path.dirname(__file__), "VERSION"), encoding="utf-8") as file:
        return file.read().strip()


__version__ = _read_version()

logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from gradient_boosting_model.bootstrap import BOOTSTRAP_CONFIDENCE, paired_interval
    from gradient_boosting_model.card_summary import holdout_accuracy
    from gradient_boosting_model.drift import (
        DriftTally,
        FieldDrift,
        drift_tally,
        input_drift,
        monitored_fields,
    )
    from gradient_boosting_model.errors import InvalidInputError, ModelArtifactError, ModelError
    from gradient_boosting_model.loading import load_card, load_model, load_model_with_card
    from gradient_boosting_model.predict import PredictionResult, make_prediction
    from gradient_boosting_model.schemas import KNOWN_FIELDS, REQUIRED_FIELDS, SOLD_BEFORE_FINISHED
    from gradient_boosting_model.trained_model import TrainedModel

#: Each public name, and the module that defines it.
_PUBLIC = {
    "BOOTSTRAP_CONFIDENCE": "bootstrap",
    "paired_interval": "bootstrap",
    "holdout_accuracy": "card_summary",
    "DriftTally": "drift",
    "FieldDrift": "drift",
    "drift_tally": "drift",
    "input_drift": "drift",
    "monitored_fields": "drift",
    "InvalidInputError": "errors",
    "ModelArtifactError": "errors",
    "ModelError": "errors",
    "load_card": "loading",
    "load_model": "loading",
    "load_model_with_card": "loading",
    "PredictionResult": "predict",
    "make_prediction": "predict",
    "KNOWN_FIELDS": "schemas",
    "REQUIRED_FIELDS": "schemas",
    "SOLD_BEFORE_FINISHED": "schemas",
    "TrainedModel": "trained_model",
}


def __dir__() -> list[str]:
    """The public names too, which load on first use (PEP 562): ``dir()`` and a REPL's
    completion listed none of them (a new user's)."""
    return sorted({*globals(), *_PUBLIC})


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "BOOTSTRAP_CONFIDENCE",
    "KNOWN_FIELDS",
    "REQUIRED_FIELDS",
    "SOLD_BEFORE_FINISHED",
    "DriftTally",
    "FieldDrift",
    "InvalidInputError",
    "ModelArtifactError",
    "ModelError",
    "PredictionResult",
    "TrainedModel",
    "__version__",
    "drift_tally",
    "holdout_accuracy",
    "input_drift",
    "load_card",
    "load_model",
    "load_model_with_card",
    "make_prediction",
    "monitored_fields",
    "paired_interval",
]
