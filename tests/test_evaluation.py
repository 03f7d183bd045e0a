import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusion.data.normalize import Normalizer
from fusion.evaluation.metrics import (
    classification_metrics,
    cost,
    count_parameters,
    flops_per_sample,
    latency_ms,
    predict,
    reliability,
    throughput,
)
from fusion.evaluation.robustness import (
    PREDICTION_COLUMNS,
    FaultedInputs,
    evaluate_model,
    robustness,
)
from fusion.faults import available, suite
from fusion.faults.rig import ALIGNED
from fusion.params import EvaluateParams

SIZE = 4  # H = W of the toy inputs
MAX_RANGE = 50.0


class RGBOnly(nn.Module):
    """Class-1 logit = mean of RGB channel 0: a model that ignores LiDAR completely."""

    def forward(self, rgb, xyza):
        score = rgb[:, 0].mean(dim=(1, 2))
        return torch.stack([-score, score], dim=1)


class LidarOnly(nn.Module):
    """Sphere logit = 7.5 m minus the mean range of the pixels, a missing return counting as
    MAX_RANGE: for returns on the y axis, read through the `normalizer` fixture (y' = (y - 5) / 2,
    a' = 2a - 1). Spheres are nearer. Ignores RGB."""

    def forward(self, rgb, xyza):
        y = torch.where(xyza[:, 3] > 0, 5 + 2 * xyza[:, 1], MAX_RANGE)
        score = 7.5 - y.mean(dim=(1, 2))
        return torch.stack([-score, score], dim=1)


class LinearPerModality(nn.Module):
    """A Linear layer on each flattened modality, summed: FLOPs countable by hand."""

    def __init__(self, size=SIZE):
        super().__init__()
        self.rgb = nn.Linear(4 * size * size, 2)
        self.xyza = nn.Linear(4 * size * size, 2)

    def forward(self, rgb, xyza):
        return self.rgb(rgb.flatten(1)) + self.xyza(xyza.flatten(1))


