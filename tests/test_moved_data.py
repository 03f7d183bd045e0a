"""No cached output carries the data's location: the built tiny project's data (tests/conftest.py)
copied elsewhere, given as the folder above it, packed into a .zip or moved again re-runs
`prepare` (its dependency moved) and leaves every later stage up to date."""

import json
import shutil

import pytest
from dvc_repo import dvc, ran, set_params
from test_raw_sources import pack

pytestmark = pytest.mark.dvc


def test_the_same_data_elsewhere_or_packed_reruns_prepare_alone(clean, tmp_path):
    assert json.loads(dvc(clean, "status", "--json").stdout) == {}
    copied = tmp_path / "download" / "assessment"
    shutil.copytree(clean / "data" / "raw" / "synthetic", copied)
    archive = pack(copied.parent, tmp_path / "archive.zip")
    moved = tmp_path / "moved"
    places = [copied, copied.parent, archive, moved / "assessment"]
    for raw in places:
        if raw == places[-1]:
            shutil.move(copied.parent, moved)
        set_params(clean, data={"raw": str(raw)})
        assert ran(dvc(clean, "repro", "prepare").stdout) == {"prepare"}, raw
        stale = json.loads(dvc(clean, "status", "--json").stdout)
        assert stale == {}, f"data.raw = {raw}: stale after prepare: {sorted(stale)}"
