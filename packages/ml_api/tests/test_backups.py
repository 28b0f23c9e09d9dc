"""The prediction store's backups: docker/postgres/store.sh (the database image's
``house-price-store``), its backup and its restore run here against a real PostgreSQL.

A backup is a pg_dump file that restores into an empty database as the store was (every table's
rows and the migrations' revision); a failed dump leaves no file that looks like a backup and
prunes nothing, and writes nothing to standard output; a restore is whole or nothing, and
refused while another client is connected to the store's database (unless forced). The
Kubernetes CronJob that runs the script (deploy/kubernetes/base/db-backup.yaml) is tied to it in
tests/test_kube_manifests.py, and ``make kube-test`` runs it on the database's image against
the played store.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, select, text

from api.store.database import (
    APPLICATION_NAME,
    current_revision,
    head_revision,
    make_engine,
    migrate,
)
from api.store.health import StoreHealth
from api.store.recorder import Recorder
from api.store.sales import write_sales
from api.store.tables import metadata
from tests.stores import REPORTER, priced_request
from tools import postgres
from tools.kube import ROOT

pytestmark = pytest.mark.external

SCRIPT = ROOT / "docker" / "postgres" / "store.sh"
DUMP_NAME = r"house_price-\d{8}T\d{6}Z\.dump"
HOUSES = 7


def _run(*args: str, env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["sh", str(SCRIPT), *args], env=env, capture_output=True, timeout=60, check=False, **kwargs
    )


def _libpq_env(server: postgres.Postgres, database: str) -> dict[str, str]:
    """The scripts' variables as the database image gives them (POSTGRES_*), and the server's
    address and the programs of its version, as a CronJob's PGHOST does."""
    return {
        "PATH": f"{server.bin}:{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "POSTGRES_USER": "postgres",
        "POSTGRES_DB": database,
    }


def _database(server: postgres.Postgres, name: str) -> str:
    """A new, empty database on ``server``; its URL."""
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.url.rsplit("/", 1)[0] + f"/{name}"


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, in the order of their columns, and the migrations' revision."""
    with engine.connect() as connection:
        tables = {
            table.name: sorted(tuple(row) for row in connection.execute(select(table)))
            for table in metadata.sorted_tables
        }
    return {**tables, "revision": [(current_revision(engine),)]}


@pytest.fixture
def filled(postgres_server: postgres.Postgres) -> Iterator[Engine]:
    """A migrated store (its own database) holding priced houses and sales."""
    engine = make_engine(_database(postgres_server, "backed_up"))
    migrate(engine)
    recorder = Recorder(lambda: make_engine(engine.url.render_as_string(hide_password=False)),
                        buffer_houses=100, batch_houses=100, health=StoreHealth())  # fmt: skip
    recorder.start()
    request = priced_request(HOUSES, "00000000000000bb")
    recorder.record(request)
    assert recorder.flush(20)
    recorder.stop()
    sold_on = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    write_sales(engine, [{"prediction_id": request.ids[0], "sale_price": 123_456.0,
                          "sold_on": sold_on}], reported_by=REPORTER)  # fmt: skip
    yield engine
    engine.dispose()


def test_a_backup_restores_the_store_as_it_was(
    filled: Engine, postgres_server: postgres.Postgres, tmp_path: Path
) -> None:
    done = _run("backup", str(tmp_path), env=_libpq_env(postgres_server, "backed_up"))
    assert done.returncode == 0, done.stderr.decode()
    [dump] = tmp_path.iterdir()
    assert re.fullmatch(DUMP_NAME, dump.name) and done.stdout.decode().strip() == str(dump)
    restored = make_engine(_database(postgres_server, "restored"))
    done = _run("restore", str(dump), env=_libpq_env(postgres_server, "restored"))
    assert done.returncode == 0, done.stderr.decode()
    before, after = _contents(filled), _contents(restored)
    assert len(before["predictions"]) == HOUSES and len(before["sales"]) == 1
    assert after == before
    assert current_revision(restored) == head_revision()
    restored.dispose()


