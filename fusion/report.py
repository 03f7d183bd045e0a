"""The comparison in numbers and words: the summary per strategy, the table (DataFrame and
Markdown) and finding sentences, each generated from the claims of `fusion.claims`, so that no
sentence ranks two strategies whose difference could be 0 once the report's many comparisons
are accounted for.

Inputs are plain dicts and DataFrames; no torch.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from fusion.claims import TIERED, Claims, holm
from fusion.intervals import METRICS

COST_KEYS = ("params", "flops", "latency_ms", "throughput")  # measured once per strategy
TRAIN_KEYS = ("seconds_per_epoch", "peak_memory_mb", "best_val_loss")  # median over seeds
UNIMODAL = ("rgb_only", "lidar_only")  # registered ops of the unimodal baselines
__all__ = ["TIERED", "UNIMODAL", "comparison_table", "findings", "summarize", "to_markdown"]


def summarize(intervals: Mapping[str, dict], train: Mapping[str, dict],
              evaluated: Mapping[str, dict]) -> dict[str, dict]:
    """Per strategy: the seed-dependent metrics with their intervals (from `Bootstrap.summary`),
    the cost measured once (`evaluated[name]["cost"]`) and the median of the train metrics over
    seeds (`train[name]["seeds"]`)."""
    summary = {}
    for name, metrics in intervals.items():
        per_seed = train[name]["seeds"].values()
        summary[name] = {
            **metrics,
            **{k: evaluated[name]["cost"][k] for k in COST_KEYS},
            **{k: statistics.median(s[k] for s in per_seed) for k in TRAIN_KEYS},
        }
    return summary


def comparison_table(summary: Mapping[str, dict], groups: Mapping[str, Mapping[str, int]]
                     ) -> pd.DataFrame:
    """One row per strategy, accuracy group first (then by mean; unranked last): for each
    metric its mean, interval and seed std; a group column per metric in TIERED (1 not
    distinguishable from the best, 2 below it, NaN not ranked); cost and train medians."""
    rows = []
    for name, s in summary.items():
        row = {"strategy": name, "seeds": len(s["seeds"])}
        for metric in METRICS:
            row |= {k: s[k] for k in (metric, f"{metric}_ci_low", f"{metric}_ci_high",
                                      f"{metric}_std")}
        row |= {f"tier_{m}": groups.get(m, {}).get(name, np.nan) for m in TIERED}
        row |= {k: s[k] for k in COST_KEYS + TRAIN_KEYS}
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["tier_test_accuracy", "test_accuracy"], ascending=[True, False],
                             kind="stable", ignore_index=True, na_position="last")


def _percent(mean: float, low: float, high: float) -> str:
    return f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def _plain(mean: float, low: float, high: float) -> str:
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


MARKDOWN = {  # metric: (header, format of mean [interval])
    "test_accuracy": ("Test accuracy %", _percent),
    "test_balanced_accuracy": ("Balanced acc. %", _percent),
    "robustness_rgb": ("Robustness camera %", _percent),
    "robustness_lidar": ("Robustness LiDAR %", _percent),
    "accuracy_rgb_missing": ("RGB missing %", _percent),
    "accuracy_lidar_missing": ("LiDAR missing %", _percent),
    "test_ece": ("Test ECE", _plain),
}


def _group(value: float) -> str:
    return "–" if pd.isna(value) else str(int(value))


def to_markdown(table: pd.DataFrame, claims: Claims, balanced: bool) -> str:
    """The table as a GitHub pipe table: `mean [95% interval]` cells, groups as numbers.
    On a balanced test set balanced accuracy repeats accuracy, so it is left out."""
    shown = {m: v for m, v in MARKDOWN.items() if not (balanced and m == "test_balanced_accuracy")}
    headers = ["Strategy", "Seeds", "Group (acc.)", *(shown[m][0] for m in shown),
               "Group (camera)", "Group (LiDAR)", "Params", "FLOPs", "Latency (ms)", "s / epoch"]
    lines = [headers, ["---", "---:", "---:", *["---:"] * (len(headers) - 3)]]
    for r in table.to_dict("records"):
        lines.append([
            r["strategy"], str(r["seeds"]) + ("*" if r["seeds"] < 2 else ""),
            _group(r["tier_test_accuracy"]),
            *(fmt(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"]) for m, (_, fmt) in shown.items()),
            _group(r["tier_robustness_rgb"]), _group(r["tier_robustness_lidar"]),
            f"{int(r['params']):,}", f"{r['flops'] / 1e6:.1f}M", f"{r['latency_ms']:.2f}",
            f"{r['seconds_per_epoch']:.2f}",
        ])
    note = (
        "\nCells: mean over seeds [95% interval over seeds and test samples, for that strategy "
        "alone]; cost columns are measurements without intervals (params and FLOPs are exact; "
        "latency and s / epoch vary with the machine and its load). Groups: 1 = not "
        "distinguishable from the best, 2 = below the best, by simultaneous intervals over the "
        f"{len(claims.rows)} comparisons of the findings ({100 * claims.level:.2f}% each, "
        f"Bonferroni: all hold together with {100 * (1 - claims.alpha):.0f}% confidence) "
        "that clear 0 by a replication margin; "
        "– = not ranked (robustness of a unimodal baseline, which ignores the other sensor; a "
        "strategy with fewer than 2 seeds, marked *)."
        + ("" if not balanced else " Balanced accuracy and macro F1 (in metrics/summary.json) "
           "repeat accuracy on this balanced test set and are not shown.") + "\n")
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n" + note


def _points(difference: float, low: float, high: float) -> str:
    return f"{100 * difference:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"


def _group_lines(summary: Mapping[str, dict], claims: Claims) -> list[str]:
    lines = []
    for metric, label in TIERED.items():
        if metric not in claims.best:
            continue
        scope = "" if metric == "test_accuracy" else " among the fusion strategies"
        best, group = claims.best[metric], claims.groups[metric]
        top = [n for n in sorted(group, key=lambda n: -summary[n][metric]) if group[n] == 1]
        means = ", ".join(f"{n} {100 * summary[n][metric]:.1f}%" for n in top)
        below = [n for n in group if group[n] == 2]
        if len(top) == 1 and below:
            closest = min(below, key=lambda n: claims.between(metric, best, n)[0])
            lines.append(f"Best {label}{scope}: {means}, ahead of every other ranked strategy "
                         f"(smallest lead, over {closest}: "
                         f"{_points(*claims.between(metric, best, closest)[:3])}).")
        elif len(top) > 1:
            last = top[-1]
            *difference, margin = claims.between(metric, best, last)
            lines.append(
                f"Not distinguishable from the best {label}{scope} ({len(top)} strategies; "
                f"the best by mean is {best}): {means}. None of their differences from {best} "
                f"has a simultaneous interval clear of 0 by its replication margin (the "
                f"largest, {last}: {_points(*difference)}, margin {100 * margin:.1f}).")
        if below:
            lines.append(f"Below the best {label}{scope}: {', '.join(below)}.")
    return lines


def _baseline_line(claims: Claims, baselines: Sequence[str]) -> list[str]:
    rows = claims.rows
    rows = rows[(rows["metric"] == "test_accuracy") & rows["b"].isin(baselines)
                & ~rows["a"].isin(baselines)]
    if rows.empty:
        return []
    clear = rows[rows["clear"] & (rows["difference"] > 0)]
    worse = rows[rows["clear"] & (rows["difference"] < 0)]
    unclear = rows[~rows["clear"]]
    smallest = rows.loc[rows["difference"].idxmin()]
    if len(clear) == len(rows):
        return [f"Every fusion strategy is more accurate than every unimodal baseline "
                f"({', '.join(baselines)}); the smallest lead, {smallest['a']} over "
                f"{smallest['b']}, is "
                f"{_points(smallest['difference'], smallest['ci_low'], smallest['ci_high'])}."]
    parts = [f"{len(clear)} of {len(rows)} fusion-baseline accuracy comparisons favour fusion "
             "clearly"]
    if len(worse):
        parts.append("a baseline is clearly more accurate in " + ", ".join(
            f"{r.b} over {r.a}" for r in worse.itertuples()))
    if len(unclear):
        parts.append("not distinguishable (interval not clear of 0 by the margin): " + ", ".join(
            f"{r.a} vs {r.b} {_points(r.difference, r.ci_low, r.ci_high)}, margin "
            f"{100 * r.margin:.1f}" for r in unclear.itertuples()))
    return ["; ".join(parts) + "."]


def _stability_line(homogeneity: Mapping[str, float], per_seed_accuracy: Mapping[str, Mapping],
                    alpha: float) -> list[str]:
    """Strategies whose seeds differ in accuracy beyond test-set noise (Cochran's Q, Holm)."""
    tested = [n for n, p in homogeneity.items() if len(per_seed_accuracy[n]) > 1]
    if not tested:
        return []
    adjusted = dict(zip(tested, holm([homogeneity[n] for n in tested]), strict=True))
    differ = [n for n in tested if adjusted[n] < alpha]
    test = f"Cochran's Q on the paired test samples, Holm over {len(tested)} strategies"
    if not differ:
        return [f"No strategy's seeds differ in test accuracy beyond what the test set's size "
                f"explains ({test}; smallest adjusted p = {min(adjusted.values()):.2g})."]
    spreads = "; ".join(
        f"{n} (" + ", ".join(f"seed {s}: {100 * a:.1f}%" for s, a in per_seed_accuracy[n].items())
        + f"; adjusted p = {adjusted[n]:.2g})" for n in differ)
    return [f"Seeds differ in test accuracy beyond test-set noise ({test}): {spreads}."]


def findings(summary: Mapping[str, dict], claims: Claims, baselines: Sequence[str],
             homogeneity: Mapping[str, float],
             per_seed_accuracy: Mapping[str, Mapping[str, float]], data: str = "") -> list[str]:
    """Sentences that state only what the simultaneous intervals support: the data they come
    from and what in it separates the strategies (`data`, e.g. `Params.data_source()`),
    strategies without seed variation, the multiplicity of the claims, the group of the best of
    each metric in TIERED, fusion against the unimodal baselines, and seeds that differ beyond
    noise."""
    flagged = [n for n, s in summary.items() if len(s["seeds"]) < 2]
    lines = [f"Data: {data}."] if data else []
    if flagged and len(flagged) == len(summary):
        lines.append("Every strategy ran with fewer than 2 seeds: the intervals cover test-set "
                     "variation only, not the variation between training runs, so no strategy "
                     "is ranked.")
    elif flagged:
        lines.append(f"Fewer than 2 seeds, so not ranked: {', '.join(flagged)} (their seed "
                     "variation is unknown; their intervals borrow the largest seed std of the "
                     "other strategies).")
    if len(claims.rows):
        lines.append(f"The claims below hold together with {100 * (1 - claims.alpha):.0f}% "
                     f"confidence: each of the {len(claims.rows)} comparisons has a "
                     f"simultaneous interval ({100 * claims.level:.2f}%, Bonferroni; seed "
                     f"variation pooled over the strategies compared), and a difference is "
                     f"claimed only when its interval clears 0 by a replication margin, so that "
                     f"a run with other seeds would repeat the claim with about "
                     f"{100 * claims.replication:.0f}% probability.")
    lines += _group_lines(summary, claims)
    lines += _baseline_line(claims, [b for b in baselines if b not in flagged])
    lines += _stability_line(homogeneity, per_seed_accuracy, claims.alpha)
    return lines
