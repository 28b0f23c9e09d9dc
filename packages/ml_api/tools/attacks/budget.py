"""How long and how hard each attack runs: every attack is bounded by these numbers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    #: Seconds the slow attacks (slowloris, slow body) hold their connections at most.
    slow_hold_s: float = 25
    slowloris_connections: int = 200
    slow_body_connections: int = 50
    #: Seconds between trickled bytes.
    trickle_every_s: float = 3
    flood_sockets: int = 5000
    flood_hold_s: float = 20
    big_body_clients: int = 32
    escaped_quote_clients: int = 4
    escaped_quote_seconds: float = 10
    #: Keep-alive load during the SIGKILL attack; the kill comes halfway.
    kill_load_s: int = 20
    load_connections: int = 8
    #: Keep-alive load while workers recycle (the issue's figure: 5 minutes).
    recycle_s: int = 300
    recycle_max_requests: int = 500
    recycle_jitter: int = 50


#: The 'before' run: the same attacks, shorter.
QUICK = Budget(
    slow_hold_s=15, flood_hold_s=15, escaped_quote_seconds=6, kill_load_s=12, recycle_s=60
)