def test_a_restore_replaces_what_the_store_held(
    filled: Engine, postgres_server: postgres.Postgres
) -> None:
    """Over a store that moved on (more houses priced after the dump), through standard output
    and input as compose's ``exec -T`` pipes them: the store is the dump's again."""
    env = _libpq_env(postgres_server, "backed_up")
    dump = _run("backup", "-", env=env)
    assert dump.returncode == 0, dump.stderr.decode()
    before = _contents(filled)
    with filled.begin() as connection:
        connection.execute(text("DELETE FROM sales"))
        connection.execute(text("UPDATE predictions SET price = 1"))
    filled.dispose()  # the API stopped: no client connected
    done = _run("restore", "-", env=env, input=dump.stdout)
    assert done.returncode == 0, done.stderr.decode()
    assert _contents(filled) == before


def _client(server: postgres.Postgres, database: str) -> psycopg.Connection[Any]:
    """A client of ``database``, idle."""
    return psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname=database,
                           autocommit=True)  # fmt: skip


def _moved_on(filled: Engine, env: dict[str, str]) -> tuple[bytes, dict[str, Any]]:
    """A dump of ``filled``; then its houses repriced: what the store holds after the dump."""
    dump = _run("backup", "-", env=env)
    assert dump.returncode == 0, dump.stderr.decode()
    with filled.begin() as connection:
        connection.execute(text("UPDATE predictions SET price = 1"))
    moved = _contents(filled)
    filled.dispose()
    return dump.stdout, moved


def test_a_restore_is_refused_while_another_client_is_connected(
    filled: Engine, postgres_server: postgres.Postgres
) -> None:
    """A running API commits what the restore then drops, and holds locks it would wait on:
    refused, naming the client and what to do, and the store as it was."""
    env = _libpq_env(postgres_server, "backed_up")
    dump, moved = _moved_on(filled, env)
    # The API's own engine's connection, which names itself.
    with filled.connect(), _client(postgres_server, "postgres"):
        done = _run("restore", "-", env=env, input=dump)
    assert done.returncode != 0
    said = done.stderr.decode()
    # The client of another database on the server is not counted.
    assert "1 other session(s) connected to database backed_up" in said, said
    assert f"{APPLICATION_NAME} from 127.0.0.1" in said, said
    assert "Stop the API first" in said and "restore --force" in said, said
    assert _contents(filled) == moved


def test_a_refused_restore_of_a_large_dump_does_not_blame_the_dump(
    filled: Engine, postgres_server: postgres.Postgres
) -> None:
    """A dump larger than a pipe holds: psql stops at the refusal, and pg_restore, writing on,
    fails on the broken pipe. The dump was whole: the script says nothing of it being cut."""
    with filled.begin() as connection:
        connection.execute(text("CREATE TABLE filler AS SELECT g, md5(g::text) AS h "
                                "FROM generate_series(1, 20000) AS g"))  # fmt: skip
    env = _libpq_env(postgres_server, "backed_up")
    dump, moved = _moved_on(filled, env)
    assert len(dump) > 1 << 18  # compressed: its SQL is many times a pipe's 64 KiB
    with filled.connect():
        done = _run("restore", "-", env=env, input=dump)
    assert done.returncode != 0
    said = done.stderr.decode()
    assert "1 other session(s) connected to database backed_up" in said, said
    assert "could not be read whole" not in said, said
    assert _contents(filled) == moved


def test_a_forced_restore_replaces_the_store_under_a_connected_client(
    filled: Engine, postgres_server: postgres.Postgres
) -> None:
    env = _libpq_env(postgres_server, "backed_up")
    before = _contents(filled)
    dump, moved = _moved_on(filled, env)
    assert moved != before
    with _client(postgres_server, "backed_up"):
        done = _run("restore", "--force", "-", env=env, input=dump)
    assert done.returncode == 0, done.stderr.decode()
    assert _contents(filled) == before


def test_a_forced_restore_waits_for_a_held_lock_only_so_long(
    filled: Engine, postgres_server: postgres.Postgres
) -> None:
    """A client's transaction left open on a table: the restore gives up after LOCK_WAIT
    (store.sh), restoring nothing, where it waited for ever (and the API's queries behind it)."""
    env = _libpq_env(postgres_server, "backed_up")
    dump, moved = _moved_on(filled, env)
    with _client(postgres_server, "backed_up") as client, client.transaction():
        client.execute("SELECT count(*) FROM sales")  # its lock held to the transaction's end
        done = _run("restore", "--force", "-", env=env, input=dump)
    assert done.returncode != 0
    said = done.stderr.decode()
    [wait] = re.findall(r"^LOCK_WAIT=(\S+)$", SCRIPT.read_text(encoding="utf-8"), re.MULTILINE)
    assert re.search(
        rf"the drop of public\.\w+ waited {wait} for a lock another session holds", said
    ), said
    assert "Stop the API first" in said, said
    assert _contents(filled) == moved


