"""Oversized request heads: one big field, many fields, a megabyte field, and a megabyte of
head that never ends (what does the server keep in memory while it waits?)."""

from __future__ import annotations

import asyncio

from tools.attacks.budget import Budget
from tools.attacks.expectations import Expectations
from tools.attacks.net import NoReplyError, exchange, request_bytes
from tools.attacks.report import Outcome
from tools.attacks.slow import Cuts, hold_connection
from tools.attacks.target import Target, sample_rss

KIB = 1024
#: Connections each sending a megabyte of unfinished head: enough to see the memory it costs.
UNFINISHED_CONNECTIONS = 16


def oversized_heads() -> dict[str, bytes]:
    """Complete requests whose heads are too big, by name."""
    many = [(f"X-Field-{i:03d}", "a" * (400 - len(f"X-Field-{i:03d}: ") - 2)) for i in range(200)]
    return {
        "one 20 KB field": request_bytes("GET", "/health", headers=[("X-Big", "a" * 20 * KIB)]),
        "200 fields of 400 B": request_bytes("GET", "/health", headers=many),
        "one 1 MB field": request_bytes("GET", "/health", headers=[("X-Big", "a" * KIB * KIB)]),
    }


async def oversized(target: Target, expect: Expectations) -> list[tuple[str, str, float, bool]]:
    """Each oversized head: (name, status or how no reply came, seconds, refused as expected)."""
    results = []
    for name, raw in oversized_heads().items():
        try:
            reply = await exchange(target.endpoint, raw, timeout=15)
            seen, seconds = str(reply.status), reply.seconds
            refused = reply.status in expect.header_refusals
        except NoReplyError as failure:
            seen, seconds, refused = failure.kind, failure.seconds, False
        results.append((name, seen, seconds, refused))
    return results


async def headers(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    results = await oversized(target, expect)
    outcome = Outcome(
        "headers",
        "; ".join(
            f"{name}: {seen} in {seconds * 1000:.0f} ms" for name, seen, seconds, _ in results
        ),
    )
    for name, seen, seconds, refused in results:
        outcome.check(
            f"{name}: refused with {sorted(expect.header_refusals)} "
            f"within {expect.header_answer_within_s * 1000:.0f} ms",
            refused and seconds <= expect.header_answer_within_s,
            f"{seen} in {seconds * 1000:.1f} ms",
        )
    return outcome


async def unfinished_head(target: Target, expect: Expectations, budget: Budget) -> Outcome:
    """A megabyte of one header field with no end, on several connections, then held."""
    opening = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * KIB * KIB
    cuts, stop = Cuts(), asyncio.Event()
    sampler = asyncio.create_task(sample_rss(target, stop))
    await asyncio.sleep(0.2)
    await asyncio.gather(
        *(
            hold_connection(
                target.endpoint,
                cuts,
                opening=opening,
                trickle=b"a",
                every_s=budget.trickle_every_s,
                hold_s=budget.slow_hold_s,
            )
            for _ in range(UNFINISHED_CONNECTIONS)
        )
    )
    stop.set()
    peaks = await sampler
    outcome = Outcome(
        "unfinished head",
        f"{UNFINISHED_CONNECTIONS} x 1 MB head without its end: "
        f"{cuts.summary(budget.slow_hold_s)}; {peaks.summary()}",
    )
    outcome.check(
        f"workers grew at most {expect.unfinished_header_growth_max_mib:.0f} MiB",
        peaks.growth <= expect.unfinished_header_growth_max_mib,
    )
    refused = sum(
        n for said, n in cuts.said.items() if said.isdigit() and int(said) in expect.header_refusals
    )
    outcome.check(
        f"every unfinished head refused with {sorted(expect.header_refusals)} "
        f"within {expect.unfinished_refused_within_s:.0f} s",
        refused == UNFINISHED_CONNECTIONS
        and max(cuts.after_s, default=0) <= expect.unfinished_refused_within_s,
        f"{refused} refused, the last after {max(cuts.after_s, default=0) * 1000:.0f} ms",
    )
    return outcome
