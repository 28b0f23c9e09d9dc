"""tools/profile.py's reading of py-spy's collapsed stacks: each sample under the part of the
request path its innermost matching frame belongs to; and how the tools tell which workers
worked (the profile records the busiest; the bench runs again a load that left one idle)."""

from __future__ import annotations

import os
import time

import pytest

from tools.profile import OTHER, own_samples, parse_collapsed, shares
from tools.server import cpu_seconds, spread

STACKS = """\
thread (1);Runner.run (asyncio/runners.py:118);RequestContextMiddleware.__call__ (api/request_metrics.py:70);Logger.info (logging/__init__.py:1489) 3
thread (2);_worker (concurrent/futures/thread.py:83);Flask.wsgi_app (flask/app.py:1511);Handlers.predict (api/controller.py:66);make_prediction (gradient_boosting_model/predict.py:90);_wrapfunc (numpy/_core/fromnumeric.py:54) 5
thread (2);_worker (concurrent/futures/thread.py:83);Flask.wsgi_app (flask/app.py:1511) 1
thread (3);Thread.run (threading.py:982) 1
"""  # noqa: E501


def test_each_sample_counts_under_its_innermost_part() -> None:
    stacks = parse_collapsed(STACKS)
    assert sum(count for _, count in stacks) == 10
    found = shares(stacks)
    assert found["access log and other logging"] == pytest.approx(0.3)
    assert found["the model (make_prediction)"] == pytest.approx(0.5)
    assert found["Flask, werkzeug and a2wsgi"] == pytest.approx(0.1)
    assert found[OTHER] == pytest.approx(0.1)
    assert found["our middlewares"] == 0
    assert sum(found.values()) == pytest.approx(1)


def test_own_samples_name_the_innermost_function() -> None:
    top = own_samples(parse_collapsed(STACKS), 2)
    assert [frame for frame, _ in top] == [
        "_wrapfunc (numpy/_core/fromnumeric.py)",
        "Logger.info (logging/__init__.py)",
    ]
    assert [share for _, share in top] == pytest.approx([0.5, 0.3])


def test_spread_is_the_least_busy_workers_share_of_the_busiest() -> None:
    # CPU seconds of workers 1 and 2 before and after a load; a worker gone since is left out.
    assert spread({1: 10.0, 2: 5.0}, {1: 12.0, 2: 6.0}) == pytest.approx(0.5)
    assert spread({1: 10.0, 2: 5.0}, {1: 12.0, 2: 5.0}) == 0
    # Worker 3 exited; worker 4 replaced it and has worked 0.5 s of its own.
    assert spread({1: 10.0, 2: 5.0, 3: 1.0}, {1: 11.0, 2: 6.0, 4: 0.5}) == pytest.approx(0.5)
    assert spread({1: 10.0}, {1: 10.0}) == 1  # no work: nothing uneven


def test_cpu_seconds_counts_this_process_work() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert cpu_seconds(os.getpid()) - before >= 0.1
