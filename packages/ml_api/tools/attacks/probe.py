"""The normal client's view during an attack: one house priced on a fresh connection, on a
fixed beat, whatever the attack is doing.

Each probe opens its own connection (``Connection: close``): a server that cannot accept, or
accepts and never answers, shows up here as refused, reset, empty or timeout. Probes are not
queued behind one another, so a stalled one does not hide the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from gradient_boosting_model.data import read_dataset

from tools.attacks.net import Endpoint, NoReplyError, exchange, request_bytes


@cache
def one_house_body() -> bytes:
    return json.dumps(read_dataset("test.csv")[:1]).encode()


def one_house_request() -> bytes:
    return request_bytes("POST", "/v1/predictions", body=one_house_body())


@dataclass
class ProbeStats:
    """Outcomes of the probes: statuses (or how no reply came) and reply latencies."""

    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # of replies with a status
    retry_after_missing: int = 0  # 503s without a Retry-After header

    @property
    def sent(self) -> int:
        return sum(self.outcomes.values())

    @property
    def ok(self) -> int:
        return self.outcomes["200"]

    def no_reply(self) -> int:
        return sum(n for kind, n in self.outcomes.items() if not kind.isdigit())

    def quantile_ms(self, q: float) -> float:
        """The ``q`` quantile (nearest rank) of reply latencies, in ms; 1 gives the maximum."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[round(q * (len(ordered) - 1))] * 1000

    def summary(self) -> str:
        kinds = " ".join(f"{kind}x{n}" for kind, n in sorted(self.outcomes.items()))
        return (
            f"probes {self.sent} [{kinds}] p50 {self.quantile_ms(0.5):.0f} ms "
            f"max {self.quantile_ms(1):.0f} ms"
        )


async def probe_until(
    endpoint: Endpoint,
    stop: asyncio.Event,
    stats: ProbeStats,
    *,
    interval: float = 0.2,
    timeout: float = 5.0,
) -> None:
    """Price one house every ``interval`` seconds until ``stop``; wait for the last ones."""
    raw = one_house_request()
    pending: set[asyncio.Task[None]] = set()

    async def one() -> None:
        try:
            reply = await exchange(endpoint, raw, timeout=timeout)
        except NoReplyError as failure:
            stats.outcomes[failure.kind] += 1
            return
        stats.outcomes[str(reply.status)] += 1
        stats.latencies.append(reply.seconds)
        if reply.status == 503 and "retry-after" not in reply.headers:
            stats.retry_after_missing += 1

    while not stop.is_set():
        task = asyncio.create_task(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    if pending:
        await asyncio.gather(*pending)
