"""The prepared cache that `prepare` writes, in memory: what every later stage loads.

Kept apart from `fusion.data.dataset` (the decoding), so that a change to how raw files are decoded
re-runs only `prepare`, and the stages that read its output re-run only if the bytes change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Prepared:
    """The prepared data in memory."""

    rgb: np.ndarray  # uint8 (N, 4, H, W)
    xyza: np.ndarray  # float32 (N, 4, H, W)
    labels: np.ndarray  # int64 (N,)
    index: pd.DataFrame  # row, id, class, label, hash
    classes: list[str]

    @property
    def image_size(self) -> int:
        return self.rgb.shape[-1]


def load_prepared(folder: str | Path, mmap: bool = False) -> Prepared:
    """Load the cache written by `prepare`, checking that its parts agree."""
    folder = Path(folder)
    names = ("rgb.npy", "xyza.npy", "labels.npy", "index.csv", "report.json")
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: prepared cache incomplete, missing {missing} "
                                "(run the `prepare` stage)")
    mode = "r" if mmap else None
    rgb = np.load(folder / "rgb.npy", mmap_mode=mode)
    xyza = np.load(folder / "xyza.npy", mmap_mode=mode)
    labels = np.load(folder / "labels.npy")
    index = pd.read_csv(folder / "index.csv")
    n = len(index)
    if not (rgb.shape[0] == xyza.shape[0] == labels.shape[0] == n) or rgb.shape != xyza.shape:
        raise ValueError(f"{folder}: cache parts disagree: rgb {rgb.shape}, xyza {xyza.shape}, "
                         f"labels {labels.shape}, index {n} rows")
    report = json.loads((folder / "report.json").read_text())
    classes = sorted(report["classes"], key=lambda name: report["classes"][name]["label"])
    return Prepared(rgb, xyza, labels, index, classes)
