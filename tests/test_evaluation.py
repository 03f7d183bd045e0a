import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusion.evaluation import (
    add_noise,
    classification_metrics,
    count_parameters,
    drop_lidar_returns,
    evaluate_model,
    flops_per_sample,
    latency_ms,
    predict,
    relative_robustness,
    reliability,
    robustness,
    throughput,
)
from fusion.normalize import Normalizer
from fusion.params import EvaluateParams

SIZE = 4  # H = W of the toy inputs


class RGBOnly(nn.Module):
    """Class-1 logit = mean of RGB channel 0: a model that ignores LiDAR completely."""

    def forward(self, rgb, xyza):
        score = rgb[:, 0].mean(dim=(1, 2))
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
def normalizer():
    stats = {"rgb_mean": [0.0] * 4, "rgb_std": [1.0] * 4,
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


def test_zero_severity_leaves_inputs_unchanged(toy_data, normalizer):
    _, xyza, _ = toy_data
    g = torch.Generator().manual_seed(0)
    assert torch.equal(add_noise(xyza, 0.0, g), xyza)
    assert torch.equal(drop_lidar_returns(xyza, 0.0, normalizer, g), xyza)


def test_dropping_every_return_leaves_only_missing_returns(toy_data, normalizer):
    _, xyza, _ = toy_data
    dropped = drop_lidar_returns(xyza, 1.0, normalizer, torch.Generator().manual_seed(0))
    assert (dropped[:, :3] == 0).all()
    assert (dropped[:, 3] == normalizer.invalid_alpha).all()


def test_dropout_fraction_and_seed(toy_data, normalizer):
    _, xyza, _ = toy_data

    def dropped(seed):
        return drop_lidar_returns(xyza, 0.5, normalizer, torch.Generator().manual_seed(seed))

    missing = (dropped(0)[:, 3] == normalizer.invalid_alpha).double().mean().item()
    assert 0.4 < missing < 0.6
    assert torch.equal(dropped(0), dropped(0))
    assert not torch.equal(dropped(0), dropped(1))
    noisy = [add_noise(xyza, 1.0, torch.Generator().manual_seed(s)) for s in (0, 0, 1)]
    assert torch.equal(noisy[0], noisy[1]) and not torch.equal(noisy[0], noisy[2])


def run_robustness(model, data, normalizer, seed=0):
    rgb, xyza, labels = data
    return robustness(model, rgb, xyza, labels, normalizer, noise_levels=(0.0, 1.0, 3.0),
                      drop_levels=(0.0, 0.5, 1.0), batch_size=16, device="cpu", seed=seed)


def test_rgb_only_model_ignores_lidar_corruptions(toy_data, normalizer):
    model = RGBOnly()
    clean = classification_metrics(predict(model, *toy_data[:2], 16, "cpu"), toy_data[2])
    summary, curves = run_robustness(model, toy_data, normalizer)
    assert 0.6 < clean["accuracy"] < 1
    assert summary["accuracy_lidar_missing"] == clean["accuracy"]
    assert summary["robustness_lidar"] == pytest.approx(clean["accuracy"])
    assert summary["accuracy_rgb_missing"] == 0.5  # all-zero RGB: a tie, class 0 everywhere
    assert summary["robustness_rgb"] < clean["accuracy"]
    assert list(curves.columns) == ["corruption", "severity", "accuracy"]
    assert curves.groupby("corruption", sort=False).size().to_dict() == {
        "rgb_noise": 3, "lidar_noise": 3, "lidar_dropout": 3}


def test_robustness_is_deterministic_given_the_seed(toy_data, normalizer):
    first = run_robustness(RGBOnly(), toy_data, normalizer, seed=3)
    again = run_robustness(RGBOnly(), toy_data, normalizer, seed=3)
    other = run_robustness(RGBOnly(), toy_data, normalizer, seed=4)
    assert first[0] == again[0]
    pd.testing.assert_frame_equal(first[1], again[1])
    assert not first[1]["accuracy"].equals(other[1]["accuracy"])


def test_relative_robustness_is_the_area_under_the_rescaled_curve():
    assert relative_robustness([0.0, 0.5, 1.0, 2.0], [0.7] * 4) == pytest.approx(0.7)
    assert relative_robustness([0, 0.5, 1, 1.5, 2], [1, 0.875, 0.75, 0.625, 0.5]) == (
        pytest.approx(0.75))
    assert relative_robustness([0.25, 0.75], [1.0, 0.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="increasing"):
        relative_robustness([0.0, 1.0, 0.5], [1.0, 0.9, 0.8])


# --- cost ----------------------------------------------------------------------------------


def test_flops_and_parameters_match_hand_count():
    model = LinearPerModality()
    features = 4 * SIZE * SIZE
    assert flops_per_sample(model, SIZE, "cpu") == 2 * (2 * features * 2)  # two (1xF)@(Fx2)
    assert count_parameters(model) == 2 * (features * 2 + 2)
    model.xyza.requires_grad_(False)
    assert count_parameters(model) == features * 2 + 2


def test_latency_and_throughput_are_positive_and_batching_pays():
    model = LinearPerModality()
    latency = latency_ms(model, SIZE, "cpu", repeats=10)
    samples_per_second = throughput(model, SIZE, "cpu", batch_size=64)
    assert 0 < latency < math.inf and 0 < samples_per_second < math.inf
    assert samples_per_second > 1000 / latency


# --- everything together -------------------------------------------------------------------


def test_evaluate_model_returns_all_metrics_and_predictions(toy_data, normalizer):
    rgb, xyza, labels = toy_data
    rows = list(range(100, 160))
    params = EvaluateParams(batch_size=16, latency_repeats=3, noise_levels=(0.0, 1.0),
                            drop_levels=(0.0, 1.0))
    metrics, curves, predictions = evaluate_model(
        RGBOnly(), rgb, xyza, labels, rows, ["cubes", "spheres"], normalizer, params, "cpu")
    assert set(metrics) == {
        "test_accuracy", "test_balanced_accuracy", "test_f1", "test_loss", "test_ece",
        "accuracy_rgb_missing", "accuracy_lidar_missing", "robustness_rgb", "robustness_lidar",
        "params", "flops", "latency_ms", "throughput"}
    assert len(curves) == 6
    assert list(predictions.columns) == ["row", "actual", "predicted", "p_sphere", "correct"]
    assert predictions["row"].tolist() == rows
    assert set(predictions["actual"]) == {"cubes", "spheres"}
    assert predictions["correct"].mean() == pytest.approx(metrics["test_accuracy"])
    assert ((predictions["p_sphere"] > 0.5) == (predictions["predicted"] == "spheres")).all()
