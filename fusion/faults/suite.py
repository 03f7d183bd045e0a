"""The fault suite as the evaluation runs it: every registered fault at each of its severities,
in one pass per sensor group over the test split.

Each group's (fault, severity) pairs are its `cells`. Every test sample is assigned one cell of
each group (`assign`: balanced, each cell gets N / cells samples, by a seeded permutation), so a
group costs one forward pass whatever its number of faults, and the mean over samples of
"correct under its cell" is the group's accuracy averaged over faults and severities. The
misalignments' controls (`CONTROL`) reuse the alignment group's assignment and generator
states: sample k gets the same transform with one sensor moved and with both moved.

Relative accuracy (MultiCorrupt's RA) of a fault = its accuracy (mean over its severities, on
the samples that met it) / clean accuracy (on all samples). `relative_columns` turns one seed's
per-sample results into per-sample linearised columns whose plain mean is exactly that ratio
(the ratio's influence function: ra_i = RA + (f_i - RA c_i) / C, f_i weighted by 1 / the share
of samples that met the fault), so the comparison's machinery for means (intervals over seeds
and samples, paired claims) applies to RA unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from fusion.faults import FAULTS, available
from fusion.faults.rig import Rig

GROUPS = ("camera", "lidar", "alignment")  # the sensors a fault belongs to
CONTROL = "control"  # the alignment group's cells with each fault replaced by its control


def assigned(group: str) -> str:
    """The group whose cell assignment `group` uses: the control shares the alignment group's."""
    return "alignment" if group == CONTROL else group


def cells(group: str) -> list[tuple[str, float]]:
    """(fault, severity) of every cell of a group (or CONTROL), in registration order."""
    if group == CONTROL:
        return [(FAULTS[f].control, s) for f, s in cells("alignment")]
    if group not in GROUPS:
        raise ValueError(f"fault group: expected one of {(*GROUPS, CONTROL)}, got {group!r}")
    return [(name, s) for name in available(group) for s in FAULTS[name].severities]


def assign(n: int, group: str, seed: int) -> np.ndarray:
    """(n,) the cell of each of n samples: every cell n // cells or one more times, each fault
    met once before any meets a second severity (so n >= its faults covers every fault), in an
    order drawn from `seed` (the control shares the alignment group's)."""
    group = assigned(group)
    grid = cells(group)
    faults = list(dict.fromkeys(f for f, _ in grid))
    if n < len(faults):
        raise ValueError(f"fault group {group!r}: {n} test samples cannot meet its "
                         f"{len(faults)} faults; expected at least {len(faults)}")
    rank = [FAULTS[f].severities.index(s) for f, s in grid]  # the severity's place in its fault
    order = sorted(range(len(grid)), key=lambda k: (rank[k], faults.index(grid[k][0])))
    rng = np.random.default_rng([seed, GROUPS.index(group)])
    return rng.permutation(np.array(order)[np.arange(n) % len(grid)])


def cell_columns(n: int, seeds: int, seed: int = 0) -> dict[str, np.ndarray]:
    """`cell_<group>` columns of a predictions table with `seeds` runs of the same n samples,
    one after another (what the evaluation writes)."""
    return {f"cell_{group}": np.tile(assign(n, group, seed), seeds) for group in GROUPS}


def corrupt(rgb: torch.Tensor, xyza: torch.Tensor, group: str, cell: np.ndarray, seed: int,
            max_range: float, rig: Rig) -> tuple[torch.Tensor, torch.Tensor]:
    """RAW (rgb float32, xyza) with sample i under the fault and severity of `cell[i]`; each
    cell's draws from its own generator, seeded by (seed, the cell's place in the group)."""
    if len(cell) != len(rgb):
        raise ValueError(f"expected one cell per sample, got {len(cell)} for {len(rgb)}")
    rgb = rgb.float()  # camera faults return float32: one dtype for every cell
    out_rgb, out_xyza = rgb.clone(), xyza.clone()
    for k, (name, severity) in enumerate(cells(group)):
        index = torch.from_numpy(np.flatnonzero(cell == k))
        if len(index):
            generator = torch.Generator().manual_seed(seed * 1000 + k)
            out_rgb[index], out_xyza[index] = FAULTS[name](
                rgb[index], xyza[index], severity, generator, max_range, rig)
    return out_rgb, out_xyza


def relative_columns(correct: np.ndarray, under: Mapping[str, np.ndarray],
                     cell: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-sample columns of one seed whose means are its relative accuracies.

    correct: (N,) clean; under[group]: (N,) correct under the sample's cell of that group (of
    GROUPS or CONTROL); cell[group]: (N,) its cell, for each of GROUPS. Returns `ra_<fault>`
    for every fault and control, `ra_<group>` (the group's faults pooled, the mean over its
    cells), `mRA` (the mean of the faults' RA, controls left out) and `accuracy_<fault>` (mean
    over its severities, for comparisons with the single sensors under the same fault), each
    (N,) float64.
    """
    c = np.asarray(correct, float)
    if c.mean() == 0:
        raise ValueError("relative accuracy: the clean accuracy is 0")

    def linearised(f: np.ndarray) -> np.ndarray:  # its mean is mean(f) / mean(c)
        ratio = f.mean() / c.mean()
        return ratio + (f - ratio * c) / c.mean()

    out = {}
    for group, under_group in under.items():
        hits, where = np.asarray(under_group, float), np.asarray(cell[assigned(group)])
        out[f"ra_{group}"] = linearised(hits)
        grid = cells(group)
        for name in dict.fromkeys(f for f, _ in grid):
            mine = np.isin(where, [k for k, (f, _) in enumerate(grid) if f == name])
            weight = mine * len(hits) / mine.sum()  # Horvitz-Thompson: means over its samples
            out[f"accuracy_{name}"] = weight * hits
            out[f"ra_{name}"] = linearised(weight * hits)
    faults = [f"ra_{name}" for name in available() if f"ra_{name}" in out]
    out["mRA"] = np.mean([out[k] for k in faults], axis=0)
    return out
