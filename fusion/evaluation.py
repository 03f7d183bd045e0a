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
    """Logits (N, C), float32 on the CPU, of `model` in eval mode over batches of inputs."""
    _check_pair(rgb, xyza)
    if batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size}")
    model.eval()
    with torch.inference_mode():
        logits = [
            model(r.to(device), x.to(device)).float().cpu()
            for r, x in zip(rgb.split(batch_size), xyza.split(batch_size), strict=True)
        ]
    return torch.cat(logits)


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
# Corruptions of normalised batches (N, 4, H, W); the generator must live on the batch's device


def add_noise(x: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """`x` plus Gaussian noise of standard deviation `std` (normalised units)."""
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + std * noise


def drop_lidar_returns(
    xyza: torch.Tensor, fraction: float, normalizer: Normalizer, generator: torch.Generator
) -> torch.Tensor:
    """Make each pixel of each sample a missing return with probability `fraction`."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"drop fraction: expected a number in [0, 1], got {fraction}")
    n, _, h, w = xyza.shape
    draws = torch.rand((n, 1, h, w), generator=generator, device=xyza.device)
    return normalizer.drop_returns(xyza, draws < fraction)


def relative_robustness(severities: Sequence[float], accuracies: Sequence[float]) -> float:
    """Area under accuracy vs severity, severities rescaled to [0, 1] (trapezoid rule)."""
    x = torch.tensor(severities, dtype=torch.float64)
    y = torch.tensor(accuracies, dtype=torch.float64)
    if len(x) < 2 or len(x) != len(y) or not (x.diff() > 0).all():
        raise ValueError(
            f"expected at least two increasing severities with one accuracy each, got "
            f"{list(severities)} and {list(accuracies)}"
        )
    return torch.trapezoid(y, (x - x[0]) / (x[-1] - x[0])).item()


def robustness(
    model: nn.Module,
    rgb: torch.Tensor,
    xyza: torch.Tensor,
    labels: torch.Tensor,
    normalizer: Normalizer,
    noise_levels: Sequence[float],
    drop_levels: Sequence[float],
    batch_size: int,
    device: torch.device | str,
    seed: int,
) -> tuple[dict, pd.DataFrame]:
    """Accuracy under missing modalities and along three corruption curves.

    Curves (accuracy vs severity): `rgb_noise` and `lidar_noise` add Gaussian noise of each
    std in `noise_levels` to all channels of that normalised modality; `lidar_dropout` turns
    each pixel into a missing return with each probability in `drop_levels`. Every point
    draws from a fresh generator seeded with `seed`, so the numbers depend only on the seed
    and a point does not change when other levels are added.

    Summaries, MultiBench's relative robustness: the area under the accuracy-vs-severity
    curve with severities rescaled to [0, 1] (trapezoid rule), so 1 is perfect and a flat
    curve at accuracy q scores q. `robustness_rgb` is the area of `rgb_noise`;
    `robustness_lidar` the mean area of `lidar_noise` and `lidar_dropout`.
    `accuracy_rgb_missing` / `accuracy_lidar_missing` replace one modality by zeros.

    Returns the summary dict and the long curve table (corruption, severity, accuracy).
    """
    rgb, xyza, labels = rgb.cpu(), xyza.cpu(), labels.cpu()  # the generators live on the CPU

    def accuracy(rgb_in: torch.Tensor, xyza_in: torch.Tensor) -> float:
        logits = predict(model, rgb_in, xyza_in, batch_size, device)
        return classification_metrics(logits, labels)["accuracy"]

    corruptions = {  # name: (severities, (severity, generator) -> corrupted (rgb, xyza))
        "rgb_noise": (noise_levels, lambda s, g: (add_noise(rgb, s, g), xyza)),
        "lidar_noise": (noise_levels, lambda s, g: (rgb, add_noise(xyza, s, g))),
        "lidar_dropout": (
            drop_levels, lambda f, g: (rgb, drop_lidar_returns(xyza, f, normalizer, g))
        ),
    }
    clean = accuracy(rgb, xyza)  # severity 0 of every curve
    curves = pd.DataFrame(
        [
            (name, float(level), accuracy(*corrupt(level, torch.Generator().manual_seed(seed)))
             if level > 0 else clean)
            for name, (levels, corrupt) in corruptions.items()
            for level in levels
        ],
        columns=CURVE_COLUMNS,
    )
    area = {
        name: relative_robustness(curve["severity"].tolist(), curve["accuracy"].tolist())
        for name, curve in curves.groupby("corruption", sort=False)
    }
    summary = {
        "accuracy_rgb_missing": accuracy(torch.zeros_like(rgb), xyza),
        "accuracy_lidar_missing": accuracy(rgb, torch.zeros_like(xyza)),
        "robustness_rgb": area["rgb_noise"],
        "robustness_lidar": (area["lidar_noise"] + area["lidar_dropout"]) / 2,
    }
    return summary, curves


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
    predictions: pd.DataFrame  # row, actual, predicted, p_sphere, correct


def predictions_table(
    logits: torch.Tensor, labels: torch.Tensor, rows: Sequence[int], classes: Sequence[str]
) -> pd.DataFrame:
    """One row per sample: its `row` in the prepared arrays, actual and predicted class names,
    the probability of class 1 (`p_sphere`) and whether the prediction is right."""
    _check_scores(logits, labels)
    if len(rows) != len(labels) or len(classes) != logits.shape[1]:
        raise ValueError(
            f"expected one row index per sample and one class name per logit, got "
            f"{len(rows)} rows, {len(classes)} classes for logits {tuple(logits.shape)}"
        )
    names = np.asarray(classes)
    predicted = logits.argmax(dim=1)
    return pd.DataFrame(
        {
            "row": np.asarray(rows),
            "actual": names[labels.numpy()],
            "predicted": names[predicted.numpy()],
            "p_sphere": logits.softmax(dim=1)[:, 1].numpy(),
            "correct": (predicted == labels).numpy(),
        }
    )


def evaluate_model(
    model: nn.Module,
    rgb: torch.Tensor,
    xyza: torch.Tensor,
    labels: torch.Tensor,
    rows: Sequence[int],
    classes: Sequence[str],
    normalizer: Normalizer,
    params: EvaluateParams,
    device: torch.device | str,
) -> Evaluation:
    """Test metrics, robustness and cost of `model` on normalised test inputs.

    `metrics` has test_{accuracy, balanced_accuracy, f1, loss, ece}, accuracy_rgb_missing,
    accuracy_lidar_missing, robustness_rgb, robustness_lidar, params, flops, latency_ms and
    throughput (samples/s at `params.batch_size`).
    """
    labels = labels.cpu()
    logits = predict(model, rgb, xyza, params.batch_size, device)
    test = classification_metrics(logits, labels, params.ece_bins)
    robust, curves = robustness(
        model, rgb, xyza, labels, normalizer, params.noise_levels, params.drop_levels,
        params.batch_size, device, params.seed,
    )
    image_size = rgb.shape[-1]
    metrics = {
        **{f"test_{key}": value for key, value in test.items()},
        **robust,
        "params": count_parameters(model),
        "flops": flops_per_sample(model, image_size, device),
        "latency_ms": latency_ms(model, image_size, device, params.latency_repeats),
        "throughput": throughput(model, image_size, device, params.batch_size),
    }
    return Evaluation(metrics, curves, predictions_table(logits, labels, rows, classes))
