"""Means with intervals, pairwise differences and probabilities of improvement of strategies,
from per-seed, per-sample results.

Input: one long predictions table per strategy, a row per (seed, test sample), every strategy
and seed on the same test samples in the same order. For a strategy with S seeds, v_s is the
metric of seed s on the full test set; mean = mean_s v_s and std = their sample std (ddof 1).
An interval accounts for two sources of variation:

- test set: B bootstrap resamples of the N samples, as multinomial counts W (B, N) drawn once
  and shared by every seed and strategy (comparisons are paired on samples); v_{s,b} is the
  metric of seed s under the weights W_b, and M_b = mean_s v_{s,b}.
- seeds: a bootstrap over a few seeds badly understates their spread, so a Student-t term is
  added instead: the mean is distributed as D = M_b + std / sqrt(S) T, T ~ t(S - 1), b uniform.

The interval is the pair of (1 -+ confidence) / 2 quantiles of D, computed exactly: the CDF of D
is mean_b F_t((x - M_b) / scale), solved for each quantile by Brent's method (no Monte-Carlo
draws, so no endpoint noise), then clipped to the metric's bounds. For ECE, a non-linear
statistic whose resamples sit above the estimate (resampling adds noise to every bin, and |.|
turns noise into bias), the atoms are reflected about the estimate (the basic bootstrap
interval), so the bias does not shift the interval; its seed term is the seeds' variance less
the mean resampling variance of one seed (that noise is in the atoms already: counted twice,
the interval covered 99-100% where 95% was meant), and its lower end is 0 whenever the
estimate is no larger than a perfectly calibrated model's would be with the same confidences
(`Bootstrap.calibrated_looking`). `benchmarks/ece_coverage.py` measures the coverage.

A difference a - b on the same seeds is paired on them: atoms mean_s (v^a_{s,b} - v^b_{s,b})
and scale sd_d / sqrt(S), sd_d the std of d_s = v^a_s - v^b_s, df S - 1. On different seeds the
scale is sqrt(std_a^2 / S_a + std_b^2 / S_b) with Welch-Satterthwaite degrees of freedom.

The report's family of claims (`fusion.comparison.claims`) uses analytic intervals instead, from the
per-sample columns kept here (`Bootstrap.samples`), so its endpoints do not depend on `seed`.

A strategy with one seed has no seed std of its own: it borrows, per metric, the largest seed
std among the strategies with two or more seeds (and that strategy's df), and is compared
unpaired; it is flagged (`Bootstrap.flagged`) so that reports say so. Only when no strategy has
two seeds do intervals cover test-set variation alone.

The probability of improvement P(a better than b) (Bouthillier et al. 2021, as in rliable) is
the share of seed pairs (s of a, t of b) where run s of a beats run t of b, ties counting
half: a Mann-Whitney estimate of how often a fresh run of a beats a fresh run of b. Its interval
is Newcombe's (2006, method 5) score interval for that statistic, exact in the seed counts and
never degenerate: 4 seeds of a that all beat 4 of b give [0.60, 1], not [1, 1].

Every metric of every seed and resample comes from one product of W with per-sample columns.
W is drawn from `seed`: same inputs and seed, same outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from fusion.faults import FAULTS, suite


@dataclass(frozen=True)
class Metric:
    """Direction of improvement, the range intervals are clipped to, and for a calibration
    error: the basic (reflected) bootstrap interval, because resampling biases the statistic;
    the seed term less the resampling noise it repeats; a lower end of 0 while the estimate is
    what a perfectly calibrated model would show."""

    higher_is_better: bool = True
    bounds: tuple[float, float] = (0.0, 1.0)
    calibration: bool = False


FAULT_GROUPS = (*suite.GROUPS, suite.CONTROL)
RELATIVE = ["mRA", *(f"ra_{g}" for g in FAULT_GROUPS), *(f"ra_{f}" for f in FAULTS)]
FAULT_ACCURACY = [f"accuracy_{f}" for f in FAULTS]  # mean over the fault's severities
METRICS: dict[str, Metric] = {
    "test_accuracy": Metric(),
    "test_balanced_accuracy": Metric(),
    "test_f1": Metric(),
    "test_loss": Metric(higher_is_better=False, bounds=(0.0, np.inf)),
    "test_ece": Metric(higher_is_better=False, calibration=True),
    "accuracy_rgb_missing": Metric(),
    "accuracy_lidar_missing": Metric(),
    **{m: Metric(bounds=(0.0, np.inf)) for m in RELATIVE},  # corrupted / clean may exceed 1
    **{m: Metric() for m in FAULT_ACCURACY},
}
MEANS = {  # metric -> column whose weighted mean it is
    "test_accuracy": "correct",
    "test_loss": "loss",
    "accuracy_rgb_missing": "correct_rgb_missing",
    "accuracy_lidar_missing": "correct_lidar_missing",
    **{m: m for m in RELATIVE + FAULT_ACCURACY},  # columns derived by `suite.relative_columns`
}
FAULT_COLUMNS = [*(f"{kind}_{g}" for g in suite.GROUPS for kind in ("cell", "correct")),
                 f"correct_{suite.CONTROL}"]
COLUMNS = ["seed", "row", "actual", "predicted", "confidence", "correct", "loss",
           "correct_rgb_missing", "correct_lidar_missing", *FAULT_COLUMNS]
PAIRWISE = ["a", "b", "metric", "difference", "ci_low", "ci_high", "p_a_better",
            "p_a_better_ci_low", "p_a_better_ci_high"]


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
        means = np.stack([np.asarray(run[c], float) for c in MEANS.values()], 1)  # (N, M)
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
    for run in runs.values():
        run |= relative(run)
    base, first = next(iter(runs.items()))
    if len(np.unique(first["row"])) < len(first["row"]):
        raise ValueError(f"{name}: seed {base} has duplicated test rows")
    for seed, run in runs.items():
        if not _same_samples(first, run):
            raise ValueError(f"{name}: seed {seed} has other test samples than seed {base}")
    return runs


def relative(run: Mapping) -> dict[str, np.ndarray]:
    """The per-sample columns of relative accuracy (`suite.relative_columns`) of one seed's
    columns."""
    return suite.relative_columns(
        run["correct"], {g: run[f"correct_{g}"] for g in FAULT_GROUPS},
        {g: run[f"cell_{g}"] for g in suite.GROUPS})


def _same_samples(x: Mapping, y: Mapping) -> bool:
    """Same test rows in the same order, with the same actual classes and fault cells."""
    return all(np.array_equal(x[c], y[c])
               for c in ("row", "actual", *(f"cell_{g}" for g in suite.GROUPS)))


def quantiles(atoms: np.ndarray, scale: float, df: float, probs: Sequence[float]) -> np.ndarray:
    """Exact quantiles of D = A + scale T, A uniform on `atoms` (B,), T ~ t(df) independent.

    With no t term (df 0, or a scale lost in the atoms' rounding: seeds that agree up to float
    noise) they are the atoms' own (linearly interpolated) quantiles."""
    probs = np.asarray(probs, float)
    if ((probs <= 0) | (probs >= 1)).any():
        raise ValueError(f"quantiles: expected probabilities in (0, 1), got {probs.tolist()}")
    if not df or scale <= 1e-12 * max(1.0, np.abs(atoms).max()):
        return np.quantile(atoms, probs)
    values, counts = np.unique(atoms, return_counts=True)  # accuracy-like atoms repeat
    share = counts / counts.sum()
    q = special.stdtrit(df, probs)  # quantiles of t(df)
    if len(values) == 1:
        return values[0] + scale * q
    out = []
    for p, t_p in zip(probs, q, strict=True):  # between the smallest and largest atom's own
        margin = 0.01 * scale * (1 + abs(t_p))  # keeps the bracket's signs under rounding
        low, high = values[[0, -1]] + scale * t_p + [-margin, margin]
        out.append(optimize.brentq(lambda x, p=p: share @ special.stdtr(df, (x - values) / scale)
                                   - p, low, high, xtol=1e-10 * scale))
    return np.array(out)


def newcombe(share: float, m: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Newcombe's (2006) method-5 score interval for a Mann-Whitney share from m x n pairs: the
    roots of (theta - share)^2 = z^2 V(theta), with Hanley and McNeil's variance at theta."""
    z = special.ndtri(_bounds(confidence)[1])
    k = (m + n) / 2 - 1

    def excess(theta: float) -> float:
        v = theta * (1 - theta) * (1 + k * (1 - theta) / (2 - theta) + k * theta / (1 + theta))
        return (theta - share) ** 2 - z**2 * v / (m * n)

    inside = min(max(share, 1e-12), 1 - 1e-12)  # V > 0: excess < 0 there, > 0 at a far bound
    low = 0.0 if share <= 0 else optimize.brentq(excess, 0.0, inside)
    high = 1.0 if share >= 1 else optimize.brentq(excess, inside, 1.0)
    return float(low), float(high)


def _bounds(confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence: expected a level in (0, 1), got {confidence}")
    return (1 - confidence) / 2, (1 + confidence) / 2


def _std(v: np.ndarray) -> float:
    return float(v.std(ddof=1)) if len(v) > 1 else 0.0


@dataclass
class Bootstrap:
    """Per-seed metrics of every strategy on the full test set and under shared resamples."""

    strategies: list[str]
    seeds: dict[str, list[int]]
    values: dict[str, dict[str, np.ndarray]]  # strategy -> metric -> (S,)
    resampled: dict[str, dict[str, np.ndarray]]  # strategy -> metric -> (B, S)
    samples: dict[str, dict[str, np.ndarray]]  # strategy -> metric of MEANS, and "confidence"
    # (top-1, for the calibration floor) -> (S, N) per sample
    seed: int = 0
    bins: int = 15  # ECE's equal-width confidence bins

    @property
    def flagged(self) -> list[str]:
        """Strategies with fewer than two seeds: their seed variation is not measured."""
        return [n for n in self.strategies if len(self.seeds[n]) < 2]

    def _seed_term(self, name: str, metric: str) -> tuple[float, float]:
        """(variance of the seed mean, df) of one strategy; a one-seed strategy borrows the
        largest seed std among the others (0 if none has two seeds)."""
        n = len(self.seeds[name])
        if n > 1 and METRICS[metric].calibration:  # the resamples already hold each seed's noise
            within = self.resampled[name][metric].var(0, ddof=1).mean()
            return max(_std(self.values[name][metric]) ** 2 - within, 0.0) / n, n - 1
        if n > 1:
            return _std(self.values[name][metric]) ** 2 / n, n - 1
        others = [(_std(self.values[k][metric]), len(self.seeds[k]) - 1)
                  for k in self.strategies if len(self.seeds[k]) > 1]
        std, df = max(others, default=(0.0, 0))
        return std**2, df

    def _interval(self, metric: str, estimate: float, atoms: np.ndarray, scale: float,
                  df: float, confidence: float, difference: bool = False) -> tuple[float, float]:
        """Clipped to the metric's bounds, or for a difference to +-(their span)."""
        if METRICS[metric].calibration:  # basic bootstrap interval: atoms reflected about it
            atoms = 2 * estimate - atoms
        low, high = quantiles(atoms, scale, df, _bounds(confidence))
        lo, hi = METRICS[metric].bounds
        return tuple(np.clip([low, high], *((lo - hi, hi - lo) if difference else (lo, hi))))

    def summary(self, confidence: float = 0.95,
                metrics: Sequence[str] | None = None) -> dict[str, dict]:
        """{strategy: {"seeds", metric (the mean), metric_ci_low, metric_ci_high, metric_std}}."""
        out = {}
        for name in self.strategies:
            row: dict = {"seeds": list(self.seeds[name])}
            for m in self._check(metrics):
                v = self.values[name][m]
                var, df = self._seed_term(name, m)
                low, high = self._interval(m, v.mean(), self.resampled[name][m].mean(1),
                                           np.sqrt(var), df, confidence)
                if METRICS[m].calibration and self.calibrated_looking(name, m, confidence):
                    low = 0.0
                row |= {m: float(v.mean()), f"{m}_std": _std(v),
                        f"{m}_ci_low": float(low), f"{m}_ci_high": float(high)}
            out[name] = row
        return out

    def corruption_error(self, name: str, reference: str, faults: Sequence[str],
                         confidence: float = 0.95) -> dict[str, float]:
        """Corruption error of `name` relative to `reference` (after ImageNet-C's mCE): its error
        under `faults` (the mean over faults of the error over each fault's severities) / the
        reference's. A ratio of mean errors, not ImageNet-C's mean of per-fault ratios: a
        reference that errs on almost no sample under some fault (a dark frame, a shifted
        picture) makes those ratios explode; the reference's error is floored at one sample in
        N. Per seed of `name` against the reference's seed mean; the interval as `summary`'s,
        atoms from the shared resamples. {"mCE", "mCE_ci_low", "mCE_ci_high", "mCE_std"}."""
        n = self.samples[name]["test_accuracy"].shape[1]

        def error(k: str, resampled: bool = False) -> np.ndarray:  # (S,) or (B, S)
            source = self.resampled if resampled else self.values
            return 1 - np.mean([source[k][f"accuracy_{f}"] for f in faults], axis=0)

        per_seed = error(name) / max(error(reference).mean(), 1 / n)  # (S,)
        atoms = error(name, True).mean(1) / np.maximum(error(reference, True).mean(1), 1 / n)
        std = _std(per_seed)
        low, high = quantiles(atoms, std / np.sqrt(len(per_seed)), len(per_seed) - 1,
                              _bounds(confidence))
        return {"mCE": float(per_seed.mean()), "mCE_ci_low": float(max(low, 0.0)),
                "mCE_ci_high": float(high), "mCE_std": std}

    def calibrated_looking(self, name: str, metric: str, confidence: float,
                           draws: int = 1000) -> bool:
        """Whether the mean ECE over seeds is no larger than a perfectly calibrated model's
        would be, at its (1 + confidence) / 2 quantile, with these confidences and samples
        (consistency resampling, Broecker and Smith 2007: correct ~ Bernoulli(confidence))."""
        conf = self.samples[name]["confidence"]  # (S, N)
        index = np.clip(np.ceil(conf * self.bins), 1, self.bins).astype(int) - 1
        rng = np.random.default_rng([self.seed, 3, self.strategies.index(name)])
        null = np.zeros(draws)
        for c, i in zip(conf, index, strict=True):  # per seed: (draws, N) @ (N, bins)
            gap = (rng.random((draws, len(c))) < c) - c
            null += np.abs(gap @ np.eye(self.bins)[i]).sum(1) / len(c)
        threshold = np.quantile(null / len(conf), _bounds(confidence)[1])
        return bool(self.values[name][metric].mean() <= threshold)

    def difference(self, a: str, b: str, metric: str,
                   confidence: float = 0.95) -> tuple[float, float, float]:
        """(mean difference a - b, ci_low, ci_high) of `metric`."""
        va, vb = self.values[a][metric], self.values[b][metric]
        atoms = self.resampled[a][metric].mean(1) - self.resampled[b][metric].mean(1)  # (B,)
        if self.seeds[a] == self.seeds[b] and len(va) > 1:  # paired on seeds
            scale, df = _std(va - vb) / np.sqrt(len(va)), len(va) - 1
        else:  # Welch on each mean's seed variance
            parts = [self._seed_term(a, metric), self._seed_term(b, metric)]
            scale = np.sqrt(sum(var for var, _ in parts))
            df = scale**4 / sum(var**2 / df for var, df in parts if var > 0) if scale else 0
        d = float(va.mean() - vb.mean())
        low, high = self._interval(metric, d, atoms, scale, df, confidence, difference=True)
        return d, float(low), float(high)

    def improvement(self, a: str, b: str, metric: str,
                    confidence: float = 0.95) -> tuple[float, float, float]:
        """(P(a better than b) over seed pairs, ci_low, ci_high)."""
        sign = 1 if METRICS[metric].higher_is_better else -1
        gap = sign * (self.values[a][metric][:, None] - self.values[b][metric][None, :])
        share = float((gap > 0).mean() + 0.5 * (gap == 0).mean())
        return (share, *newcombe(share, *gap.shape, confidence))

    def pairwise(self, metrics: Sequence[str] | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
        """Every pair of strategies (a first in strategy order) and metric: the difference
        a - b with its interval (not adjusted for multiplicity) and P(a better than b) with its
        interval."""
        rows = [(a, b, m, *self.difference(a, b, m, confidence),
                 *self.improvement(a, b, m, confidence))
                for a, b in combinations(self.strategies, 2) for m in self._check(metrics)]
        return pd.DataFrame(rows, columns=PAIRWISE).astype({c: float for c in PAIRWISE[3:]})

    def homogeneity(self, name: str) -> float:
        """p-value of Cochran's Q test that every seed of `name` has the same accuracy, paired
        on the test samples (1.0 for one seed, or when all seeds agree on every sample)."""
        x = self.samples[name]["test_accuracy"]  # (S, N) 1 correct, 0 wrong
        k = len(x)
        per_sample = x.sum(0)  # (N,)
        denominator = k * per_sample.sum() - (per_sample**2).sum()
        if k < 2 or denominator == 0:
            return 1.0
        q = (k - 1) * (k * (x.sum(1) ** 2).sum() - per_sample.sum() ** 2) / denominator
        return float(stats.chi2.sf(q, k - 1))

    @staticmethod
    def _check(metrics: Sequence[str] | None) -> list[str]:
        metrics = list(METRICS) if metrics is None else list(metrics)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}, expected some of {list(METRICS)}")
        return metrics


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
    samples = {name: {m: np.stack([np.asarray(r[c], float) for r in by_seed.values()])
                      for m, c in {**MEANS, "confidence": "confidence"}.items()}
               for name, by_seed in runs.items()}
    return Bootstrap(list(tables), seeds, values, resampled, samples, seed, bins)
