"""The comparison in numbers and words: the summary per strategy, the table (DataFrame and Markdown)
and finding sentences, each generated from the verdicts of `fusion.comparison.claims` (better,
equivalent, inconclusive), so that no sentence ranks two strategies whose difference could be 0 once
the report's many comparisons are accounted for, and none calls equal what it cannot bound.

Inputs are plain dicts and DataFrames; no torch.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from fusion.comparison.claims import GROUPS, POWER, TIERED, Claims, holm
from fusion.faults import FAULTS, available

COST_KEYS = ("params", "flops", "latency_ms", "throughput")  # measured once per strategy
TRAIN_KEYS = ("seconds_per_epoch", "peak_memory_mb", "best_val_loss")  # median over seeds
UNIMODAL = ("rgb_only", "lidar_only")  # registered ops of the unimodal baselines
TABLE_METRICS = ("test_accuracy", "test_balanced_accuracy", "test_f1", "test_loss", "test_ece",
                 "accuracy_rgb_missing", "accuracy_lidar_missing", "ra_camera", "ra_lidar",
                 "ra_alignment", "mRA", "mCE")
__all__ = ["TIERED", "UNIMODAL", "comparison_table", "fault_markdown", "findings", "summarize",
           "to_markdown"]


def summarize(intervals: Mapping[str, dict], train: Mapping[str, dict],
              evaluated: Mapping[str, dict],
              collapsed: Mapping[str, tuple[int, int, float, float]] | None = None
              ) -> dict[str, dict]:
    """Per strategy: the seed-dependent metrics with their intervals (from `Bootstrap.summary`),
    the cost measured once (`evaluated[name]["cost"]`), the median of the train metrics over
    seeds (`train[name]["seeds"]`) and the seed collapse rate with its interval
    (`claims.collapses`)."""
    summary = {}
    for name, metrics in intervals.items():
        per_seed = train[name]["seeds"].values()
        summary[name] = {
            **metrics,
            **{k: evaluated[name]["cost"][k] for k in COST_KEYS},
            **{k: statistics.median(s[k] for s in per_seed) for k in TRAIN_KEYS},
        }
        if collapsed:
            k, n, low, high = collapsed[name]
            summary[name] |= {"collapse_rate": k / n, "collapse_rate_ci_low": low,
                              "collapse_rate_ci_high": high}
    return summary


def comparison_table(summary: Mapping[str, dict], groups: Mapping[str, Mapping[str, int]]
                     ) -> pd.DataFrame:
    """One row per strategy, accuracy group first (then by mean; unranked last): for each
    metric its mean, interval and seed std; a group column per metric in TIERED (a key of
    GROUPS, NaN not ranked); cost and train medians."""
    rows = []
    for name, s in summary.items():
        row = {"strategy": name, "seeds": len(s["seeds"])}
        for metric in TABLE_METRICS:
            row |= {k: s[k] for k in (metric, f"{metric}_ci_low", f"{metric}_ci_high",
                                      f"{metric}_std")}
        row |= {f"tier_{m}": groups.get(m, {}).get(name, np.nan) for m in TIERED}
        row |= {k: s[k] for k in COST_KEYS + TRAIN_KEYS}
        rows.append(row)
    table = pd.DataFrame(rows)
    rank = table["tier_test_accuracy"].map({g: i for i, g in enumerate(GROUPS)})
    order = table.assign(rank=rank).sort_values(["rank", "test_accuracy"], ascending=[True, False],
                                                kind="stable", na_position="last").index
    return table.loc[order].reset_index(drop=True)


def _percent(mean: float, low: float, high: float) -> str:
    return f"{100 * mean:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def _plain(mean: float, low: float, high: float) -> str:
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


MARKDOWN = {  # metric: (header, format of mean [interval])
    "test_accuracy": ("Test accuracy %", _percent),
    "test_balanced_accuracy": ("Balanced acc. %", _percent),
    "ra_camera": ("RA camera faults %", _percent),
    "ra_lidar": ("RA LiDAR faults %", _percent),
    "ra_alignment": ("RA misalignment %", _percent),
    "accuracy_rgb_missing": ("RGB missing %", _percent),
    "accuracy_lidar_missing": ("LiDAR missing %", _percent),
    "test_ece": ("Test ECE", _plain),
}


def _group(value) -> str:
    return "–" if pd.isna(value) else str(value)


def to_markdown(table: pd.DataFrame, claims: Claims, balanced: bool) -> str:
    """The table as a GitHub pipe table: `mean [95% interval]` cells, groups as numbers.
    On a balanced test set balanced accuracy repeats accuracy, so it is left out."""
    shown = {m: v for m, v in MARKDOWN.items() if not (balanced and m == "test_balanced_accuracy")}
    headers = ["Strategy", "Seeds", "Verdict (acc.)", *(shown[m][0] for m in shown),
               "Verdict (camera)", "Verdict (LiDAR)", "Verdict (misalign.)", "Params", "FLOPs",
               "Latency (ms)", "s / epoch"]
    lines = [headers, ["---", "---:", "---:", *["---:"] * (len(headers) - 3)]]
    for r in table.to_dict("records"):
        lines.append([
            r["strategy"], str(r["seeds"]) + ("*" if r["seeds"] < 2 else ""),
            _group(r["tier_test_accuracy"]),
            *(fmt(r[m], r[f"{m}_ci_low"], r[f"{m}_ci_high"]) for m, (_, fmt) in shown.items()),
            *(_group(r[f"tier_ra_{g}"]) for g in ("camera", "lidar", "alignment")),
            f"{int(r['params']):,}", f"{r['flops'] / 1e6:.1f}M", f"{r['latency_ms']:.2f}",
            f"{r['seconds_per_epoch']:.2f}",
        ])
    note = (
        "\nCells: mean over seeds [95% interval over seeds and test samples, for that strategy "
        "alone]; RA = relative accuracy, accuracy under a fault group's faults and severities / "
        "clean accuracy (table below); cost columns are measurements without intervals (params "
        "and FLOPs are exact; latency and s / epoch vary with the machine and its load). "
        "Verdicts, from the "
        f"simultaneous intervals of the {len(claims.rows)} comparisons of the findings "
        f"({100 * claims.level:.2f}% each, Bonferroni: all hold together with "
        f"{100 * (1 - claims.alpha):.0f}% confidence): "
        + "; ".join(f"{g} = {text}" for g, text in GROUPS.items())
        + "; – = not ranked (relative accuracy of a unimodal baseline, which ignores the other "
        "sensor; "
        "a strategy with fewer than 2 seeds, marked *)."
        + ("" if not balanced else " Balanced accuracy and macro F1 (in metrics/summary.json) "
           "repeat accuracy on this balanced test set and are not shown.") + "\n")
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n" + note


def fault_markdown(summary: Mapping[str, dict], floor: pd.DataFrame, order: Sequence[str],
                   reference: str) -> str:
    """Relative accuracy per strategy (rows, in `order`) and fault (columns, controls after
    their misalignments), mRA and mCE: means over seeds; a fusion strategy's cell marked v where
    its accuracy under the fault is below its better single sensor's (`claims.against_sensors`,
    verdict `below`), ^ where above."""
    faults = list(FAULTS)  # the controls after their misalignments, in registration order
    below = {(r.fault, r.strategy): {"below": " v", "above": " ^"}.get(r.verdict, "")
             for r in floor.itertuples()}
    headers = ["Strategy", "mRA %", f"mCE (vs {reference})", *faults]
    lines = [headers, ["---", *["---:"] * (len(headers) - 1)]]
    for name in order:
        s = summary[name]
        lines.append([name, _percent(s["mRA"], s["mRA_ci_low"], s["mRA_ci_high"]),
                      _plain(s["mCE"], s["mCE_ci_low"], s["mCE_ci_high"]),
                      *(f"{100 * s[f'ra_{f}']:.1f}{below.get((f, name), '')}" for f in faults)])
    counted = floor[floor["verdict"].isin(["below", "above"])]
    level = (f"{len(floor)} comparisons of a fusion strategy with its better single sensor under "
             f"each fault, simultaneous at 95% (Bonferroni)") if len(floor) else "no comparisons"
    note = (f"\nRelative accuracy (RA, %) under each fault: accuracy over its severities / clean "
            f"accuracy on every test sample, mean over seeds (intervals in metrics/summary.json; "
            f"a strategy unaffected by a fault scores 100 up to the noise of the fault's share of "
            f"the samples); mRA = mean RA over the {len(available())} faults (controls left out); "
            f"mCE = error under the faults / {reference}'s, with 95% intervals (after ImageNet-C; "
            f"a ratio of mean errors; < 1: fewer errors than {reference}). `shift_both` and "
            f"`rotate_both` are the controls of the misalignments: the same transform applied to "
            f"both sensors. v / ^: the fusion strategy's accuracy under that fault is below / "
            f"above that of its better single sensor under the same fault ({level}; "
            f"{len(counted)} verdicts).\n")
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n" + note


def severity_table(curves: Mapping[str, pd.DataFrame], confidence: float = 0.95
                   ) -> pd.DataFrame:
    """Per strategy, fault and severity: accuracy (mean over seeds) with an approximate interval,
    mean +- t(S - 1) sqrt(s^2 / S + p (1 - p) / n): the seeds' spread and the binomial
    variation of the cell's n samples. `curves`: name -> CURVE_COLUMNS plus `seed`."""
    rows = []
    for name, curve in curves.items():
        for (fault, severity), cell in curve.groupby(["fault", "severity"], sort=False):
            p, s, n = cell["accuracy"].mean(), len(cell), cell["samples"].iloc[0]
            var = cell["accuracy"].var(ddof=1) / s if s > 1 else 0.0
            half = stats.t.ppf((1 + confidence) / 2, max(s - 1, 1)) * np.sqrt(
                var + p * (1 - p) / n)
            rows.append((name, fault, severity, p, max(p - half, 0.0), min(p + half, 1.0), n, s))
    return pd.DataFrame(rows, columns=["strategy", "fault", "severity", "accuracy", "ci_low",
                                       "ci_high", "samples", "seeds"])


def _points(difference: float, low: float, high: float) -> str:
    return f"{100 * difference:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"


def _delta(claims: Claims, metric: str) -> str:
    return f"+-{100 * claims.rows.loc[claims.rows['metric'] == metric, 'delta'].iloc[0]:.1f} points"


def _metric_lines(summary: Mapping[str, dict], claims: Claims, baselines: Sequence[str],
                  unstable: Sequence[str]) -> list[str]:
    """Per ranked metric: the best by mean and each other strategy's verdict against it, a
    sentence when every fusion strategy is equivalent, and what the run can detect (between
    fusion strategies none of whose seeds collapsed, and over every comparison)."""
    lines = []
    for metric, label in TIERED.items():
        if metric not in claims.best:
            continue
        best, group = claims.best[metric], claims.groups[metric]
        rows = claims.rows[claims.rows["metric"] == metric]
        fusion = [n for n in group if n not in baselines]
        among_fusion = rows[rows["a"].isin(fusion) & rows["b"].isin(fusion)]
        if len(fusion) > 1 and (among_fusion["verdict"] == "equivalent").all():
            widest = among_fusion[["ci_low", "ci_high"]].abs().to_numpy().max()
            lines.append(f"All {len(fusion)} fusion strategies are equivalent in {label} within "
                         f"{_delta(claims, metric)}: every pair's interval lies inside it (the "
                         f"widest reaches {100 * widest:.1f} points).")
        elif len(fusion) > 2:
            by_mean = sorted(fusion, key=lambda n: -summary[n][metric])
            alike = _equivalent_set(claims, metric, by_mean)
            if len(alike) > 2:
                lines.append(f"Pairwise equivalent in {label} within {_delta(claims, metric)}: "
                             f"{', '.join(alike)} (every pair of them; the largest such group "
                             "taken in order of the means).")
        scope = "" if metric == "test_accuracy" else " among the fusion strategies"
        parts = [f"Best {label}{scope} by mean: {best} {100 * summary[best][metric]:.1f}%"]
        for word in ("equivalent", "inconclusive", "below"):
            names = sorted((n for n in group if group[n] == word),
                           key=lambda n: -summary[n][metric])
            if not names:
                continue
            cited = ", ".join(f"{n} {_points(*claims.between(metric, n, best)[:3])}"
                              for n in names)
            parts.append({"equivalent": f"equivalent to it within {_delta(claims, metric)}",
                          "inconclusive": "inconclusive against it (neither a difference nor "
                                          "an equivalence shown)",
                          "below": "below it or another strategy (a `better` verdict)"}[word]
                         + f": {cited}")
        lines.append("; ".join(parts) + " (each: difference from the best).")
        stable = [n for n in fusion if n not in unstable]
        between = rows[rows["a"].isin(stable) & rows["b"].isin(stable)]["detectable"]
        typical = (f"{_detectable(between.median())} points between two fusion strategies "
                   f"with no collapsed seed (median of {len(between)} comparisons); "
                   if len(between) else "")
        lines.append(f"Detectable in {label}{scope} with {100 * POWER:.0f}% probability, from "
                     "this run's seed and test-set variance and the disagreements a difference "
                     f"that size brings: {typical}{_detectable(rows['detectable'].min())}-"
                     f"{_detectable(rows['detectable'].max())} points over all {len(rows)}.")
    return lines


