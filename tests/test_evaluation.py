import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from fusion.evaluation import (
    PREDICTION_COLUMNS,
    camera_noise,
    classification_metrics,
    cost,
    count_parameters,
    drop_returns,
    evaluate_model,
    flops_per_sample,
    latency_ms,
    predict,
    range_noise,
    reliability,
    robustness,
    throughput,
)
from fusion.normalize import Normalizer
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


def test_camera_noise_touches_the_colour_channels_only(raw_data):
    rgb, _, _ = raw_data
    noisy = camera_noise(rgb, 0.1, torch.Generator().manual_seed(0))
    assert noisy.dtype == torch.float32 and rgb.dtype == torch.uint8  # the input is not changed
    assert torch.equal(noisy[:, 3], rgb[:, 3].float())  # alpha bit-identical
    assert 0 <= noisy.min() and noisy.max() <= 255  # a camera saturates
    changed = noisy[:, :3] - rgb[:, :3].float()
    inside = (noisy[:, :3] > 0) & (noisy[:, :3] < 255)
    assert changed[inside].std().item() == pytest.approx(25.5, rel=0.15)  # 0.1 of full scale
    assert torch.equal(camera_noise(rgb, 0.0, torch.Generator()), rgb.float())
    as_float = rgb.float()
    camera_noise(as_float, 0.1, torch.Generator().manual_seed(0))
    assert torch.equal(as_float, rgb.float())  # a float32 input is not written to either


def test_range_noise_moves_valid_returns_along_their_ray_only(raw_data):
    _, xyza, _ = raw_data
    noisy = range_noise(xyza, 0.05, torch.Generator().manual_seed(0))
    valid = xyza[:, 3] > 0.5
    assert torch.equal(noisy[:, 3], xyza[:, 3])  # alpha bit-identical
    missing = (~valid).unsqueeze(1).expand(-1, 3, -1, -1)
    assert torch.equal(noisy[:, :3][missing], xyza[:, :3][missing])  # missing returns too
    before, after = xyza[:, :3].norm(dim=1), noisy[:, :3].norm(dim=1)
    assert (after - before)[valid].std().item() == pytest.approx(0.05, rel=0.15)  # metres
    cosine = torch.nn.functional.cosine_similarity(noisy[:, :3], xyza[:, :3], dim=1)
    assert torch.allclose(cosine[valid], torch.ones(()), atol=1e-6)  # same ray


def test_dropped_returns_become_missing_returns_and_nothing_else_changes(raw_data):
    _, xyza, _ = raw_data
    valid = xyza[:, 3] > 0.5
    dropped = drop_returns(xyza, 0.5, MAX_RANGE, torch.Generator().manual_seed(0))
    lost = valid & (dropped[:, 3] == 0)
    assert 0.4 < lost.sum() / valid.sum() < 0.6
    kept = ~lost.unsqueeze(1).expand(-1, 4, -1, -1)
    assert torch.equal(dropped[kept], xyza[kept])  # the rest bit-identical
    assert torch.allclose(dropped[:, :3].norm(dim=1)[lost], torch.tensor(MAX_RANGE))
    assert torch.equal(drop_returns(xyza, 0.0, MAX_RANGE, torch.Generator()), xyza)
    assert (drop_returns(xyza, 1.0, MAX_RANGE, torch.Generator())[:, 3] == 0).all()
    assert not torch.equal(dropped, drop_returns(xyza, 0.5, MAX_RANGE,
                                                 torch.Generator().manual_seed(1)))


def run_robustness(model, data, normalizer, seed=0):
    params = EvaluateParams(seed=seed, batch_size=16, rgb_noise_levels=(0.0, 0.2, 0.5),
                            range_noise_levels=(0.0, 0.5, 2.0), drop_levels=(0.0, 0.5, 1.0))
    return robustness(model, *data, normalizer, params, MAX_RANGE, "cpu")


