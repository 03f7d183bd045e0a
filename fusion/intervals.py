"""Means with 95% intervals, pairwise differences and tiers of strategies from per-seed results.

Input: one long predictions table per strategy, a row per (seed, test sample), every strategy
and seed on the same test samples in the same order. For a strategy with S seeds, v_s is the
metric of seed s on the full test set; mean = mean_s v_s and std = their sample std (ddof 1,
0 for one seed). The interval accounts for two sources of variation:

- test set: B bootstrap resamples of the N samples, as multinomial counts W (B, N) drawn once
  and shared by every seed and strategy (comparisons are paired on samples); v_{s,b} is the
  metric of seed s under the weights W_b.
- seeds: a bootstrap over a few seeds badly understates their spread, so a Student-t term is
  added instead, T_b ~ t(S - 1) iid (none for one seed).

The strategy mean is distributed as D_b = mean_s v_{s,b} + std / sqrt(S) T_b; its interval is
the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of D_b, clipped to the metric's
bounds. A difference a - b on the same seeds is paired on them: D_b = mean_s (v^a_{s,b} -
v^b_{s,b}) + sd_d / sqrt(S) T_b, sd_d the std of d_s = v^a_s - v^b_s. On different seeds the
t term has scale sqrt(std_a^2 / S_a + std_b^2 / S_b) (none when 0) and Welch-Satterthwaite
degrees of freedom.
p_a_better = P(D_b favours a) (ties count half), whichever direction the metric improves in.

Every metric of every seed and resample comes from one product of W with per-sample columns.
W is drawn from `seed`; the t draws of each strategy (pair) from a generator seeded by `seed`
and its index (indices), shared by its metrics: same inputs and seed, same outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Metric:
    """Direction of improvement and the range intervals are clipped to."""

    higher_is_better: bool = True
    bounds: tuple[float, float] = (0.0, 1.0)


METRICS: dict[str, Metric] = {
    "test_accuracy": Metric(),
    "test_balanced_accuracy": Metric(),
    "test_f1": Metric(),
    "test_loss": Metric(higher_is_better=False, bounds=(0.0, np.inf)),
    "test_ece": Metric(higher_is_better=False),
    "robustness_rgb": Metric(),
    "robustness_lidar": Metric(),
    "accuracy_rgb_missing": Metric(),
    "accuracy_lidar_missing": Metric(),
}
MEANS = {  # metric -> column whose weighted mean it is
    "test_accuracy": "correct",
    "test_loss": "loss",
    "robustness_rgb": "robustness_rgb",
    "robustness_lidar": "robustness_lidar",
    "accuracy_rgb_missing": "correct_rgb_missing",
    "accuracy_lidar_missing": "correct_lidar_missing",
}
COLUMNS = ["seed", "row", "actual", "predicted", "confidence", *MEANS.values()]


def _metrics(runs: Sequence[Mapping], classes: np.ndarray, w: np.ndarray, bins: int) -> dict:
    """Every metric of each run (one seed's N samples) under each weight row of w (B, N)
    -> {metric: (B, runs)}, from one product of w with per-sample columns."""
    columns = []
    for run in runs:
        actual = np.asarray(run["actual"])[:, None] == classes  # (N, C)
        guessed = np.asarray(run["predicted"])[:, None] == classes  # (N, C)
        confidence = np.asarray(run["confidence"], float)
        index = np.clip(np.ceil(confidence * bins), 1, bins).astype(int) - 1  # (N,)
        gap = np.zeros((len(index), bins))  # (N, bins): correct - confidence in each bin
        gap[np.arange(len(index)), index] = np.asarray(run["correct"], float) - confidence
        means = np.stack([np.asarray(run[c], float) for c in MEANS.values()], 1)  # (N, 6)
        hits = actual & guessed  # (N, C): true positives
        columns.append(np.hstack([means, actual, guessed, hits, gap]))  # (N, K)
    x = np.stack(columns, 1)  # (N, S, K)
    sums = (w @ x.reshape(len(x), -1)).reshape(len(w), *x.shape[1:])  # (B, S, K) weighted sums
    c = len(classes)
    means, n_actual, n_guessed, hits, gap = np.split(sums, np.cumsum([len(MEANS), c, c, c]), -1)
    total = w.sum(1)[:, None]  # (B, 1)
    out = dict(zip(MEANS, np.moveaxis(means, -1, 0) / total, strict=True))
    present = n_actual > 0  # (B, S, C)
    recall = np.where(present, hits / np.where(present, n_actual, 1), 0.0)
    out["test_balanced_accuracy"] = recall.sum(-1) / present.sum(-1)
    pairs = n_actual + n_guessed  # 2 TP + FP + FN
    out["test_f1"] = np.where(pairs > 0, 2 * hits / np.where(pairs > 0, pairs, 1), 0.0).mean(-1)
    out["test_ece"] = np.abs(gap).sum(-1) / total
    return out


def _split(name: str, table: pd.DataFrame) -> dict[int, dict[str, np.ndarray]]:
    """Validated columns of each seed's samples in one strategy's table, by seed."""
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}")
    data = {c: table[c].to_numpy() for c in COLUMNS}
    for column, v in data.items():
        if pd.isna(v).any():
            raise ValueError(f"{name}: column {column!r} has NaN values")
    if table.empty:
        raise ValueError(f"{name}: empty predictions table")
    seeds = data["seed"]
    runs = {int(s): {c: v[seeds == s] for c, v in data.items()} for s in np.unique(seeds)}
    base, first = next(iter(runs.items()))
    if len(np.unique(first["row"])) < len(first["row"]):
        raise ValueError(f"{name}: seed {base} has duplicated test rows")
    for seed, run in runs.items():
        if not _same_samples(first, run):
            raise ValueError(f"{name}: seed {seed} has other test samples than seed {base}")
    return runs


def _same_samples(x: Mapping, y: Mapping) -> bool:
    """Same test rows in the same order, with the same actual classes."""
    return all(np.array_equal(x[c], y[c]) for c in ("row", "actual"))


def _quantiles(dist: np.ndarray, confidence: float) -> np.ndarray:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a level in (0, 1), got {confidence}")
    return np.quantile(dist, [(1 - confidence) / 2, (1 + confidence) / 2], axis=-1)


def _std(v: np.ndarray) -> float:
    return float(v.std(ddof=1)) if len(v) > 1 else 0.0


@dataclass
class Bootstrap:
    """Per-seed metrics of every strategy on the full test set and under shared resamples."""

    strategies: list[str]
    seeds: dict[str, list[int]]
    values: dict[str, dict[str, np.ndarray]]  # strategy -> metric -> (S,)
    resampled: dict[str, dict[str, np.ndarray]]  # strategy -> metric -> (B, S)
    seed: int = 0

    def _t(self, df: float, *key: int) -> np.ndarray:
        """(B,) t(df) draws, zeros for df 0; one generator per key: results do not depend on
        the order of calls."""
        b = len(self.resampled[self.strategies[0]]["test_accuracy"])
        if df <= 0:
            return np.zeros(b)
        return np.random.default_rng([self.seed, *key]).standard_t(df, b)

    def summary(self, confidence: float = 0.95) -> dict[str, dict]:
        """{strategy: {"seeds", metric (the mean), metric_ci_low, metric_ci_high, metric_std}}."""
        bounds = np.array([spec.bounds for spec in METRICS.values()]).T  # (2, M)
        out = {}
        for i, name in enumerate(self.strategies):
            n = len(self.seeds[name])
            v = np.stack([self.values[name][m] for m in METRICS])  # (M, S)
            std = np.array([_std(x) for x in v])  # (M,)
            means = np.stack([self.resampled[name][m].mean(1) for m in METRICS])  # (M, B)
            dist = means + std[:, None] / np.sqrt(n) * self._t(n - 1, 0, i)  # (M, B)
            low, high = np.clip(_quantiles(dist, confidence), *bounds).tolist()  # (M,) each
            row: dict = {"seeds": list(self.seeds[name])}
            for k, m in enumerate(METRICS):
                row[m], row[f"{m}_std"] = float(v[k].mean()), float(std[k])
                row[f"{m}_ci_low"], row[f"{m}_ci_high"] = low[k], high[k]
            out[name] = row
        return out

    def pairwise(
        self, metrics: Sequence[str] | None = None, confidence: float = 0.95
    ) -> pd.DataFrame:
        """Difference a - b of every pair of strategies (a first in strategy order), its
        interval and the probability that a is better."""
        metrics = list(METRICS) if metrics is None else list(metrics)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}, expected some of {list(METRICS)}")
        rows = []
        for (i, a), (j, b) in combinations(enumerate(self.strategies), 2):
            na, nb = len(self.seeds[a]), len(self.seeds[b])
            for metric in metrics:
                va, vb = self.values[a][metric], self.values[b][metric]
                if self.seeds[a] == self.seeds[b]:  # paired on seeds
                    scale, df = _std(va - vb) / np.sqrt(na), na - 1
                else:  # Welch: each mean's variance, 0 for one seed
                    parts = [(_std(v) ** 2 / n, n) for v, n in ((va, na), (vb, nb))]
                    scale = np.sqrt(sum(p for p, _ in parts))
                    df = (scale**4 / sum(p**2 / (n - 1) for p, n in parts if p > 0)) if scale else 0
                ra, rb = self.resampled[a][metric], self.resampled[b][metric]  # (B, S)
                dist = ra.mean(1) - rb.mean(1) + scale * self._t(df, 1, i, j)  # (B,)
                low, high = _quantiles(dist, confidence)
                better = dist if METRICS[metric].higher_is_better else -dist
                p = np.mean(better > 0) + 0.5 * np.mean(better == 0)
                rows.append((a, b, metric, va.mean() - vb.mean(), low, high, p))
        columns = ["a", "b", "metric", "difference", "ci_low", "ci_high", "p_a_better"]
        return pd.DataFrame(rows, columns=columns).astype({c: float for c in columns[3:]})


def bootstrap(
    tables: Mapping[str, pd.DataFrame], resamples: int = 2000, seed: int = 0, bins: int = 15
) -> Bootstrap:
    """Validate the strategies' predictions tables, draw the shared resamples and compute every
    metric of every seed on the full test set and under each resample."""
    if not tables:
        raise ValueError("no predictions tables")
    if resamples < 1 or bins < 1:
        raise ValueError(f"expected resamples >= 1 and bins >= 1, got {resamples} and {bins}")
    runs = {name: _split(name, table) for name, table in tables.items()}
    firsts = {name: next(iter(by_seed.values())) for name, by_seed in runs.items()}
    base, reference = next(iter(firsts.items()))
    for name, first in firsts.items():
        if not _same_samples(first, reference):
            raise ValueError(f"{name}: other test samples than {base} (rows, order or classes)")
    classes = np.unique(reference["actual"])
    n = len(reference["row"])
    draws = np.random.default_rng(seed).integers(0, n, (resamples, n))  # (B, N) sample indices
    draws += n * np.arange(resamples)[:, None]  # indices into the flattened (B, N) counts
    counts = np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n)
    w = np.vstack([np.ones(n), counts])  # (1 + B, N): the full test set, then the resamples
    flat = [(name, run) for name, by_seed in runs.items() for run in by_seed.values()]
    out = _metrics([run for _, run in flat], classes, w, bins)  # {metric: (1 + B, all runs)}
    owner = np.array([name for name, _ in flat])
    values = {k: {m: v[0, owner == k] for m, v in out.items()} for k in runs}  # (S,)
    resampled = {k: {m: v[1:, owner == k] for m, v in out.items()} for k in runs}  # (B, S)
    seeds = {name: list(by_seed) for name, by_seed in runs.items()}
    return Bootstrap(list(tables), seeds, values, resampled, seed)


def tiers(
    summary_means: Mapping[str, float],
    pairwise: pd.DataFrame,
    metric: str,
    higher_is_better: bool,
) -> dict[str, int]:
    """Tier of each strategy, 1 the best: best first by mean, a strategy joins the current tier
    when its difference interval with the tier's leader (best member) covers 0, else it leads
    the next tier."""
    table = pairwise[pairwise["metric"] == metric]
    interval = {(a, b): (lo, hi) for a, b, lo, hi in table[["a", "b", "ci_low", "ci_high"]].values}
    ranked = sorted(summary_means, key=summary_means.get, reverse=higher_is_better)
    out, tier, leader = {}, 1, ranked[0] if ranked else None
    for name in ranked:
        if name != leader:
            # a - b flipped to b - a is (-hi, -lo): it covers 0 exactly when (lo, hi) does
            pair = interval.get((leader, name), interval.get((name, leader)))
            if pair is None:
                raise ValueError(f"no {metric} interval for {leader} vs {name}")
            if not pair[0] <= 0 <= pair[1]:
                tier, leader = tier + 1, name
        out[name] = tier
    return out
