"""The pipeline through DVC itself, in a temporary git repo holding a copy of the project.

One repo is built per session with tiny params (tests/conftest.py); each test starts from its
committed state and puts it back (git reset + dvc checkout), so tests stay independent.
"""

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from dvc_repo import dvc, ran, run, set_params

pytestmark = pytest.mark.dvc


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
        for metric in ("test_accuracy", "ra_camera", "ra_lidar", "ra_alignment", "mRA", "mCE",
                       "ra_lidar_fog", "test_ece"):
            low, mean, high = (summary[name][f"{metric}{k}"] for k in ("_ci_low", "", "_ci_high"))
            assert low <= mean <= high and f"{metric}_std" in summary[name]
        predictions = pd.read_csv(repo / f"plots/evaluate/{name}_predictions.csv")
        rows = predictions.groupby("seed")["row"].apply(list)
        assert list(rows.index) == [0, 1] and rows[0] == rows[1]  # same test samples
    pairwise = pd.read_csv(repo / "plots/comparison/pairwise.csv")
    assert list(pairwise.columns) == ["a", "b", "metric", "difference", "ci_low", "ci_high",
                                      "p_a_better", "p_a_better_ci_low", "p_a_better_ci_high"]
    claims = pd.read_csv(repo / "plots/comparison/claims.csv")
    assert {"kind", "metric", "a", "b", "ci_low", "ci_high", "verdict"} <= set(claims.columns)
    assert set(claims["verdict"]) <= {"better", "equivalent", "inconclusive"}
    assert {"test_accuracy", "ra_camera", "ra_lidar", "ra_alignment", "test_ece"} <= set(
        pairwise["metric"])
    floor = pd.read_csv(repo / "plots/comparison/sensor_floor.csv")
    assert set(floor["verdict"]) <= {"above", "below", "equivalent", "inconclusive"}
    for name in ("add", "hadamard"):  # no baseline among them: no comparison, none below
        assert summary[name]["faults_below_sensor"] == 0
    assert "| Strategy | mRA % | mCE (vs add) |" in (repo / "plots/comparison.md").read_text()


def test_export_promotes_the_seed_with_the_best_validation_loss(built):
    repo = built.path
    trained = json.loads((repo / "metrics/train/hadamard.json").read_text())["seeds"]
    best = min(trained, key=lambda seed: trained[seed]["best_val_loss"])
    model = json.loads((repo / "metrics/model.json").read_text())
    assert (model["strategy"], model["seed"]) == ("hadamard", int(best))
    tested = json.loads((repo / "metrics/evaluate/hadamard.json").read_text())["seeds"][best]
    assert model["promoted_seed"]["test_accuracy"] == tested["test_accuracy"]
    assert model["over_seeds"]["seeds"] == [0, 1]
    summary = json.loads((repo / "metrics/summary.json").read_text())["hadamard"]
    assert (model["mean_accuracy"], model["ci_low"], model["ci_high"]) == (
        summary["test_accuracy"], summary["test_accuracy_ci_low"], summary["test_accuracy_ci_high"])
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
    stages = ran(dvc(clean, "exp", "run", "-S", "evaluate.seed=1").stdout)
    assert {"evaluate@add", "evaluate@hadamard", "aggregate"} <= stages
    assert not any(s.startswith("train@") for s in stages)


def test_metrics_diff_lists_the_changed_strategy(clean):
    set_params(clean, strategies={"add": {"fusion": "add", "lr": 0.01},
                                  "hadamard": {"fusion": "hadamard", "lr": None}})
    dvc(clean, "repro")
    diff = dvc(clean, "metrics", "diff", "--json").stdout
    changed = json.loads(diff)["metrics/summary.json"]
    assert any(key.startswith("add.") for key in changed)
    assert not any(key.startswith("hadamard.") for key in changed)


def test_unknown_strategy_name_is_a_clear_error(clean):
    set_params(clean, strategies={"add": {"fusion": "add"}, "hadamard": {"fusion": "hadamard"},
                                  "bogus": {"fusion": "bogus"}})
    result = dvc(clean, "repro", "train@bogus", check=False)
    assert result.returncode != 0
    assert "fusion/strategies/bogus.py" in result.stderr + result.stdout  # the module it lacks
    assert not (clean / "models/bogus").exists()


