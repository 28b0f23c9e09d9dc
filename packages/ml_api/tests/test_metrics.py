"""``api.metrics.observe_all`` leaves a histogram as ``observe``, value by value, leaves it."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Histogram, multiprocess
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from api.metrics import PREDICTED_PRICES, exposition, field_label, observe_all

BOUNDS = PREDICTED_PRICES._upper_bounds


def _samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (sample.name, sample.labels.get("le", "")): sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if not sample.name.endswith("_created")
    }


def _histogram(registry: CollectorRegistry) -> Histogram:
    return Histogram("prices", "prices", buckets=BOUNDS[:-1], registry=registry)


@pytest.mark.parametrize("count", [1, 8, 9, 1459])
def test_observe_all_counts_as_observe_does(count: int) -> None:
    """Values on the bounds themselves included: each belongs to the bucket it equals."""
    rng = random.Random(count)
    finite = [bound for bound in BOUNDS if bound != float("inf")]
    values = [rng.choice([rng.uniform(1e4, 1e6), rng.choice(finite)]) for _ in range(count)]
    one_by_one, at_once = CollectorRegistry(), CollectorRegistry()
    histogram = _histogram(one_by_one)
    for value in values:
        histogram.observe(value)
    observe_all(_histogram(at_once), values)
    expected, found = _samples(one_by_one), _samples(at_once)
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-12), key
    assert found[("prices_count", "")] == count


def test_a_refused_field_is_labelled_by_its_name_when_the_spec_declares_it() -> None:
    """A sale's fields were all ``_unknown`` in the log and the metric: only a house's were
    known."""
    assert [field_label(name, 0) for name in ("sale_price", "sold_on", "GrLivArea")] == [
        "sale_price",
        "sold_on",
        "GrLivArea",
    ]
    assert field_label("anything a client names", 0) == "_unknown"
    assert (field_label(None, 0), field_label(None, None)) == ("_house", "_request")


def test_metrics_are_read_past_a_workers_file_not_yet_sized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker creates its file, then sizes it: prometheus-client's own collector raised on
    the empty file in between (a 500 for all of /metrics; prometheus/client_python#1199)."""
    ready = MmapedDict(str(tmp_path / "counter_101.db"))  # type: ignore[no-untyped-call]
    key = mmap_key("ml_api_demo_total", "ml_api_demo_total", [], [], "A demo.")
    ready.write_value(key, 3.0, 0.0)  # type: ignore[no-untyped-call]
    ready.close()  # type: ignore[no-untyped-call]
    (tmp_path / "counter_102.db").touch()  # another worker's, created, not yet sized
    merge = multiprocess.MultiProcessCollector.merge
    with pytest.raises(struct.error):  # the library's collector (the fingerprint's reason)
        list(merge(list(map(str, tmp_path.glob("*.db")))))  # type: ignore[no-untyped-call]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert b"ml_api_demo_total 3.0" in exposition()
