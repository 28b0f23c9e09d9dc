"""Where a request meets the model: the prediction service, one per worker.

The handlers (api/controller.py) do HTTP only and call this; it holds the loaded model and its
card, the admission budgets, the spec's check of a body of houses, and the observers that
later features attach to (the metrics now; a prediction store, a challenger). As MLServer's
``handlers/dataplane.py`` stands between its REST endpoints and ``model.py``.

It is built once, before the server forks its workers (``gunicorn.conf.py``: ``preload_app``),
so each worker starts with its own copy, model loaded and checked on the spec's example houses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradient_boosting_model import (
    InvalidInputError,
    PredictionResult,
    TrainedModel,
    load_card,
    load_model,
    make_prediction,
)

from api.body_validation import BodyCheck
from api.inflight import InflightBudget
from api.problems import ExplainLimitProblem, InvalidHousesProblem, from_row_errors

logger = logging.getLogger(__name__)

House = dict[str, Any]
#: Called with the houses and their result after every successful pricing.
PriceObserver = Callable[[Sequence[House], PredictionResult], None]


@dataclass(frozen=True)
class ServiceLimits:
    """The limits the service keeps itself (``api.config.Settings`` holds their values)."""

    max_explained_rows: int
    max_listed_errors: int
    detail_errors: int
    #: What ``GET /v1/model`` reports as the request limits.
    reported: dict[str, int]


@dataclass
class PredictionService:
    """Prices houses with the loaded model, within the worker's budgets."""

    model: TrainedModel
    #: The model's card (``gradient_boosting_model.load_card``).
    card: dict[str, Any]
    api_version: str
    limits: ServiceLimits
    #: The spec's check of a request's houses: the 400 when the model refuses one.
    house_check: BodyCheck
    #: Houses being explained at once (503 past it).
    explained_rows: InflightBudget
    #: Bytes of request bodies read and priced at once (503 past it; api/body_limit.py).
    body_bytes: InflightBudget
    observers: list[PriceObserver] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        *,
        artifact: Path | None,
        warm_up: Sequence[House],
        api_version: str,
        limits: ServiceLimits,
        house_check: BodyCheck,
        explained_rows: InflightBudget,
        body_bytes: InflightBudget,
        observers: Sequence[PriceObserver] = (),
    ) -> PredictionService:
        """Load the packaged model (or ``artifact``) and price ``warm_up`` with it, explained
        too, so that the explainer is built before the first request.

        Raises
        ------
        gradient_boosting_model.ModelError
            If the model or its card is missing or corrupt, was trained with another
            scikit-learn release, or cannot price the houses; the message names the file.
        """
        model = load_model(artifact)
        card = load_card(artifact)
        prices = make_prediction(list(warm_up), model=model, explain=True).predictions
        logger.info("model %s loaded; warm-up prices %s", card["version"], prices)
        return cls(
            model=model,
            card=card,
            api_version=api_version,
            limits=limits,
            house_check=house_check,
            explained_rows=explained_rows,
            body_bytes=body_bytes,
            observers=list(observers),
        )

    @property
    def model_version(self) -> str:
        return str(self.card["version"])

    def describe(self) -> dict[str, Any]:
        """The model's card, with the request limits a client must keep to."""
        return {**self.card, "limits": self.limits.reported}

    def predict(self, houses: list[House], *, explain: bool) -> PredictionResult:
        """Price every house, in order, with its range and warnings, and with ``explain`` the
        factors behind its price.

        Raises
        ------
        InvalidHousesProblem
            400 if a house breaks the spec's schema, 422 if it matches the schema but breaks a
            house-level rule. With ``explain``, before the limits of explaining.
        ExplainLimitProblem
            422 if more houses are to be explained than one answer carries.
        BusyProblem
            503 if the worker explains as many houses as it can already.
        """
        if not explain:
            return self._priced(houses, explain=False)
        self.house_check.refuse_if_invalid(houses)  # invalid houses are said first
        if len(houses) > self.limits.max_explained_rows:
            raise ExplainLimitProblem(self.limits.max_explained_rows, len(houses))
        with self.explained_rows.claim(len(houses)):
            return self._priced(houses, explain=True)

    def _priced(self, houses: list[House], *, explain: bool) -> PredictionResult:
        try:
            result = make_prediction(houses, model=self.model, explain=explain)
        except InvalidInputError as refused:
            # The spec's schema was checked for the list only: the model, which knows the same
            # rules, found a bad house. The spec's 400 if the houses break it, else the model's
            # house-level rules: 422.
            self.house_check.refuse_if_invalid(houses)
            problem = InvalidHousesProblem(
                from_row_errors(refused.errors),
                listed_limit=self.limits.max_listed_errors,
                detail_limit=self.limits.detail_errors,
                status=422,
            )
            if not refused.errors:  # a batch-level refusal (empty, not a list)
                problem.detail = str(refused)
            raise problem from refused
        for observe in self.observers:
            observe(houses, result)
        return result
