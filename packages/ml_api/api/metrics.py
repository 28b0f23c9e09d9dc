"""Prometheus metrics of the service, correct under several gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` sets it before workers start),
prometheus-client keeps each worker's values in files there and ``/metrics`` adds them up;
without it (tests, one process) the default registry is used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

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

HTTP_REQUESTS = Counter(
    "ml_api_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "ml_api_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=(0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PREDICTED_HOUSES = Counter("ml_api_predicted_houses_total", "Houses priced.")
PREDICTED_PRICES = Histogram(
    "ml_api_predicted_price_dollars",
    "Predicted sale prices: watch it drift.",
    buckets=(50e3, 75e3, 100e3, 125e3, 150e3, 175e3, 200e3, 250e3, 300e3, 400e3, 500e3, 750e3),
)
REFUSED_FIELDS = Counter(
    "ml_api_refused_fields_total",
    "Invalid values refused, by house field (_request: the request as a whole; _house: a "
    "whole house; _unknown: a field the API does not know).",
    ["field"],
)
WARNED_HOUSES = Counter(
    "ml_api_warned_houses_total",
    "Houses priced with a warning that a detail is outside what the model saw in training, "
    "by the field warned about (a house warned about two fields counts under each).",
    ["field"],
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


def field_label(field: str | None, row: int | None) -> str:
    """A bounded label for a refused field: clients can send any name at all."""
    if field is None:
        return "_request" if row is None else "_house"
    return field if field in KNOWN_FIELDS else "_unknown"


def observe_prices(houses: Sequence[dict[str, Any]], result: PredictionResult) -> None:
    """Count the houses priced, their prices, and the fields their warnings name (a prediction
    service's observer)."""
    PREDICTED_HOUSES.inc(len(result.predictions))
    for price in result.predictions:
        PREDICTED_PRICES.observe(price)
    for warnings in result.warnings:
        for field in {warning.field for warning in warnings}:
            WARNED_HOUSES.labels(field).inc()


def exposition() -> bytes:
    """The metrics in Prometheus' text format (served as plain text, which every Prometheus
    reads as format 0.0.4)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
