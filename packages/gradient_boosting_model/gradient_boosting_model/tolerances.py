"""How closely two runs of a trained model must agree when the machines' floating point differs.

A model trained on another processor prices every house the same, but its floats differ in the
last bits: OpenBLAS picks its kernels by processor (the linear start's ridge solve sums in
another order, so its coefficients and intercept, the explanation's base price with them, move
by about 1e-15 relative), and numpy's ``exp`` and ``log`` are vectorised differently per
instruction set. So a stored figure is compared with a fresh one by what it is:

- a price the package rounds to the cent on purpose (``predictions``, a range's ``lower`` and
  ``upper``, score-houses' ``price``) agrees within one cent: one sitting on a half cent may
  round the other way;
- any other float (an explanation's base price and factors, a metric) agrees within a relative
  ``RELATIVE_TOLERANCE``: the last bits are 1e-16, and a real change of the model (another
  learning rate, one tree more) moves them by 1e-4 or more;
- everything else (counts, codes, warnings, booleans) is equal.

On one machine, training is reproducible to the last bit (every random choice is seeded and no
sum depends on timing). ``floating_point_fingerprint`` says what "one machine" means; training
records it in the artifact's metadata.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

#: Dollars two prices rounded to the cent may differ by: one cent (and its float error).
PRICE_TOLERANCE = 0.01 + 1e-9
#: Relative difference allowed between any two other floats of a trained model.
RELATIVE_TOLERANCE = 1e-9
#: JSON keys whose numbers are prices rounded to the cent.
PRICE_KEYS = frozenset({"predictions", "lower", "upper", "price"})


def prices_agree(first: float, second: float) -> bool:
    """Whether two prices rounded to the cent are the same price up to a half cent's rounding."""
    return abs(first - second) <= PRICE_TOLERANCE


def floats_agree(first: float, second: float) -> bool:
    """Whether two floats of a trained model agree up to the machine's last bits."""
    return math.isclose(first, second, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300)


def floating_point_fingerprint() -> dict[str, Any]:
    """What sets the last bits of a trained model's floats here, JSON-shaped: runs with equal
    fingerprints agree to the last bit, others within the tolerances above.

    The processor architecture, the C library (numpy's ``exp`` and ``log`` are its own only on
    some instruction sets), the instruction sets numpy dispatches to, each BLAS with its kernel
    and thread count (the ridge solve's sums), and the numeric libraries' versions; no paths.
    """
    import platform

    import numpy as np
    import sklearn.linear_model  # noqa: F401  (loads scipy's BLAS beside numpy's)
    from threadpoolctl import threadpool_info

    simd = np.show_config(mode="dicts")["SIMD Extensions"]
    kept = ("user_api", "internal_api", "version", "architecture", "threading_layer", "num_threads")
    blas = [{key: info.get(key) for key in kept} for info in threadpool_info()]
    return {
        "machine": platform.machine(),
        "libc": " ".join(platform.libc_ver()).strip(),
        "python": platform.python_version(),
        "simd": {"baseline": simd["baseline"], "found": simd["found"]},
        "blas": sorted(blas, key=lambda info: sorted(map(str, info.values()))),
        "libraries": {name: version(name) for name in ("numpy", "scipy", "scikit-learn")},
    }


def json_differences(expected: Any, actual: Any, *, where: str = "$") -> list[str]:
    """Where two JSON-shaped values (a response, a model card) differ by more than the
    machine's floating point explains, as ``$.path: expected != actual`` lines; none if
    they agree."""
    return list(_differences(expected, actual, where, price=False))


def _differences(expected: Any, actual: Any, where: str, *, price: bool) -> Any:
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        if set(expected) != set(actual):
            yield f"{where}: keys {sorted(expected)} != {sorted(actual)}"
            return
        for key in expected:
            yield from _differences(
                expected[key], actual[key], f"{where}.{key}", price=key in PRICE_KEYS
            )
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            yield f"{where}: {len(expected)} items != {len(actual)}"
            return
        for index, (first, second) in enumerate(zip(expected, actual, strict=True)):
            yield from _differences(first, second, f"{where}[{index}]", price=price)
    elif _is_float(expected) and _is_float(actual):
        agree = prices_agree if price else floats_agree
        if not agree(expected, actual):
            yield f"{where}: {expected!r} != {actual!r}"
    elif type(expected) is not type(actual) or expected != actual:
        yield f"{where}: {expected!r} != {actual!r}"


def _is_float(value: Any) -> bool:
    """A JSON number that may carry a fraction (JSON writes 2.0 as 2.0, a count as 2)."""
    return isinstance(value, float)
