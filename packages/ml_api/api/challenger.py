"""A challenger: a second model, priced in the shadow of the one serving.

``ML_API_CHALLENGER_ARTIFACT`` names its artifact (another version's file, beside the one the
package installs); it is loaded at start-up and checked as the serving model is, on the spec's
example houses. Once the recorder has written a request's houses, a thread of the worker's
(api/store/shadow.py) prices them with it, a second's requests in one call, off the request
path, and writes its prices beside the serving model's (``challenger_prices``: the same request
and house). A response, its latency and its errors never depend on it: when it cannot price a
request's houses, they are counted (``ml_api_challenger_failed_houses_total``) and the failure
is logged once until it prices again, naming no value of the houses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradient_boosting_model import PredictionResult, TrainedModel, load_model_with_card
from gradient_boosting_model import make_prediction as price_houses

from api.metrics import CHALLENGER_FAILED, CHALLENGER_INFO, CHALLENGER_PRICED

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowPrices:
    """The challenger's answer for one request's houses, in order."""

    predictions: Sequence[float]
    intervals: Sequence[Any]
    warnings: Sequence[Sequence[Any]]

    @classmethod
    def split(cls, result: PredictionResult, sizes: Sequence[int]) -> Iterator[ShadowPrices]:
        """``result`` of requests of ``sizes`` houses priced together, a request each."""
        start = 0
        for size in sizes:
            stop = start + size
            yield cls(
                result.predictions[start:stop],
                result.intervals[start:stop],
                result.warnings[start:stop],
            )
            start = stop


@dataclass
class Challenger:
    """A model priced in the shadow (see the module's docstring)."""

    model: TrainedModel
    card: dict[str, Any]
    #: The file it was loaded from (``ML_API_CHALLENGER_ARTIFACT``).
    artifact: Path
    #: Whether its last pricing failed (a run of failures is logged once).
    _failing: bool = field(default=False, init=False, repr=False)

    @classmethod
    def load(cls, artifact: Path, warm_up: Sequence[dict[str, Any]]) -> Challenger:
        """The model at ``artifact``, checked by pricing ``warm_up``.

        Raises
        ------
        gradient_boosting_model.ModelError
            If the artifact or its card is missing or corrupt, was trained with another
            scikit-learn release, or cannot price the houses; the message names the file.
        """
        model, card = load_model_with_card(artifact)
        prices = price_houses(list(warm_up), model=model).predictions
        logger.info("challenger %s loaded; warm-up prices %s", card["version"], prices)
        return cls(model=model, card=card, artifact=artifact)

    @property
    def version(self) -> str:
        return str(self.card["version"])

    def publish(self) -> None:
        """``ml_api_challenger_info``: which version a worker prices in the shadow."""
        CHALLENGER_INFO.labels(self.version).set(1)

    def price_requests(
        self, requests: Sequence[Sequence[dict[str, Any]]]
    ) -> list[ShadowPrices | None]:
        """Each request's houses priced (the shadow writer's thread), ``None`` for a request it
        failed on. All in one call: one-house requests come by the hundred a batch, and a call
        costs more than a house. If that call fails, each request alone, so that a house it
        cannot price loses only its own request's prices."""
        houses = [house for request in requests for house in request]
        if len(requests) > 1:
            try:
                result = price_houses(houses, model=self.model)
            except Exception:  # whatever it is: found out, and counted, request by request
                return [self.price(request) for request in requests]
            self._priced(len(houses))
            return list(ShadowPrices.split(result, [len(request) for request in requests]))
        return [self.price(request) for request in requests]

    def price(self, houses: Sequence[dict[str, Any]]) -> ShadowPrices | None:
        """The challenger's prices of ``houses``, or ``None`` if it failed: any exception,
        counted and logged, never raised."""
        try:
            result = price_houses(list(houses), model=self.model)
        except Exception as error:  # whatever it is, no client may see it
            CHALLENGER_FAILED.inc(len(houses))
            if not self._failing:
                logger.error(
                    "challenger %s could not price %d houses (%s); their champion's prices are "
                    "recorded without the challenger's until it prices again",
                    self.version,
                    len(houses),
                    type(error).__name__,
                )
            self._failing = True
            return None
        self._priced(len(houses))
        return ShadowPrices(result.predictions, result.intervals, result.warnings)

    def _priced(self, count: int) -> None:
        if self._failing:
            logger.warning("challenger %s prices again", self.version)
            self._failing = False
        CHALLENGER_PRICED.inc(count)
