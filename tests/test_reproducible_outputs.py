"""No cached output changes when its inputs do not (timings go to `cache: false` metrics).

In a temporary git repo holding a copy of the project (its DVC config included) with tiny
params, the data stages are built; then each is forced to run again on the same inputs. Every
stage's `dvc status` must stay as it was: the forced stage wrote byte-identical outputs, so no
stage that depends on them is stale.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.dvc

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ["fusion", "stages", "dvc.yaml", "pyproject.toml", ".dvcignore", ".gitignore"]
TINY = {  # 16x16 rendered, prepared at 8x8 so that the resizing runs too
    "synthetic": {"image_size": 16, "counts": {"cubes": 24, "spheres": 24}},
    "data": {"image_size": 8},
    "split": {"val": 0.25, "test": 0.25},
}
DATA_STAGES = ["generate", "prepare", "split", "stats"]
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "DVC_NO_ANALYTICS": "1", "WANDB_MODE": "disabled",
}


def run(repo: Path, *args: str) -> str:
    result = subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def status(repo: Path) -> dict:
    return json.loads(run(repo, sys.executable, "-m", "dvc", "status", "--json"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    """A copy of the project with its data stages built, and its `dvc status` then."""
    repo = tmp_path_factory.mktemp("project")
    for name in COPIED:
        src = PROJECT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section] |= values
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "git", "init", "-q")
    run(repo, sys.executable, "-m", "dvc", "init", "-q")
    shutil.copy(PROJECT / ".dvc" / "config", repo / ".dvc" / "config")  # the cache type
    run(repo, sys.executable, "-m", "dvc", "repro", "stats")
    return repo, status(repo)


@pytest.fixture
def rebuilt(built):
    """`built`, brought up to date again afterwards (should a test have left a stage stale)."""
    yield built
    run(built[0], sys.executable, "-m", "dvc", "repro", "stats")


@pytest.mark.parametrize("stage", DATA_STAGES)
def test_rerun_on_the_same_inputs_changes_no_other_stage(rebuilt, stage):
    repo, before = rebuilt
    run(repo, sys.executable, "-m", "dvc", "repro", "-f", "-s", stage)
    after = status(repo)
    changed = {name: after.get(name) for name in before.keys() | after.keys()
               if after.get(name) != before.get(name)}
    assert not changed, f"re-running {stage} on the same inputs changed: {changed}"
