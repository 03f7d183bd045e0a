"""Driving DVC on a copy of the project: a temporary git + DVC repo with tiny params."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import yaml

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ["fusion", "stages", "dvc.yaml", "pyproject.toml", ".dvcignore", ".gitignore"]
TINY = {
    "synthetic": {"image_size": 16, "counts": {"cubes": 24, "spheres": 24}},
    "data": {"image_size": 16},
    "split": {"val": 0.25, "test": 0.25},
    "model": {"fusion": "hadamard", "feature_dim": 8},
    "train": {"epochs": 1, "batch_size": 16, "seeds": [0, 1]},
    "strategies": {"add": {"fusion": "add", "lr": None},
                   "hadamard": {"fusion": "hadamard", "lr": None}},
    "evaluate": {"batch_size": 32, "latency_repeats": 2, "resamples": 200, "gallery": 4,
                 "reference": "add"},
}
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "DVC_NO_ANALYTICS": "1", "WANDB_MODE": "disabled",
}


def run(repo, *args, check=True, timeout=900):
    """Run a command in `repo`; no standard input (a daemon DVC spawns never inherits the test
    runner's), and a hang fails the test after `timeout` seconds instead of stalling the run."""
    try:
        result = subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{' '.join(args)} still running after {timeout} s:\n"
                             f"{e.stdout}\n{e.stderr}") from None
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(repo, *args, check=True, timeout=900):
    return run(repo, sys.executable, "-m", "dvc", *args, check=check, timeout=timeout)


def ran(output: str) -> set[str]:
    """Names of the stages a dvc command ran."""
    return set(re.findall(r"Running stage '([^']+)'", output))


def set_params(repo, **sections):
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        params[section] = values if section == "strategies" else {**params[section], **values}
    path.write_text(yaml.safe_dump(params, sort_keys=False))


class Built(NamedTuple):
    path: Path
    runs: dict[str, set[str]]  # stages run by each dvc call of the build


def build(repo: Path) -> Built:
    """Copy the project into `repo`, build and commit it; record the stages of the first runs."""
    for name in COPIED:
        src = PROJECT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section] = values if section == "strategies" else {**params[section], **values}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "git", "init", "-q")
    dvc(repo, "init", "-q")
    shutil.copy(PROJECT / ".dvc" / "config", repo / ".dvc" / "config")  # the cache type
    runs = {"first": ran(dvc(repo, "repro", "stats").stdout)}
    runs["again"] = ran(dvc(repo, "repro", "stats").stdout)
    set_params(repo, split={"seed": 7})
    runs["split_changed"] = ran(dvc(repo, "repro", "stats").stdout)
    runs["full"] = ran(dvc(repo, "repro").stdout)
    runs["noop"] = ran(dvc(repo, "repro").stdout)
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline")
    return Built(repo, runs)
