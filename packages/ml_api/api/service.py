"""Where a request meets the model: the prediction service, one per worker.

The handlers (api/controller.py) do HTTP only and call this; it holds the loaded model and its
card, the admission budgets, the spec's checks of a body of houses and of sales, and the
observers that
later features attach to (the metrics now; a prediction store, a challenger). As MLServer's
``handlers/dataplane.py`` stands between its REST endpoints and ``model.py``.

It is built once, before the server forks its workers (``gunicorn.conf.py``: ``preload_app``),
so each worker starts with its own copy, model loaded and checked on the spec's example houses.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradient_boosting_model import (
    InvalidInputError,
    PredictionResult,
    TrainedModel,
    load_model_with_card,
    make_prediction,
)
from gradient_boosting_model import __version__ as installed_version
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from api.body_validation import BodyCheck
from api.challenger import Challenger
from api.feedback_auth import NO_FEEDBACK, FeedbackTokens
from api.inflight import InflightBudget
from api.monitor import LiveMonitor
from api.problems import (
    ExplainLimitProblem,
    FieldError,
    StoreOffProblem,
    StoreUnavailableProblem,
    from_row_errors,
)
from api.store.database import Store, timed_out
from api.store.monitoring import Window
from api.store.recorder import PricedRequest, Recorder, priced_now
from api.store.sales import SalesRefusedError, sale_faults, sold_meanwhile, write_sales

logger = logging.getLogger(__name__)

_LIFESPANS_LOCK = threading.Lock()

House = dict[str, Any]
#: Called with the houses and their result after every successful pricing.
PriceObserver = Callable[[Sequence[House], PredictionResult], None]


@dataclass(frozen=True)
class PricedHouses:
    """A request's answer: the model's result, and the id of each house's record (the id a
    sale price is posted back with), in order."""

    result: PredictionResult
    prediction_ids: list[str]


def prediction_ids(count: int) -> list[str]:
    """Ids for ``count`` houses of one request: a random token (64 bits) and each house's
    place, ``<token>-<index>``; unique without asking the database."""
    token = secrets.token_hex(8)
    return [f"{token}-{index}" for index in range(count)]


def _unavailable(store: Store, error: SQLAlchemyError, *, writing: bool) -> StoreUnavailableProblem:
    """The 503 for a request the store failed: one that cannot be reached, or a statement
    stopped at the store's bound (``ML_API_STORE_STATEMENT_TIMEOUT``), said as such."""
    bound = store.statement_timeout if timed_out(error) else None
    return StoreUnavailableProblem(writing=writing, timed_out_after=bound)


@dataclass(frozen=True)
class ServiceLimits:
    """The limits the service keeps itself (``api.config.Settings`` holds their values)."""

    max_explained_rows: int
    #: What ``GET /v1/model`` reports as the request limits.
    reported: dict[str, int]


