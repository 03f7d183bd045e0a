"""Evaluate a trained fusion model: accuracy, calibration, robustness to corruptions, and cost.

Every function takes NORMALISED inputs (`fusion.normalize.Normalizer`): float (N, 4, H, W) RGB
and XYZA. A missing modality is an all-zero normalised tensor, i.e. the train-set mean.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fusion import devices
from fusion.normalize import Normalizer
from fusion.params import EvaluateParams

CURVE_COLUMNS = ["corruption", "severity", "accuracy"]
WARMUP = 3  # untimed forward passes before timing


# --------------------------------------------------------------------------------------------
# Prediction and metrics


def _check_pair(rgb: torch.Tensor, xyza: torch.Tensor) -> None:
    if rgb.ndim != 4 or rgb.shape != xyza.shape:
        raise ValueError(
            f"expected rgb and xyza of the same shape (N, 4, H, W), got {tuple(rgb.shape)} "
            f"and {tuple(xyza.shape)}"
        )


def predict(
    model: nn.Module,
    rgb: torch.Tensor,
    xyza: torch.Tensor,
    batch_size: int,
    device: torch.device | str,
) -> torch.Tensor:
    """Logits (..., N, C), float32 on the CPU, of `model` in eval mode over batches of inputs.

    A model's leading output dims (a `SeedStack`'s members) are kept: batches join on dim -2.
    """
    _check_pair(rgb, xyza)
    if batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size}")
    layout = devices.memory_format(torch.device(device))  # the layout the weights have
    model.eval()
    with torch.inference_mode():
        logits = [
            model(*(t.to(device, memory_format=layout) for t in batch)).float().cpu()
            for batch in zip(rgb.split(batch_size), xyza.split(batch_size), strict=True)
        ]
    return torch.cat(logits, dim=-2)


def _check_scores(scores: torch.Tensor, labels: torch.Tensor) -> None:
    if scores.ndim != 2 or labels.ndim != 1 or len(scores) != len(labels) or not len(labels):
        raise ValueError(
            f"expected scores (N, C) and labels (N,) with N > 0, got {tuple(scores.shape)} "
            f"and {tuple(labels.shape)}"
        )
    if not torch.isfinite(scores).all():
        raise ValueError(f"{int((~torch.isfinite(scores)).sum())} scores are NaN or infinite")
    if labels.dtype.is_floating_point or labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError(f"labels: expected integer classes in [0, {scores.shape[1]})")
    if scores.device != labels.device:
        raise ValueError(f"scores on {scores.device} but labels on {labels.device}")


def _calibration_bins(
    probs: torch.Tensor, labels: torch.Tensor, bins: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per equal-width bin ((k-1)/bins, k/bins] of top-1 confidence: count, sum of
    confidences and number correct, each (bins,) float64."""
    if bins < 1:
        raise ValueError(f"bins: expected an integer >= 1, got {bins}")
    confidence, predicted = probs.double().max(dim=1)
    correct = (predicted == labels).double()
    bin_index = (confidence * bins).ceil().long().clamp(1, bins) - 1  # (N,)
    count = torch.bincount(bin_index, minlength=bins).double()
    return (
        count,
        torch.bincount(bin_index, weights=confidence, minlength=bins),
        torch.bincount(bin_index, weights=correct, minlength=bins),
    )


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> dict:
    """Accuracy, balanced accuracy, macro F1, mean cross-entropy and ECE of logits (N, C).

    Balanced accuracy averages the recall of the classes present in `labels`; macro F1
    averages 2 TP / (2 TP + FP + FN) over all C classes (0 for a class never true nor
    predicted). ECE is sum_b |correct_b - confidence_b| / N over `bins` equal-width bins of
    top-1 confidence, i.e. the bin-size-weighted gap between accuracy and confidence.
    """
    _check_scores(logits, labels)
    labels = labels.long()
    classes = logits.shape[1]
    predicted = logits.argmax(dim=1)
    confusion = torch.bincount(labels * classes + predicted, minlength=classes**2)
    confusion = confusion.view(classes, classes).double()  # [actual, predicted]
    true_positive, actual, guessed = confusion.diag(), confusion.sum(1), confusion.sum(0)
    present = actual > 0
    recall = true_positive[present] / actual[present]
    f1 = 2 * true_positive / (actual + guessed).clamp(min=1)
    _, confidence, correct = _calibration_bins(logits.double().softmax(dim=1), labels, bins)
    return {
        "accuracy": (predicted == labels).double().mean().item(),
        "balanced_accuracy": recall.mean().item(),
        "f1": f1.mean().item(),
        "loss": F.cross_entropy(logits.double(), labels).item(),
        "ece": ((correct - confidence).abs().sum() / len(labels)).item(),
    }