def _detectable(difference: float) -> str:
    """A detectable difference in points; `claims.detectable` is inf when none up to 100 is."""
    return f"{100 * difference:.1f}" if np.isfinite(difference) else "beyond 100"


def _equivalent_set(claims: Claims, metric: str, names: Sequence[str]) -> list[str]:
    """Strategies taken in the order given, each kept when it is `equivalent` to every one
    kept before it."""
    kept: list[str] = []
    for name in names:
        if all(claims.between(metric, name, k)[3] == "equivalent" for k in kept):
            kept.append(name)
    return kept


def _baseline_line(claims: Claims, baselines: Sequence[str]) -> list[str]:
    rows = claims.rows
    rows = rows[(rows["metric"] == "test_accuracy") & (rows["a"].isin(baselines)
                                                       != rows["b"].isin(baselines))]
    if rows.empty:
        return []
    ahead = [claims.between("test_accuracy", f, b) + (f, b) for f, b in
             ((r.b, r.a) if r.a in baselines else (r.a, r.b) for r in rows.itertuples())]
    if all(v == "better" and d > 0 for d, _, _, v, _, _ in ahead):
        d, low, high, _, f, b = min(ahead, key=lambda x: x[0])
        return [f"Every fusion strategy is more accurate than every unimodal baseline "
                f"({', '.join(baselines)}); the smallest lead, {f} over {b}, is "
                f"{_points(d, low, high)}."]
    words = {"better": [], "worse": [], "equivalent": [], "inconclusive": []}
    for d, low, high, v, f, b in ahead:
        key = "worse" if v == "better" and d < 0 else v
        words[key].append(f"{f} vs {b} {_points(d, low, high)}")
    told = {"better": "fusion ahead", "worse": "the baseline ahead",
            "equivalent": "equivalent", "inconclusive": "inconclusive"}
    return [f"Fusion against the unimodal baselines in test accuracy ({len(ahead)} comparisons, "
            "fusion minus baseline): " + "; ".join(
                f"{told[k]}: {', '.join(v)}" for k, v in words.items() if v) + "."]


