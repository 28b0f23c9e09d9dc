"""The paired bootstrap interval of a difference between two models measured on the same houses:
the release's diff-test (``release.accuracy``: the new version beside the baseline on the
holdout) and the service's shadow challenger (its RMSLE beside the champion's on the sales that
came back) both call it.

A resample draws houses with replacement, each house's answers from both models together, so
that what they share (a hard house, a slow month) cancels out. The draws come from a generator
of the caller's fixed seed: the same answers give the same interval, at every run, refresh and
in every worker. Drawing ``CHUNK`` resamples at once draws the same positions as drawing them
one by one (``Generator.integers`` takes the bit generator's stream in order), so the chunk
sets the memory used, never the interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

#: Resamples drawn, and the interval's confidence.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_CONFIDENCE = 0.90
#: Resamples drawn at once (memory: ``CHUNK`` x the houses' positions).
CHUNK = 50

Positions = npt.NDArray[np.intp]


def paired_interval(
    statistic: Callable[[Positions], npt.NDArray[np.float64]], houses: int, *, seed: int
) -> tuple[float, float]:
    """The ``BOOTSTRAP_CONFIDENCE`` interval of ``statistic`` over ``BOOTSTRAP_RESAMPLES``
    draws of ``houses`` houses with replacement, by the generator seeded with ``seed``.

    ``statistic`` takes an array of positions (of the houses drawn, ``0 <= position <
    houses``), one resample a row, and gives its value for each row.
    """
    generator = np.random.default_rng(seed)
    values = []
    for start in range(0, BOOTSTRAP_RESAMPLES, CHUNK):
        count = min(CHUNK, BOOTSTRAP_RESAMPLES - start)
        values.append(statistic(generator.integers(0, houses, size=(count, houses))))
    tail = (1 - BOOTSTRAP_CONFIDENCE) / 2 * 100
    low, high = np.percentile(np.concatenate(values), [tail, 100 - tail])
    return float(low), float(high)