def test_a_strategy_code_change_retrains_that_strategy_alone(clean):
    module = clean / "fusion/strategies/add.py"
    module.write_text(module.read_text().replace("return a + b", "return (a + b) / 2"))
    assert ran(dvc(clean, "repro").stdout) == {"train@add", "evaluate@add", "aggregate", "export"}


MAXIMUM = """from fusion.models.nets import Fusion, IntermediateFusion


class Maximum(Fusion):
    def forward(self, a, b):
        return a.maximum(b)


def build(model_params, image_size):
    return IntermediateFusion(Maximum(model_params.feature_dim), image_size)
"""


def test_adding_a_strategy_file_trains_and_evaluates_the_new_strategy_alone(clean):
    (clean / "fusion/strategies/maximum.py").write_text(MAXIMUM)
    set_params(clean, strategies={"add": {"fusion": "add", "lr": None},
                                  "hadamard": {"fusion": "hadamard", "lr": None},
                                  "maximum": {"fusion": "maximum"}})
    stages = ran(dvc(clean, "repro").stdout)
    assert stages == {"train@maximum", "evaluate@maximum", "aggregate", "export"}
    assert "maximum" in json.loads((clean / "metrics/summary.json").read_text())


def test_the_failures_scenario_runs_every_stage_and_prediction(clean):
    stages = ran(dvc(clean, "exp", "run", "-S", "synthetic.scenario=failures").stdout)
    assert {"generate", "prepare", "train@add", "evaluate@hadamard", "aggregate",
            "export"} <= stages
    summary = json.loads((clean / "metrics/summary.json").read_text())
    for name in ("add", "hadamard"):
        assert summary[name]["seeds"] == [0, 1]
        assert summary[name]["ra_lidar_ci_low"] <= summary[name]["ra_lidar"]
    assert ("- Data: the synthetic scenario `failures` with image_size changed from its preset: "
            "10% of frames lose the camera") in (clean / "plots/comparison.md").read_text()
    predicted = run(clean, sys.executable, "-m", "fusion.predict", "--folder",
                    "data/raw/synthetic").stdout
    assert "accuracy" in predicted.splitlines()[-1] and "over 48 samples" in predicted


def moments(rgb: torch.Tensor, xyza: torch.Tensor) -> dict[str, list[float]]:
    """RGB in [0, 1] over every pixel; XYZ over valid returns (alpha = 1) only; alpha over every
    pixel; a std below 1e-6 (a constant channel) reads 1 (fusion/data/stats.py's conventions)."""
    x = rgb.double() / 255
    p = xyza.double()
    valid = p[:, 3:4]  # (N, 1, H, W), 0 or 1
    xyz_mean = (p[:, :3] * valid).sum((0, 2, 3)) / valid.sum()
    xyz_var = ((p[:, :3] - xyz_mean[:, None, None]) ** 2 * valid).sum((0, 2, 3)) / valid.sum()
    alpha = p[:, 3]

    def std(s: torch.Tensor) -> list[float]:
        return torch.where(s < 1e-6, torch.ones_like(s), s).tolist()

    return {
        "rgb_mean": x.mean((0, 2, 3)).tolist(),
        "rgb_std": std(x.std((0, 2, 3), correction=0)),
        "xyza_mean": [*xyz_mean.tolist(), alpha.mean().item()],
        "xyza_std": [*std(xyz_var.sqrt()), *std(alpha.std(correction=0).reshape(1))],
    }


def test_stats_are_those_of_the_train_rows_alone(built):
    repo = built.path
    stats = json.loads((repo / "data/stats.json").read_text())
    splits = json.loads((repo / "data/splits.json").read_text())
    rgb = torch.from_numpy(np.load(repo / "data/prepared/rgb.npy"))
    xyza = torch.from_numpy(np.load(repo / "data/prepared/xyza.npy"))
    train = torch.tensor(splits["train"])
    assert 0 < len(train) < len(rgb)
    expected = moments(rgb[train], xyza[train])
    over_all = moments(rgb, xyza)
    for key, values in expected.items():
        assert stats[key] == pytest.approx(values, abs=1e-4), key
    assert stats["train_samples"] == len(train)
    # The check discriminates: statistics over every row differ from the train rows' ones.
    assert any(abs(a - b) > 1e-3 for key in expected
               for a, b in zip(over_all[key], expected[key], strict=True))