def _other_lines(claims: Claims, baselines: Sequence[str]) -> list[str]:
    """`better` verdicts between two strategies neither of which is the best or a baseline."""
    rows = claims.clear
    rows = rows[~rows["a"].isin(baselines) & ~rows["b"].isin(baselines)
                & (rows["a"] != rows["metric"].map(claims.best))]
    if rows.empty:
        return []
    return ["Other differences: " + "; ".join(
        f"{r.a} ahead of {r.b} in {TIERED[r.metric]} by "
        f"{_points(r.difference, r.ci_low, r.ci_high)}" for r in rows.itertuples()) + "."]


def _floor_lines(floor: pd.DataFrame) -> list[str]:
    """Per fault group: the fusion strategies that fall below their better single sensor."""
    below = floor[floor["verdict"] == "below"]
    if floor.empty:
        return []
    if below.empty:
        return [f"No fusion strategy is shown below its better single sensor under any fault "
                f"({len(floor)} comparisons, simultaneous at 95%)."]
    parts = []
    for fault, rows in below.groupby("fault", sort=False):
        cited = ", ".join(f"{r.strategy} {_points(r.difference, r.ci_low, r.ci_high)}"
                          for r in rows.sort_values("difference").itertuples())
        parts.append(f"{fault} ({FAULTS[fault].sensor}; vs {rows['sensor'].iloc[0]} alone): "
                     f"{cited}")
    return [f"Fusion worse than its better single sensor under the same fault (accuracy over "
            f"the fault's severities, fusion minus that sensor alone; {len(below)} of "
            f"{len(floor)} comparisons, simultaneous at 95%): " + "; ".join(parts) + "."]


def _recipe_line(recipes: Mapping[str, str]) -> list[str]:
    """The training recipes, when they differ: a fault difference may come from them."""
    by_recipe: dict[str, list[str]] = {}
    for name, recipe in recipes.items():
        by_recipe.setdefault(recipe, []).append(name)
    if len(by_recipe) < 2:
        return []
    return ["Training recipes differ, and modality dropout and epochs change robustness to a "
            "missing or degraded sensor as much as a fusion design may: " + "; ".join(
                f"{', '.join(names)}: {recipe}" for recipe, names in by_recipe.items())
            + ". A fault verdict between strategies of different recipes compares recipes too."]


