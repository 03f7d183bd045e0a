"""Figures of the comparison, as PNG: matplotlib's object-oriented API (no pyplot, hence no GUI
backend or global state), written atomically. A strategy keeps its colour and marker in every
figure, given the same name order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fusion.comparison.report import TIERED
from fusion.faults import FAULTS
from fusion.io import atomic_path

DPI = 100
MARKERS = "osD^vP*Xh<>p"


def strategy_styles(names: Sequence[str]) -> dict[str, dict]:
    """Colour and marker per strategy, by position: 20 distinct colours, dark shades first."""
    tab20 = matplotlib.colormaps["tab20"].colors
    colours = tab20[0::2] + tab20[1::2]
    return {
        name: {"color": colours[i % len(colours)], "marker": MARKERS[i % len(MARKERS)]}
        for i, name in enumerate(names)
    }


def _save(fig: Figure, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def plot_val_losses(curves: Mapping[str, Mapping[int, pd.DataFrame]], path: str | Path) -> None:
    """Validation loss per epoch: each seed of each strategy faint, the mean over seeds bold."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    styles = strategy_styles(list(curves))
    for name, seeds in curves.items():
        colour = styles[name]["color"]
        for curve in seeds.values():
            ax.plot(curve["epoch"], curve["val_loss"], color=colour, alpha=0.25, linewidth=1)
        mean = pd.concat(seeds.values()).groupby("epoch")["val_loss"].mean()
        ax.plot(mean.index, mean.to_numpy(), label=name, markersize=4, **styles[name])
    ax.set(yscale="log", xlabel="epoch", ylabel="validation cross-entropy (log scale)",
           title="Validation loss per epoch (faint: each seed; bold: mean over seeds)")
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside right upper", title="strategy")
    _save(fig, path)


