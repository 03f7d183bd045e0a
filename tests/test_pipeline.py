"""The pipeline through DVC itself, in a temporary git repo holding a copy of the project.

One repo is built per module with tiny params; each test starts from its committed state
and puts it back (git reset + dvc checkout), so tests stay independent.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.dvc

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ["fusion", "stages", "dvc.yaml", "pyproject.toml", ".dvcignore", ".gitignore"]
TINY = {
    "synthetic": {"image_size": 16, "counts": {"cubes": 24, "spheres": 24}},
    "data": {"image_size": 16},
    "split": {"val": 0.25, "test": 0.25},
    "model": {"fusion": "hadamard", "feature_dim": 8},
    "train": {"epochs": 1, "batch_size": 16, "seeds": [0, 1]},
    "strategies": {"add": {"lr": None}, "hadamard": {"lr": None}},
    "evaluate": {"batch_size": 32, "rgb_noise_levels": [0.0, 0.2], "range_noise_levels": [0.0, 0.5],
                 "drop_levels": [0.0, 1.0], "latency_repeats": 2, "resamples": 200,
                 "gallery": 4},
}
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "DVC_NO_ANALYTICS": "1", "WANDB_MODE": "disabled",
}


def run(repo, *args, check=True):
    result = subprocess.run(args, cwd=repo, env=ENV, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(repo, *args, check=True):
    return run(repo, sys.executable, "-m", "dvc", *args, check=check)


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


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """A built, committed copy of the project; also records the stages of the first runs."""
    repo = tmp_path_factory.mktemp("project")
    for name in COPIED:
        src = PROJECT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, repo / name)
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section] = values if section == "strategies" else {**params[section], **values}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "git", "init", "-q")
    dvc(repo, "init", "-q")
    runs = {"first": ran(dvc(repo, "repro", "stats").stdout)}
    runs["again"] = ran(dvc(repo, "repro", "stats").stdout)
    set_params(repo, split={"seed": 7})
    runs["split_changed"] = ran(dvc(repo, "repro", "stats").stdout)
    runs["full"] = ran(dvc(repo, "repro").stdout)
    runs["noop"] = ran(dvc(repo, "repro").stdout)
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "baseline")
    return Built(repo, runs)


@pytest.fixture
def clean(built):
    repo = built.path
    yield repo
    run(repo, "git", "reset", "-q", "--hard")
    run(repo, "git", "clean", "-qfd")
    dvc(repo, "checkout", "-f", "-q")


def test_data_stages_build_once_and_rerun_only_what_a_split_change_touches(built):
    assert built.runs["first"] == {"generate", "prepare", "split", "stats"}
    assert built.runs["again"] == set()
    assert built.runs["split_changed"] == {"split", "stats"}


def test_full_repro_builds_every_stage_then_nothing(built):
    repo, strategies = built.path, ("add", "hadamard")
    assert built.runs["full"] == {
        *(f"train@{s}" for s in strategies),
        *(f"evaluate@{s}" for s in strategies),
        "aggregate",
        "export",
    }
    assert built.runs["noop"] == set()
    for path in ("models/add/seed0.pt", "models/add/seed1.pt", "plots/train/add/seed1.csv",
                 "models/model.pt", "metrics/summary.json", "metrics/model.json",
                 "plots/comparison.csv", "plots/comparison.md", "plots/comparison/pairwise.csv",
                 "plots/comparison/intervals.png", "plots/export/confusion.csv"):
        assert (repo / path).is_file(), path


def test_every_seed_is_trained_evaluated_and_summarised_with_an_interval(built):
    repo = built.path
    summary = json.loads((repo / "metrics/summary.json").read_text())
    for name in ("add", "hadamard"):
        assert summary[name]["seeds"] == [0, 1]
        for metric in ("test_accuracy", "robustness_rgb", "robustness_lidar", "test_ece"):
            low, mean, high = (summary[name][f"{metric}{k}"] for k in ("_ci_low", "", "_ci_high"))
            assert low <= mean <= high and f"{metric}_std" in summary[name]
        predictions = pd.read_csv(repo / f"plots/evaluate/{name}_predictions.csv")
        rows = predictions.groupby("seed")["row"].apply(list)
        assert list(rows.index) == [0, 1] and rows[0] == rows[1]  # same test samples
    pairwise = pd.read_csv(repo / "plots/comparison/pairwise.csv")
    assert list(pairwise.columns) == ["a", "b", "metric", "difference", "ci_low", "ci_high",
                                      "p_a_better"]
    assert {"test_accuracy", "robustness_rgb", "robustness_lidar", "test_ece"} <= set(
        pairwise["metric"])


def test_export_promotes_the_seed_with_the_best_validation_loss(built):
    repo = built.path
    trained = json.loads((repo / "metrics/train/hadamard.json").read_text())["seeds"]
    best = min(trained, key=lambda seed: trained[seed]["best_val_loss"])
    model = json.loads((repo / "metrics/model.json").read_text())
    assert (model["strategy"], model["seed"]) == ("hadamard", int(best))
    tested = json.loads((repo / "metrics/evaluate/hadamard.json").read_text())["seeds"][best]
    assert model["test_accuracy"] == tested["test_accuracy"]
    assert model["strategy_over_seeds"]["seeds"] == [0, 1]
    assert (repo / "models/model.pt").read_bytes() == (
        repo / f"models/hadamard/seed{best}.pt").read_bytes()


def test_one_strategy_setting_retrains_that_strategy_alone(clean):
    stages = ran(dvc(clean, "exp", "run", "-S", "strategies.add.lr=0.0003").stdout)
    assert stages == {"train@add", "evaluate@add", "aggregate", "export"}  # export reads summary


def test_a_strategy_may_train_more_seeds(clean):
    stages = ran(dvc(clean, "exp", "run", "-S", "+strategies.add.seeds=[0,1,2]").stdout)
    assert {"train@add", "evaluate@add", "aggregate"} <= stages
    assert not any(s.endswith("@hadamard") for s in stages)
    summary = json.loads((clean / "metrics/summary.json").read_text())
    assert summary["add"]["seeds"] == [0, 1, 2] and summary["hadamard"]["seeds"] == [0, 1]


def test_shared_train_setting_retrains_all(clean):
    stages = ran(dvc(clean, "exp", "run", "-S", "train.epochs=2").stdout)
    assert {"train@add", "train@hadamard", "evaluate@add", "evaluate@hadamard"} <= stages


def test_promoting_another_strategy_only_exports(clean):
    stages = ran(dvc(clean, "exp", "run", "-S", "model.fusion=add").stdout)
    assert stages == {"export"}
    assert json.loads((clean / "metrics/model.json").read_text())["strategy"] == "add"


def test_evaluate_setting_reruns_evaluation_not_training(clean):
    stages = ran(dvc(clean, "exp", "run", "-S", "evaluate.rgb_noise_levels=[0.0,0.5]").stdout)
    assert {"evaluate@add", "evaluate@hadamard", "aggregate"} <= stages
    assert not any(s.startswith("train@") for s in stages)


def test_metrics_diff_lists_the_changed_strategy(clean):
    set_params(clean, strategies={"add": {"lr": 0.01}, "hadamard": {"lr": None}})
    dvc(clean, "repro")
    diff = dvc(clean, "metrics", "diff", "--json").stdout
    changed = json.loads(diff)["metrics/summary.json"]
    assert any(key.startswith("add.") for key in changed)
    assert not any(key.startswith("hadamard.") for key in changed)


def test_unknown_strategy_name_is_a_clear_error(clean):
    set_params(clean, strategies={"add": {}, "hadamard": {}, "bogus": {"lr": None}})
    result = dvc(clean, "repro", "train@bogus", check=False)
    assert result.returncode != 0
    assert "bogus" in result.stderr and "hadamard" in result.stderr  # names the valid ones
    assert not (clean / "models/bogus").exists()
