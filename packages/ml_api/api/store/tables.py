"""The store's tables. Migrations (``migrations/versions``) create them; this is what the code
reads and writes, and a test checks that the two agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from api.config import FEEDBACK_TOKEN_NAME_LENGTH
from api.request_context import MAX_REQUEST_ID

metadata = MetaData()

#: JSON documents, kept as JSON text (PostgreSQL's ``json``, checked on the way in, not
#: ``jsonb``): every priced house is written, and read back only for drift, a window
#: at a time. COPY of 1459 houses into ``jsonb`` took PostgreSQL about 75 ms, into ``json``
#: about 25 (``jsonb`` turns each of a house's ~80 numbers into a ``numeric``); reading the
#: drift fields of 10,000 houses out of ``json`` (``json_to_record``: each parsed once) about
#: 200 ms against 150 (migration 0003). They are now read as text and parsed by orjson
#: (``monitoring._count_drift``).
Document = JSON()
#: ``warned_fields`` of a house without a warning, as written (``monitoring`` counts them).
NO_WARNED_FIELDS = "[]"


def answer_columns() -> list[Column[object]]:
    """A model's answer for one house, as ``predictions`` and ``challenger_prices`` both keep
    it: its price (and the price's log, which accuracy is measured on), its 90% range, whether
    the range was calibrated on houses like this one (no warning, no detail assumed that the
    training houses had: a partial house's range, calibrated in the answer since model 0.3.4,
    is stored false, ``recorder.answer_values``), and the fields its warnings name (empty:
    none)."""
    return [
        Column("price", Float, nullable=False),
        Column("log_price", Float, nullable=False),
        Column("lower", Float, nullable=False),
        Column("upper", Float, nullable=False),
        Column("calibrated", Boolean, nullable=False),
        Column("warned_fields", Document, nullable=False),
    ]


#: The longest model version the store keeps (a ``model_version`` column's width): a longer
#: one is refused at start-up (``Store.check_model_version``), not found at the first write.
MODEL_VERSION_LENGTH = 32

#: The width of ``predictions.id`` and of the columns that refer to it: room to spare (an id,
#: ``<token>-<index>``, has at most 22 characters: the spec's ``PredictionId``).
PREDICTION_ID_LENGTH = 40

#: One row a priced house.
predictions = Table(
    "predictions",
    metadata,
    #: The request's random token and the house's place in it: ``<token>-<index>``.
    Column("id", String(PREDICTION_ID_LENGTH), primary_key=True),
    Column("request_id", String(MAX_REQUEST_ID), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("model_version", String(MODEL_VERSION_LENGTH), nullable=False),
    #: The house as the client sent it.
    Column("house", Document, nullable=False),
    *answer_columns(),
    # The windows' order (``PREDICTIONS_NEWEST_FIRST``), walked backwards: the houses of every
    # version (pruning, the store's newest house), and of one (the monitoring windows).
    Index("ix_predictions_created_at_id", "created_at", "id"),
    Index("ix_predictions_model_version_created_at_id", "model_version", "created_at", "id"),
)


def priced_house_key() -> Column[str]:
    """The key of a row about one priced house (its sale, a challenger's price of it): the
    house's ``predictions.id``, the row deleted with the house."""
    return Column(
        "prediction_id",
        String(PREDICTION_ID_LENGTH),
        ForeignKey("predictions.id", ondelete="CASCADE"),
        primary_key=True,
    )


#: ``sales.reported_by`` of a sale whose reporter the store did not keep: one stored before
#: migration 0006, or posted meanwhile to a server of an older release (a rollout's old
#: replicas, which name no reporter: the column's default). No token's name: a name starts
#: with a letter, a place is a number (``config.FEEDBACK_TOKEN_NAME_SYNTAX``).
UNKNOWN_REPORTER = ""

#: One row a sale price posted back for a priced house.
sales = Table(
    "sales",
    metadata,
    priced_house_key(),
    Column("sale_price", Float, nullable=False),
    Column("log_sale_price", Float, nullable=False),
    Column("sold_on", Date, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    #: Who posted it: the name of the feedback token it came with (``config.FeedbackToken``:
    #: the name given in ``ML_API_FEEDBACK_TOKENS``, or the token's place there);
    #: ``UNKNOWN_REPORTER`` for a sale stored before the store kept it (migration 0006).
    Column(
        "reported_by",
        String(FEEDBACK_TOKEN_NAME_LENGTH),
        nullable=False,
        server_default=UNKNOWN_REPORTER,
    ),
    Index("ix_sales_received_at_prediction_id", "received_at", "prediction_id"),
)


class not_indexed(FunctionElement[str]):  # noqa: N801 - used as a function, as func.* are
    """A column in a filter that SQLite must apply row by row, as it walks another index's
    order (its unary ``+``, which keeps a term from any index); the column as it is elsewhere.

    SQLite plans without statistics (the service runs no ANALYZE), and for the sales window it
    chose ``ix_predictions_model_version_created_at_id``: every house the version ever priced,
    each looked up for a sale, then sorted, 361 ms at 200,000 houses and 100,000 sales, against
    5 ms walking the sales newest first. PostgreSQL, with statistics, picks well either way
    (7 ms; 121 ms with the column kept from its index as well)."""

    type = String()
    inherit_cache = True


@compiles(not_indexed)
def _as_it_is(element: not_indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(not_indexed, "sqlite")
def _unary_plus(element: not_indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


#: Newest first, the order the monitoring windows take their last rows in: a total order, as the
#: houses of one request share their time, and the sales of one batch theirs (by time alone, a
#: window cutting through one took any of its rows, and two queries of one window not the same).
PREDICTIONS_NEWEST_FIRST = (predictions.c.created_at.desc(), predictions.c.id.desc())
SALES_NEWEST_FIRST = (sales.c.received_at.desc(), sales.c.prediction_id.desc())

#: One row a house a challenger model priced in the shadow of the one serving (``predictions``:
#: the same request and house); what the challenger said, never sent to a client.
challenger_prices = Table(
    "challenger_prices",
    metadata,
    priced_house_key(),
    Column("model_version", String(MODEL_VERSION_LENGTH), nullable=False),
    *answer_columns(),
)
