"""Gradient boosting model of Ames house prices: validated inputs, a versioned trained pipeline."""

import logging
from importlib import resources

__version__ = resources.files(__name__).joinpath("VERSION").read_text(encoding="utf-8").strip()

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
