"""No cached output changes when its inputs do not (timings go to `cache: false` metrics).

Each stage of the built tiny project (tests/conftest.py) is forced to run again on the same
inputs; the stages downstream of it must not become stale: its cached outputs came out
byte-identical. Only `aggregate` and `export`, which report the timings of training and
evaluation, may re-run after those.
"""

import json

import pytest
from dvc_repo import dvc

pytestmark = pytest.mark.dvc

REPORTING = {"aggregate", "export"}  # read timings (s/epoch, latency): cheap, and they must


@pytest.mark.parametrize("stage", ["generate", "prepare", "split", "stats", "train@add",
                                   "evaluate@add", "aggregate", "export"])
def test_rerun_on_the_same_inputs_leaves_every_other_stage_up_to_date(clean, stage):
    assert json.loads(dvc(clean, "status", "--json").stdout) == {}
    dvc(clean, "repro", "-f", "-s", stage)
    stale = set(json.loads(dvc(clean, "status", "--json").stdout))
    allowed = REPORTING if stage.startswith(("train@", "evaluate@")) else set()
    assert stale <= allowed, f"re-running {stage} on the same inputs made stale: {stale}"
