"""split: disjoint, stratified, deterministic, duplicates kept together; stats: train rows only."""

import numpy as np
import pandas as pd
import pytest

from fusion.data.splits import make_splits
from fusion.data.stats import compute_stats


def make_index(n_cubes=300, n_spheres=700, duplicated=()):
    labels = [0] * n_cubes + [1] * n_spheres
    hashes = [f"h{i}" for i in range(len(labels))]
    for copy, original in duplicated:  # identical content -> identical hash
        hashes[copy] = hashes[original]
    return pd.DataFrame({"row": range(len(labels)), "label": labels, "hash": hashes})


def test_splits_are_disjoint_complete_and_stratified():
    index = make_index()
    s = make_splits(index, val=0.15, test=0.2, seed=3)
    parts = [set(s[k]) for k in ("train", "val", "test")]
    assert sum(map(len, parts)) == len(index) == len(set.union(*parts))
    for name, fraction in (("val", 0.15), ("test", 0.2)):
        assert s["counts"][name] == {"0": round(300 * fraction), "1": round(700 * fraction)}


def test_splits_are_deterministic_per_seed():
    index = make_index()
    assert make_splits(index, 0.1, 0.1, seed=0) == make_splits(index, 0.1, 0.1, seed=0)
    assert make_splits(index, 0.1, 0.1, seed=0)["test"] != make_splits(index, 0.1, 0.1, 1)["test"]


def test_duplicates_never_straddle_two_splits():
    # Every pair added twice, as in one of the seed notebooks.
    n = 200
    index = make_index(n, n, duplicated=[(i + 1, i) for i in range(0, 2 * n, 2)])
    for seed in range(5):
        s = make_splits(index, 0.2, 0.2, seed)
        where = {row: name for name in ("train", "val", "test") for row in s[name]}
        for first in range(0, 2 * n, 2):
            assert where[first] == where[first + 1]
        assert s["duplicates"] == {"groups": n, "samples": 2 * n, "label_conflicts": 0}


def test_stats_use_the_train_split_only():
    n, size = 10, 4
    rgb = np.zeros((n, 4, size, size), np.uint8)
    xyza = np.zeros((n, 4, size, size), np.float32)
    train = np.array([0, 2, 4])
    rgb[train, 0] = 255  # red only in train rows
    rgb[:, 3] = 255
    xyza[:, 1] = 100.0  # y at every pixel of every sample ...
    xyza[train, 1, :2] = 10.0  # ... but train rows have returns at 10 m on half the pixels
    xyza[train, 3, :2] = 1.0
    stats = compute_stats(rgb, xyza, train)
    assert stats["rgb_mean"][:3] == pytest.approx([1.0, 0.0, 0.0])
    assert stats["rgb_std"][3] == 1.0  # constant alpha: std 1, not 0
    assert stats["xyza_mean"][1] == pytest.approx(10.0)  # valid returns only
    assert stats["xyza_mean"][3] == pytest.approx(0.5)
    assert stats["valid_return_fraction"] == pytest.approx(0.5)
    assert stats["train_samples"] == 3


def test_counts_fix_the_split_sizes_and_keep_the_class_balance():
    index = make_index()  # 300 cubes, 700 spheres
    s = make_splits(index, val=100, test=400, seed=0)
    assert s["counts"]["test"] == {"0": 120, "1": 280}
    assert s["counts"]["val"] == {"0": 30, "1": 70}
    mixed = make_splits(index, val=0.1, test=400, seed=0)
    assert mixed["counts"]["val"] == {"0": 30, "1": 70}
    with pytest.raises(ValueError, match="no training sample"):
        make_splits(index, val=600, test=400, seed=0)
