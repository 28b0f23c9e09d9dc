"""The local cluster score-houses starts by default: its workers' environment."""

from __future__ import annotations

import os

import pytest

from gradient_boosting_model.batch.cluster import local_cluster

pytestmark = [pytest.mark.integration, pytest.mark.batch]

WATCHED = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")


def environment() -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in WATCHED}


@pytest.mark.skipif(
    "MALLOC_TRIM_THRESHOLD_" in os.environ, reason="set here, so the workers inherit it"
)
def test_workers_keep_glibcs_adaptive_mmap_threshold_and_one_thread() -> None:
    with local_cluster(1) as client:
        (found,) = client.run(environment).values()
    assert found == {"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}
