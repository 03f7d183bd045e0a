"""Sharing and scaling out with DVC's own mechanics: a folder remote and a bare git remote
carry the built project to a second clone that re-runs nothing; experiments travel through
the git remote; queued experiments run side by side."""

import json
import shutil
import time

import pytest
from dvc_repo import dvc, run

pytestmark = pytest.mark.dvc


@pytest.fixture
def origin(built, tmp_path):
    """A copy of the built project wired to a bare git remote and a DVC folder remote."""
    repo = tmp_path / "trained"
    shutil.copytree(built.path, repo, symlinks=True)
    run(tmp_path, "git", "init", "-q", "--bare", "remote.git")
    run(repo, "git", "remote", "add", "origin", str(tmp_path / "remote.git"))
    dvc(repo, "remote", "add", "-d", "store", str(tmp_path / "store"))
    run(repo, "git", "commit", "-qam", "DVC remote")
    run(repo, "git", "push", "-q", "origin", "HEAD:main")
    return repo


def test_a_second_clone_pulls_results_and_reruns_nothing(origin, tmp_path):
    dvc(origin, "push", "--run-cache")
    run(tmp_path, "git", "clone", "-q", "-b", "main", str(tmp_path / "remote.git"), "other")
    other = tmp_path / "other"
    dvc(other, "pull", "--run-cache")
    assert "Running stage" not in dvc(other, "repro").stdout
    assert json.loads(dvc(other, "status", "--json").stdout) == {}
    shown = [json.loads(dvc(repo, "metrics", "show", "--json").stdout) for repo in (origin, other)]
    assert shown[0][""]["data"] == shown[1][""]["data"]  # "": the workspace
    assert (other / "models/model.pt").read_bytes() == (origin / "models/model.pt").read_bytes()

    dvc(origin, "exp", "run", "-n", "promote-add", "-S", "model.fusion=add")
    dvc(origin, "exp", "push", "origin", "promote-add")
    dvc(other, "exp", "pull", "origin", "promote-add")
    assert "promote-add" in dvc(other, "exp", "show", "--json").stdout


def test_queued_experiments_run_side_by_side(origin):
    dvc(origin, "exp", "run", "--queue", "-n", "q-add", "-S", "model.fusion=add")
    dvc(origin, "exp", "run", "--queue", "-n", "q-gallery", "-S", "evaluate.gallery=2")
    dvc(origin, "queue", "start", "-j", "2")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = dvc(origin, "queue", "status", timeout=120).stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(3)
    dvc(origin, "queue", "stop", "--kill", check=False, timeout=120)
    status = dvc(origin, "queue", "status", timeout=120).stdout
    assert status.count("Success") == 2, status
    shown = dvc(origin, "exp", "show", "--json").stdout
    assert "q-add" in shown and "q-gallery" in shown
