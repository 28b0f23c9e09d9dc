"""Prometheus metrics of the service, correct under several gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` sets it before workers start),
prometheus-client keeps each worker's values in files there and ``/metrics`` adds them up;
without it (tests, one process) the default registry is used.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gradient_boosting_model import KNOWN_FIELDS, PredictionResult
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric

from api.spec_document import request_field_names

HTTP_REQUESTS = Counter(
    "ml_api_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "ml_api_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template and status (a fast refusal is no "
    "measure of how long a price takes).",
    ["method", "route", "status"],
    buckets=(0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PREDICTED_HOUSES = Counter("ml_api_predicted_houses_total", "Houses priced.")
FEEDBACK_TOKEN_USES = Counter(
    "ml_api_feedback_token_uses_total",
    "Requests whose feedback token the service took, by the token's name in "
    "ML_API_FEEDBACK_TOKENS (name:token), or an unnamed token's place there (1: the first); "
    "never its value. While tokens are rotated, an old token's count stops growing once no "
    "client sends it: then it can be removed.",
    ["token"],
)
PREDICTED_PRICES = Histogram(
    "ml_api_predicted_price_dollars",
    "Predicted sale prices: watch it drift.",
    buckets=(50e3, 75e3, 100e3, 125e3, 150e3, 175e3, 200e3, 250e3, 300e3, 400e3, 500e3, 750e3),
)
REFUSED_FIELDS = Counter(
    "ml_api_refused_fields_total",
    "Invalid values refused, by field of a house or a sale (_request: the request as a whole; "
    "_house: a whole house or sale; _unknown: a field the API does not know).",
    ["field"],
)
WARNED_HOUSES = Counter(
    "ml_api_warned_houses_total",
    "Houses priced with a warning that a detail is outside what the model saw in training, "
    "by the field warned about (a house warned about two fields counts under each).",
    ["field"],
)
PARTIAL_HOUSES = Counter(
    "ml_api_partial_houses_total",
    "Houses priced with details left out (or null) that no calibration house had assumed, whose "
    "ranges were widened for them (partial in the answer): a share that grows means clients "
    "send less, and get wider ranges.",
)
MODEL_INFO = Gauge(
    "ml_api_model_info",
    "The model each worker serves (value 1).",
    ["model_version", "api_version"],
    multiprocess_mode="max",
)
STARTUP_SECONDS = Gauge(
    "ml_api_startup_seconds",
    "Seconds a worker took to load its model and become ready.",
    multiprocess_mode="max",
)

# The prediction store (api/store/recorder.py).
RECORDED_HOUSES = Counter(
    "ml_api_recorded_houses_total", "Priced houses written to the prediction store."
)
UNRECORDED_HOUSES = Counter(
    "ml_api_unrecorded_houses_total",
    "Priced houses the store could not keep: the worker's buffer was full while the database "
    "was slow or down, the database refused them (the log names the request), or the worker "
    "stopped before writing them. Recorded + unrecorded = priced, with recording on.",
)
RECORDING = Gauge(
    "ml_api_recording",
    "Whether the worker records priced houses in the prediction store (ML_API_RECORDING: 1 "
    "or 0); where 0, ml_api_database_up stays at its start's 0, which says nothing.",
    multiprocess_mode="max",
)
RECORD_QUEUE = Gauge(
    "ml_api_record_queue_houses",
    "Priced houses waiting to be written to the store.",
    multiprocess_mode="livesum",
)
DATABASE_UP = Gauge(
    "ml_api_database_up",
    "1 while the prediction store took the worker's last write and answered its last read.",
    multiprocess_mode="livemin",
)
STORE_ROWS = Gauge(
    "ml_api_store_rows",
    "Rows in the prediction store, by table (counted at each monitoring refresh).",
    ["table"],
    multiprocess_mode="mostrecent",
)
STORE_BYTES = Gauge(
    "ml_api_store_bytes",
    "Bytes the prediction store takes on disk (SQLite file, or PostgreSQL's table sizes).",
    multiprocess_mode="mostrecent",
)

# Live monitoring (api/store/monitoring.py), refreshed on a timer, not per scrape. The figures of
# a model are labelled with its version (``model_version``; a challenger's comparison with both,
# ``challenger_version`` the challenger's), so that a dashboard or an alert never mixes two
# models' during a rollout. One version a worker: a server serves one model for its life (a
# promotion is a restart, and the metrics folder is emptied at each, api/metrics_folder.py); a
# process that makes another monitor drops the series of the one before
# (``forget_model_figures``).
MODEL_LABEL = "model_version"
CHALLENGER_LABEL = "challenger_version"
LIVE = {
    name: Gauge(f"ml_api_live_{name}", help, [MODEL_LABEL], multiprocess_mode="mostrecent")
    for name, help in {
        "rmsle": "RMSLE over the window's sales of houses whose range was marked calibrated.",
        "median_ape": "Median absolute percentage error over the same sales.",
        "interval_coverage": (
            "Share of the window's sale prices inside their 90% range, of the houses whose "
            "range was marked calibrated."
        ),
        "warned_share": "Share of the window's priced houses with a warning.",
        "sales": "Sales in the window.",
        "calibrated_sales": (
            "Sales in the window of houses whose range was marked calibrated: what the "
            "accuracy and the coverage rest on."
        ),
        "houses": "Priced houses in the window.",
    }.items()
}
TRAINING = {
    name: Gauge(f"ml_api_training_{name}", help, [MODEL_LABEL], multiprocess_mode="mostrecent")
    for name, help in {
        "rmsle": (
            "RMSLE on the holdout's houses whose range is marked calibrated, at training (of "
            "every holdout house for an artifact from before that figure); for a model fitted "
            "on the holdout too, its twin's (the card's fitted_on)."
        ),
        "median_ape": "Median absolute percentage error on the same holdout houses.",
        "interval_coverage": "Coverage of the 90% ranges on the holdout at training.",
        "warned_share": (
            "Share of the houses the model was fitted on warned in cross-validation (each by the "
            "model of the folds without it): four to five times the holdout's houses, a steadier "
            "reference."
        ),
    }.items()
}
MONITORING_MIN_SALES = Gauge(
    "ml_api_monitoring_min_sales",
    "Sales of houses whose range was marked calibrated that the accuracy checks need in their "
    "window (ML_API_MONITORING_MIN_SALES): below it, their level is -1.",
    multiprocess_mode="mostrecent",
)
MONITORING_LEVEL = Gauge(
    "ml_api_monitoring_level",
    "The service's verdict on a live check: 0 ok, 1 watch, 2 alert, -1 not enough data "
    "(thresholds in settings).",
    ["check", MODEL_LABEL],
    multiprocess_mode="mostrecent",
)
DRIFT_PSI = Gauge(
    "ml_api_input_drift_psi",
    "Population stability index of an input over the window's houses that give it, against "
    "training; NaN when none does.",
    ["field", MODEL_LABEL],
    multiprocess_mode="mostrecent",
)
DRIFT_LEVEL = Gauge(
    "ml_api_input_drift_level",
    "Drift verdict of an input: 0 ok, 1 watch, 2 alert, -1 not enough data (thresholds in "
    "settings).",
    ["field", MODEL_LABEL],
    multiprocess_mode="mostrecent",
)
DRIFT_UNKNOWN = Gauge(
    "ml_api_input_unknown_share",
    "Share of the window's houses that did not give an input (left out, or null where training "
    "had none): not counted in its drift.",
    ["field", MODEL_LABEL],
    multiprocess_mode="mostrecent",
)


# A challenger priced in the shadow (api/challenger.py), and its comparison with the serving
# model on the monitoring window (api/store/comparison.py).
CHALLENGER_INFO = Gauge(
    "ml_api_challenger_info",
    "The challenger model each worker prices in the shadow (value 1).",
    ["model_version"],
    multiprocess_mode="max",
)
CHALLENGER_PRICED = Counter(
    "ml_api_challenger_priced_houses_total", "Houses the challenger priced in the shadow."
)
CHALLENGER_FAILED = Counter(
    "ml_api_challenger_failed_houses_total",
    "Recorded houses the challenger did not price: it failed, or fell a buffer behind, or the "
    "worker stopped first (the serving model's prices were unaffected).",
)
CHALLENGER_QUEUE = Gauge(
    "ml_api_challenger_queue_houses",
    "Recorded houses waiting for the challenger's prices to be written.",
    multiprocess_mode="livesum",
)
COMPARED = {
    name: Gauge(
        f"ml_api_challenger_{name}",
        help,
        ["model", MODEL_LABEL, CHALLENGER_LABEL],
        multiprocess_mode="mostrecent",
    )
    for name, help in {
        "rmsle": "RMSLE of each model (champion, challenger) on the window's sales both priced.",
        "interval_coverage": "Coverage of each model's 90% ranges on the same sales.",
    }.items()
}
PRICE_MOVES = Gauge(
    "ml_api_challenger_price_move_share",
    "Share of the window's houses whose challenger price is more than `beyond` (a fraction) "
    "away from the serving model's.",
    ["beyond", MODEL_LABEL, CHALLENGER_LABEL],
    multiprocess_mode="mostrecent",
)
RMSLE_DIFFERENCE = Gauge(
    "ml_api_challenger_rmsle_difference",
    "Challenger's RMSLE minus the serving model's on the same sales: the estimate and the "
    "bounds of its paired bootstrap interval.",
    ["bound", MODEL_LABEL, CHALLENGER_LABEL],
    multiprocess_mode="mostrecent",
)
CHALLENGER_VERDICT = Gauge(
    "ml_api_challenger_verdict",
    "1: the challenger is more accurate, -1: less, 0: not yet known (its interval holds 0, or "
    "too few sales) or the same (it priced every sold house as the serving model).",
    [MODEL_LABEL, CHALLENGER_LABEL],
    multiprocess_mode="mostrecent",
)

#: The gauges labelled by model version, each cleared by ``forget_model_figures``.
MODEL_FIGURES: tuple[Gauge, ...] = (
    *LIVE.values(),
    *TRAINING.values(),
    MONITORING_LEVEL,
    DRIFT_PSI,
    DRIFT_LEVEL,
    DRIFT_UNKNOWN,
    *COMPARED.values(),
    PRICE_MOVES,
    RMSLE_DIFFERENCE,
    CHALLENGER_VERDICT,
)


def forget_model_figures() -> None:
    """Drop every version's series of the model figures (a new monitor in the process): what
    the process exports next is the new monitor's versions' alone.

    Only a gauge that holds series is cleared: a worker's first (and only) monitor has none to
    drop, and prometheus_client warns of any clear in multiprocess mode, which it does not
    implement there (each worker logged that warning as it started)."""
    for gauge in MODEL_FIGURES:
        if any(metric.samples for metric in gauge.collect()):
            gauge.clear()


#: The labels of a refusal that names no field the spec declares (``field_label``).
WHOLE_LABELS = ("_request", "_house", "_unknown")


def show_every_field() -> None:
    """Every field's refusal and warning counters at 0 from the start (a worker's start).

    A labelled series Prometheus first sees at 1 is read by ``increase`` and ``rate`` as
    starting there, so that the first refusal or warning of a field never showed on the
    dashboard's panels, which plot them per minute (Prometheus' instrumentation practices:
    "avoid missing metrics"). The labels are bounded: the spec's request fields, and the model's
    house fields for warnings."""
    for label in (*sorted(request_field_names()), *WHOLE_LABELS):
        REFUSED_FIELDS.labels(label)
    for field in sorted(KNOWN_FIELDS):
        WARNED_HOUSES.labels(field)


def field_label(field: str | None, row: int | None) -> str:
    """A bounded label for a refused field: clients can send any name at all. A name the spec
    declares in a request (a house detail, generated from the model's fields, or a sale's
    field) is its own label."""
    request, house, unknown = WHOLE_LABELS
    if field is None:
        return request if row is None else house
    return field if field in request_field_names() else unknown


#: Up to this many values, ``observe_all`` observes them one by one (numpy's set-up costs more).
_ONE_BY_ONE = 8


def observe_all(histogram: Histogram, values: Sequence[float]) -> None:
    """``histogram.observe`` of each value, with one write a bucket rather than two a value.

    In multiprocess mode each write takes a lock and checks the process id (about 6 us here):
    the 1459 prices of test.csv took 9% of a worker's samples one by one. prometheus-client has
    no public way to observe many values, so this adds to the histogram's own ``_sum`` and
    ``_buckets`` what ``observe`` would have added (each value in the first bucket whose upper
    bound is at least it); tests/test_upstream_fingerprints.py holds ``Histogram``'s source as
    checked, and tests/test_metrics.py the figures, against ``observe``'s.
    """
    if len(values) <= _ONE_BY_ONE:
        for value in values:
            histogram.observe(value)
        return
    histogram._raise_if_not_observable()  # type: ignore[no-untyped-call]
    bounds = histogram._upper_bounds
    counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    histogram._sum.inc(math.fsum(values))
    for bucket, count in zip(histogram._buckets, counts.tolist(), strict=False):  # NaN: none
        if count:
            bucket.inc(count)


def observe_prices(houses: Sequence[dict[str, Any]], result: PredictionResult) -> None:
    """Count the houses priced, their prices, those whose ranges were widened (``partial``),
    and the fields their warnings name (a prediction service's observer)."""
    PREDICTED_HOUSES.inc(len(result.predictions))
    observe_all(PREDICTED_PRICES, result.predictions)
    partial = sum(interval.partial for interval in result.intervals)
    if partial:  # a multiprocess counter's increment writes to its file
        PARTIAL_HOUSES.inc(partial)
    for warnings in result.warnings:
        for field in {warning.field for warning in warnings}:
            WARNED_HOUSES.labels(field).inc()


#: A worker's metrics file holds at least its 8-byte header once it is ready to be read.
_FILE_HEADER_BYTES = 8


class WorkersFilesCollector:
    """prometheus-client's ``MultiProcessCollector.collect``, over the workers' files that are
    ready to be read.

    A worker creates its file and only then sizes it: read in between, the file is empty, and
    the collector's merge raised on it (prometheus/client_python#1199, open), a 500 for the
    whole of ``/metrics`` (the attack suite met it once, on the first scrape after start), and
    for good if the worker died in between. A file removed meanwhile (a dead worker's live
    gauges) is read again from a new listing.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        for _ in range(2):
            try:
                return self._merged()
            except FileNotFoundError:
                continue
        return self._merged()

    def _merged(self) -> Iterable[Metric]:
        files = [path for path in glob.glob(os.path.join(self.path, "*.db")) if _ready(path)]
        merge = multiprocess.MultiProcessCollector.merge
        merged: Iterable[Metric] = merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return merged


def _ready(path: str) -> bool:
    try:
        return os.path.getsize(path) >= _FILE_HEADER_BYTES
    except FileNotFoundError:
        return False


def exposition() -> bytes:
    """The metrics in Prometheus' text format (served as plain text, which every Prometheus
    reads as format 0.0.4)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        registry = CollectorRegistry()
        registry.register(WorkersFilesCollector(path))
        return generate_latest(registry)
    return generate_latest(REGISTRY)