@pytest.mark.parametrize("cut", ["the last rows", "half", "the table of contents"])
def test_a_cut_off_dump_restores_nothing(
    filled: Engine, postgres_server: postgres.Postgres, cut: str
) -> None:
    env = _libpq_env(postgres_server, "backed_up")
    dump, moved = _moved_on(filled, env)
    # Its table of contents whole, its last table's rows cut: the tables are dropped and made
    # again before pg_restore finds out. Or cut in a table's rows, or in its table of contents.
    kept = {"the last rows": len(dump) - 64, "half": len(dump) // 2, "the table of contents": 100}
    done = _run("restore", "-", env=env, input=dump[: kept[cut]])
    assert done.returncode != 0 and b"pg_restore: error" in done.stderr  # not refused for a client
    # And what became of the store, whichever error psql stopped at (a COPY's half row, or
    # the end of a COPY where none was under way): never the script's own, which said it.
    assert b"the dump could not be read whole: nothing restored" in done.stderr, done.stderr
    assert _contents(filled) == moved  # one transaction: nothing dropped, nothing half-loaded


def test_only_the_newest_backups_are_kept(
    filled: Engine, postgres_server: postgres.Postgres, tmp_path: Path
) -> None:
    older = ["house_price-20250101T031700Z.dump", "house_price-20250102T031700Z.dump",
             "house_price-20250103T031700Z.dump"]  # fmt: skip
    for name in older:
        (tmp_path / name).write_bytes(b"an older backup")
    (tmp_path / "notes.txt").write_text("not a backup", encoding="utf-8")
    done = _run("backup", str(tmp_path), "2", env=_libpq_env(postgres_server, "backed_up"))
    assert done.returncode == 0, done.stderr.decode()
    new = Path(done.stdout.decode().strip()).name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([older[-1], new, "notes.txt"])


def test_a_killed_runs_partial_file_is_removed_a_day_later(
    filled: Engine, postgres_server: postgres.Postgres, tmp_path: Path
) -> None:
    """A Job stopped at its deadline is SIGKILLed, and its cleanup never runs: its partial file
    would stay on the volume for ever. A running dump's is never a day old."""
    stale = tmp_path / ".house_price-20250101T031700Z.dump.a1b2c3"
    running = tmp_path / ".house_price-20250102T031700Z.dump.d4e5f6"
    for partial in (stale, running):
        partial.write_bytes(b"half a dump")
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(stale, (day_ago, day_ago))
    done = _run("backup", str(tmp_path), env=_libpq_env(postgres_server, "backed_up"))
    assert done.returncode == 0, done.stderr.decode()
    new = Path(done.stdout.decode().strip()).name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, new])


def test_a_failed_dump_leaves_no_backup_and_prunes_nothing(
    postgres_server: postgres.Postgres, tmp_path: Path
) -> None:
    older = ["house_price-20250101T031700Z.dump", "house_price-20250102T031700Z.dump"]
    for name in older:
        (tmp_path / name).write_bytes(b"an older backup")
    env = {**_libpq_env(postgres_server, "backed_up"), "PGDATABASE": "no_such_database"}
    done = _run("backup", str(tmp_path), "1", env=env)
    assert done.returncode != 0
    assert b"no_such_database" in done.stderr  # pg_dump's own message reaches the job's log
    assert sorted(p.name for p in tmp_path.iterdir()) == older  # no partial file either


@pytest.mark.parametrize("keep", ["0", "00", "x", "-1"])
def test_a_wrong_count_to_keep_is_refused_before_any_dump(
    postgres_server: postgres.Postgres, tmp_path: Path, keep: str
) -> None:
    done = _run("backup", str(tmp_path), keep, env=_libpq_env(postgres_server, "backed_up"))
    assert done.returncode == 2 and b"KEEP" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("backup",),
        ("restore",),
        # More than the command takes: a --force after FILE was ignored, and the restore run.
        ("restore", "-", "--force"),
        ("restore", "--force", "-", "-"),
        ("backup", "-", "7"),
        ("backup", "/tmp", "7", "8"),
    ],
)
def test_a_wrong_command_is_refused_with_the_usage(
    postgres_server: postgres.Postgres, args: tuple[str, ...]
) -> None:
    done = _run(*args, env=_libpq_env(postgres_server, "backed_up"))
    assert done.returncode != 0 and b"usage: house-price-store backup DIR" in done.stderr