def plot_severity(curves: Mapping[str, pd.DataFrame], path: str | Path) -> None:
    """Test accuracy vs severity: a panel per fault (controls included), a line per strategy
    (the mean over seeds) in a band from the worst to the best seed."""
    faults = list(dict.fromkeys(next(iter(curves.values()))["fault"]))
    columns = 6
    rows = math.ceil(len(faults) / columns)
    fig = Figure(figsize=(3.2 * columns, 2.8 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    styles = strategy_styles(list(curves))
    for ax, fault in zip(axes, faults, strict=False):
        for name, curve in curves.items():
            points = curve[curve["fault"] == fault].groupby("severity")["accuracy"]
            mean, low, high = points.mean(), points.min(), points.max()
            ax.fill_between(mean.index, low.to_numpy(), high.to_numpy(), alpha=0.12,
                            color=styles[name]["color"], linewidth=0)
            ax.plot(mean.index, mean.to_numpy(), label=name, markersize=3, **styles[name])
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)  # chance for two classes
        ax.set(title=fault, xlabel=FAULTS[fault].unit, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    for ax in axes[len(faults):]:
        ax.set_visible(False)
    fig.suptitle("Test accuracy under each fault by severity (line: mean over seeds; band: worst "
                 "to best seed; dotted: chance; shift_both / rotate_both: controls)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", title="strategy")
    _save(fig, path)


def plot_fault_heatmap(summary: Mapping[str, dict], floor: pd.DataFrame, names: Sequence[str],
                       path: str | Path) -> None:
    """Strategy x fault heatmap of relative accuracy (mean over seeds), annotated; a fusion
    strategy's cell framed where it is below its better single sensor under that fault."""
    faults = list(FAULTS)  # the controls after their misalignments
    ra = np.array([[summary[n][f"ra_{f}"] for f in faults] for n in names])
    fig = Figure(figsize=(1.0 * len(faults) + 3, 0.45 * len(names) + 2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(ra, cmap="RdYlGn", vmin=0.5, vmax=1.0, aspect="auto")
    for i, j in np.ndindex(ra.shape):
        ax.text(j, i, f"{100 * ra[i, j]:.0f}", ha="center", va="center", fontsize=8)
    for r in floor[floor["verdict"] == "below"].itertuples():
        i, j = names.index(r.strategy), faults.index(r.fault)
        ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False,
                                                  edgecolor="black", linewidth=2))
    ax.set_xticks(range(len(faults)), faults, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_title("Relative accuracy under each fault, % (framed: fusion below its better single "
                 "sensor, simultaneous 95%)")
    fig.colorbar(image, ax=ax, label="relative accuracy (corrupted / clean)")
    _save(fig, path)


def plot_intervals(summary: Mapping[str, dict], path: str | Path) -> None:
    """Forest plot: per strategy and headline metric, the mean over seeds and its 95% interval."""
    names = list(summary)
    fig = Figure(figsize=(15, 0.45 * len(names) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(TIERED), sharey=True)
    styles = strategy_styles(names)
    y = np.arange(len(names))[::-1]
    for ax, (metric, label) in zip(axes, TIERED.items(), strict=True):
        for row, name in zip(y, names, strict=True):
            s = summary[name]
            ax.plot([s[f"{metric}_ci_low"], s[f"{metric}_ci_high"]], [row, row],
                    color=styles[name]["color"], linewidth=2)
            ax.plot(s[metric], row, markersize=6, **styles[name])
        ax.set(xlabel=f"{label} (mean, 95% interval)")
        ax.grid(alpha=0.3, axis="x")
    axes[0].set(yticks=y, yticklabels=names)
    fig.suptitle("Mean over seeds with 95% intervals (seeds and test samples)")
    _save(fig, path)


def plot_pairwise(pairwise: pd.DataFrame, names: Sequence[str], path: str | Path) -> None:
    """Heatmaps of P(row strategy better than column strategy), one per headline metric."""
    fig = Figure(figsize=(6 * len(TIERED), 0.45 * len(names) + 2.5), layout="constrained")
    axes = fig.subplots(1, len(TIERED))
    position = {name: i for i, name in enumerate(names)}
    for ax, (metric, label) in zip(axes, TIERED.items(), strict=True):
        matrix = np.full((len(names), len(names)), np.nan)
        for pair in pairwise[pairwise["metric"] == metric].itertuples(index=False):
            i, j = position[pair.a], position[pair.b]
            matrix[i, j], matrix[j, i] = pair.p_a_better, 1 - pair.p_a_better
        image = ax.imshow(matrix, cmap="RdBu", vmin=0, vmax=1)
        for (i, j), p in np.ndenumerate(matrix):
            if not math.isnan(p):
                ax.text(j, i, f"{p:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if abs(p - 0.5) > 0.35 else "black")
        ax.set(xticks=range(len(names)), yticks=range(len(names)), title=label)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        ax.set_yticklabels(names, fontsize=8)
    fig.colorbar(image, ax=axes, label="P(row better than column)", shrink=0.8)
    fig.suptitle("Pairwise comparison: probability that the row strategy is better")
    _save(fig, path)


def plot_accuracy_vs_cost(table: pd.DataFrame, path: str | Path) -> None:
    """Test accuracy (mean, 95% interval) against parameters and against latency (log x)."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    styles = strategy_styles(list(table["strategy"]))
    costs = {"params": "trainable parameters (log scale)",
             "latency_ms": "batch-1 latency, ms (log scale)"}
    for ax, (column, xlabel) in zip(axes, costs.items(), strict=True):
        for row in table.itertuples(index=False):
            x, y = getattr(row, column), row.test_accuracy
            ax.errorbar(x, y, yerr=[[y - row.test_accuracy_ci_low],
                                    [row.test_accuracy_ci_high - y]],
                        color=styles[row.strategy]["color"], capsize=3, linewidth=1)
            ax.scatter(x, y, s=50, **styles[row.strategy])
            ax.annotate(row.strategy, (x, y), xytext=(5, 4), textcoords="offset points",
                        fontsize=8)
        ax.set(xscale="log", xlabel=xlabel)
        ax.margins(x=0.15)  # room for the labels of the outermost points
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test accuracy (mean, 95% interval)")
    fig.suptitle("Accuracy vs cost (up and left is better)")
    _save(fig, path)


def plot_gallery(
    rgb: np.ndarray,
    depth: np.ndarray,
    captions: Sequence[str],
    wrong: Sequence[bool],
    path: str | Path,
    columns: int = 4,
) -> None:
    """Test samples in a grid, each its RGB image beside its range image, captioned;
    misclassified ones have a red caption.

    rgb: uint8 (N, 4, H, W) RGBA; depth: (N, H, W) range-like values (shown with a colour map).
    """
    n = len(rgb)
    if not (n == len(depth) == len(captions) == len(wrong)) or n == 0:
        raise ValueError(f"expected N > 0 samples in each input, got rgb {n}, depth "
                         f"{len(depth)}, {len(captions)} captions, {len(wrong)} flags")
    columns = min(columns, n)
    rows = math.ceil(n / columns)
    fig = Figure(figsize=(3.2 * columns, 1.9 * rows + 0.6), layout="constrained")
    panels = fig.subfigures(rows, columns, squeeze=False).ravel()[:n]
    samples = zip(panels, rgb, depth, captions, wrong, strict=True)
    for panel, image, ranges, caption, is_wrong in samples:
        colour_ax, range_ax = panel.subplots(1, 2)
        colour_ax.imshow(np.moveaxis(image[:3], 0, -1))
        range_ax.imshow(ranges, cmap="viridis")
        for ax, label in ((colour_ax, "RGB"), (range_ax, "range")):
            ax.set_xlabel(label, fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        panel.suptitle(caption, fontsize=9, color="red" if is_wrong else "black",
                       fontweight="bold" if is_wrong else "normal")
    fig.suptitle("Test samples (red: misclassified)")
    _save(fig, path)


def calibration_error(reliability_df: pd.DataFrame) -> float:
    """ECE of a reliability table: the count-weighted mean |accuracy - confidence| of its bins."""
    count = reliability_df["count"]
    if count.sum() == 0:
        raise ValueError("reliability table has no samples")
    gap = (reliability_df["accuracy"] - reliability_df["confidence"]).abs()
    return float((count * gap).sum() / count.sum())  # empty bins: NaN gap, skipped by sum


def plot_reliability(reliability_df: pd.DataFrame, path: str | Path) -> None:
    """Reliability diagram from `evaluation.reliability`: accuracy per confidence bin against
    the diagonal of perfect calibration, bin counts below, the ECE in the title."""
    df = reliability_df
    ece = calibration_error(df)
    count = df["count"].to_numpy()
    centres, widths = (df["lower"] + df["upper"]) / 2, df["upper"] - df["lower"]
    fig = Figure(figsize=(5.5, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.bar(centres, df["accuracy"].fillna(0), width=widths, edgecolor="black",
            color="tab:blue", label="accuracy in bin")
    top.plot(df["confidence"], df["accuracy"], "o", color="tab:orange",
             label="(mean confidence, accuracy)")
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    top.set(ylim=(0, 1), ylabel="accuracy", title=f"Reliability diagram (ECE = {ece:.3f})")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centres, count, width=widths, edgecolor="black", color="tab:gray")
    bottom.set(xlim=(0, 1), xlabel="top-1 confidence", ylabel="samples")
    _save(fig, path)
