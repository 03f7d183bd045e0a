"""Per-channel statistics of the train split, for `fusion.data.normalize.Normalizer`.

RGB is measured in [0, 1]. XYZ is measured over valid returns only (a = 1): a missing return
sits at the max range and would otherwise dominate the statistics. The alpha channel is
measured over all pixels. A constant channel (std below 1e-6, e.g. RGB alpha) gets std 1.
"""

from __future__ import annotations

import numpy as np

CHUNK = 1024  # samples per accumulation step: bounded memory at any data set size


def _moments(total: np.ndarray, total_sq: np.ndarray, count: np.ndarray) -> tuple[list, list]:
    mean = total / np.maximum(count, 1)
    std = np.sqrt(np.maximum(total_sq / np.maximum(count, 1) - mean**2, 0.0))
    std = np.where(std < 1e-6, 1.0, std)
    return mean.tolist(), std.tolist()


def compute_stats(rgb: np.ndarray, xyza: np.ndarray, rows: np.ndarray) -> dict:
    """rgb uint8 (N, 4, H, W), xyza float32 (N, 4, H, W), rows: train indices -> stats dict."""
    if len(rows) == 0:
        raise ValueError("cannot compute statistics of an empty train split")
    rows = np.sort(np.asarray(rows))
    sums = {k: np.zeros(4) for k in ("rgb", "rgb_sq", "xyza", "xyza_sq", "n_xyza")}
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        x = rgb[chunk].astype(np.float64) / 255.0
        sums["rgb"] += x.sum(axis=(0, 2, 3))
        sums["rgb_sq"] += (x**2).sum(axis=(0, 2, 3))
        p = xyza[chunk].astype(np.float64)
        weight = np.concatenate([np.repeat(p[:, 3:4], 3, axis=1), np.ones_like(p[:, 3:4])], 1)
        sums["xyza"] += (p * weight).sum(axis=(0, 2, 3))
        sums["xyza_sq"] += (p**2 * weight).sum(axis=(0, 2, 3))
        sums["n_xyza"] += weight.sum(axis=(0, 2, 3))
    pixels = len(rows) * rgb.shape[2] * rgb.shape[3]
    rgb_mean, rgb_std = _moments(sums["rgb"], sums["rgb_sq"], np.full(4, pixels))
    xyza_mean, xyza_std = _moments(sums["xyza"], sums["xyza_sq"], sums["n_xyza"])
    return {
        "rgb_mean": rgb_mean,
        "rgb_std": rgb_std,
        "xyza_mean": xyza_mean,
        "xyza_std": xyza_std,
        "train_samples": len(rows),
        "valid_return_fraction": float(sums["n_xyza"][0] / pixels),
    }
