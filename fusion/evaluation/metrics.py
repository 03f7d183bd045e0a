"""Evaluate a trained fusion model: predictions, accuracy, calibration and cost (under faults:
`fusion.evaluation.robustness`).

Every function takes NORMALISED inputs (`fusion.data.normalize.Normalizer`): float (N, 4, H, W) RGB
and XYZA. A missing modality is an all-zero normalised tensor, i.e. the train-set mean.
"""

from __future__ import annotations

import statistics
import time

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from fusion import devices
from fusion.params import EvaluateParams

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


def check_scores(scores: torch.Tensor, labels: torch.Tensor) -> None:
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
    check_scores(logits, labels)
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
    check_scores(scores, labels)
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
    is 2 FLOPs; only matmuls, convolutions and attention are counted). Imported here: its
    0.2-0.4 s of imports (triton) are not for the stages that only predict (train, export)."""
    from torch.utils.flop_counter import FlopCounterMode

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
