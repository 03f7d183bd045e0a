"""The cross-strategy comparison: a table (DataFrame and Markdown) and PNG figures.

Inputs are plain dicts, DataFrames and arrays, so this module needs no torch. Figures use
matplotlib's object-oriented API (no pyplot, hence no GUI backend or global state) and are
written atomically. A strategy keeps its colour in every figure, given the same name order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fusion.io import atomic_path

DPI = 100
CORRUPTIONS = {  # curve name in `evaluation.robustness`: (panel title, severity axis label)
    "rgb_noise": ("Gaussian noise on RGB", "noise std (normalised units)"),
    "lidar_noise": ("Gaussian noise on LiDAR", "noise std (normalised units)"),
    "lidar_dropout": ("LiDAR returns dropped", "fraction of returns dropped"),
}
MARKERS = "osD^vP*Xh<>p"


# --------------------------------------------------------------------------------------------
# Table


def _short(value: float) -> str:
    """Three significant digits: 0.0047, 1.29e-06, 12.3."""
    return f"{value:.3g}"


def _thousands(value: float) -> str:
    return f"{int(value):,}"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _si(value: float) -> str:
    """12_300_000 -> '12.3M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{_short(value / scale)}{unit}"
    return _short(value)


def _fixed(digits: int) -> Callable[[float], str]:
    return lambda value: f"{value:.{digits}f}"


# Columns of the comparison table, in order: key -> (Markdown header, value format).
COLUMNS: dict[str, tuple[str, Callable[[float], str]]] = {
    "strategy": ("Strategy", str),
    "avg_val_loss": ("Avg val loss", _short),
    "best_val_loss": ("Best val loss", _short),
    "params": ("Params", _thousands),
    "seconds_per_epoch": ("s / epoch", _fixed(2)),
    "peak_memory_mb": ("Peak memory (MB)", _fixed(0)),
    "test_accuracy": ("Test accuracy", _percent),
    "test_f1": ("Test F1", _fixed(3)),
    "test_ece": ("Test ECE", _fixed(3)),
    "robustness_rgb": ("Robustness RGB", _percent),
    "robustness_lidar": ("Robustness LiDAR", _percent),
    "flops": ("FLOPs / sample", _si),
    "latency_ms": ("Latency (ms)", _short),
}
TRAIN_KEYS = ("params", "seconds_per_epoch", "peak_memory_mb")
EVAL_KEYS = ("test_accuracy", "test_f1", "test_ece", "robustness_rgb", "robustness_lidar",
             "flops", "latency_ms")


