"""The prediction store, on SQLite and on a real PostgreSQL: migrations up and down, the writer
that loses nothing silently, and sale prices taken back whole or not at all."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from gradient_boosting_model import drift_tally, input_drift, load_model
from gradient_boosting_model.data import read_dataset
from prometheus_client import REGISTRY
from sqlalchemy import (
    Connection,
    Engine,
    String,
    Text,
    bindparam,
    cast,
    event,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import DatabaseError, OperationalError

from api.config import FEEDBACK_TOKEN_NAME_SYNTAX
from api.store import monitoring
from api.store import recorder as recorder_module
from api.store.database import (
    Store,
    StoreError,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    migrate,
)
from api.store.health import StoreHealth
from api.store.monitoring import Thresholds, Window, measure
from api.store.recorder import (
    ROWS_PER_INSERT,
    PricedRequest,
    Recorder,
    insert_sizes,
    write_rows,
)
from api.store.sales import (
    NO_PRICED_HOUSE,
    SOLD_AS_POSTED,
    SOLD_OTHERWISE,
    SalesRefusedError,
    sold_meanwhile,
    write_sales,
)
from api.store.tables import UNKNOWN_REPORTER, metadata, predictions, sales
from tests.stores import MODEL_VERSION, REPORTER, Outage, count_rows, priced_request

pytestmark = pytest.mark.external  # PostgreSQL is a Debian package


def _counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_migrations_go_up_and_down(engine: Engine) -> None:
    assert current_revision(engine) is None
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert {"predictions", "sales"} <= set(inspect(engine).get_table_names())
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not {"predictions", "sales"} & set(inspect(engine).get_table_names())
    migrate(engine)
    assert current_revision(engine) == head_revision()


def test_a_failed_migration_leaves_the_ones_before_it_applied_and_recorded(
    engine: Engine,
) -> None:
    """Each migration is its own transaction (``migrations/env.py``): 0004 failing (a table of
    its index's name in the way) leaves 0001 to 0003 applied and recorded, and a rerun goes on
    from there. In one transaction for them all, PostgreSQL rolled 0001 to 0003 back too."""
    with engine.begin() as connection:  # indexes and tables share their names' namespace
        connection.execute(text("CREATE TABLE ix_predictions_created_at_id (id integer)"))
    try:
        with pytest.raises(DatabaseError, match="already"):  # exists; a table named ...
            migrate(engine)
        assert current_revision(engine) == "0003"
        assert {"predictions", "sales", "challenger_prices"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE ix_predictions_created_at_id"))
    migrate(engine)
    assert current_revision(engine) == head_revision()


def _empty_text_defaults_agree(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's ``compare_server_default`` hook: ``False`` (no difference) for a default of
    the empty string on both sides, ``None`` (Alembic compares) for any other. SQLite reflects
    a text default as its SQL literal, which Alembic (1.20) parenthesises, ``('')``, and then
    unquotes for the comparison, all but the empty one (its pattern wants a character between
    the quotes), which so differs from the table's ``''`` (``sales.reported_by``)."""
    if inspected_default in {"''", "('')"} and rendered_metadata_default == "":
        return False
    return None


def test_the_code_declares_the_tables_the_migrations_make(engine: Engine) -> None:
    """Tables, columns, their types, nullability and server defaults, indexes and keys."""
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": _empty_text_defaults_agree},
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_a_sale_stored_before_its_reporter_was_kept_is_said_to_be_no_one_s(engine: Engine) -> None:
    """Migration 0006: a sale stored before it, or posted after it to a replica of the release
    before (a rolling update's, whose insert names no reporter), is ``UNKNOWN_REPORTER``'s, no
    token's name; one posted by this code is its token's. Down again, the sales stay."""
    migrate(engine, "0005")
    with engine.begin() as connection:
        write_rows(connection, priced_request(3, "00000000000000dd").rows(0, 3))

    def sell_as_before(index: int) -> None:  # the columns a release before 0006 writes
        with engine.begin() as connection:
            connection.execute(
                insert(sales).values(
                    prediction_id=f"00000000000000dd-{index}", sale_price=1e5,
                    log_sale_price=math.log(1e5), sold_on=date(2010, 6, 30),
                    received_at=datetime.now(UTC),
                )
            )  # fmt: skip

    def reporters() -> dict[str, str]:
        with engine.connect() as connection:
            query = select(sales.c.prediction_id, sales.c.reported_by)
            return dict(connection.execute(query).all())

    sell_as_before(0)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    sell_as_before(1)
    write_sales(engine, [_sale(2, prediction_id="00000000000000dd-2")], reported_by="lender-a")
    assert reporters() == {
        "00000000000000dd-0": UNKNOWN_REPORTER,
        "00000000000000dd-1": UNKNOWN_REPORTER,
        "00000000000000dd-2": "lender-a",
    }
    assert not FEEDBACK_TOKEN_NAME_SYNTAX.fullmatch(UNKNOWN_REPORTER)
    assert not UNKNOWN_REPORTER.isdigit()  # no place either
    downgrade(engine, "0005")
    assert "reported_by" not in {column["name"] for column in inspect(engine).get_columns("sales")}
    assert count_rows(engine, sales) == 3
    migrate(engine)
    assert set(reporters().values()) == {UNKNOWN_REPORTER}  # a downgrade forgets who


def test_a_store_behind_its_migrations_stops_the_service(store_url: str) -> None:
    if store_url.startswith("sqlite"):  # an existing file, never migrated
        Path(store_url.removeprefix("sqlite:///")).touch()
    with pytest.raises(StoreError, match=r"revision none, the service needs .*make migrate"):
        Store(store_url).check()
    engine = make_engine(store_url)
    migrate(engine)
    engine.dispose()
    Store(store_url).check()


def test_a_store_a_later_release_migrated_stops_the_service_naming_the_way_back(
    store_url: str,
) -> None:
    """Not "run make migrate" (this code cannot: it has no script for the revision) but the
    later release's downgrade to this code's revision."""
    engine = make_engine(store_url)
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        with pytest.raises(StoreError, match=r"revision 9999, a later release's") as refused:
            Store(store_url).check()
    finally:  # the fixture's downgrade needs a revision it knows
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )
        engine.dispose()
    assert f"--downgrade {head_revision()}`" in str(refused.value)
    assert "run `make migrate`" not in str(refused.value)