@pytest.fixture
def raw_data():
    """Raw inputs: uint8 RGBA whose red channel carries the label (plus noise), and XYZA of
    returns 8-12 m away, a quarter of the pixels missing (at the max range, alpha 0)."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 2
    red = 128 + 30 * (2 * labels - 1) + 40 * torch.randn(60, generator=g)  # per sample
    red = red.view(-1, 1, 1) + 20 * torch.randn(60, SIZE, SIZE, generator=g)
    rgb = torch.randint(0, 256, (60, 4, SIZE, SIZE), generator=g, dtype=torch.uint8)
    rgb[:, 0], rgb[:, 3] = red.clamp(0, 255).to(torch.uint8), 255
    direction = torch.nn.functional.normalize(torch.randn(60, 3, SIZE, SIZE, generator=g), dim=1)
    valid = torch.rand(60, 1, SIZE, SIZE, generator=g) > 0.25
    distance = torch.where(valid, 8 + 4 * torch.rand(60, 1, SIZE, SIZE, generator=g), MAX_RANGE)
    xyza = torch.cat([direction * distance, valid.float()], dim=1)
    return rgb, xyza, labels


@pytest.fixture
def lidar_data(raw_data):
    """raw_data's RGB and labels with every return on the y axis, the label in its range:
    spheres 6 m, cubes 9 m away, plus noise per sample and per pixel."""
    rgb, _, labels = raw_data
    g = torch.Generator().manual_seed(1)
    distance = 7.5 - 1.5 * (2 * labels - 1) + 0.75 * torch.randn(len(labels), generator=g)
    distance = distance.view(-1, 1, 1, 1) + 0.5 * torch.randn(len(labels), 1, SIZE, SIZE,
                                                               generator=g)
    zero, one = torch.zeros_like(distance), torch.ones_like(distance)
    return rgb, torch.cat([zero, distance, zero, one], dim=1), labels


@pytest.fixture
def normalizer():
    stats = {"rgb_mean": [0.5] * 4, "rgb_std": [0.25] * 4,
             "xyza_mean": [0.0, 5.0, 0.0, 0.5], "xyza_std": [1.0, 2.0, 1.0, 0.5]}
    return Normalizer(stats)


@pytest.fixture
def toy_data():
    """Normalised inputs whose RGB channel 0 carries the label, plus noise: accuracy < 1."""
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 2
    rgb = torch.randn(60, 4, SIZE, SIZE, generator=g)
    rgb[:, 0] += (2 * labels - 1).view(-1, 1, 1) * 0.4
    xyza = torch.randn(60, 4, SIZE, SIZE, generator=g)
    return rgb, xyza, labels


def logits_from_probs(probs):
    return torch.tensor(probs, dtype=torch.float64).log()


# --- metrics -------------------------------------------------------------------------------


def test_classification_metrics_match_hand_computed_values():
    # Imbalanced: three cubes, one sphere; one cube is predicted sphere.
    logits = torch.tensor([[2.0, 0.0], [1.0, -1.0], [0.0, 0.5], [-1.0, 3.0]])
    labels = torch.tensor([0, 0, 0, 1])
    m = classification_metrics(logits, labels)
    assert m["accuracy"] == pytest.approx(3 / 4)
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)  # recalls 2/3 and 1
    assert m["f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)  # 2TP/(2TP+FP+FN): 4/5, 2/3
    assert m["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-6)


def test_ece_is_zero_when_calibrated_and_the_gap_when_overconfident():
    labels = torch.tensor([0, 0, 0, 1])  # predicting class 0 always: 3/4 correct
    calibrated = logits_from_probs([[0.75, 0.25]] * 4)
    overconfident = logits_from_probs([[0.95, 0.05]] * 4)
    assert classification_metrics(calibrated, labels)["ece"] == pytest.approx(0, abs=1e-9)
    assert classification_metrics(overconfident, labels)["ece"] == pytest.approx(0.2)
    # Two bins, each weighted by its size: (3 * |1 - 0.95| + 1 * |0 - 0.65|) / 4 = 0.2
    mixed = logits_from_probs([[0.95, 0.05]] * 3 + [[0.35, 0.65]])
    labels = torch.tensor([0, 0, 0, 0])
    assert classification_metrics(mixed, labels, bins=10)["ece"] == pytest.approx(0.2)


def test_reliability_bins_agree_with_ece():
    g = torch.Generator().manual_seed(1)
    logits, labels = torch.randn(200, 2, generator=g) * 2, torch.randint(0, 2, (200,), generator=g)
    table = reliability(logits, labels, bins=10)
    assert list(table.columns) == ["lower", "upper", "count", "confidence", "accuracy"]
    assert table["count"].sum() == 200
    assert table.loc[table["count"] == 0, "accuracy"].isna().all()  # no sample below 0.5
    filled = table[table["count"] > 0]
    assert filled["confidence"].between(filled["lower"], filled["upper"], "right").all()
    ece = (table["count"] * (table["accuracy"] - table["confidence"]).abs()).sum() / 200
    assert ece == pytest.approx(classification_metrics(logits, labels, bins=10)["ece"])
    from_probs = reliability(logits.softmax(1), labels, bins=10, from_logits=False)
    pd.testing.assert_frame_equal(table, from_probs)


def test_a_confidence_on_a_bin_edge_falls_in_the_bin_it_closes():
    """Bins are right-closed, ((k-1)/bins, k/bins] (`_calibration_bins`): 0.6 is in (0.5, 0.6],
    not [0.6, 0.7), and 1.0 in the last bin. Float64 probabilities hit the edges exactly."""
    probs = torch.tensor([
        [0.5, 0.5],  # 0.5, a tie: the first class is predicted (torch.max), right
        [0.6, 0.4],  # 0.6 right
        [0.4, 0.6],  # 0.6 wrong
        [0.7, 0.3],  # 0.7 right
        [0.35, 0.65],  # 0.65 wrong
        [0.2, 0.8],  # 0.8 right
        [0.95, 0.05],  # 0.95 right
        [0.0, 1.0],  # 1.0 wrong
    ], dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 0, 0, 1, 0, 0])
    table = reliability(probs, labels, bins=10, from_logits=False)
    nan = float("nan")
    assert table["count"].tolist() == [0, 0, 0, 0, 1, 2, 2, 1, 0, 2]
    # (0.4, 0.5]: 0.5; (0.5, 0.6]: 0.6, 0.6; (0.6, 0.7]: 0.7, 0.65; (0.7, 0.8]: 0.8;
    # (0.9, 1.0]: 0.95, 1.0
    expected_confidence = [nan, nan, nan, nan, 0.5, 0.6, 0.675, 0.8, nan, 0.975]
    expected_accuracy = [nan, nan, nan, nan, 1.0, 0.5, 0.5, 1.0, nan, 0.5]
    assert table["confidence"].tolist() == pytest.approx(expected_confidence, nan_ok=True)
    assert table["accuracy"].tolist() == pytest.approx(expected_accuracy, nan_ok=True)
    # ECE = (1 * |1 - 0.5| + 2 * |0.5 - 0.6| + 2 * |0.5 - 0.675| + 1 * |1 - 0.8|
    #        + 2 * |0.5 - 0.975|) / 8 = (0.5 + 0.2 + 0.35 + 0.2 + 0.95) / 8
    filled = table[table["count"] > 0]
    ece = (filled["count"] * (filled["accuracy"] - filled["confidence"]).abs()).sum() / 8
    assert ece == pytest.approx(2.2 / 8)  # left-closed bins would give 2.8 / 8


@pytest.mark.parametrize(
    ("logits", "labels", "bins", "expected"),
    [
        # Binary, 4 bins. Softmax of [ln 3, 0] is 0.75 and of [40, 0] is 1.0, both exactly:
        # (0.5, 0.75]: 0.75 right; (0.75, 1]: 1.0 wrong -> (|1 - 0.75| + |0 - 1|) / 2.
        # Left-closed bins would put both in [0.75, 1]: |1 - 1.75| / 2 = 0.375.
        ([[math.log(3), 0.0], [40.0, 0.0]], [0, 1], 4, 0.625),
        # Three classes, 4 bins. Softmax of [ln 2, 0, 0] is (0.5, 0.25, 0.25), of [ln 4, 0, 0]
        # is (2/3, 1/6, 1/6): (0.25, 0.5]: 0.5 right; (0.5, 0.75]: 2/3 wrong
        # -> (|1 - 0.5| + |0 - 2/3|) / 2. Left-closed: |1 - 7/6| / 2 = 1/12.
        ([[math.log(2), 0.0, 0.0], [math.log(4), 0.0, 0.0]], [0, 1], 4, (0.5 + 2 / 3) / 2),
    ],
)
def test_ece_of_confidences_on_bin_edges_matches_a_hand_computation(logits, labels, bins,
                                                                     expected):
    logits = torch.tensor(logits, dtype=torch.float64)
    confidence = logits.softmax(1).max(1).values
    assert confidence[0] * bins == (confidence[0] * bins).round()  # exactly on an edge
    ece = classification_metrics(logits, torch.tensor(labels), bins=bins)["ece"]
    assert ece == pytest.approx(expected)


@pytest.mark.parametrize(
    ("logits", "labels", "message"),
    [
        (torch.tensor([[0.0, float("nan")], [1.0, 0.0]]), torch.tensor([0, 1]), "NaN"),
        (torch.zeros(3, 2), torch.tensor([0, 1]), "labels"),
        (torch.zeros(2, 2), torch.tensor([0, 2]), r"\[0, 2\)"),
    ],
)
def test_bad_metric_input_raises_a_clear_error(logits, labels, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(logits, labels)


def test_predict_batches_like_one_pass_and_sets_eval_mode(toy_data):
    rgb, xyza, _ = toy_data
    model = LinearPerModality().train()
    logits = predict(model, rgb, xyza, batch_size=7, device="cpu")
    assert not model.training
    assert logits.shape == (60, 2) and logits.dtype == torch.float32
    torch.testing.assert_close(logits, predict(model, rgb, xyza, batch_size=60, device="cpu"))
    with pytest.raises(ValueError, match="same shape"):
        predict(model, rgb, xyza[:10], batch_size=7, device="cpu")


# --- corruptions and robustness ------------------------------------------------------------


def run_robustness(model, data, normalizer, seed=0):
    faulted = FaultedInputs.build(data[0], data[1], seed, MAX_RANGE, ALIGNED)
    return robustness(model, *data, faulted, normalizer, 16, "cpu")


def test_a_camera_model_keeps_its_accuracy_under_lidar_faults_only(raw_data, normalizer):
    model = RGBOnly()
    rgb, xyza, labels = raw_data
    logits = predict(model, normalizer.rgb(rgb), normalizer.xyza(xyza), 16, "cpu")
    clean = classification_metrics(logits, labels)
    _, summary, curves, per_sample = run_robustness(model, raw_data, normalizer)
    assert 0.6 < clean["accuracy"] < 1
    assert summary["accuracy_lidar_missing"] == clean["accuracy"]
    assert summary["accuracy_rgb_missing"] == 0.5  # all-zero RGB: a tie, class 0 everywhere
    assert summary["ra_lidar"] == pytest.approx(1.0)  # it never looks at the LiDAR
    assert summary["ra_missing_camera"] < 0.8  # black frames: all class 0
    assert summary["mRA"] < 1.0
    assert list(curves.columns) == ["fault", "severity", "accuracy", "samples"]
    assert curves["samples"].sum() == 4 * 60  # every sample once per group
    assert len(curves) == sum(len(suite.cells(g)) for g in (*suite.GROUPS, suite.CONTROL))
    for group in suite.GROUPS:  # each sample's result under its cell of the group
        hits, cell = per_sample[f"correct_{group}"], per_sample[f"cell_{group}"]
        assert hits.shape == cell.shape == (60,)
        points = curves[curves["fault"].isin({f for f, _ in suite.cells(group)})]
        assert points["accuracy"].tolist() == [hits[cell == k].mean()  # a point per cell
                                               for k in range(len(suite.cells(group)))]
    assert summary["ra_camera"] == pytest.approx(
        per_sample["correct_camera"].mean() / clean["accuracy"])


def test_a_lidar_model_keeps_its_accuracy_under_camera_faults_only(lidar_data, normalizer):
    _, summary, _, per_sample = run_robustness(LidarOnly(), lidar_data, normalizer)
    assert summary["ra_camera"] == pytest.approx(1.0)
    assert summary["ra_lidar"] < 0.95
    assert summary["accuracy_lidar_missing"] == 0.5  # a far object everywhere: all cubes
    assert (per_sample["correct_rgb_missing"] == per_sample["correct_camera"]).all()


def test_robustness_is_deterministic_given_the_seed(raw_data, normalizer):
    first = run_robustness(RGBOnly(), raw_data, normalizer, seed=3)
    again = run_robustness(RGBOnly(), raw_data, normalizer, seed=3)
    other = run_robustness(RGBOnly(), raw_data, normalizer, seed=4)
    assert first.summary == again.summary
    pd.testing.assert_frame_equal(first.curves, again.curves)
    assert not first.curves["accuracy"].equals(other.curves["accuracy"])


# --- cost ----------------------------------------------------------------------------------


def test_flops_and_parameters_match_hand_count():
    model = LinearPerModality()
    features = 4 * SIZE * SIZE
    assert flops_per_sample(model, SIZE, "cpu") == 2 * (2 * features * 2)  # two (1xF)@(Fx2)
    assert count_parameters(model) == 2 * (features * 2 + 2)
    model.xyza.requires_grad_(False)
    assert count_parameters(model) == features * 2 + 2


def test_latency_and_throughput_are_finite_and_positive():
    """Only what machine load cannot change: benchmarks/batching.py compares the two."""
    model = LinearPerModality()
    assert 0 < latency_ms(model, SIZE, "cpu", repeats=3) < math.inf
    assert 0 < throughput(model, SIZE, "cpu", batch_size=16, repeats=3) < math.inf
    with pytest.raises(ValueError, match="repeats"):
        latency_ms(model, SIZE, "cpu", repeats=0)


# --- everything together -------------------------------------------------------------------


def test_evaluate_model_returns_all_metrics_and_predictions(raw_data, normalizer):
    rgb, xyza, labels = raw_data
    rows = list(range(100, 160))
    params = EvaluateParams(batch_size=16, latency_repeats=3)
    faulted = FaultedInputs.build(rgb, xyza, 0, MAX_RANGE, ALIGNED)
    metrics, curves, predictions = evaluate_model(
        RGBOnly(), rgb, xyza, labels, rows, ["cubes", "spheres"], faulted, normalizer, params,
        "cpu")
    assert {"test_accuracy", "test_balanced_accuracy", "test_f1", "test_loss", "test_ece",
            "accuracy_rgb_missing", "accuracy_lidar_missing", "ra_camera", "ra_lidar",
            "ra_alignment", "mRA"} <= set(metrics)
    assert {f"ra_{f}" for f in available()} <= set(metrics)
    assert len(curves) == sum(len(suite.cells(g)) for g in (*suite.GROUPS, suite.CONTROL))
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert predictions["row"].tolist() == rows
    assert set(predictions["actual"]) == {"cubes", "spheres"}
    assert predictions["correct"].mean() == pytest.approx(metrics["test_accuracy"])
    assert predictions["loss"].mean() == pytest.approx(metrics["test_loss"])
    assert ((predictions["p_sphere"] > 0.5) == (predictions["predicted"] == "spheres")).all()
    assert (predictions["confidence"] >= 0.5).all()
    assert set(cost(LinearPerModality(), SIZE, params, "cpu")) == {
        "params", "flops", "latency_ms", "throughput"}
