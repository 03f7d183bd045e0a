"""DVC stage `aggregate`: the cross-strategy comparison, with intervals over seeds and test
samples.

Writes metrics/summary.json (per strategy: each seed-dependent metric's mean over seeds with
`_ci_low`, `_ci_high`, `_std`, relative accuracies under faults and mCE with theirs, the number of
faults under which a fusion strategy is below its better single sensor; cost; what `dvc metrics
diff` compares), metrics/accuracy.json (each strategy's mean test accuracy alone: short columns for
`dvc exp show`), plots/comparison.csv and .md (the table with its verdicts, and the findings),
plots/comparison/pairwise.csv, claims.csv, recommendation.csv (which strategy to use for which need,
`fusion.comparison.recommend`) and PNG figures in plots/comparison/. The strategy list comes from
params, never from whatever files lie around.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from fusion import params
from fusion.comparison import claims, figures, intervals, recommend, report
from fusion.data.prepared import load_prepared
from fusion.faults import available
from fusion.io import atomic_path, read_csv, read_json, write_json, write_text

FIGURES = Path("plots/comparison")


def gallery(names: list[str], predictions: dict[str, pd.DataFrame], size: int) -> None:
    """Test samples that most strategies got wrong first (a strategy errs on a sample when most
    of its seeds do); caption = who erred."""
    if size == 0:
        return
    wrong = pd.concat({n: ~predictions[n].groupby("row")["correct"].mean().ge(0.5)
                       for n in names}, axis=1)
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
    figures.plot_gallery(np.asarray(data.rgb[rows]), ranges, captions,
                         [bool(wrong.loc[r].any()) for r in order], FIGURES / "gallery.png")


def main() -> None:
    p = params.load()
    names = list(p.strategies)
    train = {n: read_json(f"metrics/train/{n}.json", "train metrics") for n in names}
    evaluated = {n: read_json(f"metrics/evaluate/{n}.json", "evaluation metrics") for n in names}
    val_curves = {n: {int(s): read_csv(f"plots/train/{n}/seed{s}.csv", "validation curve")
                      for s in train[n]["seeds"]} for n in names}
    severity = {n: read_csv(f"plots/evaluate/{n}.csv", "fault curves") for n in names}
    predictions = {n: read_csv(f"plots/evaluate/{n}_predictions.csv", "predictions")
                   for n in names}

    boot = intervals.bootstrap(predictions, p.evaluate.resamples, p.evaluate.seed,
                               p.evaluate.ece_bins)
    accuracy = {n: {s: m["test_accuracy"] for s, m in evaluated[n]["seeds"].items()}
                for n in names}
    collapsed = claims.collapses({n: list(a.values()) for n, a in accuracy.items()},
                                 p.evaluate.collapse)
    reference, faults = p.evaluate.reference, available()
    per_strategy = boot.summary(metrics=[m for m in intervals.METRICS
                                         if m not in intervals.FAULT_ACCURACY])
    for n in names:
        per_strategy[n] |= boot.corruption_error(n, reference, faults)
    summary = report.summarize(per_strategy, train, evaluated, collapsed)
    pairwise = boot.pairwise([*claims.TIERED, "test_ece", "mRA"])  # not per fault: 18x longer
    baselines = [n for n in names if p.strategy(n).fusion in report.UNIMODAL]
    found = claims.compare(boot, baselines,
                           {m: p.evaluate.equivalence.of(m) for m in claims.TIERED})
    fusion = [n for n in names if n not in baselines and n not in boot.flagged]
    floor = claims.against_sensors(boot, fusion, [b for b in baselines if b not in boot.flagged],
                                   faults, p.evaluate.equivalence.robustness)
    for n in fusion:  # a count dvc metrics diff compares: faults where n loses to a sensor alone
        summary[n]["faults_below_sensor"] = int(((floor["strategy"] == n)
                                                 & (floor["verdict"] == "below")).sum())
    table = report.comparison_table(summary, found.groups)
    homogeneity = {n: boot.homogeneity(n) for n in names}
    recipes = {n: f"{p.strategy(n).train.epochs} epochs, modality dropout "
                  f"{p.strategy(n).train.modality_dropout}" for n in names}
    data = (f"{p.data_source()}; the fault suite ({len(faults)} faults at 3-5 severities each) "
            "applied to the test split only, training data as generated")
    lines = report.findings(summary, found, baselines, homogeneity, accuracy, data,
                            collapsed, p.evaluate.collapse, claims.requirements(boot, found),
                            floor, recipes)
    picks = recommend.recommend(summary, found.groups["test_accuracy"], baselines)
    lines += recommend.sentences(picks, reference)
    shares = predictions[names[0]].groupby("actual").size()
    balanced = shares.max() - shares.min() <= 0.01 * shares.sum()

    write_json("metrics/summary.json", summary)
    write_json("metrics/accuracy.json", {n: round(summary[n]["test_accuracy"], 4) for n in names})
    outputs = (("plots/comparison.csv", table), (FIGURES / "pairwise.csv", pairwise),
               (FIGURES / "claims.csv", found.rows), (FIGURES / "sensor_floor.csv", floor),
               (FIGURES / "recommendation.csv", picks),
               (FIGURES / "severity.csv", report.severity_table(severity)))
    for path, frame in outputs:
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6g")
    findings = "\n".join(f"- {line}" for line in lines)
    markdown = (report.to_markdown(table, found, balanced) + "\n"
                + report.fault_markdown(summary, floor, list(table["strategy"]), reference) + "\n"
                + findings + "\n")
    write_text("plots/comparison.md", markdown)
    figures.plot_intervals({n: summary[n] for n in table["strategy"]}, FIGURES / "intervals.png")
    figures.plot_pairwise(pairwise, list(table["strategy"]), FIGURES / "pairwise.png")
    figures.plot_val_losses(val_curves, FIGURES / "val_loss.png")
    figures.plot_severity(severity, FIGURES / "severity.png")
    figures.plot_fault_heatmap(summary, floor, list(table["strategy"]), FIGURES / "faults.png")
    figures.plot_accuracy_vs_cost(table, FIGURES / "accuracy_vs_cost.png")
    gallery(names, predictions, p.evaluate.gallery)
    print(markdown)


if __name__ == "__main__":
    main()