def _wrapped(tmp_path: Path, program: str, body: str, env: dict[str, str]) -> Path:
    """A folder holding ``program``: a shell script of ``body`` that may call the one ``env``'s
    PATH finds as ``"$real" "$@"``, for the backup's PATH to find first."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    real = subprocess.run(["sh", "-c", f"command -v {program}"], capture_output=True, text=True,
                          env=env, check=True).stdout.strip()  # fmt: skip
    wrapper = bin_dir / program
    wrapper.write_text(f'#!/bin/sh\nreal="{real}"\n{body}\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return bin_dir


def test_a_dump_cut_short_is_not_taken_for_a_backup(
    filled: Engine, postgres_server: postgres.Postgres, tmp_path: Path
) -> None:
    """pg_dump ends well but its file is cut short (storage that lost its tail): the read back
    reads the whole file, so no backup is named and the older one stays. (pg_restore --list
    reads only the table of contents at the file's start, and took it.)"""
    folder = tmp_path / "backups"
    folder.mkdir()
    older = "house_price-20250101T031700Z.dump"
    (folder / older).write_bytes(b"an older backup")
    env = _libpq_env(postgres_server, "backed_up")
    cut = '''"$real" "$@" || exit
for argument; do case "$argument" in --file=*) file="${argument#--file=}" ;; esac; done
size=$(wc -c <"$file")
head -c $((size - 64)) "$file" >"$file.cut" && mv "$file.cut" "$file"'''
    bin_dir = _wrapped(tmp_path, "pg_dump", cut, env)
    done = _run("backup", str(folder), "1", env={**env, "PATH": f"{bin_dir}:{env['PATH']}"})
    assert done.returncode != 0, done.stdout.decode()
    assert sorted(p.name for p in folder.iterdir()) == [older]


@pytest.mark.parametrize("fault", ["killed", "cut short"])
def test_a_failed_dump_to_standard_output_writes_nothing_there(
    filled: Engine, postgres_server: postgres.Postgres, tmp_path: Path, fault: str
) -> None:
    """``backup -`` (compose's ``exec -T``, ``kubectl exec``) reads its dump back whole, as
    ``backup DIR`` does, before a byte reaches standard output: pg_dump killed half-way, or
    ending well on a file cut short, leaves the reader of the pipe nothing and a non-zero exit,
    where it got the half it could take for a dump. Its file in TMPDIR is removed."""
    env = _libpq_env(postgres_server, "backed_up")
    half = """
for argument; do case "$argument" in --file=*) file="${argument#--file=}" ;; esac; done
if [ -z "${file:-}" ]; then "$real" "$@" | head -c 1000; else
    "$real" "$@" || exit
    size=$(wc -c <"$file")
    head -c $((size / 2)) "$file" >"$file.cut" && mv "$file.cut" "$file"
fi"""
    ending = {"killed": "kill -KILL $$", "cut short": "exit 0"}[fault]
    bin_dir = _wrapped(tmp_path, "pg_dump", f"{half}\n{ending}", env)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**env, "PATH": f"{bin_dir}:{env['PATH']}", "TMPDIR": str(temporary)}
    done = _run("backup", "-", env=env)
    assert done.returncode != 0
    assert done.stdout == b""
    assert list(temporary.iterdir()) == []


#: The signals that stop a backup, each as its sender means it (Ctrl-C, a stop, a hang-up).
STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _signals_as_a_terminals_job() -> None:
    """Each of ``STOPS`` at its default, as a terminal's foreground job has them, whatever the
    test run's own (nohup's ignores SIGHUP, a background job's SIGINT): a shell can neither
    trap nor reset a signal ignored when it started, which then did not stop the backup."""
    for stop in STOPS:
        signal.signal(stop, signal.SIG_DFL)


