"""A benchmark's targets: each figure against its bound, one ``ok`` or ``MISSED`` line a target.

Timings only inform (machines are noisy); a target that ``gates`` (accuracy, wrong or lost
output) fails the run when missed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One figure against its bound; a miss fails the run only for a target that ``gates``."""

    name: str
    figure: float
    low: float = -math.inf
    high: float = math.inf
    unit: str = ""
    gates: bool = False

    @property
    def met(self) -> bool:
        return bool(self.low <= self.figure <= self.high)

    def line(self) -> str:
        if math.isfinite(self.low) and math.isfinite(self.high) and self.low != self.high:
            bound = f"{self.low:g} to {self.high:g}"
        elif math.isfinite(self.high):
            bound = f"<= {self.high:g}"
        else:
            bound = f">= {self.low:g}"
        figure = f"{self.figure:,.6g}{self.unit}"
        verdict = "ok" if self.met else "MISSED"
        gate = "   (fails the run)" if self.gates else ""
        return f"  {verdict:<8}{self.name:<58}{figure:>14}   target {bound}{self.unit}{gate}"


def report(title: str, targets: Sequence[Target]) -> int:
    """Print the verdicts; the run's exit status: 1 if a target that gates was missed."""
    print(f"\n{title} targets: {sum(target.met for target in targets)} of {len(targets)} met")
    for target in targets:
        print(target.line())
    return 1 if any(target.gates and not target.met for target in targets) else 0
