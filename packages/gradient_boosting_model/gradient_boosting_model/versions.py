"""The model's version numbers: what a ``VERSION`` may be, and their order.

A version names one fitted model: the prediction store tells models apart by it, the artifact's
file is named by it, and the differential test reads a new one as a new model. So a version is
a release number (``0.3.4``: whole numbers joined by dots, as pip writes them back), with at
most a local label (``0.3.3+challenger``: PEP 440's, after the number it labels), and a new
model's is after the one it replaces. ``0.3.6-rc1`` was trained (and the previous
artifact removed) before pip's ``0.3.6rc1`` broke the wheel's build; ``0.3.2`` after ``0.3.3``
passed the differential test as "a new version" though 0.3.2 named another model already.
"""

from __future__ import annotations

import re

#: A release number: whole numbers without leading zeros, joined by dots (PEP 440's release
#: segment, as it is written back), and a local label of lower-case letters and digits.
_RELEASE = re.compile(r"(?P<number>(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*)(\+(?P<local>[a-z0-9.]+))?")


class VersionError(ValueError):
    """A version that is no release number."""


def release_number(version: str) -> tuple[tuple[int, ...], str]:
    """``version``'s numbers and local label (``""`` without one), to order versions by.

    Raises
    ------
    VersionError
        If ``version`` is not whole numbers joined by dots (``0.3.4``), with at most a local
        label (``+challenger``), saying so.
    """
    found = _RELEASE.fullmatch(version)
    if found is None:
        raise VersionError(
            f"version {version!r} is not a release number: write whole numbers joined by dots, "
            "as 0.3.4, with at most a local label (0.3.4+trial); no pre-release part"
        )
    numbers = tuple(int(part) for part in found["number"].split("."))
    return numbers, found["local"] or ""


def is_after(version: str, other: str) -> bool:
    """Whether ``version`` comes after ``other`` (``0.3.10`` after ``0.3.9``; a labelled
    ``0.3.3+challenger`` after ``0.3.3``, as PEP 440 orders them)."""
    return release_number(version) > release_number(other)
