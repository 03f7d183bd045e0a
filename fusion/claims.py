"""What the comparison may claim, with the multiplicity of its claims accounted for.

The report makes one family of comparisons, each a difference a - b of one metric:
- for each ranked metric (TIERED), the best strategy by mean against every other ranked one
  (test accuracy: every strategy; robustness: the fusion strategies only, since a baseline
  that ignores a sensor is trivially robust to its noise);
- test accuracy of every fusion strategy against every unimodal baseline (those not already
  compared with the best).
Each difference gets a simultaneous interval: Bonferroni over the m comparisons, so every
interval has confidence 1 - alpha / m and all of them hold together with probability at least
1 - alpha. A claim ("a is better than b") is made only when its interval excludes 0. A
strategy whose difference from the best covers 0 is "not distinguishable from the best"
(group 1); one clearly below the best is in group 2. Bonferroni rather than Holm: Holm's
step-down decisions have no matching intervals, and every sentence quotes one.

Strategies with fewer than two seeds are not ranked (their seed variation is unknown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fusion.intervals import METRICS, Bootstrap

TIERED = {  # metrics ranked in groups: their label in sentences and figures
    "test_accuracy": "test accuracy",
    "robustness_rgb": "robustness to camera noise",
    "robustness_lidar": "robustness to LiDAR noise and dropout",
}
COLUMNS = ["kind", "metric", "a", "b", "difference", "ci_low", "ci_high", "clear"]


@dataclass(frozen=True)
class Claims:
    alpha: float  # family-wise error rate
    rows: pd.DataFrame  # COLUMNS: one comparison of the family per row
    best: dict[str, str]  # metric -> the best ranked strategy by mean
    groups: dict[str, dict[str, int]]  # metric -> ranked strategy -> 1 or 2

    @property
    def level(self) -> float:
        """Confidence of each simultaneous interval."""
        return 1 - self.alpha / max(len(self.rows), 1)

    @property
    def clear(self) -> pd.DataFrame:
        """The comparisons whose interval excludes 0: the strict-difference claims."""
        return self.rows[self.rows["clear"]]


def direction(metric: str, low: float, high: float) -> int:
    """+1 when the interval of a - b says a is better, -1 when b is, 0 when it covers 0."""
    sign = 1 if METRICS[metric].higher_is_better else -1
    if min(sign * low, sign * high) > 0:
        return 1
    return -1 if max(sign * low, sign * high) < 0 else 0


def compare(boot: Bootstrap, baselines: Sequence[str], alpha: float = 0.05) -> Claims:
    """The report's family of comparisons with simultaneous intervals, and the groups."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha}")
    ranked = [n for n in boot.strategies if n not in boot.flagged]
    fusion = [n for n in ranked if n not in baselines]
    family, best = [], {}
    for metric in TIERED:
        among = ranked if metric == "test_accuracy" else fusion
        if not among:
            continue
        sign = 1 if METRICS[metric].higher_is_better else -1
        best[metric] = max(among, key=lambda n: sign * boot.values[n][metric].mean())
        family += [("best", metric, best[metric], n) for n in among if n != best[metric]]
    listed = {(metric, a, b) for _, metric, a, b in family}
    family += [("baseline", "test_accuracy", f, b) for f in fusion for b in baselines
               if b in ranked and ("test_accuracy", f, b) not in listed]
    level = 1 - alpha / max(len(family), 1)
    rows = []
    for kind, metric, a, b in family:
        d, low, high = boot.difference(a, b, metric, level)
        rows.append((kind, metric, a, b, d, low, high, direction(metric, low, high) != 0))
    table = pd.DataFrame(rows, columns=COLUMNS).astype({"clear": bool})
    groups = {}
    for metric, top in best.items():
        mine = table[(table["kind"] == "best") & (table["metric"] == metric)]
        below = set(mine.loc[mine["clear"], "b"])
        among = [top, *mine["b"]]
        groups[metric] = {n: 2 if n in below else 1 for n in among}
    return Claims(alpha, table, best, groups)


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (family-wise), in the input order."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    steps = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted
