"""score-houses in this process (no Dask) on small files: prices, rejects, counts and the
errors a person gets instead of a traceback."""

from __future__ import annotations

import gzip
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from house_samples import REQUIRED_HOUSE

from batch.houses import (
    RAGGED,
    BatchInput,
    Files,
    MakeInput,
    assert_priced_as,
    read_rejects,
    read_table,
)
from gradient_boosting_model.batch.cli import main
from gradient_boosting_model.batch.command import EXIT_STATUSES
from gradient_boosting_model.batch.errors import ChunkError, InputFileError
from gradient_boosting_model.batch.job import plan_job, run_job
from gradient_boosting_model.batch.results import ChunkResult
from gradient_boosting_model.batch.running import InProcess, score_chunk
from gradient_boosting_model.batch.settings import MAX_BATCH_ROWS, JobSettings
from gradient_boosting_model.batch.sources import Chunk
from gradient_boosting_model.config import DATASET_DIR

pytestmark = pytest.mark.integration

FILES: Files = {
    "a.csv": (1200, [(3, {"GrLivArea": -5}), (700, {"Neighborhood": "Atlantis"})]),
    "b.csv": (900, [(1, {"LotArea": "abc"}), (2, {RAGGED: True}), (900, {"OverallQual": 11})]),
    "c.parquet": (800, [(42, {"OverallQual": 0, "GrLivArea": -1})]),
}


