"""The framework's floor: a trivial Connexion 3 app, served as the service is, to measure against.

One POST endpoint (``/v1/predictions``, a JSON list of objects in, a constant JSON object out)
and the ``/ready`` that ``tools.server.wait_ready`` polls, in a spec of a few lines, with
Connexion's own defaults (its JSON body validator, its Flask app run through a2wsgi). It is
served by gunicorn with the service's own ``gunicorn.conf.py`` and as many workers, with one
difference: the worker class is uvicorn-worker's ``UvicornWorker`` as shipped, since the
service's connection guard (api/worker.py) is the service's own work and is measured with it.

Whatever the service does beyond this app (its middlewares, its validator, its handler, the
model, the metrics, the access log, the store) is what ``tools.bench`` measures as its cost
over the floor.

The floor with the model (tools/model_floor.py) is this app with a handler that prices: what
the service would cost with nothing of its own but the model.

    gunicorn --config gunicorn.conf.py --worker-class uvicorn_worker.UvicornWorker \
        'tools.floor:create_floor_app()'
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connexion import FlaskApp

from tools import server as real_server

#: The floor's answer: the shape of a one-house prediction, made once.
ANSWER: dict[str, Any] = {
    "predictions": [181000.0],
    "intervals": [
        {"lower": 150000.0, "upper": 215000.0, "level": 0.9, "calibrated": True, "partial": False}
    ],
    "warnings": [[]],
    "model_version": "floor",
    "prediction_ids": ["floor-0"],
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "floor", "version": "1"},
    "paths": {
        "/v1/predictions": {
            "post": {
                "operationId": "tools.floor.predict",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"type": "object"}}
                        }
                    },
                },
                "responses": {"200": {"description": "a constant answer"}},
            }
        },
        "/ready": {
            "get": {
                "operationId": "tools.floor.ready",
                "responses": {"200": {"description": "serving"}},
            }
        },
    },
}

#: The worker class the floors are served with (see the docstring).
WORKER_ARGS = ("--worker-class", "uvicorn_worker.UvicornWorker")


def predict(body: list[dict[str, Any]]) -> dict[str, Any]:
    """The trivial handler: the body as Connexion hands it over, a constant answer."""
    return ANSWER


def ready() -> dict[str, str]:
    return {"status": "ready"}


def create_floor_app(operation: str = "tools.floor.predict") -> FlaskApp:
    """The floor's app (a factory: gunicorn calls it, nothing is built on import), its POST
    answered by ``operation``."""
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/v1/predictions"]["post"]["operationId"] = operation
    app = FlaskApp(__name__)
    app.add_api(spec)
    return app


#: The floor's workers are never recycled: uvicorn-worker as shipped closes its keep-alive
#: connections under the client when gunicorn replaces it after ``max_requests`` (the service's
#: connection guard drains them), and a bench that loaded the floor past 20,000 requests a
#: worker counted those failed requests (6 in 80,000 here) against every server.
NOT_RECYCLED = {"ML_API_MAX_REQUESTS": "0"}


@contextlib.contextmanager
def running_floor(
    log: Path, workers: int = 2, *, with_model: bool = False
) -> Iterator[real_server.Server]:
    """The floor (``with_model``: the floor with the model) served on a free loopback port for
    the ``with`` block, as ``tools.server.running`` serves the service (but for recycling:
    ``NOT_RECYCLED``)."""
    factory = (
        "tools.model_floor:create_model_floor_app()"
        if with_model
        else "tools.floor:create_floor_app()"
    )
    with real_server.running(
        log, env=NOT_RECYCLED, workers=workers, gunicorn_args=(*WORKER_ARGS, factory)
    ) as server:
        yield server