def test_a_sqlite_file_deleted_under_the_service_fails_its_writes(tmp_path: Path) -> None:
    """The workers' pooled connections wrote on into the deleted file (answered as recorded,
    lost at the next start). Now a connection whose file is gone is dropped as it is taken,
    and a new one fails, as in an outage, without making an empty file in its place; a
    '#' in the path is no URI syntax."""
    path = tmp_path / "state #1" / "predictions.db"
    store = Store(f"sqlite:///{path}")
    store.check()
    with store.engine.begin() as connection:  # pooled, open on the file
        connection.execute(text("SELECT count(*) FROM predictions"))
    path.unlink()
    with pytest.raises(OperationalError, match="unable to open"), store.engine.begin() as again:
        again.execute(text("SELECT count(*) FROM predictions"))
    assert not path.exists()
    store.close()


def test_the_embedded_store_is_made_on_a_first_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state/predictions.db"
    Store(url).check()
    engine = make_engine(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_an_unreachable_store_stops_the_service_without_its_password() -> None:
    url = "postgresql+psycopg://user:secret-password@127.0.0.1:1/none"
    with pytest.raises(StoreError, match="cannot be reached") as refused:
        Store(url).check()
    assert "secret-password" not in str(refused.value)


def test_every_priced_house_is_written_in_batches(migrated: Engine) -> None:
    recorder = Recorder(lambda: make_engine(str(migrated.url.render_as_string(False))),
                        buffer_houses=100, batch_houses=4, health=StoreHealth())  # fmt: skip
    before = _counter("ml_api_recorded_houses_total")
    recorder.start()
    for token in ("0000000000000001", "0000000000000002", "0000000000000003"):
        recorder.record(priced_request(5, token))
    assert recorder.flush(10)
    recorder.stop()
    assert count_rows(migrated) == 15
    assert _counter("ml_api_recorded_houses_total") - before == 15
    with migrated.connect() as connection:
        row = connection.execute(
            select(predictions).where(predictions.c.id == "0000000000000002-3")
        ).one()
    assert row.house == {"GrLivArea": 1003, "Neighborhood": "NAmes"}
    assert row.price == 100_003.0 and row.calibrated and row.warned_fields == []


def test_houses_priced_during_a_write_linger_for_the_next_batch(
    migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One-house requests coming all the time while each write takes 50 ms share a write
    every ``LINGER_SECONDS``: the writer does not write again at once the few that came during
    a write (which made a transaction every five requests under load, and a writer that never
    paused)."""
    batches: list[int] = []

    def slow_write(connection: Connection, rows: list[tuple[Any, ...]], *args: Any) -> None:
        time.sleep(0.05)
        batches.append(len(rows))
        write_rows(connection, rows, *args)

    monkeypatch.setattr(recorder_module, "write_rows", slow_write)
    recorder = Recorder(lambda: make_engine(migrated.url.render_as_string(hide_password=False)),
                        buffer_houses=10_000, batch_houses=1000, health=StoreHealth())  # fmt: skip
    recorder.start()
    started = time.monotonic()
    for index in range(200):
        recorder.record(priced_request(1, f"{index:016x}"))
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    assert recorder.flush(10)
    recorder.stop()
    assert sum(batches) == count_rows(migrated) == 200
    # Back to back, writes of 50 ms would have been about elapsed / 0.05 (20 or more).
    assert len(batches) <= elapsed / recorder_module.LINGER_SECONDS + 2, batches


def test_a_database_outage_fails_no_prediction_and_loses_none_silently(migrated: Engine) -> None:
    """The buffer holds what fits; the rest is counted unrecorded; writing resumes by itself
    when the database is back; recorded + unrecorded = priced."""
    outage = Outage(migrated.url.render_as_string(hide_password=False))
    recorder = Recorder(outage, buffer_houses=10, batch_houses=100, health=StoreHealth())
    recorded, unrecorded = (
        _counter("ml_api_recorded_houses_total"),
        _counter("ml_api_unrecorded_houses_total"),
    )
    recorder.start()
    for token in ("0000000000000011", "0000000000000012", "0000000000000013"):
        recorder.record(priced_request(5, token))  # never raises, never waits
    assert not recorder.flush(0.5)  # down: nothing written
    assert count_rows(migrated) == 0
    outage.end()
    assert recorder.flush(15)
    recorder.stop()
    written = _counter("ml_api_recorded_houses_total") - recorded
    lost = _counter("ml_api_unrecorded_houses_total") - unrecorded
    assert (written, lost) == (10, 5)
    assert count_rows(migrated) == 10


def test_rows_the_database_refuses_are_left_out_and_the_queue_goes_on(
    migrated: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch the database refuses for its rows was tried again for ever, and every house
    after it waited behind it until the buffer filled. Now the refused houses alone are left
    out and counted unrecorded: a price of 0 (no log), a request id longer than its column
    (PostgreSQL refuses it; SQLite keeps it), and a house already stored (a write whose commit's
    answer was lost, tried again: skipped, and counted recorded, as it is)."""
    url = migrated.url.render_as_string(hide_password=False)
    recorder = Recorder(
        lambda: make_engine(url), buffer_houses=100, batch_houses=100, health=StoreHealth()
    )
    first = priced_request(3, "00000000000000a1")
    recorder.record(first)
    recorder.start()
    assert recorder.flush(10)
    recorded, unrecorded = (
        _counter("ml_api_recorded_houses_total"),
        _counter("ml_api_unrecorded_houses_total"),
    )
    again = dataclasses.replace(priced_request(2, "00000000000000a2"), ids=[first.ids[1], "a2-new"])
    unpriceable = priced_request(3, "00000000000000a3")
    unpriceable = dataclasses.replace(unpriceable, prices=[1.0, 0.0, 2.0])
    long_id = dataclasses.replace(priced_request(2, "00000000000000a4"), request_id="r" * 200)
    after = priced_request(2, "00000000000000a5")
    with caplog.at_level(logging.ERROR, logger="api.store.refusals"):
        for priced in (again, unpriceable, long_id, after):
            recorder.record(priced)
        assert recorder.flush(10)
    recorder.stop()
    refused_long = migrated.dialect.name == "postgresql"
    left_out = 1 + 2 * refused_long
    assert _counter("ml_api_unrecorded_houses_total") - unrecorded == left_out
    assert _counter("ml_api_recorded_houses_total") - recorded == 9 - left_out
    assert count_rows(migrated) == 3 + 1 + 2 + (0 if refused_long else 2) + 2
    with migrated.connect() as connection:
        stored = set(connection.scalars(select(predictions.c.id)))
    assert set(after.ids) <= stored and unpriceable.ids[1] not in stored
    messages = [record.getMessage() for record in caplog.records]
    assert any("refused 1 of the houses of request test (ValueError)" in m for m in messages)
    if refused_long:  # each request logged with its own refusal, not the batch's first
        assert any(f"request {'r' * 200} (DataError)" in m for m in messages), messages
    assert all("100001" not in m and "0.0" not in m for m in messages)  # no value of a house


class _HandedOver:
    """A shadow that keeps the requests the recorder hands it."""

    def __init__(self) -> None:
        self.requests: list[PricedRequest] = []

    def start(self) -> None: ...

    def stop(self, timeout: float = 0.0) -> None: ...

    def flush(self, timeout: float = 0.0) -> bool:
        return True

    def hand_over(self, requests: Sequence[PricedRequest]) -> None:
        self.requests.extend(requests)


def test_a_request_not_written_whole_is_never_handed_to_the_shadow(migrated: Engine) -> None:
    """A review's: a request split across batches, a house of it refused in the first, was
    handed to the shadow by the second, which wrote the rest whole; the challenger's price of
    the house never recorded then named no house."""
    url = migrated.url.render_as_string(hide_password=False)
    shadow = _HandedOver()
    recorder = Recorder(lambda: make_engine(url), buffer_houses=100, batch_houses=2,
                        health=StoreHealth(), shadow=shadow)  # type: ignore[arg-type]  # fmt: skip
    split = dataclasses.replace(priced_request(4, "00000000000000b1"), prices=[0.0, 1.0, 1.0, 1.0])
    whole = priced_request(2, "00000000000000b2")
    recorder.record(split)
    recorder.record(whole)
    recorder.start()
    assert recorder.flush(10)
    recorder.stop()
    assert count_rows(migrated) == 3 + 2
    assert [id(priced) for priced in shadow.requests] == [id(whole)]


def test_a_stop_writes_what_is_queued(migrated: Engine) -> None:
    recorder = Recorder(lambda: make_engine(migrated.url.render_as_string(hide_password=False)),
                        buffer_houses=1000, batch_houses=7, health=StoreHealth())  # fmt: skip
    for token in ("0000000000000021", "0000000000000022"):
        recorder.record(priced_request(20, token))  # before the writer runs
    recorder.start()
    recorder.stop()
    assert count_rows(migrated) == 40


@pytest.fixture
def sold_store(migrated: Engine) -> Iterator[Callable[[list[dict[str, object]]], int]]:
    with migrated.begin() as connection:
        write_rows(connection, priced_request(3, "00000000000000bb").rows(0, 3))
    yield lambda rows: write_sales(migrated, rows, reported_by=REPORTER)


def _sale(index: int, **changes: object) -> dict[str, object]:
    return {"prediction_id": f"00000000000000bb-{index}", "sale_price": 101_000.0,
            "sold_on": "2010-06-30", **changes}  # fmt: skip


def test_sales_are_written_whole(
    sold_store: Callable[[list[dict[str, object]]], int], migrated: Engine
) -> None:
    assert sold_store([_sale(0), _sale(1)]) == 2
    assert count_rows(migrated, sales) == 2


@pytest.mark.parametrize(
    ("rows", "errors"),
    [
        ([_sale(0), _sale(9)], [(1, "prediction_id", NO_PRICED_HOUSE)]),
        ([_sale(0), _sale(0)], [(1, "prediction_id", "is in row 0 too")]),
        ([_sale(0, sold_on="2026-02-30")], [(0, "sold_on", '"2026-02-30" is not a date')]),
        ([_sale(0, sold_on="9999-12-31")], [(0, "sold_on", '"9999-12-31" is in the future')]),
        (  # every fault of every row, the ids' beside the dates' and repeats'
            [_sale(9), _sale(1, sold_on="9999-12-31"), _sale(9)],
            [
                (0, "prediction_id", NO_PRICED_HOUSE),
                (1, "sold_on", '"9999-12-31" is in the future'),
                (2, "prediction_id", "is in row 0 too"),
                (2, "prediction_id", NO_PRICED_HOUSE),
            ],
        ),
    ],
    ids=["unknown id", "duplicate", "not a day", "in the future", "every fault"],
)
def test_a_bad_row_refuses_the_whole_batch_naming_it(
    sold_store: Callable[[list[dict[str, object]]], int],
    migrated: Engine,
    rows: list[dict[str, object]],
    errors: list[tuple[int, str, str]],
) -> None:
    with pytest.raises(SalesRefusedError) as refused:
        sold_store(rows)
    assert refused.value.status == 422
    assert [(e.row, e.field, e.message) for e in refused.value.errors] == errors
    assert count_rows(migrated, sales) == 0


def test_a_sale_before_its_house_was_built_is_refused(migrated: Engine) -> None:
    """The house's ``YearBuilt`` is read out of its stored document, on each dialect: a whole
    number, or one written with a fraction of zero as a client may send it. A document without
    a year (no priced house's) is not judged by it, whatever it holds instead."""
    request = dataclasses.replace(
        priced_request(5, "00000000000000cc"),
        houses=[{"YearBuilt": 2009}, {"YearBuilt": 2009.0}, {}, {"YearBuilt": None},
                {"YearBuilt": "x"}],
    )  # fmt: skip
    with migrated.begin() as connection:
        write_rows(connection, request.rows(0, 5))
    early = [
        {"prediction_id": f"00000000000000cc-{i}", "sale_price": 1e5, "sold_on": "1800-01-01"}
        for i in range(5)
    ]
    with pytest.raises(SalesRefusedError) as refused:
        write_sales(migrated, early, reported_by=REPORTER)
    message = "is more than a year before the house was built (YearBuilt 2009)"
    assert [(e.row, e.field, e.message) for e in refused.value.errors] == [
        (row, "sold_on", message) for row in range(2)
    ]
    presold = [{**sale, "sold_on": "2008-03-01"} for sale in early[:2]]  # the year before
    assert write_sales(migrated, presold + early[2:], reported_by=REPORTER) == 5


def test_a_house_sells_once(sold_store: Callable[[list[dict[str, object]]], int]) -> None:
    """A sale posted again as stored (a retry of a batch whose answer was lost) is told apart
    from another sale of the house: both were "has a sale price already" (a probe's)."""
    sold_store([_sale(1), _sale(2)])
    with pytest.raises(SalesRefusedError) as refused:
        sold_store([_sale(0), _sale(1), _sale(2, sale_price=99_000)])
    assert [(e.row, e.message) for e in refused.value.errors] == [
        (1, SOLD_AS_POSTED),
        (2, SOLD_OTHERWISE),
    ]
    with pytest.raises(SalesRefusedError) as again:
        sold_store([_sale(1, sale_price=101_000), _sale(2, sold_on="2010-07-01")])
    assert [(e.row, e.message) for e in again.value.errors] == [
        (0, SOLD_AS_POSTED),  # 101000 as an int is the price stored as a float
        (1, SOLD_OTHERWISE),
    ]
    with pytest.raises(SalesRefusedError) as undated:
        sold_store([_sale(1, sold_on="2010-06-31")])
    assert [(e.field, e.message) for e in undated.value.errors] == [
        ("prediction_id", SOLD_OTHERWISE),
        ("sold_on", '"2010-06-31" is not a date'),
    ]


def test_a_batch_that_lost_a_race_names_the_rows_sold_meanwhile(
    sold_store: Callable[[list[dict[str, object]]], int], migrated: Engine
) -> None:
    sold_store([_sale(2)])  # as if by another batch, between this one's checks and its insert
    lost = [_sale(1), _sale(2), _sale(2, sale_price=5e5)]
    assert [(e.row, e.message) for e in sold_meanwhile(migrated, lost)] == [
        (1, SOLD_AS_POSTED),
        (2, SOLD_OTHERWISE),
    ]
    assert sold_meanwhile(migrated, [_sale(0)]) == []


@pytest.mark.parametrize("count", [1, 255, 300, 1459])
def test_sqlite_writes_every_row_in_a_few_statements(tmp_path: Path, count: int) -> None:
    """``write_rows`` inserts many rows a statement on SQLite (the driver gives the
    interpreter's lock back once a statement, not once a row): every row stored, once, in
    order of the ``insert_sizes`` statements."""
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    migrate(engine)
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2]), named=False
    )
    request = priced_request(count)
    with engine.begin() as connection:
        write_rows(connection, request.rows(0, count))
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT id, price FROM predictions").all()
    engine.dispose()
    assert sorted(stored) == sorted(zip(request.ids, request.prices, strict=True))
    inserts = [text for text in statements if text.startswith("INSERT")]
    assert len(inserts) == len(insert_sizes(count)) <= 10
    assert sum(text.count("(?") for text in inserts) == count


