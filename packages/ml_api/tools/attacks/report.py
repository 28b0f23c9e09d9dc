"""Each attack's outcome: its figures on one line, and the checks that must hold, by name.

In report-only mode (the 'before' figures) failed checks are printed, not fatal.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    what: str  # the property, in words: "every connection cut within 15 s"
    ok: bool
    seen: str = ""  # what was measured, when the figures do not already say it


@dataclass
class Outcome:
    attack: str
    figures: str = ""
    checks: list[Check] = field(default_factory=list)

    def check(self, what: str, ok: bool, seen: str = "") -> None:
        self.checks.append(Check(what, ok, seen))

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def render(self) -> str:
        verdict = "FAIL" if self.failed else "ok"
        lines = [f"{self.attack:<15} {verdict:<4} {self.figures}"]
        lines += [
            f"{'':<15}   FAILED: {check.what}" + (f" (seen: {check.seen})" if check.seen else "")
            for check in self.failed
        ]
        return "\n".join(lines)