def reliability(
    scores: torch.Tensor, labels: torch.Tensor, bins: int = 15, from_logits: bool = True
) -> pd.DataFrame:
    """Reliability-diagram table, a row per confidence bin: `lower`, `upper` (edges),
    `count`, `confidence` (mean top-1 confidence) and `accuracy` (NaN in empty bins).

    `scores` are logits (N, C), or probabilities when `from_logits` is False.
    """
    _check_scores(scores, labels)
    probs = scores.double().softmax(dim=1) if from_logits else scores
    count, confidence, correct = _calibration_bins(probs, labels, bins)
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    return pd.DataFrame(  # an empty bin's means are 0 / 0 = NaN
        {
            "lower": edges[:-1].numpy(),
            "upper": edges[1:].numpy(),
            "count": count.long().numpy(),
            "confidence": (confidence / count).numpy(),
            "accuracy": (correct / count).numpy(),
        }
    )


# --------------------------------------------------------------------------------------------
# Corruptions of RAW inputs, in the sensor's units (those of the `synthetic` noise params).
# Each touches only what its sensor would: the rest stays bit-identical. Generators on the CPU.

MIN_RANGE = 0.01  # metres: range noise never moves a return behind the sensor


def camera_noise(rgb: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """RGBA (N, 4, H, W) in [0, 255] -> float, Gaussian noise of `std` (a fraction of full scale)
    on the colour channels, clipped to the sensor's range; alpha untouched."""
    out = rgb.to(torch.float32, copy=True)  # never the input itself, also when float32
    noise = torch.randn(out[:, :3].shape, generator=generator, device=out.device)
    out[:, :3] = (out[:, :3] + 255 * std * noise).clamp_(0, 255)
    return out


def _ranges(xyza: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(range (N, 1, H, W) in metres, valid-return mask (N, 1, H, W)) of raw XYZA."""
    return xyza[:, :3].norm(dim=1, keepdim=True), xyza[:, 3:] > 0.5


def range_noise(xyza: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Raw XYZA with Gaussian noise of `std` metres on the range of each valid return, the point
    moved along its ray; missing returns and the alpha channel untouched."""
    distance, valid = _ranges(xyza)
    noise = torch.randn(distance.shape, generator=generator, device=xyza.device)
    scale = (distance + std * noise).clamp_min(MIN_RANGE) / distance.clamp_min(MIN_RANGE)
    xyz = torch.where(valid, xyza[:, :3] * scale, xyza[:, :3])
    return torch.cat([xyz, xyza[:, 3:]], dim=1)


def drop_returns(xyza: torch.Tensor, fraction: float, max_range: float,
                 generator: torch.Generator) -> torch.Tensor:
    """Raw XYZA where each valid return is lost with probability `fraction`: it becomes a
    missing return as the sensor writes one (at `max_range` along its ray, alpha 0)."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"drop fraction: expected a number in [0, 1], got {fraction}")
    distance, valid = _ranges(xyza)
    draws = torch.rand(distance.shape, generator=generator, device=xyza.device)
    drop = valid & (draws < fraction)
    xyz = torch.where(drop, xyza[:, :3] * (max_range / distance.clamp_min(MIN_RANGE)),
                      xyza[:, :3])
    return torch.cat([xyz, xyza[:, 3:].masked_fill(drop, 0.0)], dim=1)


class Robustness(NamedTuple):
    logits: torch.Tensor  # (N, C) of the clean inputs, on the CPU
    summary: dict  # accuracy_{rgb,lidar}_missing, robustness_{rgb,lidar}
    curves: pd.DataFrame  # corruption, severity, accuracy
    per_sample: dict[str, np.ndarray]  # per test sample (N,): correct_{rgb,lidar}_missing,
    # robustness_{rgb,lidar}


def robustness(
    model: nn.Module,
    rgb: torch.Tensor,
    xyza: torch.Tensor,
    labels: torch.Tensor,
    normalizer: Normalizer,
    params: EvaluateParams,
    max_range: float,
    device: torch.device | str,
) -> Robustness:
    """Accuracy under a missing modality and along three corruption curves of RAW inputs.

    Curves (accuracy vs severity): `rgb_noise` (camera noise, a fraction of full scale, at each
    of `params.rgb_noise_levels`), `range_noise` (metres, `range_noise_levels`) and
    `lidar_dropout` (fraction of returns lost, `drop_levels`). Every point draws from a fresh
    generator seeded with `params.seed`: the numbers depend only on the seed, every model sees
    the same corrupted samples, and a point does not change when other levels are added.

    Summaries, MultiBench's relative robustness: the area under the accuracy-vs-severity curve
    with severities rescaled to [0, 1] (trapezoid rule), so 1 is perfect and a flat curve at
    accuracy q scores q. `robustness_rgb` is the area of `rgb_noise`; `robustness_lidar` the
    mean area of `range_noise` and `lidar_dropout`. The area is linear in the accuracies, so it
    is also the mean over samples of a per-sample area (`per_sample`), which the comparison
    bootstraps. `accuracy_rgb_missing` / `accuracy_lidar_missing` replace one modality by its
    train mean (zeros once normalised). Also returns the clean pass's logits, so that callers
    need not run it again.
    """
    labels = labels.cpu()

    def logits_of(rgb_in: torch.Tensor, xyza_in: torch.Tensor) -> torch.Tensor:  # (N, C)
        return predict(model, rgb_in, xyza_in, params.batch_size, device)

    def correct(rgb_in: torch.Tensor, xyza_in: torch.Tensor) -> torch.Tensor:  # (N,) bool
        return logits_of(rgb_in, xyza_in).argmax(dim=1) == labels

    def normalised(rgb_in: torch.Tensor, xyza_in: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return normalizer.rgb(rgb_in.to(device)), normalizer.xyza(xyza_in.to(device))

    corruptions = {  # name: (severities, (severity, generator) -> corrupted raw (rgb, xyza))
        "rgb_noise": (params.rgb_noise_levels, lambda s, g: (camera_noise(rgb, s, g), xyza)),
        "range_noise": (params.range_noise_levels, lambda s, g: (rgb, range_noise(xyza, s, g))),
        "lidar_dropout": (
            params.drop_levels, lambda f, g: (rgb, drop_returns(xyza, f, max_range, g))
        ),
    }
    clean_rgb, clean_xyza = normalised(rgb, xyza)
    clean_logits = logits_of(clean_rgb, clean_xyza)
    clean = clean_logits.argmax(dim=1) == labels  # severity 0 of every curve
    rows, areas = [], {}
    for name, (levels, corrupt) in corruptions.items():
        points = torch.stack([
            correct(*normalised(*corrupt(level, torch.Generator().manual_seed(params.seed))))
            if level > 0 else clean
            for level in levels
        ]).double()  # (levels, N)
        rows += [(name, float(level), p.mean().item())
                 for level, p in zip(levels, points, strict=True)]
        x = torch.tensor(levels, dtype=torch.float64)
        areas[name] = torch.trapezoid(points, (x - x[0]) / (x[-1] - x[0]), dim=0)  # (N,)
    per_sample = {
        "correct_rgb_missing": correct(torch.zeros_like(clean_rgb), clean_xyza).double(),
        "correct_lidar_missing": correct(clean_rgb, torch.zeros_like(clean_xyza)).double(),
        "robustness_rgb": areas["rgb_noise"],
        "robustness_lidar": (areas["range_noise"] + areas["lidar_dropout"]) / 2,
    }
    per_sample = {key: value.numpy() for key, value in per_sample.items()}
    summary = {key.replace("correct_", "accuracy_"): float(value.mean())
               for key, value in per_sample.items()}
    return Robustness(clean_logits, summary, pd.DataFrame(rows, columns=CURVE_COLUMNS),
                      per_sample)


# --------------------------------------------------------------------------------------------
# Cost


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _blank_inputs(
    image_size: int, batch_size: int, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """All-zero normalised (rgb, xyza), each (batch_size, 4, image_size, image_size)."""
    shape = (batch_size, 4, image_size, image_size)
    return torch.zeros(shape, device=device), torch.zeros(shape, device=device)


def flops_per_sample(model: nn.Module, image_size: int, device: torch.device | str) -> int:
    """FLOPs of one batch-1 forward as PyTorch's FlopCounterMode counts them (a multiply-add
    is 2 FLOPs; only matmuls, convolutions and attention are counted)."""
    inputs = _blank_inputs(image_size, 1, device)
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(*inputs)
    return counter.get_total_flops()


def _forward_seconds(
    model: nn.Module, image_size: int, device: torch.device | str, batch_size: int, repeats: int
) -> list[float]:
    """Wall time of `repeats` forward passes on a batch, after WARMUP untimed ones."""
    if repeats < 1:
        raise ValueError(f"repeats: expected an integer >= 1, got {repeats}")
    device = torch.device(device)
    inputs = _blank_inputs(image_size, batch_size, device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    model.eval()
    seconds = []
    with torch.inference_mode():
        for step in range(WARMUP + repeats):
            sync()
            start = time.perf_counter()
            model(*inputs)
            sync()
            if step >= WARMUP:
                seconds.append(time.perf_counter() - start)
    return seconds


def latency_ms(
    model: nn.Module, image_size: int, device: torch.device | str, repeats: int = 30
) -> float:
    """Median wall time of a batch-1 forward pass, in milliseconds."""
    return 1000 * statistics.median(_forward_seconds(model, image_size, device, 1, repeats))


def throughput(
    model: nn.Module,
    image_size: int,
    device: torch.device | str,
    batch_size: int = 256,
    repeats: int = 5,
) -> float:
    """Samples per second of forward passes at `batch_size` (median over `repeats`)."""
    seconds = _forward_seconds(model, image_size, device, batch_size, repeats)
    return batch_size / statistics.median(seconds)


# --------------------------------------------------------------------------------------------
# Everything for one model


class Evaluation(NamedTuple):
    metrics: dict  # flat, JSON-ready
    curves: pd.DataFrame  # corruption, severity, accuracy
    predictions: pd.DataFrame  # one row per test sample: PREDICTION_COLUMNS


PREDICTION_COLUMNS = ["row", "actual", "predicted", "p_sphere", "confidence", "loss", "correct",
                      "correct_rgb_missing", "correct_lidar_missing", "robustness_rgb",
                      "robustness_lidar"]


def predictions_table(
    logits: torch.Tensor,
    labels: torch.Tensor,
    rows: Sequence[int],
    classes: Sequence[str],
    per_sample: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per sample: its `row` in the prepared arrays, actual and predicted class names,
    the probability of class 1 (`p_sphere`), the top-1 probability (`confidence`), its
    cross-entropy (`loss`), whether it is right, and the per-sample robustness scores."""
    _check_scores(logits, labels)
    if len(rows) != len(labels) or len(classes) != logits.shape[1]:
        raise ValueError(
            f"expected one row index per sample and one class name per logit, got "
            f"{len(rows)} rows, {len(classes)} classes for logits {tuple(logits.shape)}"
        )
    names = np.asarray(classes)
    probs = logits.double().softmax(dim=1)
    confidence, predicted = probs.max(dim=1)
    table = pd.DataFrame({
        "row": np.asarray(rows),
        "actual": names[labels.numpy()],
        "predicted": names[predicted.numpy()],
        "p_sphere": probs[:, 1].numpy(),
        "confidence": confidence.numpy(),
        "loss": F.cross_entropy(logits.double(), labels, reduction="none").numpy(),
        "correct": (predicted == labels).numpy(),
        **per_sample,
    })
    return table[PREDICTION_COLUMNS]


def evaluate_model(
    model: nn.Module,
    rgb: torch.Tensor,
    xyza: torch.Tensor,
    labels: torch.Tensor,
    rows: Sequence[int],
    classes: Sequence[str],
    normalizer: Normalizer,
    params: EvaluateParams,
    max_range: float,
    device: torch.device | str,
) -> Evaluation:
    """Test metrics and robustness of `model` on RAW test inputs (uint8 RGBA, XYZA in metres).

    `metrics` has test_{accuracy, balanced_accuracy, f1, loss, ece}, accuracy_rgb_missing,
    accuracy_lidar_missing, robustness_rgb and robustness_lidar.
    """
    labels = labels.cpu()
    robust = robustness(model, rgb, xyza, labels, normalizer, params, max_range, device)
    logits = robust.logits  # the clean pass, run once
    test = classification_metrics(logits, labels, params.ece_bins)
    metrics = {**{f"test_{key}": value for key, value in test.items()}, **robust.summary}
    predictions = predictions_table(logits, labels, rows, classes, robust.per_sample)
    return Evaluation(metrics, robust.curves, predictions)


def cost(model: nn.Module, image_size: int, params: EvaluateParams,
         device: torch.device | str) -> dict:
    """Parameters, FLOPs per sample, batch-1 latency (ms) and throughput (samples/s at
    `params.batch_size`): properties of the architecture, the same for every seed's weights."""
    return {
        "params": count_parameters(model),
        "flops": flops_per_sample(model, image_size, device),
        "latency_ms": latency_ms(model, image_size, device, params.latency_repeats),
        "throughput": throughput(model, image_size, device, params.batch_size),
    }
