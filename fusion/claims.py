"""What the comparison may claim, with the multiplicity of its claims accounted for, and only
what another run would repeat.

The report makes one family of comparisons, each a difference a - b of one metric: every pair
of ranked strategies, for each ranked metric (TIERED: test accuracy over every strategy;
robustness over the fusion strategies only, since a baseline that ignores a sensor is
trivially robust to its noise). Each difference gets a simultaneous interval: Bonferroni over
the m comparisons, so every interval has confidence 1 - alpha / m and all of them hold together
with probability at least 1 - alpha.

Seed variation in the family is one variance per metric, pooled over the strategies compared
(`Bootstrap.pooled_seed_term`: the seeds are blocks, as in a randomised block design), as in
Tukey's all-pairs comparisons: a strategy's own seed variance has S - 1 degrees of freedom, so
with 3 seeds the t quantile at the family's level is about 50, and whether an interval excludes
0 hinges on how close its few seeds happened to fall.

A claim ("a is better than b") is made only when its interval excludes 0 by more than a
replication margin: t_{replication}(df) sqrt(2) se, with se the seed part of the difference's
standard error. A run with other seeds (or on another machine) on the same test samples sees
the difference moved by seed noise of variance 2 se^2, so a claim clear by that margin keeps
its interval off 0 there with probability `replication` (0.95); a claim just clear of 0 would
replicate about half the time (the README gives both rates, measured).

A strategy clearly below at least one other cannot be the best (group 2, "below the best");
the others are "not distinguishable from the best" (group 1). Comparing all pairs, not only the
best by mean against the rest, keeps the winner's curse out: the best by mean is chosen from the
same data, so its lead over the rest is biased upwards (Hsu's multiple comparisons with the best
rest on the same all-pairs view). Bonferroni rather than Holm: Holm's step-down decisions have
no matching intervals, and every sentence quotes one.

Strategies with fewer than two seeds are not ranked (their seed variation is unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fusion.intervals import METRICS, Bootstrap

TIERED = {  # metrics ranked in groups: their label in sentences and figures
    "test_accuracy": "test accuracy",
    "robustness_rgb": "robustness to camera noise",
    "robustness_lidar": "robustness to LiDAR noise and dropout",
}
COLUMNS = ["kind", "metric", "a", "b", "difference", "ci_low", "ci_high", "margin", "clear"]


@dataclass(frozen=True)
class Claims:
    alpha: float  # family-wise error rate
    replication: float  # probability that another run repeats a claim, at its margin
    rows: pd.DataFrame  # COLUMNS: one comparison of the family per row
    best: dict[str, str]  # metric -> the best ranked strategy by mean
    groups: dict[str, dict[str, int]]  # metric -> ranked strategy -> 1 or 2

    @property
    def level(self) -> float:
        """Confidence of each simultaneous interval."""
        return 1 - self.alpha / max(len(self.rows), 1)

    @property
    def clear(self) -> pd.DataFrame:
        """The comparisons whose interval excludes 0 by their margin: the strict-difference
        claims."""
        return self.rows[self.rows["clear"]]

    def between(self, metric: str, a: str, b: str) -> tuple[float, float, float, float]:
        """(difference a - b, ci_low, ci_high, margin) from the family's row for the pair, which
        may hold it either way round (a fusion strategy comes first against a baseline)."""
        columns = ["difference", "ci_low", "ci_high", "margin"]
        rows = self.rows[self.rows["metric"] == metric]
        row = rows[(rows["a"] == a) & (rows["b"] == b)]
        if len(row):
            return tuple(row.iloc[0][columns])
        d, low, high, margin = rows[(rows["a"] == b) & (rows["b"] == a)].iloc[0][columns]
        return -d, -high, -low, margin


def direction(metric: str, low: float, high: float, margin: float = 0.0) -> int:
    """+1 when the interval of a - b says a is better by more than `margin`, -1 when b is, 0
    otherwise."""
    sign = 1 if METRICS[metric].higher_is_better else -1
    if min(sign * low, sign * high) > margin:
        return 1
    return -1 if max(sign * low, sign * high) < -margin else 0


def compare(boot: Bootstrap, baselines: Sequence[str], alpha: float = 0.05,
            replication: float = 0.95) -> Claims:
    """The report's family of comparisons with simultaneous intervals and replication
    margins, and the groups."""
    for name, value in (("alpha", alpha), ("replication", replication)):
        if not 0 < value < 1:
            raise ValueError(f"{name}: expected a level in (0, 1), got {value}")
    ranked = [n for n in boot.strategies if n not in boot.flagged]
    fusion = [n for n in ranked if n not in baselines]
    family, best, among = [], {}, {}
    for metric in TIERED:
        among[metric] = ranked if metric == "test_accuracy" else fusion
        sign = 1 if METRICS[metric].higher_is_better else -1
        order = sorted(among[metric], key=lambda n: -sign * boot.values[n][metric].mean())
        if not order:
            continue
        best[metric] = order[0]
        for i, a in enumerate(order):  # a - b with a the better by mean, fusion before baseline
            for b in order[i + 1:]:
                if a in baselines and b not in baselines:
                    a, b = b, a
                kind = ("baseline" if b in baselines and a not in baselines
                        else "best" if a == order[0] else "pair")
                family.append((kind, metric, a, b))
    level = 1 - alpha / max(len(family), 1)
    pooled = {m: boot.pooled_seed_term(m, among[m]) for m in best}
    rows = []
    for kind, metric, a, b in family:
        d, low, high = boot.difference(a, b, metric, level, pooled[metric])
        variance, df = pooled[metric]
        se = np.sqrt(variance * (1 / len(boot.seeds[a]) + 1 / len(boot.seeds[b])))
        margin = stats.t.ppf(replication, df) * np.sqrt(2) * se if df else 0.0
        rows.append((kind, metric, a, b, d, low, high, margin,
                     direction(metric, low, high, margin) != 0))
    table = pd.DataFrame(rows, columns=COLUMNS).astype({"clear": bool})
    groups = {}
    for metric in best:
        mine = table[table["clear"] & (table["metric"] == metric)]
        below = {r.b if direction(metric, r.ci_low, r.ci_high) > 0 else r.a
                 for r in mine.itertuples()}
        groups[metric] = {n: 2 if n in below else 1 for n in among[metric]}
    return Claims(alpha, replication, table, best, groups)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (family-wise), in the input order."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    steps = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted
