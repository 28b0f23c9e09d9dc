"""Budgets of work a worker takes on at once, past which it answers 503 with Retry-After.

A worker's memory grows with the work it holds at once, not with the requests it has served:
32 maximum-size requests at once took one worker past 1.6 GB, 32 explained 1459-house requests
past 850 MB. A budget refuses the request that would pass it, at once and before doing any of
its work, so that the client retries shortly (elsewhere, behind a balancer) instead of the
worker being killed for its memory with every request it holds. One claim alone is always
taken, however large, so a request within the request limits is never refused on an idle worker.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from api.problems import BusyProblem


class InflightBudget:
    """At most ``capacity`` units (bytes, houses) claimed at once in this process.

    ``doing`` words the refusal: "reading as many request bodies".
    """

    def __init__(self, capacity: int, *, doing: str) -> None:
        self.capacity = capacity
        self.doing = doing
        self.used = 0
        self._lock = threading.Lock()  # claimed from the event loop and from handler threads

    def would_refuse(self, units: int, *, held: int = 0) -> bool:
        """Whether ``units`` more would pass the capacity while others hold some (``held``:
        what the asker holds already)."""
        return self.used > held and self.used + units > self.capacity

    @contextmanager
    def claim(self, units: int = 0) -> Iterator[Claim]:
        """Hold ``units`` for the ``with`` block, and what is added to the claim in it; raise
        ``BusyProblem`` (503) if they do not fit beside what others hold."""
        held = Claim(self)
        try:
            held.add(units)
            yield held
        finally:
            with self._lock:
                self.used -= held.units


class Claim:
    """What one piece of work holds of a budget, which may grow as its work arrives (a body
    claimed a part at a time: a client holds only what it has sent)."""

    def __init__(self, budget: InflightBudget) -> None:
        self.budget = budget
        self.units = 0

    def add(self, units: int, *, closing: bool = False) -> None:
        """Hold ``units`` more; raise ``BusyProblem`` (saying ``Connection: close`` if
        ``closing``) if they do not fit beside what others hold."""
        budget = self.budget
        with budget._lock:
            if budget.would_refuse(units, held=self.units):
                raise BusyProblem(budget.doing, closing=closing)
            budget.used += units
            self.units += units