def comparison_table(
    train_metrics: Mapping[str, dict],
    eval_metrics: Mapping[str, dict],
    val_curves: Mapping[str, pd.DataFrame],
) -> pd.DataFrame:
    """One row per strategy, in the order of `train_metrics`, with the COLUMNS.

    Average and best validation loss are the mean and minimum of the strategy's per-epoch
    validation curve; the rest are copied from its train and evaluate metrics.
    """
    names = list(train_metrics)
    for what, given in (("eval_metrics", eval_metrics), ("val_curves", val_curves)):
        if set(given) != set(names):
            raise ValueError(f"{what} has strategies {sorted(given)}, train_metrics {names}")
    rows = []
    for name in names:
        val_loss = val_curves[name]["val_loss"]
        if val_loss.empty or val_loss.isna().any():
            raise ValueError(f"val_curves[{name!r}]: expected a non-empty, NaN-free val_loss")
        rows.append(
            {
                "strategy": name,
                "avg_val_loss": val_loss.mean(),
                "best_val_loss": val_loss.min(),
                **{key: _require(train_metrics, name, key) for key in TRAIN_KEYS},
                **{key: _require(eval_metrics, name, key) for key in EVAL_KEYS},
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _require(metrics: Mapping[str, dict], name: str, key: str):
    if key not in metrics[name]:
        raise KeyError(f"metrics of {name!r} lack {key!r}; they have {sorted(metrics[name])}")
    return metrics[name][key]


def _cell(column: str, value) -> str:
    if isinstance(value, str):
        return value.replace("|", r"\|")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    header_format = COLUMNS.get(column)
    return header_format[1](value) if header_format else f"{value:.4g}"


def to_markdown(df: pd.DataFrame) -> str:
    """A GitHub pipe table of `df` (no index), numbers formatted per COLUMNS."""
    headers = [COLUMNS[c][0] if c in COLUMNS else str(c) for c in df.columns]
    body = [
        [_cell(c, v) for c, v in zip(df.columns, row, strict=True)]
        for row in df.itertuples(index=False)
    ]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    separator = ["---:" if is_number else "---" for is_number in numeric]
    lines = [headers, separator, *body]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


# --------------------------------------------------------------------------------------------
# Figures


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


def plot_val_losses(val_curves: Mapping[str, pd.DataFrame], path: str | Path) -> None:
    """Validation loss per epoch of every strategy, one line each, log y axis."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    styles = strategy_styles(list(val_curves))
    for name, curve in val_curves.items():
        ax.plot(curve["epoch"], curve["val_loss"], label=name, markersize=4, **styles[name])
    ax.set(yscale="log", xlabel="epoch", ylabel="validation cross-entropy (log scale)",
           title="Validation loss per epoch")
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="outside right upper", title="strategy")
    _save(fig, path)


def plot_robustness(curves: Mapping[str, pd.DataFrame], path: str | Path) -> None:
    """Test accuracy vs corruption severity: a panel per corruption, a line per strategy."""
    fig = Figure(figsize=(15, 4.5), layout="constrained")
    axes = fig.subplots(1, len(CORRUPTIONS), sharey=True)
    styles = strategy_styles(list(curves))
    for ax, (corruption, (title, xlabel)) in zip(axes, CORRUPTIONS.items(), strict=True):
        for name, curve in curves.items():
            points = curve[curve["corruption"] == corruption]
            ax.plot(points["severity"], points["accuracy"], label=name, markersize=4,
                    **styles[name])
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)  # chance for two classes
        ax.set(title=title, xlabel=xlabel, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (dotted: chance)")
    fig.suptitle("Robustness: test accuracy under corruption of one modality")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", title="strategy")
    _save(fig, path)


def plot_accuracy_vs_cost(table: pd.DataFrame, path: str | Path) -> None:
    """Test accuracy against parameters and against latency (log x), points labelled."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    styles = strategy_styles(list(table["strategy"]))
    costs = {"params": "trainable parameters (log scale)",
             "latency_ms": "batch-1 latency, ms (log scale)"}
    for ax, (column, xlabel) in zip(axes, costs.items(), strict=True):
        for row in table.itertuples(index=False):
            x, y = getattr(row, column), row.test_accuracy
            ax.scatter(x, y, s=50, **styles[row.strategy])
            ax.annotate(row.strategy, (x, y), xytext=(5, 4), textcoords="offset points",
                        fontsize=8)
        ax.set(xscale="log", xlabel=xlabel)
        ax.margins(x=0.15)  # room for the labels of the outermost points
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test accuracy")
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


def plot_confusion(
    actual: Sequence[str], predicted: Sequence[str], classes: Sequence[str], path: str | Path
) -> None:
    """Confusion matrix of class names: counts, rows actual, columns predicted."""
    actual, predicted = pd.Series(list(actual)), pd.Series(list(predicted))
    unknown = (set(actual) | set(predicted)) - set(classes)
    if len(actual) != len(predicted) or unknown:
        raise ValueError(f"expected as many actual as predicted labels, all in {list(classes)}; "
                         f"got {len(actual)} and {len(predicted)}, unknown {sorted(unknown)}")
    counts = pd.crosstab(actual, predicted).reindex(index=classes, columns=classes, fill_value=0)
    fig = Figure(figsize=(5, 4.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(counts.to_numpy(), cmap="Blues", vmin=0)
    threshold = counts.to_numpy().max() / 2
    for (i, j), count in np.ndenumerate(counts.to_numpy()):
        ax.text(j, i, str(count), ha="center", va="center",
                color="white" if count > threshold else "black")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes,
           yticklabels=classes, xlabel="predicted", ylabel="actual",
           title=f"Confusion matrix (test, n = {len(actual)})")
    fig.colorbar(image, ax=ax, label="samples")
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
