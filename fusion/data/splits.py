"""Leakage-free, stratified train/val/test split.

Samples with identical RGB and depth content (the same `hash` in the prepared index) form one
group, and a group never straddles two splits: one of the seed notebooks added every pair twice,
so copies sat in train and validation. Groups are shuffled per class with `seed` and dealt to
test, then val, until each holds its share of the class; the rest is train. A share is a
fraction of the class (`val`, `test` < 1) or, for a sample count (>= 1), the class's part of
that count, so a test set of fixed size keeps the class balance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def make_splits(index: pd.DataFrame, val: float, test: float, seed: int) -> dict:
    """index: columns row, label, hash -> {"train": rows, "val": rows, "test": rows, ...}."""
    counts = [v for v in (val, test) if v >= 1]
    if sum(counts) >= len(index):
        raise ValueError(f"split: val {val} and test {test} leave no training sample of the "
                         f"{len(index)}")
    groups = index.groupby("hash", sort=True).agg(
        label=("label", lambda s: s.mode().iloc[0]),  # majority label of identical samples
        rows=("row", list),
        labels=("label", "nunique"),
    )
    rng = np.random.default_rng(seed)
    assigned = {name: [] for name in SPLITS}
    for _, by_class in groups.groupby("label", sort=True):
        order = rng.permutation(len(by_class))
        sizes = by_class["rows"].str.len().to_numpy()[order]
        filled = np.cumsum(sizes) - sizes  # samples dealt before each group
        n = sizes.sum()
        share = [v * n / (len(index) if v >= 1 else 1) for v in (test, val)]
        bounds = [round(share[0]), round(share[0] + share[1])]  # deal test, then val, then train
        dealt_to = np.searchsorted(bounds, filled, side="right")  # 0 test, 1 val, 2 train
        for group_rows, split in zip(by_class["rows"].to_numpy()[order], dealt_to, strict=True):
            assigned[("test", "val", "train")[split]].extend(group_rows)
    labels = index.set_index("row")["label"]
    duplicated = groups[groups["rows"].str.len() > 1]
    return {
        "seed": seed,
        **{name: sorted(int(r) for r in rows) for name, rows in assigned.items()},
        "counts": {
            name: {str(k): int(v) for k, v in labels.loc[rows].value_counts().sort_index().items()}
            for name, rows in assigned.items()
        },
        "duplicates": {
            "groups": len(duplicated),
            "samples": int(duplicated["rows"].str.len().sum()),
            "label_conflicts": int((groups["labels"] > 1).sum()),
        },
    }