def test_insert_sizes_cover_the_rows_in_few_sizes() -> None:
    for rows in range(0, 3 * ROWS_PER_INSERT):
        sizes = insert_sizes(rows)
        assert sum(sizes) == rows
        full = rows // ROWS_PER_INSERT
        assert sizes[:full] == [ROWS_PER_INSERT] * full
        rest = sizes[full:]  # distinct powers of two, largest first: at most 8 statements
        assert rest == sorted(set(rest), reverse=True)
        assert all(size < ROWS_PER_INSERT and size & (size - 1) == 0 for size in rest)


def test_sqlite_rows_are_stored_as_sqlalchemy_insert_stores_them(tmp_path: Path) -> None:
    """``write_rows`` hands SQLite's driver processed tuples itself (for speed): the bytes stored
    must be those of SQLAlchemy's own insert (dates, booleans, documents), as read raw."""
    request = priced_request(3)
    request = PricedRequest(
        **{**vars(request), "warnings": [[], [SimpleNamespace(field="LotArea")], []]}
    )
    # A second request in the same write, priced at another time, its ranges not all
    # calibrated: values repeated from row to row, then changing (write_rows processes a
    # repeated value once).
    later = priced_request(3, "00000000000000bb")
    later = PricedRequest(
        **{
            **vars(later),
            "priced_at": request.priced_at + timedelta(seconds=1.5),
            "intervals": [
                SimpleNamespace(lower=1.0, upper=2.0, calibrated=calibrated, partial=False)
                for calibrated in (True, False, False)
            ],
        }
    )
    rows = request.rows(0, 3) + later.rows(0, 3)
    stored = {}
    for name in ("fast", "sqlalchemy"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        migrate(engine)
        with engine.begin() as connection:
            if name == "fast":
                write_rows(connection, rows)
            else:
                columns = [column.name for column in predictions.columns]
                documents = {"house", "warned_fields"}
                connection.execute(
                    insert(predictions).values(
                        {
                            c: bindparam(c, type_=String() if c in documents else None)
                            for c in columns
                        }
                    ),
                    [dict(zip(columns, row, strict=True)) for row in rows],
                )
        with engine.connect() as connection:
            stored[name] = connection.exec_driver_sql("SELECT * FROM predictions ORDER BY id").all()
        engine.dispose()
    assert stored["fast"] == stored["sqlalchemy"]
    assert len(stored["fast"]) == 6
    assert len({row.created_at for row in stored["fast"]}) == 2
    assert [row.calibrated for row in stored["fast"]] == [1, 1, 1, 1, 0, 0]


class _RecordingTally:
    """A drift tally that keeps the batches it is given, and judges nothing."""

    fields = ("GrLivArea", "1stFlrSF", "Neighborhood", "Alley")

    def __init__(self) -> None:
        self.houses = 0
        self.batches: list[list[dict[str, Any]]] = []

    def add(self, houses: Sequence[dict[str, Any]]) -> None:
        self.batches.append(list(houses))
        self.houses += len(houses)

    def drift(self) -> dict[str, Any]:
        return {}


#: ``measure`` of the houses ``priced_request`` prices.
measured = functools.partial(measure, model_version=MODEL_VERSION)


def _thresholds(*, min_drift_houses: int) -> Thresholds:
    """Every check judged from one sale; drift and the warned share from ``min_drift_houses``."""
    return Thresholds(min_sales=1, error_ratio_watch=1.5, error_ratio_alert=2.0,
                      coverage_watch=0.85, coverage_alert=0.8, warned_ratio_watch=1.5,
                      warned_ratio_alert=2.0, min_drift_houses=min_drift_houses)  # fmt: skip


def test_drift_reads_back_the_window_fields_as_sent(
    migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monitoring's drift reads the stored houses each as the client sent it (numbers, codes,
    a name that starts with a digit, a null), a field a house left out still left out (not a
    null), and only the window's newest houses, ``DRIFT_BATCH`` at a time (the window's
    houses are never all held at once)."""
    older = priced_request(2, "00000000000000a1")
    newer = priced_request(3, "00000000000000b2")
    houses = [
        {"GrLivArea": 1500, "1stFlrSF": 812.5, "Neighborhood": "NAmes"},
        {"GrLivArea": 0, "Neighborhood": "Edwards"},
        {"GrLivArea": 2710, "1stFlrSF": 0, "Neighborhood": "StoneBr", "Alley": None},
    ]
    newer = PricedRequest(
        **{**vars(newer), "houses": houses, "priced_at": older.priced_at + timedelta(seconds=1)}
    )
    with migrated.begin() as connection:
        write_rows(connection, older.rows(0, 2) + newer.rows(0, 3))
    tallies: list[_RecordingTally] = []

    def new_tally() -> _RecordingTally:
        tallies.append(_RecordingTally())
        return tallies[-1]

    monkeypatch.setattr(monitoring, "DRIFT_BATCH", 2)
    thresholds = _thresholds(min_drift_houses=1)
    figures = measured(migrated, Window(predictions=3, sales=10), training={},
                      thresholds=thresholds, new_tally=new_tally)  # fmt: skip
    assert figures["priced_houses"] == 3
    [tally] = tallies
    assert [len(batch) for batch in tally.batches] == [2, 1]
    read = [house for batch in tally.batches for house in batch]
    assert sorted(read, key=lambda house: house["GrLivArea"]) == [
        {"GrLivArea": 0, "Neighborhood": "Edwards"},
        {"GrLivArea": 1500, "1stFlrSF": 812.5, "Neighborhood": "NAmes"},
        {"GrLivArea": 2710, "1stFlrSF": 0, "Neighborhood": "StoneBr", "Alley": None},
    ]
    assert figures["drift"] == {}


@pytest.mark.parametrize(("houses", "verdict"), [(4, "not_enough_data"), (5, "ok")])
def test_the_warned_share_is_judged_only_over_enough_houses(
    migrated: Engine, houses: int, verdict: str
) -> None:
    """A share of a handful of houses says little (2 warned of 10 read as an alert): judged
    from as many priced houses as drift is."""
    with migrated.begin() as connection:
        write_rows(connection, priced_request(houses).rows(0, houses))
    thresholds = _thresholds(min_drift_houses=5)
    figures = measured(migrated, Window(predictions=100, sales=10),
                      training={"warned_share": 0.01}, thresholds=thresholds)  # fmt: skip
    assert figures["checks"]["warned_share"] == {"live": 0.0, "training": 0.01, "verdict": verdict}


def test_the_warned_share_counts_warned_houses_not_uncalibrated_ones(migrated: Engine) -> None:
    """A house that leaves details out has a range not marked calibrated, and no warning: the
    warned share (set beside training's) counts the houses with a warning, on both stores."""
    warned = [SimpleNamespace(field="GrLivArea", message="above the largest")]
    request = priced_request(4)
    request = PricedRequest(
        **{
            **vars(request),
            "intervals": [
                SimpleNamespace(
                    lower=90_000.0, upper=110_000.0, calibrated=calibrated, partial=False
                )
                for calibrated in (True, False, False, False)
            ],
            "warnings": [[], [], warned, warned * 2],
        }
    )
    with migrated.begin() as connection:
        write_rows(connection, request.rows(0, 4))
    thresholds = _thresholds(min_drift_houses=1)
    figures = measured(migrated, Window(predictions=100, sales=10),
                      training={"warned_share": 0.01}, thresholds=thresholds)  # fmt: skip
    assert figures["checks"]["warned_share"]["live"] == pytest.approx(0.5)


def test_coverage_is_measured_on_houses_whose_range_was_calibrated(migrated: Engine) -> None:
    """As training measures them: a range not marked calibrated (a house that leaves details
    out) makes no promise, and its sale is not counted in the coverage, by tenth too, nor in
    the accuracy (such a house is priced less closely by design); it is counted in sales."""
    request = priced_request(4, "00000000000000cc")  # every range 90,000 to 110,000
    request = PricedRequest(
        **{
            **vars(request),
            "intervals": [
                SimpleNamespace(
                    lower=90_000.0, upper=110_000.0, calibrated=calibrated, partial=False
                )
                for calibrated in (True, True, True, False)
            ],
        }
    )
    with migrated.begin() as connection:
        write_rows(connection, request.rows(0, 4))
    sold = [100_000.0, 100_000.0, 200_000.0, 300_000.0]  # the last two outside
    write_sales(migrated, [
        {"prediction_id": f"00000000000000cc-{i}", "sale_price": price, "sold_on": "2010-06-30"}
        for i, price in enumerate(sold)
    ], reported_by=REPORTER)  # fmt: skip
    figures = measured(migrated, Window(predictions=100, sales=10), training={},
                      thresholds=_thresholds(min_drift_houses=1))  # fmt: skip
    assert figures["checks"]["coverage"]["live"] == pytest.approx(2 / 3)
    # Houses priced 100,000 + i sold for 100,000, 100,000 and 200,000: the fourth's sale,
    # of a range not marked calibrated, not counted.
    logs = [math.log((100_000 + i) / sold[i]) for i in range(3)]
    expected = math.sqrt(sum(error**2 for error in logs) / 3)
    assert figures["checks"]["rmsle"]["live"] == pytest.approx(expected, rel=1e-6)
    assert figures["coverage_by_tenth_of_price"] == []  # 3 sales make no tenths
    assert (figures["sales"], figures["calibrated_sales"]) == (4, 3)
    # Judged from as many sales of calibrated houses as there must be sales.
    training = {"rmsle": 0.1, "coverage": 0.9}
    for min_sales, judged in ((3, True), (4, False)):
        enough = dataclasses.replace(_thresholds(min_drift_houses=1), min_sales=min_sales)
        judgement = measured(migrated, Window(predictions=100, sales=10), training=training,
                             thresholds=enough)  # fmt: skip
        checks = judgement["checks"]
        for name in ("rmsle", "coverage"):
            assert (checks[name]["verdict"] != "not_enough_data") == judged, (name, min_sales)
        for name in ("rmsle", "median_ape", "coverage"):
            # A probe's: a figure of few sales tells each sale's price (one sale's error and
            # its house's price give it): none below the sales a verdict needs.
            assert (checks[name]["live"] is not None) == judged, (name, min_sales)


def test_drift_of_a_window_counted_in_batches_is_the_drift_of_all_its_houses(
    migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's own tally, fed the window 7 houses at a time, judges it as ``input_drift``
    judges all its houses at once, measure after measure; in an empty store every field is
    there, with nothing measured (its gauges say so, not the last window's figures)."""
    model = load_model()
    thresholds = _thresholds(min_drift_houses=20)
    new_tally = functools.partial(drift_tally, model)
    window = Window(predictions=30, sales=10)
    empty = measured(migrated, window, training={}, thresholds=thresholds, new_tally=new_tally)
    nothing = {"psi": None, "houses": 0, "unknown": 0, "verdict": "not_enough_data"}
    assert empty["priced_houses"] == 0
    assert empty["drift"] == dict.fromkeys(drift_tally(model).fields, nothing)
    houses = read_dataset("test.csv")[:40]
    priced = PricedRequest(**{**vars(priced_request(40)), "houses": houses})
    with migrated.begin() as connection:
        write_rows(connection, priced.rows(0, 40))
    monkeypatch.setattr(monitoring, "DRIFT_BATCH", 7)
    figures = [
        measured(migrated, window, training={}, thresholds=thresholds, new_tally=new_tally)
        for _ in range(2)
    ]
    # The window: the 30 newest of one request's houses, all priced at once (any 30 of them).
    with migrated.connect() as connection:
        stored = [
            orjson.loads(text)
            for text in connection.execute(
                select(cast(monitoring._recent_predictions(window, MODEL_VERSION).c.house, Text))
            ).scalars()
        ]
    expected = {
        name: {"psi": found.psi, "houses": 30, "unknown": 0, "verdict": found.status}
        for name, found in input_drift(model, stored).items()
    }
    assert len(stored) == 30 and expected
    assert figures[0]["drift"] == figures[1]["drift"] == expected


def test_the_writer_releases_freed_heap_once_it_wrote_enough(
    migrated: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request's houses are freed when written, after its answer's own release: the writer
    releases after a batch whose documents reach the threshold, not after smaller ones."""
    released: list[None] = []
    monkeypatch.setattr(recorder_module, "release_freed_memory", lambda: released.append(None))
    house_bytes = len(priced_request(1).rows(0, 1)[0][recorder_module.HOUSE_COLUMN])
    monkeypatch.setattr(recorder_module, "RELEASE_AFTER_BYTES", 10 * house_bytes)
    recorder = Recorder(lambda: make_engine(migrated.url.render_as_string(hide_password=False)),
                        buffer_houses=100, batch_houses=20, health=StoreHealth())  # fmt: skip
    recorder.start()
    for token in ("00000000000000c1", "00000000000000c2", "00000000000000c3"):
        recorder.record(priced_request(9, token))  # a batch of 9 houses each
        assert recorder.flush(10)
    time.sleep(recorder_module.LINGER_SECONDS * 2)
    assert released == []  # each batch's documents under the threshold, 27 houses' over
    recorder.record(priced_request(12, "00000000000000c4"))
    assert recorder.flush(10)
    recorder.stop()
    assert len(released) == 1
