"""A model under the fault suite, and everything the evaluation keeps of one model: test metrics,
relative accuracies under faults, and the per-sample table the comparison works from.

Inputs are RAW (uint8 RGBA, XYZA in metres): faults act in the sensors' units
(`fusion.faults`), then each model's `Normalizer` applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from fusion.data.normalize import Normalizer
from fusion.evaluation.metrics import check_scores, classification_metrics, predict
from fusion.faults import suite
from fusion.faults.rig import Rig
from fusion.params import EvaluateParams

CURVE_COLUMNS = ["fault", "severity", "accuracy", "samples"]


class FaultedInputs(NamedTuple):
    """The test split under each fault group (`fusion.faults.suite`), RAW: the same for every
    model, so built once per evaluation."""

    cell: dict[str, np.ndarray]  # group -> (N,) the sample's cell
    inputs: dict[str, tuple[torch.Tensor, torch.Tensor]]  # group -> raw (rgb, xyza)

    @classmethod
    def build(cls, rgb: torch.Tensor, xyza: torch.Tensor, seed: int, max_range: float,
              rig: Rig) -> FaultedInputs:
        cell, inputs = {}, {}
        for group in (*suite.GROUPS, suite.CONTROL):
            cell[group] = suite.assign(len(rgb), group, seed)
            inputs[group] = suite.corrupt(rgb, xyza, group, cell[group], seed, max_range, rig)
        return cls(cell, inputs)


class Robustness(NamedTuple):
    logits: torch.Tensor  # (N, C) of the clean inputs, on the CPU
    summary: dict  # accuracy_{rgb,lidar}_missing, ra_<group>, mRA, ra_<fault>
    curves: pd.DataFrame  # CURVE_COLUMNS: a row per cell
    per_sample: dict[str, np.ndarray]  # per test sample (N,): correct_{rgb,lidar}_missing,
    # cell_<group>, correct_<group>


def robustness(
    model: nn.Module,
    rgb: torch.Tensor,
    xyza: torch.Tensor,
    labels: torch.Tensor,
    faulted: FaultedInputs,
    normalizer: Normalizer,
    batch_size: int,
    device: torch.device | str,
) -> Robustness:
    """Accuracy with a modality missing and under the fault suite, from RAW inputs.

    `accuracy_rgb_missing` / `accuracy_lidar_missing` replace one modality by its train mean
    (zeros once normalised). Under faults: per sample, whether it is right under its cell of
    each group (`correct_<group>`); per cell, the accuracy (`curves`); per seed, relative
    accuracies (`fusion.faults.suite.relative_columns`). Also returns the clean pass's logits,
    so that callers need not run it again.
    """
    labels = labels.cpu()

    def correct(rgb_in: torch.Tensor, xyza_in: torch.Tensor) -> np.ndarray:  # normalised
        logits = predict(model, rgb_in, xyza_in, batch_size, device)
        return (logits.argmax(dim=1) == labels).double().numpy()  # (N,) 1.0 where right

    def normalised(rgb_in: torch.Tensor, xyza_in: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return normalizer.rgb(rgb_in.to(device)), normalizer.xyza(xyza_in.to(device))

    clean_rgb, clean_xyza = normalised(rgb, xyza)
    clean_logits = predict(model, clean_rgb, clean_xyza, batch_size, device)
    clean = (clean_logits.argmax(dim=1) == labels).double().numpy()
    per_sample = {
        "correct_rgb_missing": correct(torch.zeros_like(clean_rgb), clean_xyza),
        "correct_lidar_missing": correct(clean_rgb, torch.zeros_like(clean_xyza)),
    }
    under = {group: correct(*normalised(*faulted.inputs[group])) for group in faulted.inputs}
    rows = []
    for group, hits in under.items():
        cell = faulted.cell[group]
        for k, (fault, severity) in enumerate(suite.cells(group)):
            rows.append((fault, float(severity), float(hits[cell == k].mean()),
                         int((cell == k).sum())))
        per_sample |= {f"cell_{group}": cell, f"correct_{group}": hits}
    relative = suite.relative_columns(clean, under, faulted.cell)
    summary = {key.replace("correct_", "accuracy_"): float(per_sample[key].mean())
               for key in ("correct_rgb_missing", "correct_lidar_missing")}
    summary |= {key: float(value.mean()) for key, value in relative.items()
                if not key.startswith("accuracy_")}
    return Robustness(clean_logits, summary, pd.DataFrame(rows, columns=CURVE_COLUMNS),
                      per_sample)


class Evaluation(NamedTuple):
    metrics: dict  # flat, JSON-ready
    curves: pd.DataFrame  # CURVE_COLUMNS
    predictions: pd.DataFrame  # one row per test sample: PREDICTION_COLUMNS


PREDICTION_COLUMNS = ["row", "actual", "predicted", "p_sphere", "confidence", "loss", "correct",
                      "correct_rgb_missing", "correct_lidar_missing",
                      *(f"{kind}_{g}" for g in suite.GROUPS for kind in ("cell", "correct")),
                      f"correct_{suite.CONTROL}"]


def predictions_table(
    logits: torch.Tensor,
    labels: torch.Tensor,
    rows: Sequence[int],
    classes: Sequence[str],
    per_sample: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One row per sample: its `row` in the prepared arrays, actual and predicted class names,
    the probability of class 1 (`p_sphere`), the top-1 probability (`confidence`), its
    cross-entropy (`loss`), whether it is right, and the per-sample robustness results."""
    check_scores(logits, labels)
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
    faulted: FaultedInputs,
    normalizer: Normalizer,
    params: EvaluateParams,
    device: torch.device | str,
) -> Evaluation:
    """Test metrics and robustness of `model` on RAW test inputs (uint8 RGBA, XYZA in metres)
    and the same inputs under the fault suite (`faulted`).

    `metrics` has test_{accuracy, balanced_accuracy, f1, loss, ece}, accuracy_rgb_missing,
    accuracy_lidar_missing, ra_<group>, ra_<fault> and mRA.
    """
    labels = labels.cpu()
    robust = robustness(model, rgb, xyza, labels, faulted, normalizer, params.batch_size, device)
    logits = robust.logits  # the clean pass, run once
    test = classification_metrics(logits, labels, params.ece_bins)
    metrics = {**{f"test_{key}": value for key, value in test.items()}, **robust.summary}
    predictions = predictions_table(logits, labels, rows, classes, robust.per_sample)
    return Evaluation(metrics, robust.curves, predictions)