@dataclass
class PredictionService:
    """Prices houses with the loaded model, within the worker's budgets."""

    model: TrainedModel
    #: The model's card (``gradient_boosting_model.load_card``), read with the model
    #: (``load_model_with_card``).
    card: dict[str, Any]
    api_version: str
    limits: ServiceLimits
    #: The spec's check of a request's houses: the 400 when the model refuses one.
    house_check: BodyCheck
    #: The spec's check of a request's sales (of every batch: its validator checks the list's
    #: shape only), and the refusals of the sales the store will not take.
    sale_check: BodyCheck
    #: Houses being explained at once (503 past it).
    explained_rows: InflightBudget
    #: Bytes of request bodies read and priced at once (503 past it; api/body_limit.py).
    body_bytes: InflightBudget
    #: Requests waiting on the store at once (503 past it): sales, and monitoring windows
    #: asked for; each holds a request thread.
    store_requests: InflightBudget
    observers: list[PriceObserver] = field(default_factory=list)
    #: The prediction store, its writer and its monitor (``None``: recording is off).
    store: Store | None = None
    recorder: Recorder | None = None
    monitor: LiveMonitor | None = None
    #: Who may post sale prices back.
    feedback: FeedbackTokens = NO_FEEDBACK
    #: A second model priced in the shadow of the recorded houses (``None``: none).
    challenger: Challenger | None = None
    #: Apps serving this service whose lifespan is running.
    _lifespans: int = field(default=0, init=False, repr=False)

    @classmethod
    def start(
        cls,
        *,
        artifact: Path | None,
        warm_up: Sequence[House],
        api_version: str,
        limits: ServiceLimits,
        house_check: BodyCheck,
        sale_check: BodyCheck,
        explained_rows: InflightBudget,
        body_bytes: InflightBudget,
        store_requests: InflightBudget,
        observers: Sequence[PriceObserver] = (),
        store: Store | None = None,
        recorder: Recorder | None = None,
        monitor: Callable[[TrainedModel, dict[str, Any]], LiveMonitor] | None = None,
        feedback: FeedbackTokens = NO_FEEDBACK,
        challenger: Challenger | None = None,
    ) -> PredictionService:
        """Load the packaged model (or ``artifact``) and price ``warm_up`` with it, explained
        too, so that the explainer is built before the first request.

        Raises
        ------
        gradient_boosting_model.ModelError
            If the model or its card is missing or corrupt, was trained with another
            scikit-learn release, or cannot price the houses; the message names the file.
        api.store.database.StoreError
            If the store cannot be reached, or its database is behind the code's migrations,
            or cannot keep a model's version, or the challenger's is the serving model's.
        """
        if store is not None:
            store.check()
        model, card = load_model_with_card(artifact)
        if store is not None:
            serving = str(card["version"])
            store.check_model_version(serving, role="serving")
            if challenger is not None:
                store.check_model_version(challenger.version, role="challenger")
                store.check_challenger_version(
                    challenger.version,
                    serving=serving,
                    challenger_file=challenger.artifact,
                    serving_file=artifact,
                    packaged=installed_version,
                )
        prices = make_prediction(list(warm_up), model=model, explain=True).predictions
        logger.info("model %s loaded; warm-up prices %s", card["version"], prices)
        return cls(
            model=model,
            card=card,
            api_version=api_version,
            limits=limits,
            house_check=house_check,
            sale_check=sale_check,
            explained_rows=explained_rows,
            body_bytes=body_bytes,
            store_requests=store_requests,
            observers=list(observers),
            store=store,
            recorder=recorder,
            monitor=monitor(model, card) if monitor is not None else None,
            feedback=feedback,
            challenger=challenger,
        )

    def start_background(self) -> None:
        """Start the store's writer and monitor (in the worker: threads do not survive the
        fork, so the app's lifespan calls this in each worker). Counted: the service runs them
        while any app serving it is up (a test may serve one service from several apps)."""
        if self.store is not None:  # the worker's gauge, until its first write or read
            self.store.health.publish()
        with _LIFESPANS_LOCK:
            self._lifespans += 1
            if self._lifespans > 1:
                return
        if self.recorder is not None:
            self.recorder.start()
        if self.monitor is not None:
            self.monitor.start()
        if self.store is not None:
            self.store.stall_watch.start()

    def stop_background(self) -> None:
        """Once the last app serving it stops: write what is queued, stop the monitor, close
        the store's connections."""
        with _LIFESPANS_LOCK:
            self._lifespans -= 1
            if self._lifespans > 0:
                return
        if self.store is not None:
            self.store.stall_watch.stop()
        if self.monitor is not None:
            self.monitor.stop()
        if self.recorder is not None:
            self.recorder.stop()
        if self.store is not None:
            self.store.close()

    @property
    def model_version(self) -> str:
        return str(self.card["version"])

    def describe(self) -> dict[str, Any]:
        """The model's card, with the request limits a client must keep to, and the version
        priced in the shadow if any."""
        described = {**self.card, "limits": self.limits.reported}
        if self.challenger is not None:
            described["challenger_version"] = self.challenger.version
        return described

    def predict(self, houses: list[House], *, explain: bool, request_id: str) -> PricedHouses:
        """Price every house, in order, with its range and warnings, and with ``explain`` the
        factors behind its price; record each (the request's ``request_id`` with it).

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
            result = self._priced(houses, explain=False)
        else:
            if not self.house_check.is_valid(houses):  # invalid houses are said first
                self._refuse_invalid(houses)
            if len(houses) > self.limits.max_explained_rows:
                raise ExplainLimitProblem(self.limits.max_explained_rows, len(houses))
            with self.explained_rows.claim(len(houses)):
                result = self._priced(houses, explain=True)
        ids = prediction_ids(len(houses))
        if self.recorder is not None:
            self.recorder.record(self._to_record(houses, result, ids, request_id))
        return PricedHouses(result=result, prediction_ids=ids)

    def record_sales(self, sales: list[dict[str, Any]], *, reported_by: str) -> int:
        """Write sale prices of priced houses, all or none, each stored as ``reported_by``'s
        (the name of the feedback token that posted them); the sales written.

        Raises
        ------
        InvalidHousesProblem
            400 if a sale breaks the spec's schema (naming beside its errors those below, on
            the fields it accepts); 422 if a date is not a real day or is before its house was
            built, an id is there twice, names no priced house or one already sold.
        StoreUnavailableProblem
            503 if the store cannot be reached.
        StoreOffProblem
            403 if there is none (recording is off).
        BusyProblem
            503 if the worker has as many requests waiting on the store as it takes.
        """
        if self.store is None:
            self.sale_check.refuse_if_invalid(sales)
            raise StoreOffProblem()
        with self.store_requests.claim(1):
            return self._write_sales(self.store, sales, reported_by=reported_by)

    def _write_sales(self, store: Store, sales: list[dict[str, Any]], *, reported_by: str) -> int:
        # The spec's check (its validator checked the list's shape only), the store's rules
        # sought only for a batch it refuses.
        self.sale_check.refuse_if_invalid(sales, also=lambda: self._store_faults(sales))
        try:
            try:
                return write_sales(store.engine, sales, reported_by=reported_by)
            except IntegrityError:  # another batch wrote one of these sales meanwhile
                # (none found if, in between, what it named was deleted)
                lost = sold_meanwhile(store.engine, sales) or [
                    FieldError(None, "prediction_id", "a sale of this batch was posted meanwhile")
                ]
                raise SalesRefusedError(lost, 422) from None
        except SalesRefusedError as refused:
            raise self.sale_check.problem(refused.errors, refused.status) from None
        except SQLAlchemyError as error:  # the follow-up's own query's included
            raise _unavailable(store, error, writing=True) from error

    def _store_faults(self, sales: list[dict[str, Any]]) -> list[FieldError]:
        """What the store would refuse of a batch the schema refuses, on the fields it accepts;
        none to name if there is no store or it cannot be reached (the schema's 400 is
        answered all the same)."""
        if self.store is None:
            return []
        try:
            return sale_faults(self.store.engine, self.sale_check.accepted_fields(sales))
        except SQLAlchemyError as error:  # its text may quote the ids: not logged
            logger.warning(
                "the store could not be reached to check a refused batch of sales (%s)",
                type(error).__name__,
            )
            return []

    def monitoring(self, *, predictions: int | None, sales: int | None) -> dict[str, Any]:
        """The live figures: the default window's (kept by the timer), or the one asked for."""
        if self.monitor is None:
            raise StoreOffProblem()
        if predictions is None and sales is None:
            return self.monitor.current()
        window = self.monitor.window
        asked = Window(predictions or window.predictions, sales or window.sales)
        try:
            with self.store_requests.claim(1):
                return self.monitor.on_demand(asked)
        except SQLAlchemyError as error:
            raise _unavailable(self.monitor.store, error, writing=False) from error

    def _refuse_invalid(self, houses: list[House]) -> None:
        """The spec's 400 for houses it does not accept, with the rules between fields that
        the model finds broken beside its errors (``_priced`` does the same on its way)."""
        found: list[FieldError] = []
        try:
            make_prediction(houses, model=self.model, max_errors=self.house_check.errors_sought)
        except InvalidInputError as refused:
            found = from_row_errors(refused.errors)
        self.house_check.refuse_if_invalid(houses, also=found)

    def _to_record(
        self, houses: list[House], result: PredictionResult, ids: list[str], request_id: str
    ) -> PricedRequest:
        return PricedRequest(
            ids=ids,
            request_id=request_id,
            model_version=self.model_version,
            houses=houses,
            prices=result.predictions,
            intervals=result.intervals,
            warnings=result.warnings,
            priced_at=priced_now(),
        )

    def _priced(self, houses: list[House], *, explain: bool) -> PredictionResult:
        try:
            result = make_prediction(
                houses, model=self.model, explain=explain, max_errors=self.house_check.errors_sought
            )
        except InvalidInputError as refused:
            # The spec's schema was checked for the list only: the model, which knows the same
            # rules, found a bad house. The spec's 400 if the houses break it (listing beside
            # its errors the house-level rules the model found broken), else the model's
            # house-level rules: 422.
            found = from_row_errors(refused.errors)
            self.house_check.refuse_if_invalid(houses, also=found)
            problem = self.house_check.problem(found, 422)
            if not refused.errors:  # a batch-level refusal (empty, not a list)
                problem.detail = str(refused)
            raise problem from refused
        for observe in self.observers:
            observe(houses, result)
        return result
