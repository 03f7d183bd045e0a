"""The comparison in numbers and words: the summary per strategy, the tiered table (DataFrame
and Markdown) and finding sentences, each generated from the pairwise tests of
`fusion.intervals`, so that no sentence ranks two strategies whose difference could be 0.

Inputs are plain dicts and DataFrames; no torch.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

import pandas as pd

from fusion.intervals import METRICS, tiers

COST_KEYS = ("params", "flops", "latency_ms", "throughput")  # measured once per strategy
TRAIN_KEYS = ("seconds_per_epoch", "peak_memory_mb", "best_val_loss")  # median over seeds
TIERED = {  # metrics ranked in tiers: their label in sentences and figures
    "test_accuracy": "test accuracy",
    "robustness_rgb": "robustness to camera noise",
    "robustness_lidar": "robustness to LiDAR noise and dropout",
}
UNIMODAL = ("rgb_only", "lidar_only")  # registered ops of the unimodal baselines


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


def comparison_table(summary: Mapping[str, dict], tiers: Mapping[str, Mapping[str, int]]
                     ) -> pd.DataFrame:
    """One row per strategy, best accuracy tier first (then by mean): for each metric its mean,
    interval and seed std; a tier column per metric in TIERED; cost and train medians."""
    rows = []
    for name, s in summary.items():
        row = {"strategy": name, "seeds": len(s["seeds"])}
        for metric in METRICS:
            row |= {k: s[k] for k in (metric, f"{metric}_ci_low", f"{metric}_ci_high",
                                      f"{metric}_std")}
        row |= {f"tier_{metric}": tiers[metric][name] for metric in TIERED}
        row |= {k: s[k] for k in COST_KEYS + TRAIN_KEYS}
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["tier_test_accuracy", "test_accuracy"], ascending=[True, False],
                             kind="stable", ignore_index=True)


def _percent(mean: float, low: float, high: float) -> str:
    return f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def _plain(mean: float, low: float, high: float) -> str:
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


MARKDOWN = {  # metric: (header, format of mean [interval])
    "test_accuracy": ("Test accuracy %", _percent),
    "robustness_rgb": ("Robustness camera %", _percent),
    "robustness_lidar": ("Robustness LiDAR %", _percent),
    "accuracy_rgb_missing": ("RGB missing %", _percent),
    "accuracy_lidar_missing": ("LiDAR missing %", _percent),
    "test_ece": ("Test ECE", _plain),
}


def to_markdown(table: pd.DataFrame) -> str:
    """The table as a GitHub pipe table: `mean [95% interval]` cells, tiers as numbers."""
    headers = ["Strategy", "Tier (acc.)", *(MARKDOWN[m][0] for m in MARKDOWN),
               "Tier (camera)", "Tier (LiDAR)", "Params", "FLOPs", "Latency (ms)", "s / epoch"]
    lines = [headers, ["---", "---:", *["---:"] * (len(headers) - 2)]]
    for r in table.to_dict("records"):
        lines.append([
            r["strategy"], str(r["tier_test_accuracy"]),
            *(fmt(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"]) for m, (_, fmt) in MARKDOWN.items()),
            str(r["tier_robustness_rgb"]), str(r["tier_robustness_lidar"]),
            f"{int(r['params']):,}", f"{r['flops'] / 1e6:.1f}M", f"{r['latency_ms']:.2f}",
            f"{r['seconds_per_epoch']:.2f}",
        ])
    note = ("\nCells: mean over seeds [95% interval over seeds and test samples]. Tiers: going "
            "down the ranking, a strategy shares the tier of the tier's best one while their "
            "difference's 95% interval covers 0.\n")
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n" + note


def _pair(pairwise: pd.DataFrame, metric: str, a: str, b: str) -> tuple[float, float, float]:
    """(difference a - b, ci_low, ci_high) of `metric`, whichever order the table holds."""
    rows = pairwise[(pairwise["metric"] == metric)]
    match = rows[(rows["a"] == a) & (rows["b"] == b)]
    if len(match):
        r = match.iloc[0]
        return r["difference"], r["ci_low"], r["ci_high"]
    r = rows[(rows["a"] == b) & (rows["b"] == a)].iloc[0]
    return -r["difference"], -r["ci_high"], -r["ci_low"]


def _points(difference: float, low: float, high: float) -> str:
    return f"{100 * difference:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"


def findings(summary: Mapping[str, dict], pairwise: pd.DataFrame, baselines: Sequence[str],
             per_seed_accuracy: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Sentences that state only what the intervals support: the best tier of each metric in
    TIERED (robustness among the fusion strategies: a baseline that ignores a sensor is
    trivially robust to its noise), fusion against the unimodal baselines, and the spread of
    the least stable strategy across seeds."""
    seeds = sorted({len(s["seeds"]) for s in summary.values()})
    fusion = [n for n in summary if n not in baselines]
    lines = []
    if seeds == [1]:
        lines.append("One seed per strategy: the intervals cover test-set variation only, "
                     "not the variation between training runs.")
    for metric, label in TIERED.items():
        among = list(summary) if metric == "test_accuracy" else fusion
        scope = "" if metric == "test_accuracy" else " among the fusion strategies"
        ranked = tiers({n: summary[n][metric] for n in among}, pairwise, metric,
                       METRICS[metric].higher_is_better)
        top = [n for n, t in ranked.items() if t == 1]
        means = ", ".join(f"{n} {100 * summary[n][metric]:.1f}%" for n in top)
        if len(top) == 1:
            others = "strategy" if metric == "test_accuracy" else "fusion strategy"
            lines.append(f"Best {label}{scope}: {means}, ahead of every other {others} (every "
                         "difference's 95% interval excludes 0).")
        else:
            lines.append(f"Tied for the best {label}{scope} ({len(top)} strategies whose "
                         f"differences from the leader all have intervals covering 0): {means}.")
    if baselines and fusion:
        margins = {(f, b): _pair(pairwise, "test_accuracy", f, b)
                   for f in fusion for b in baselines}
        clear = [pair for pair, (_, low, _) in margins.items() if low > 0]
        if len(clear) == len(margins):
            f, b = min(margins, key=lambda pair: margins[pair][0])
            lines.append(f"Every fusion strategy is more accurate than every unimodal baseline "
                         f"({', '.join(baselines)}); the smallest margin, {f} over {b}, is "
                         f"{_points(*margins[f, b])}.")
        else:
            unclear = ", ".join(f"{f} vs {b} {_points(*margins[f, b])}"
                                for (f, b) in margins if (f, b) not in clear)
            lines.append(f"Not every fusion strategy is clearly more accurate than the "
                         f"unimodal baselines: {unclear}.")
    unstable = max(summary, key=lambda n: summary[n]["test_accuracy_std"])
    if summary[unstable]["test_accuracy_std"] > 0:
        spread = ", ".join(f"seed {s}: {100 * a:.1f}%"
                           for s, a in per_seed_accuracy[unstable].items())
        lines.append(f"Least stable across seeds: {unstable} (test accuracy {spread}; std "
                     f"{100 * summary[unstable]['test_accuracy_std']:.1f} points).")
    return lines