@pytest.fixture(scope="module")
def batch_input(make_input: MakeInput, tmp_path_factory: pytest.TempPathFactory) -> BatchInput:
    return make_input(tmp_path_factory.mktemp("houses"), FILES)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main([*args, "--in-process"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_house_is_priced_or_rejected_once(
    batch_input: BatchInput, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "prices.parquet"
    status, out, err = run(capsys, str(batch_input.folder), str(output), "--chunk-rows", "250")
    assert status == 0, err
    table = read_table(output)
    for source in batch_input.rows:
        got = [line for line in table if line["source"] == source]
        assert_priced_as(got, batch_input.valid(source))
    assert [line["source"] for line in table] == sorted(line["source"] for line in table)

    assert read_rejects(tmp_path / "prices.rejects.csv") == batch_input.rejects
    scored, rejected = len(table), len(batch_input.rejects)
    assert f"scored {scored}, rejected {rejected}, total {batch_input.total} houses" in out
    assert scored + rejected == batch_input.total


def test_csv_output_holds_the_same_prices_with_warnings_as_json(
    batch_input: BatchInput, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, str(batch_input.folder), str(tmp_path / "p.parquet"))[0] == 0
    assert run(capsys, f"{batch_input.folder}/*.csv", str(tmp_path / "p.csv"))[0] == 0
    from_parquet = [line for line in read_table(tmp_path / "p.parquet") if ".csv" in line["source"]]
    from_csv = read_table(tmp_path / "p.csv")
    assert [line["price"] for line in from_csv] == [line["price"] for line in from_parquet]
    assert [json.loads(line["warnings"]) for line in from_csv] == [
        line["warnings"] for line in from_parquet
    ]


def test_too_many_rejects_fail_the_job_and_keep_only_the_rejects(
    batch_input: BatchInput, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "prices.parquet"
    status, out, err = run(capsys, str(batch_input.folder), str(output), "--max-rejected", "0.05%")
    assert status == 1
    assert "scored 2894, rejected 6, total 2900 houses" in out
    assert "0.21% of the houses were rejected, more than the 0.05% allowed" in err
    assert "Traceback" not in err
    assert not output.exists() and (tmp_path / "prices.rejects.csv").exists()
    assert not list(tmp_path.glob(".*partial"))
    assert "earlier run's" not in err
    output.write_bytes(b"an earlier run's prices")  # not this job's: said so, not passed off
    status, _, err = run(capsys, str(batch_input.folder), str(output), "--max-rejected", "0.05%")
    assert status == 1
    assert f"no prices written to {output} (the file there is an earlier run's" in err


def test_help_says_how_to_run_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert "--scheduler ADDRESS" in out and "90% range" in out and "(default: 1%)" in out
    # A probe's: the exit statuses were said in cli.py's docstring alone.
    for status, meaning in EXIT_STATUSES.items():
        assert f"  {status:<4} {meaning}\n" in out


@pytest.mark.parametrize(
    ("output", "rejects"), [("o.CSV", "r.Parquet"), ("o.PARQUET", "r.CSV"), ("o.Pq", "r.csv")]
)
def test_an_output_is_named_as_an_input_may_be(
    output: str, rejects: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: an input's suffix was read in any case, an output's not (``o.CSV`` was
    refused, "must end in .parquet or .csv"), and ``.pq`` was taken though neither that message
    nor --help named it."""
    status, out, err = run(
        capsys, str(DATASET_DIR / "test.csv"), str(tmp_path / output), "--rejects",
        str(tmp_path / rejects)
    )  # fmt: skip
    assert status == 0, err
    assert "scored 1459, rejected 0" in out
    assert len(read_table(tmp_path / output)) == 1459
    assert read_table(tmp_path / rejects) == []  # written, in its name's format
    with pytest.raises(SystemExit):
        main(["--help"])
    words = " ".join(capsys.readouterr().out.split())  # as the terminal's width wraps them
    assert "OUTPUT prices: a Parquet file (.parquet or .pq), or CSV (.csv), in any case" in words
    assert "INPUT a file (.csv, .parquet, .pq, in any case)" in words


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d, o: ["nowhere/houses.csv", o], "nowhere/houses.csv: no such file or folder"),
        (lambda d, o: [f"{d}/*.json", o], "no file matches"),
        (lambda d, o: [str(DATASET_DIR / "data_description.txt"), o], "not a CSV or Parquet"),
        (lambda d, o: [str(DATASET_DIR / "houseprice.csv"), o], "unknown column: 'SalePrice'"),
        (lambda d, o: [f"{d}/fake.parquet", o], "fake.parquet: not a Parquet file"),
        (lambda d, o: [f"{d}/tabs.csv", o], "tabs.csv: not house details"),
        (lambda d, o: [f"{d}/mac.csv", o], "mac.csv: its lines end in a carriage return alone"),
        # Compressed: named so, or in a CSV's name (a user's: "its header is not UTF-8 text").
        (
            lambda d, o: [f"{d}/h.csv.gz", o],
            "h.csv.gz: not a CSV or Parquet file (the name must end in .csv, .parquet, .pq): "
            "decompress it first",
        ),
        (lambda d, o: [f"{d}/gz.csv", o], "gz.csv: a gzip file, not a CSV: decompress it first"),
        (lambda d, o: [f"{d}/a.csv", f"{d}/out.json"], "must end in .csv, .parquet, .pq (in any"),
        (lambda d, o: [f"{d}/a.csv", "nowhere/out.csv"], "no folder nowhere"),
        (lambda d, o: [f"{d}/a.csv", f"{d}/a.csv"], "an input cannot be an output too"),
        (lambda d, o: [f"{d}/a.csv", f"{d}/sub.csv"], "sub.csv: a folder, not a place for"),
        (lambda d, o: [f"{d}/a.csv", "/proc/out.csv"], "cannot write the prices file:"),
    ],
)
def test_a_wrong_input_or_output_is_named_without_a_traceback(
    batch_input: BatchInput,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_args: object,
    message: str,
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(batch_input.folder, folder)
    (folder / "fake.parquet").write_text("Id,GrLivArea\n1,2\n")
    (folder / "tabs.csv").write_text((DATASET_DIR / "test.csv").read_text().replace(",", "\t"))
    # An old Mac's line ends (a CLI probe's: it got Python's hint of universal-newline mode).
    (folder / "mac.csv").write_bytes((DATASET_DIR / "test.csv").read_bytes().replace(b"\n", b"\r"))
    compressed = gzip.compress((DATASET_DIR / "test.csv").read_bytes())
    (folder / "h.csv.gz").write_bytes(compressed)
    (folder / "gz.csv").write_bytes(compressed)
    (folder / "sub.csv").mkdir()  # a folder named as an output file
    args = make_args(folder, str(tmp_path / "out.parquet"))  # type: ignore[operator]
    status, out, err = run(capsys, *args)
    assert status == 1
    assert err.startswith("score-houses: error: ") and message in err, err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("seconds", ["-1", "0", "nan", "inf", "soon"])
def test_a_connect_timeout_that_is_no_wait_is_refused(
    seconds: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: ``--connect-timeout -1`` was taken, and its error read "within -1 s (could
    not convert string to float: '1-1.0')"."""
    with pytest.raises(SystemExit) as refused:
        main([str(tmp_path / "h.csv"), str(tmp_path / "o.csv"), "--connect-timeout", seconds])
    assert refused.value.code == 2
    assert f"not a positive number of seconds: {seconds!r}" in capsys.readouterr().err


def test_a_reader_gone_from_its_output_fails_no_job_done(tmp_path: Path) -> None:
    """A probe's: ``score-houses ... | head -1`` printed a ``BrokenPipeError`` traceback and
    exited 1 after writing every price, a job done that looked failed under ``pipefail``."""
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()[:30]
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    command = (
        f"{shlex.quote(sys.executable)} -m gradient_boosting_model.batch.cli h.csv o.csv "
        "--in-process | head -c 0"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert len(read_table(tmp_path / "o.csv")) == 29


def test_an_unreachable_scheduler_is_named_within_the_connect_timeout(
    batch_input: BatchInput, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    start = time.perf_counter()
    status = main(
        [str(batch_input.folder), str(tmp_path / "o.parquet"), "--scheduler", address,
         "--connect-timeout", "1"]
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert status == 1
    assert f"score-houses: error: cannot reach a Dask scheduler at {address} within 1 s" in err
    assert "Traceback" not in err
    assert elapsed < 5


def test_a_parquet_file_pandas_wrote_with_its_index_is_priced_by_its_houses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a frame filtered or shuffled before ``to_parquet`` keeps its index in a
    column ``__index_level_0__``, which was refused as an unknown column, and the file with it."""
    import pandas as pd

    from gradient_boosting_model import make_prediction

    frame = pd.read_csv(DATASET_DIR / "test.csv").head(40).sample(frac=1, random_state=3)
    frame.to_parquet(tmp_path / "shuffled.parquet")
    status, _, err = run(capsys, str(tmp_path / "shuffled.parquet"), str(tmp_path / "p.parquet"))
    assert status == 0, err
    priced = read_table(tmp_path / "p.parquet")
    assert [line["price"] for line in priced] == make_prediction(frame).predictions


def test_a_folder_prices_csv_files_of_any_case_and_names_what_it_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a folder's ``.CSV`` file was left out without a word, as its ``.csv.gz`` and
    its subfolders, while a hidden ``._a.csv`` (macOS's copy of a file's attributes) was read
    and stopped the job as no house details."""
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()
    folder = tmp_path / "houses"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("\n".join(lines[:4]) + "\n")
    (folder / "B.CSV").write_text("\n".join([lines[0], *lines[4:6]]) + "\n")
    (folder / "._a.csv").write_bytes(b"\x00\x05\x16\x07 Mac OS X attributes")
    (folder / "c.csv.gz").write_bytes(b"\x1f\x8b")
    (folder / "sub" / "d.csv").write_text("\n".join(lines[:2]) + "\n")
    output = tmp_path / "p.csv"
    status, out, err = run(capsys, str(folder), str(output))
    assert status == 0, err
    assert "scored 5, rejected 0, total 5 houses" in out and "from 2 files" in out
    assert f"left out of {folder} (not .csv, .parquet, .pq, hidden, or folders): ._a.csv, " in err
    assert err.count("c.csv.gz") == err.count("sub/") == 1
    # In the files' order by name: B.CSV before a.csv.
    assert [line["Id"] for line in read_table(output)] == [1464, 1465, 1461, 1462, 1463]


def test_ids_repeated_within_a_file_are_priced_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a file giving one Id to two houses was priced without a word, and prices
    joined back by Id joined two to each. Both are priced, as the API prices them, and the
    command says so; two files may each number their houses from 1."""
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()
    repeated = [lines[0], lines[1], lines[2], lines[2], lines[3], lines[3], lines[3]]
    (tmp_path / "a.csv").write_text("\n".join(repeated) + "\n")
    (tmp_path / "b.csv").write_text("\n".join(lines[:3]) + "\n")  # a.csv's Ids, once each
    status, out, _ = run(capsys, str(tmp_path / "*.csv"), str(tmp_path / "p.csv"),
                         "--chunk-rows", "2")  # fmt: skip
    assert status == 0
    assert "scored 8, rejected 0, total 8 houses" in out
    expected = "2 Ids given to more than one house of a file, each priced (the first: Id 1462 in "
    assert expected + f"{tmp_path / 'a.csv'})" in out, out
    status, out, _ = run(capsys, str(tmp_path / "b.csv"), str(tmp_path / "q.csv"))
    assert status == 0 and "given to more than one house" not in out


@pytest.mark.parametrize("kind", ["string", "category"])
def test_a_parquet_file_of_text_reads_na_as_a_csv_does(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: test.csv read as text (``dtype=str, keep_default_na=False``) and saved as
    Parquet had every row refused, its ``NA`` (the Ames files' word for none) taken as a code
    of no field, where the CSV itself is priced whole; a review's: as pandas categories too
    (Parquet's dictionary columns)."""
    import pandas as pd

    from gradient_boosting_model import make_prediction

    as_text = pd.read_csv(DATASET_DIR / "test.csv", dtype=str, keep_default_na=False).head(30)
    assert (as_text == "NA").any().sum() >= 5  # fields saying NA
    as_text.astype(kind).to_parquet(tmp_path / "text.parquet")  # type: ignore[arg-type]
    status, out, err = run(capsys, str(tmp_path / "text.parquet"), str(tmp_path / "p.csv"))
    assert status == 0, err
    assert "scored 30, rejected 0" in out
    priced = read_table(tmp_path / "p.csv")
    expected = make_prediction(pd.read_csv(DATASET_DIR / "test.csv").head(30)).predictions
    assert [line["price"] for line in priced] == expected


@pytest.mark.parametrize("output", ["p.csv", "p.parquet"])
def test_partial_says_which_ranges_were_widened_for_details_left_out(
    output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A house of the seven required fields (a file of those columns) is ``partial``, its
    range widened for what it leaves out and still calibrated; test.csv's first house,
    complete, is not: the column beside ``calibrated``, in either output format."""
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()
    folder = tmp_path / "houses"
    folder.mkdir()
    (folder / "a.csv").write_text("\n".join(lines[:2]) + "\n")
    seven = ",".join(REQUIRED_HOUSE) + "\n" + ",".join(map(str, REQUIRED_HOUSE.values()))
    (folder / "b.csv").write_text(seven + "\n")
    status, _, err = run(capsys, str(folder), str(tmp_path / output))
    assert status == 0, err
    complete, left_out = read_table(tmp_path / output)
    assert list(complete)[-3:] == ["calibrated", "partial", "warnings"]
    assert complete["partial"] is False and complete["calibrated"] is True
    assert left_out["partial"] is True and left_out["calibrated"] is True


def test_a_range_of_ids_that_no_longer_fits_the_rows_is_no_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A review's: a file cut after pandas wrote it keeps the metadata of its range of Ids,
    which then names the wrong houses (pandas reads no range there either)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(DATASET_DIR / "test.csv").head(40).drop(columns="Id")
    ranged = frame.set_axis(pd.RangeIndex(5000, 5080, 2, name="Id"))
    pq.write_table(pa.Table.from_pandas(ranged).slice(10), tmp_path / "cut.parquet")
    status, _, err = run(capsys, str(tmp_path / "cut.parquet"), str(tmp_path / "p.csv"))
    assert status == 0, err
    assert {line["Id"] for line in read_table(tmp_path / "p.csv")} == {None}


@pytest.mark.parametrize("as_range", [False, True])
def test_a_parquet_file_indexed_by_id_keeps_its_ids(
    as_range: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a frame indexed by ``Id`` (``set_index("Id")``) was priced with every Id
    null, pandas having stored them as its index, and left out with it. A range of Ids pandas
    only describes is read as the rows' places in it."""
    import pandas as pd

    from gradient_boosting_model import make_prediction

    frame = pd.read_csv(DATASET_DIR / "test.csv").head(40)
    if as_range:
        indexed = frame.drop(columns="Id").set_axis(pd.RangeIndex(5000, 5080, 2, name="Id"))
    else:
        indexed = frame.sample(frac=1, random_state=3).set_index("Id")
    indexed.to_parquet(tmp_path / "indexed.parquet", row_group_size=16)
    output = tmp_path / "p.parquet"
    status, _, err = run(
        capsys, str(tmp_path / "indexed.parquet"), str(output), "--chunk-rows", "16"
    )
    assert status == 0, err
    priced = read_table(output)
    assert [line["Id"] for line in priced] == indexed.index.tolist()
    assert [line["price"] for line in priced] == make_prediction(indexed).predictions


@pytest.mark.parametrize("id_text", ["99999999999999999999", "9007199254740992", "1e300"])
def test_an_id_too_large_for_any_id_column_is_a_reject_not_a_traceback(
    id_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A whole number no Id may be (beyond ``LARGEST_ID``) was kept as the reject's Id, and the
    rejects' int64 column could not hold one beyond 2^63: an ``OverflowError`` traceback after
    the job was priced. The row is refused for its Id and listed without one."""
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()[:4]
    lines[2] = id_text + lines[2][lines[2].index(",") :]
    (tmp_path / "houses.csv").write_text("\n".join(lines) + "\n")
    output = tmp_path / "p.csv"
    status, out, err = run(
        capsys, str(tmp_path / "houses.csv"), str(output), "--max-rejected", "50%"
    )
    assert status == 0, err
    assert "scored 2, rejected 1, total 3 houses" in out
    [reject] = read_table(tmp_path / "p.rejects.csv")
    assert (reject["row"], reject["Id"], reject["field"]) == (2, None, "Id")
    assert [line["Id"] for line in read_table(output)] == [1461, 1463]


def test_a_parquet_files_decimal_columns_are_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a table exported from SQL or Spark keeps NUMERIC columns as decimals, and
    every row of such a file was refused, "Not a valid number."."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(
        pd.read_csv(DATASET_DIR / "test.csv").head(30), preserve_index=False
    )
    decimals = table
    for name, kind in [
        ("Id", pa.decimal128(22, 0)),
        ("GrLivArea", pa.decimal128(22, 2)),
        ("LotFrontage", pa.decimal256(12, 3)),
    ]:
        at = decimals.schema.get_field_index(name)
        decimals = decimals.set_column(at, name, decimals.column(name).cast(kind))
    pq.write_table(table, tmp_path / "floats.parquet")
    pq.write_table(decimals, tmp_path / "decimals.parquet")
    for name in ("floats", "decimals"):
        status, _, err = run(
            capsys, str(tmp_path / f"{name}.parquet"), str(tmp_path / f"{name}.csv")
        )
        assert status == 0, err
    as_floats, as_decimals = (
        read_table(tmp_path / f"{name}.csv") for name in ("floats", "decimals")
    )
    assert len(as_decimals) == 30
    assert [{**line, "source": None} for line in as_decimals] == [
        {**line, "source": None} for line in as_floats
    ]


@pytest.mark.parametrize("large", [False, True])
def test_a_parquet_files_text_stored_as_bytes_is_read_as_utf8(
    large: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a text column stored as plain ``binary`` (Hive, Impala, older Spark) had
    every row refused, "Not a valid string.". Bytes that are no UTF-8 are refused for their
    row and field, the row's other fields aside."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gradient_boosting_model import make_prediction

    frame = pd.read_csv(DATASET_DIR / "test.csv").head(4)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    kind = pa.large_binary() if large else pa.binary()
    for at, column in enumerate(table.schema):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            texts = [None if text is None else text.encode() for text in table[at].to_pylist()]
            if column.name == "Neighborhood":
                texts[2] = b"\xffNAmes"
            table = table.set_column(at, column.name, pa.array(texts, kind))
    pq.write_table(table, tmp_path / "bytes.parquet")
    assert pq.read_schema(tmp_path / "bytes.parquet").field("Neighborhood").type == kind
    status, out, err = run(
        capsys, str(tmp_path / "bytes.parquet"), str(tmp_path / "p.csv"), "--max-rejected", "50%"
    )
    assert status == 0, err
    assert "scored 3, rejected 1, total 4 houses" in out
    assert rejected_fields(tmp_path / "p.rejects.csv") == [(3, "Neighborhood", "Not UTF-8 text.")]
    priced = read_table(tmp_path / "p.csv")
    assert [line["row"] for line in priced] == [1, 2, 4]
    expected = make_prediction(frame.drop(index=2)).predictions
    assert [line["price"] for line in priced] == expected


def write_houses(path: Path, changes: dict[int, dict[str, str]], *, rows: int = 6) -> None:
    """test.csv's first ``rows`` houses as a CSV, with ``changes``' texts put in (row -> column
    -> text; rows from 1), and a blank line after row ``rows`` when ``changes`` names row 0."""
    header, *lines = (DATASET_DIR / "test.csv").read_text().splitlines()[: rows + 1]
    columns = header.split(",")
    for row, texts in changes.items():
        if row:
            values = lines[row - 1].split(",")
            for name, text in texts.items():
                values[columns.index(name)] = text
            lines[row - 1] = ",".join(values)
    blank = [""] if 0 in changes else []
    path.write_text("\n".join([header, *lines, *blank]) + "\n")


def rejected_fields(path: Path) -> list[tuple[int, str, str]]:
    return [(line["row"], line["field"], line["message"]) for line in read_table(path)]


def test_a_number_python_reads_and_the_api_refuses_is_refused_row_by_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a chunk read line by line (here for its blank line) read number texts with
    Python's ``int`` and ``float``, which priced ``1_1_6_2_2`` and ``١١٦٢٢`` as 11622."""
    texts = {2: {"LotArea": "1_1_6_2_2"}, 3: {"LotArea": "١١٦٢٢"}, 4: {"GrLivArea": " 896"}}
    write_houses(tmp_path / "h.csv", {0: {}, **texts})
    status, out, err = run(
        capsys, str(tmp_path / "h.csv"), str(tmp_path / "p.csv"), "--max-rejected", "100%"
    )
    assert status == 0, err
    assert "scored 3, rejected 3" in out
    assert rejected_fields(tmp_path / "p.rejects.csv") == [
        (2, "LotArea", "Not a valid number."),
        (3, "LotArea", "Not a valid number."),
        (4, "GrLivArea", "Not a valid number."),
    ]


@pytest.mark.parametrize("chunk_rows", ["1", "3", "10"])
def test_a_number_arrow_reads_and_the_api_refuses_is_refused_in_any_chunk(
    chunk_rows: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: Arrow's CSV reader read ``0x37BB`` as 14267 (and ``inf``, ``+5`` as numbers)
    where the rest of the chunk's column was numbers, and passed it on as text, refused, where
    the chunk held text too: --chunk-rows changed the prices."""
    texts = {2: {"LotArea": "0x37BB"}, 3: {"GrLivArea": "inf"}, 4: {"LotArea": "+5"}}
    write_houses(tmp_path / "h.csv", {**texts, 6: {"LotArea": "abc"}})
    status, out, err = run(
        capsys,
        *(str(tmp_path / "h.csv"), str(tmp_path / "p.csv")),
        *("--max-rejected", "100%", "--chunk-rows", chunk_rows),
    )
    assert status == 0, err
    assert "scored 2, rejected 4" in out
    assert rejected_fields(tmp_path / "p.rejects.csv") == [
        (2, "LotArea", "Not a valid number."),
        (3, "GrLivArea", "Not a valid number."),
        (4, "LotArea", "Not a valid number."),
        (6, "LotArea", "Not a valid number."),
    ]


def run_command(folder: Path, shell: str, arguments: str) -> subprocess.CompletedProcess[str]:
    """``score-houses ARGUMENTS --in-process`` in ``folder``, after the ``shell`` commands."""
    command = f"{shlex.quote(sys.executable)} -m gradient_boosting_model.batch.cli {arguments}"
    return subprocess.run(
        ["bash", "-c", f"{shell}; {command} --in-process"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("output", ["o.csv", "o.parquet"])
def test_an_output_that_cannot_be_written_to_the_end_fails_in_one_line(
    output: str, tmp_path: Path
) -> None:
    """A probe's: a disk full while the output was written ended in an ``OSError`` traceback,
    with no summary. Here the files may grow to 16 KB (``ulimit -f``, SIGXFSZ ignored: the
    writes fail as on a full disk); the prices of test.csv are larger."""
    shutil.copy(DATASET_DIR / "test.csv", tmp_path / "h.csv")
    done = run_command(tmp_path, "trap '' XFSZ; ulimit -f 16", f"h.csv {output}")
    assert done.returncode == 1, done.stderr
    assert (
        done.stderr
        == f"score-houses: error: {output}: cannot write the prices file: File too large\n"
    )
    assert done.stdout.startswith("score-houses: scored ")  # the summary, so far
    assert sorted(path.name for path in tmp_path.iterdir()) == ["h.csv"]  # no partial file


def test_a_standard_output_that_cannot_be_written_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A probe's: ``score-houses ... > /dev/full`` ended in a traceback after the job."""
    lines = (DATASET_DIR / "test.csv").read_text().splitlines()[:30]
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    done = run_command(tmp_path, "exec > /dev/full", "h.csv o.csv")
    assert (done.returncode, done.stderr) == (
        1,
        "score-houses: error: standard output: No space left on device\n",
    )
    assert len(read_table(tmp_path / "o.csv")) == 29  # the job's files are whole


def test_sigterm_stops_the_job_as_an_interrupt_does_with_its_own_status(tmp_path: Path) -> None:
    """A probe's: SIGTERM (``kill``, ``timeout``) ended the command at once, exit 143 with no
    word, its hidden ``*.partial`` files left beside the output."""
    header, *lines = (DATASET_DIR / "test.csv").read_text().splitlines()
    (tmp_path / "h.csv").write_text("\n".join([header, *lines * 20]) + "\n")
    command = [sys.executable, "-m", "gradient_boosting_model.batch.cli", "h.csv", "o.csv"]
    job = subprocess.Popen(
        [*command, "--in-process", "--chunk-rows", "1000"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".*.partial")) and time.monotonic() < deadline:
        time.sleep(0.02)
    job.terminate()
    out, err = job.communicate(timeout=60)
    assert (job.returncode, out, err) == (143, "", "score-houses: interrupted: nothing written\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["h.csv"]


@pytest.mark.parametrize("output", [".", "/", "", "..", "out/.."])
def test_an_output_that_names_no_file_is_a_command_line_error(
    output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: OUTPUT ``.``, ``/`` or ``''`` ended in a ``ValueError`` traceback
    (``PosixPath('.') has an empty name``), made in naming the default rejects file."""
    for args in (["h.csv", output], ["h.csv", "o.csv", "--rejects", output]):
        with pytest.raises(SystemExit) as refused:
            main(args)
        assert refused.value.code == 2
        assert f"not a file name: {output!r}" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["", " "])
def test_an_empty_input_is_a_command_line_error(
    given: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: ``score-houses '' out.csv`` scored the current folder without a word."""
    with pytest.raises(SystemExit) as refused:
        main([given, str(tmp_path / "o.csv"), "--in-process"])
    assert refused.value.code == 2
    assert f"no file, folder or glob: {given!r}" in capsys.readouterr().err


@pytest.mark.parametrize("rows", ["99999999999999999999", str(MAX_BATCH_ROWS + 1)])
def test_a_chunk_larger_than_the_bound_is_a_command_line_error(
    rows: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: ``--chunk-rows 99999999999999999999`` overflowed (an ``OverflowError``
    traceback with --in-process on Parquet)."""
    with pytest.raises(SystemExit) as refused:
        main([str(DATASET_DIR / "test.csv"), str(tmp_path / "o.csv"), "--chunk-rows", rows])
    assert refused.value.code == 2
    assert f"more than {MAX_BATCH_ROWS} rows a chunk: {rows!r}" in capsys.readouterr().err
    assert main([str(DATASET_DIR / "test.csv"), str(tmp_path / "o.csv"), "--in-process",
                 "--chunk-rows", str(MAX_BATCH_ROWS)]) == 0  # fmt: skip


def test_an_input_that_is_no_regular_file_is_named_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's: a FIFO, ``/dev/stdin`` and ``-`` were each said to be "no such file or
    folder"."""
    os.mkfifo(tmp_path / "fifo.csv")
    for given, message in [
        (str(tmp_path / "fifo.csv"), "not a regular file (a pipe or a device)"),
        ("/dev/null", "not a regular file (a pipe or a device)"),
        ("-", "standard input is not read"),
        (str(tmp_path / "none.csv"), "no such file or folder"),
    ]:
        status, out, err = run(capsys, given, str(tmp_path / "o.csv"))
        assert (status, out) == (1, "")
        assert err.startswith(f"score-houses: error: {given}: {message}"), err
        assert err.count("\n") == 1


def a_job_whose_first_chunk(
    tmp_path: Path,
    *,
    file_change: Callable[[Path], object] = lambda houses: None,
    result_change: Callable[[ChunkResult], object] = lambda result: None,
) -> None:
    """Run a job on 30 houses in chunks of 10, in this process, where ``file_change`` is done to
    the file before its first chunk is read, and ``result_change`` to that chunk's result."""
    header, *lines = (DATASET_DIR / "test.csv").read_text().splitlines()[:31]
    houses = tmp_path / "h.csv"
    houses.write_text("\n".join([header, *lines]) + "\n")
    settings = JobSettings(str(houses), tmp_path / "p.csv", tmp_path / "r.csv", batch_rows=10)
    plan = plan_job(settings)

    def score(chunk: Chunk, *, batch_rows: int) -> ChunkResult:
        if chunk.index == 0:
            file_change(houses)
        result = score_chunk(chunk, batch_rows=batch_rows)
        if chunk.index == 0:
            result_change(result)
        return result

    run_job(settings, plan, InProcess(score))


def cut_after_five_houses(houses: Path) -> None:
    """A rewrite of the file begun: its header and 5 houses left."""
    with houses.open("r+b") as handle:
        handle.truncate(len(b"".join(houses.read_bytes().splitlines(keepends=True)[:6])))


def test_an_input_changed_while_it_is_read_is_said_so_not_blamed_on_a_bug(tmp_path: Path) -> None:
    """A probe's: a file truncated while the job read it was said to have "rows lost or
    repeated (a bug in score-houses)"."""
    with pytest.raises(InputFileError) as stopped:
        a_job_whose_first_chunk(tmp_path, file_change=cut_after_five_houses)
    assert str(stopped.value) == (
        f"{tmp_path / 'h.csv'} changed while it was read (its size or modification time "
        "differs): run again on a file that stays put"
    )
    assert stopped.value.report is not None  # for the summary so far
    assert "a bug in score-houses" in str(stopped.value.__cause__)


def test_rows_lost_from_an_input_that_stayed_put_are_a_bug(tmp_path: Path) -> None:
    def lose_a_row(result: ChunkResult) -> None:
        result.prices = result.prices.slice(1)

    with pytest.raises(ChunkError, match=r"rows 1-10: .* \(a bug in score-houses\)"):
        a_job_whose_first_chunk(tmp_path, result_change=lose_a_row)


def test_an_interrupt_as_a_writer_makes_its_file_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A probe's Ctrl-C at 0.9 s (1 run in 7) left the prices' hidden temporary file: the
    interrupt came as the writer made it, before the writer could own it and remove it."""
    import pyarrow.parquet as pq  # as the writer module reads it, when it makes its file

    def made_then_interrupted(path: Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"PAR1")
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "ParquetWriter", made_then_interrupted)
    shutil.copy(DATASET_DIR / "test.csv", tmp_path / "h.csv")
    status = main([str(tmp_path / "h.csv"), str(tmp_path / "o.parquet"), "--in-process"])
    assert status == 130
    assert "interrupted: nothing written" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["h.csv"]