@pytest.mark.parametrize("target", ["-", "a folder"])
@pytest.mark.parametrize("stop", STOPS, ids=lambda stop: stop.name)
def test_a_backup_stopped_by_a_signal_leaves_no_partial_file(
    postgres_server: postgres.Postgres, tmp_path: Path, target: str, stop: signal.Signals
) -> None:
    """Ctrl-C (SIGINT to the foreground process group), a terminal hung up, or SIGTERM, while
    pg_dump writes: the half-written file is removed, in TMPDIR for ``backup -`` as in the
    folder, and nothing reaches standard output. sh runs its EXIT trap on ``exit``, not when
    a signal kills it: ``backup -`` left the file in the database container's /tmp for good
    (``backup DIR``'s for a day)."""
    env = _libpq_env(postgres_server, "backed_up")
    half = """
for argument; do case "$argument" in --file=*) file="${argument#--file=}" ;; esac; done
printf 'PGDMP half a dump' >"$file"
exec sleep 30"""
    bin_dir = _wrapped(tmp_path, "pg_dump", half, env)
    temporary, folder = tmp_path / "tmp", tmp_path / "backups"
    temporary.mkdir()
    folder.mkdir()
    env = {**env, "PATH": f"{bin_dir}:{env['PATH']}", "TMPDIR": str(temporary)}
    written = temporary if target == "-" else folder
    command = ["sh", str(SCRIPT), "backup", "-" if target == "-" else str(folder)]
    with subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_signals_as_a_terminals_job,
    ) as run:
        try:
            deadline = time.monotonic() + 20
            while not [p for p in written.iterdir() if p.stat().st_size] and run.poll() is None:
                assert time.monotonic() < deadline, "pg_dump never began its file"
                time.sleep(0.02)
            os.killpg(run.pid, stop)
            out, _ = run.communicate(timeout=20)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
    assert run.returncode != 0
    assert out == b""
    assert list(temporary.iterdir()) == list(folder.iterdir()) == []


def test_two_backups_in_the_same_second_both_succeed(
    filled: Engine, postgres_server: postgres.Postgres, tmp_path: Path
) -> None:
    """Two runs that start in one second (a Job made by hand beside the nightly one, two
    operators): each writes its own partial file, where both wrote the one their second
    names, and one moved it away under the other."""
    env = _libpq_env(postgres_server, "backed_up")
    bin_dir = _wrapped(tmp_path, "pg_dump", 'sleep 1\nexec "$real" "$@"', env)
    _wrapped(tmp_path, "date", "echo 20260101T031700Z", env)  # the same second, whenever they start
    env = {**env, "PATH": f"{bin_dir}:{env['PATH']}"}
    command = ["sh", str(SCRIPT), "backup", str(tmp_path / "backups"), "14"]
    (tmp_path / "backups").mkdir()
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]  # fmt: skip
    outcomes = [(run.wait(timeout=60), run.communicate()) for run in runs]
    assert [code for code, _ in outcomes] == [0, 0], [err for _, (_, err) in outcomes]
    [dump, *_] = sorted((tmp_path / "backups").iterdir())
    assert re.fullmatch(DUMP_NAME, dump.name)
    listed = subprocess.run(["pg_restore", "--file=/dev/null", str(dump)], env=env,
                            capture_output=True, check=False)  # fmt: skip
    assert listed.returncode == 0, listed.stderr.decode()


def test_an_older_releases_dump_restores_over_the_store_and_migrates(
    filled: Engine, postgres_server: postgres.Postgres
) -> None:
    """A dump made before a migration (here at 0001, before 0002's challenger_prices, whose
    foreign key holds predictions) put back over the store at the code's revision: the store is
    the dump's, tables it lacks gone, and the API's migration takes it to the code's revision
    (README's Backups says so). pg_restore --clean dropped only the dump's own tables: the
    newer table's key refused the drop, and the whole restore failed."""
    old = make_engine(_database(postgres_server, "older_release"))
    migrate(old, "0001")
    old.dispose()
    dump = _run("backup", "-", env=_libpq_env(postgres_server, "older_release"))
    assert dump.returncode == 0, dump.stderr.decode()
    filled.dispose()
    done = _run("restore", "-", env=_libpq_env(postgres_server, "backed_up"), input=dump.stdout)
    assert done.returncode == 0, done.stderr.decode()
    assert current_revision(filled) == "0001"
    with filled.connect() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).scalars()
        assert list(tables) == ["alembic_version", "predictions", "sales"]
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 0
    migrate(filled)
    assert current_revision(filled) == head_revision()