def _collapse_line(collapsed: Mapping[str, tuple[int, int, float, float]],
                   points: float) -> list[str]:
    """Each strategy's seed collapse rate with its interval."""
    if not collapsed:
        return []
    some = {n: c for n, c in collapsed.items() if c[0]}
    rest = [n for n in collapsed if n not in some]
    text = [f"{n} {k} of {s} ({100 * k / s:.0f}%, [{100 * lo:.0f}, {100 * hi:.0f}])"
            for n, (k, s, lo, hi) in some.items()]
    if rest:
        counts = {collapsed[n][1:] for n in rest}
        text.append(f"none in {', '.join(rest)}" + (
            f" (0 of {counts.pop()[0]} each, [0, {100 * collapsed[rest[0]][3]:.0f}])"
            if len(counts) == 1 else ""))
    hidden = ""
    if some and rest:  # what "none" cannot rule out: a collapse its seeds happened not to draw
        rate = sum(c[0] for c in some.values()) / sum(c[1] for c in some.values())
        fewest = min(collapsed[n][1] for n in rest)
        hidden = (f" A strategy that collapses as often as {', '.join(some)} shows none in "
                  f"{fewest} seeds with probability {100 * (1 - rate) ** fewest:.0f}%, and then "
                  "its seeds look stable: verdicts on a strategy without a collapse assume it "
                  "has none to hide (docs/statistics.md).")
    return [f"Seed collapses (a seed more than {100 * points:.1f} points below its strategy's "
            "median test accuracy; the rate with its 95% Clopper-Pearson interval): "
            + "; ".join(text) + "." + hidden + " A strategy can be given more seeds of its own "
            "(`strategies.<name>.seeds`) to narrow its rate and its intervals."]


def _needs_line(needs: Mapping[str, tuple[float, dict[int, float]]]) -> list[str]:
    """What a run would need to detect a given difference (`claims.seeds_needed`)."""
    parts = []
    for metric, (difference, by_seeds) in needs.items():
        cells = ", ".join(f"{s} seeds {int(n):,} test samples" if np.isfinite(n)
                          else f"{s} seeds: not reachable" for s, n in by_seeds.items())
        unit = "point" if round(100 * difference) == 1 else "points"
        parts.append(f"{100 * difference:.0f} {unit} of {TIERED[metric]}: {cells}")
    return [f"To detect with {100 * POWER:.0f}% probability, at this family's level, between two "
            "strategies with this run's median seed variance: " + "; ".join(parts) + "."
            ] if parts else []


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
             per_seed_accuracy: Mapping[str, Mapping[str, float]], data: str = "",
             collapsed: Mapping[str, tuple[int, int, float, float]] | None = None,
             collapse_points: float = 0.01,
             needs: Mapping[str, tuple[float, dict[int, float]]] | None = None,
             floor: pd.DataFrame | None = None,
             recipes: Mapping[str, str] | None = None) -> list[str]:
    """Sentences that state only what the simultaneous intervals support: the data they come
    from and what in it separates the strategies (`data`, e.g. `Params.data_source()`),
    strategies without seed variation, the multiplicity of the verdicts, each ranked metric's
    verdicts against its best and what the run can detect, fusion against the unimodal
    baselines, other differences, seeds that differ beyond noise, seed collapses (`collapsed`,
    `claims.collapses`), what a run would need (`needs`, `claims.seeds_needed`), fusion below
    its better single sensor under a fault (`floor`, `claims.against_sensors`) and the training
    recipes when they differ (`recipes`: strategy -> its recipe in words)."""
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
        deltas = claims.rows.groupby("metric")["delta"].first()
        lines.append(
            f"The verdicts below hold together with {100 * (1 - claims.alpha):.0f}% "
            f"confidence: each of the {len(claims.rows)} comparisons has a simultaneous "
            f"interval ({100 * claims.level:.2f}%, Bonferroni; each strategy's own seed "
            "variance, moderated across strategies, and the test-set variation of the paired "
            "difference). better: the interval excludes 0; equivalent: it lies within the "
            "practical margin (" + ", ".join(f"+-{100 * d:.1f} points of {TIERED[m]}"
                                             for m, d in deltas.items())
            + "); inconclusive: neither.")
    baselines = [b for b in baselines if b not in flagged]
    unstable = [n for n, c in (collapsed or {}).items() if c[0]]
    lines += _metric_lines(summary, claims, baselines, unstable)
    lines += _baseline_line(claims, baselines)
    lines += _other_lines(claims, baselines)
    lines += _floor_lines(floor if floor is not None else pd.DataFrame(columns=["verdict"]))
    lines += _recipe_line(recipes or {})
    lines += _stability_line(homogeneity, per_seed_accuracy, claims.alpha)
    lines += _collapse_line(collapsed or {}, collapse_points)
    lines += _needs_line(needs or {})
    return lines
