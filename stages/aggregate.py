"""DVC stage `aggregate`: the cross-strategy comparison.

Writes metrics/summary.json (keyed by strategy, for `dvc metrics diff`), plots/comparison.csv
and .md (the table), and PNG figures in plots/comparison/. The strategy list comes from
params, never from whatever files lie around.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from fusion import params, report
from fusion.dataset import load_prepared
from fusion.io import atomic_path, read_csv, read_json, write_json, write_text

FIGURES = Path("plots/comparison")
SUMMARY_KEYS = (
    "test_accuracy", "test_balanced_accuracy", "test_f1", "test_loss", "test_ece",
    "accuracy_rgb_missing", "accuracy_lidar_missing", "robustness_rgb", "robustness_lidar",
    "params", "flops", "latency_ms", "throughput",
)
TRAIN_SUMMARY_KEYS = ("best_val_loss", "val_accuracy", "seconds_per_epoch")


def gallery(names: list[str], predictions: dict[str, pd.DataFrame], size: int) -> None:
    """Test samples that some strategy got wrong first, then others; caption = who erred."""
    if size == 0:
        return
    wrong = pd.concat({n: ~predictions[n].set_index("row")["correct"] for n in names}, axis=1)
    order = wrong.sum(axis=1).sort_values(ascending=False, kind="stable").index[:size]
    data = load_prepared("data/prepared", mmap=True)
    rows = np.asarray(order)
    xyza = np.asarray(data.xyza[rows])
    ranges = np.where(xyza[:, 3] > 0, np.linalg.norm(xyza[:, :3], axis=1), np.nan)
    captions = []
    for row in order:
        erred = [n for n in names if wrong.loc[row, n]]
        verdict = ", ".join(erred) if len(erred) <= 2 else f"{len(erred)}/{len(names)} strategies"
        captions.append(f"{data.index.loc[row, 'class']}: " + (f"wrong in {verdict}" if erred
                                                              else "all right"))
    report.plot_gallery(np.asarray(data.rgb[rows]), ranges, captions,
                        [bool(wrong.loc[r].any()) for r in order], FIGURES / "gallery.png")


def main() -> None:
    p = params.load()
    names = list(p.strategies)
    train = {n: read_json(f"metrics/train/{n}.json", "train metrics") for n in names}
    evaluated = {n: read_json(f"metrics/evaluate/{n}.json", "evaluation metrics") for n in names}
    val_curves = {n: read_csv(f"plots/train/{n}.csv", "validation curve") for n in names}
    robustness = {n: read_csv(f"plots/evaluate/{n}.csv", "robustness curves") for n in names}
    predictions = {n: read_csv(f"plots/evaluate/{n}_predictions.csv", "predictions")
                   for n in names}

    table = report.comparison_table(train, evaluated, val_curves)
    with atomic_path("plots/comparison.csv") as tmp:
        table.to_csv(tmp, index=False)
    write_text("plots/comparison.md", report.to_markdown(table) + "\n")
    write_json("metrics/summary.json", {
        n: {**{k: evaluated[n][k] for k in SUMMARY_KEYS},
            **{k: train[n][k] for k in TRAIN_SUMMARY_KEYS}}
        for n in names
    })
    report.plot_val_losses(val_curves, FIGURES / "val_loss.png")
    report.plot_robustness(robustness, FIGURES / "robustness.png")
    report.plot_accuracy_vs_cost(table, FIGURES / "accuracy_vs_cost.png")
    gallery(names, predictions, p.evaluate.gallery)
    print(report.to_markdown(table))


if __name__ == "__main__":
    main()
