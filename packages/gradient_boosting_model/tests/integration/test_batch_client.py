"""score-houses' client (the command's process) never imports the model's code: its workers
price, and importing scikit-learn and the model took a second of the command's start."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

CLIENT = """
import pickle
import sys

import pyarrow as pa

from gradient_boosting_model.batch.cli import build_parser
from gradient_boosting_model.batch.job import check_result, plan_job
from gradient_boosting_model.batch.reading import Reject
from gradient_boosting_model.batch.results import ChunkResult
from gradient_boosting_model.batch.running import InProcess, OnCluster, score_chunk
from gradient_boosting_model.batch.writing import PRICED

# A result as a worker sends it back, unpickled here as the client does.
result = ChunkResult(0, PRICED.empty_table(), [Reject(1, 7, "GrLivArea", "bad")], 0, "w", "0")
assert pickle.loads(pickle.dumps(result)).rejects == result.rejects
# (pandas may be: pyarrow imports it to build an array from Python values.)
model_code = {"sklearn", "scipy", "joblib", "gradient_boosting_model.predict",
              "gradient_boosting_model.batch.scoring"} & set(sys.modules)
assert not model_code, model_code
"""


def test_the_client_imports_no_model_code() -> None:
    subprocess.run([sys.executable, "-c", CLIENT], check=True)