def test_rgb_only_model_ignores_lidar_corruptions(raw_data, normalizer):
    model = RGBOnly()
    rgb, xyza, labels = raw_data
    logits = predict(model, normalizer.rgb(rgb), normalizer.xyza(xyza), 16, "cpu")
    clean = classification_metrics(logits, labels)
    _, summary, curves, per_sample = run_robustness(model, raw_data, normalizer)
    assert 0.6 < clean["accuracy"] < 1
    assert summary["accuracy_lidar_missing"] == clean["accuracy"]
    assert summary["robustness_lidar"] == pytest.approx(clean["accuracy"])
    assert summary["accuracy_rgb_missing"] == 0.5  # all-zero RGB: a tie, class 0 everywhere
    assert summary["robustness_rgb"] < clean["accuracy"]
    assert list(curves.columns) == ["corruption", "severity", "accuracy"]
    assert curves.groupby("corruption", sort=False).size().to_dict() == {
        "rgb_noise": 3, "range_noise": 3, "lidar_dropout": 3}
    for key, values in per_sample.items():  # per-sample scores average to the summary
        metric = key.replace("correct_", "accuracy_")
        assert values.shape == (60,) and values.mean() == pytest.approx(summary[metric])
    rgb_curve = curves[curves["corruption"] == "rgb_noise"]
    area = torch.trapezoid(torch.tensor(rgb_curve["accuracy"].to_numpy()),
                           torch.tensor([0.0, 0.4, 1.0])).item()  # severities rescaled to [0, 1]
    assert summary["robustness_rgb"] == pytest.approx(area)


def area(curve):
    """Area under accuracy vs severity, severities rescaled to [0, 1] (trapezoid rule)."""
    severity = torch.tensor(curve["severity"].to_numpy())
    x = (severity - severity[0]) / (severity[-1] - severity[0])
    return torch.trapezoid(torch.tensor(curve["accuracy"].to_numpy()), x).item()


def test_lidar_model_falls_along_both_lidar_curves_and_scores_their_mean_area(lidar_data,
                                                                              normalizer):
    params = EvaluateParams(batch_size=16, rgb_noise_levels=(0.0, 0.5),
                            range_noise_levels=(0.0, 3.0, 8.0), drop_levels=(0.0, 0.02, 0.1))
    _, summary, curves, _ = robustness(LidarOnly(), *lidar_data, normalizer, params, MAX_RANGE,
                                       "cpu")
    by_name = dict(tuple(curves.groupby("corruption", sort=False)))
    clean = by_name["rgb_noise"]["accuracy"].iloc[0]
    assert clean > 0.9
    for name in ("range_noise", "lidar_dropout"):
        assert (by_name[name]["accuracy"].diff().dropna() < 0).all(), name
    areas = area(by_name["range_noise"]), area(by_name["lidar_dropout"])
    assert abs(areas[0] - areas[1]) > 0.05  # one curve alone would not pass for their mean
    assert summary["robustness_lidar"] == pytest.approx(sum(areas) / 2)
    assert summary["accuracy_lidar_missing"] == 0.5  # a far object everywhere: all cubes
    assert summary["robustness_rgb"] == summary["accuracy_rgb_missing"] == clean


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
    params = EvaluateParams(batch_size=16, latency_repeats=3, rgb_noise_levels=(0.0, 0.2),
                            range_noise_levels=(0.0, 0.5), drop_levels=(0.0, 1.0))
    metrics, curves, predictions = evaluate_model(
        RGBOnly(), rgb, xyza, labels, rows, ["cubes", "spheres"], normalizer, params, MAX_RANGE,
        "cpu")
    assert set(metrics) == {
        "test_accuracy", "test_balanced_accuracy", "test_f1", "test_loss", "test_ece",
        "accuracy_rgb_missing", "accuracy_lidar_missing", "robustness_rgb", "robustness_lidar"}
    assert len(curves) == 6
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert predictions["row"].tolist() == rows
    assert set(predictions["actual"]) == {"cubes", "spheres"}
    assert predictions["correct"].mean() == pytest.approx(metrics["test_accuracy"])
    assert predictions["loss"].mean() == pytest.approx(metrics["test_loss"])
    assert ((predictions["p_sphere"] > 0.5) == (predictions["predicted"] == "spheres")).all()
    assert (predictions["confidence"] >= 0.5).all()
    assert set(cost(LinearPerModality(), SIZE, params, "cpu")) == {
        "params", "flops", "latency_ms", "throughput"}
