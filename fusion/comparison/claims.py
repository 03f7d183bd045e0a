"""What the comparison may claim, with the multiplicity of its claims accounted for, and what it
cannot resolve.

The report makes one family of comparisons, each a difference a - b of one metric (a the better
by mean): every pair of ranked strategies, for each ranked metric (TIERED: test accuracy over
every strategy; relative accuracy under each fault group over the fusion strategies only, since
a baseline that ignores a sensor is trivially robust to its faults). Each gets a simultaneous
interval: Bonferroni over the m comparisons, so each interval has confidence 1 - alpha / m and
all hold together with probability at least 1 - alpha. Each comparison ends in one of three
verdicts:

- better: the interval excludes 0 ("a ahead of b by X points [lo, hi]");
- equivalent: the whole interval lies within +-delta, the metric's practical margin (a param):
  two one-sided tests, each at alpha / 2m;
- inconclusive: neither; the run cannot tell.

The interval is analytic (Welch-Satterthwaite), so it does not move with a resampling seed. Its
standard error has two parts:

- test set: the paired difference over samples, var_i(x_i) / N with x_i the mean over a's seeds
  of sample i's value minus b's (the comparison is paired on samples), never below 1 / N^2,
  the variance one sample of N that the two disagree on would give: two strategies right on
  all 360 of 360 samples are not thereby equal within half a point (Agresti and Min's
  pseudo-counts for paired proportions act alike);
- seeds: s_a^2 / S_a + s_b^2 / S_b, each strategy's own seed variance, moderated (empirical
  Bayes, limma's squeezeVar, Smyth 2004): s_k^2 is shrunk towards a prior s_0^2 with d_0
  degrees of freedom, both estimated from the spread of the strategies' log-variances; the
  more alike the strategies' seed variances, the more df each borrows. Strategies whose seeds
  spread far more than the others' (a collapse-prone one) keep most of their own variance.
  The variances are moderated relative to the trend of a rate near its ceiling, [m (1 - m)]^2
  (limma-trend), so that a baseline at 95% is not shrunk towards fusion strategies at 99.6%.

with Satterthwaite degrees of freedom for the sum (the test term has N - 1). The method was
chosen by simulation against each strategy's raw variance (Welch) and the earlier variance
pooled over strategies plus a replication margin (`benchmarks/claims_simulation.py`).

`detectable` is the difference a comparison detects with probability `POWER` at the family's
level, from the same standard error, never below the test-set variance that a difference that
size brings (the two must then disagree on at least that share of the samples): what the run
can resolve.

Strategies with fewer than two seeds are not ranked (their seed variation is unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from fusion.comparison.intervals import METRICS, Bootstrap

TIERED = {  # metrics ranked in groups: their label in sentences and figures
    "test_accuracy": "test accuracy",
    "ra_camera": "relative accuracy under camera faults",
    "ra_lidar": "relative accuracy under LiDAR faults",
    "ra_alignment": "relative accuracy under misalignment",
}
VERDICTS = ("better", "equivalent", "inconclusive")
POWER = 0.8  # the probability at which `detectable` differences are detected
COLUMNS = ["kind", "metric", "a", "b", "difference", "ci_low", "ci_high", "se_test", "se_seed",
           "df", "delta", "detectable", "verdict"]


@dataclass(frozen=True)
class Claims:
    alpha: float  # family-wise error rate
    rows: pd.DataFrame  # COLUMNS: one comparison of the family per row
    best: dict[str, str]  # metric -> the best ranked strategy by mean
    groups: dict[str, dict[str, str]]  # metric -> ranked strategy -> its place (GROUPS)

    @property
    def level(self) -> float:
        """Confidence of each simultaneous interval."""
        return 1 - self.alpha / max(len(self.rows), 1)

    @property
    def clear(self) -> pd.DataFrame:
        """The comparisons whose verdict is `better`."""
        return self.rows[self.rows["verdict"] == "better"]

    def between(self, metric: str, a: str, b: str) -> tuple[float, float, float, str]:
        """(difference a - b, ci_low, ci_high, verdict) from the family's row for the pair,
        which may hold it either way round."""
        rows = self.rows[self.rows["metric"] == metric]
        columns = ["difference", "ci_low", "ci_high", "verdict"]
        row = rows[(rows["a"] == a) & (rows["b"] == b)]
        if len(row):
            return tuple(row.iloc[0][columns])
        d, low, high, verdict = rows[(rows["a"] == b) & (rows["b"] == a)].iloc[0][columns]
        return -d, -high, -low, verdict


GROUPS = {  # a ranked strategy's place against the best by mean, in the table and findings
    "top": "the best by mean",
    "equivalent": "equivalent to the best (within +-delta)",
    "below": "below another strategy (some `better` verdict against it)",
    "inconclusive": "neither below another nor equivalent to the best",
}


def direction(metric: str, low: float, high: float, margin: float = 0.0) -> int:
    """+1 when the interval of a - b says a is better by more than `margin`, -1 when b is, 0
    otherwise."""
    sign = 1 if METRICS[metric].higher_is_better else -1
    if min(sign * low, sign * high) > margin:
        return 1
    return -1 if max(sign * low, sign * high) < -margin else 0


def verdict(metric: str, low: float, high: float, delta: float) -> str:
    """better (the interval excludes 0), equivalent (it lies within +-delta) or
    inconclusive."""
    if direction(metric, low, high):
        return "better"
    return "equivalent" if -delta < low and high < delta else "inconclusive"


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (x > 0), by Newton's method on 1 / trigamma (limma's)."""
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = special.polygamma(1, y)
        step = tri * (1 - tri / x) / special.polygamma(2, y)
        y += step
        if -step / y < 1e-8:
            break
    return float(y)


def moderated(variances: np.ndarray, dfs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical-Bayes moderated variances and their df (Smyth 2004, limma's squeezeVar).

    log s_k^2 is modelled as log s_0^2 plus the log of a scaled chi-square(d_k) / d_k plus a
    prior spread: d_0 and s_0^2 by the method of moments, d_0 capped at sum(d_k) (the pooled
    df: never more than all seeds together). Posterior s~_k^2 = (d_0 s_0^2 + d_k s_k^2) /
    (d_0 + d_k) with d_0 + d_k df."""
    v, d = np.asarray(variances, float), np.asarray(dfs, float)
    floor = 1e-6 * np.median(v[v > 0]) if (v > 0).any() else 1e-12
    e = np.log(np.maximum(v, floor)) - special.digamma(d / 2) + np.log(d / 2)
    spread = e.var(ddof=1) - special.polygamma(1, d / 2).mean() if len(e) > 1 else 0.0
    d0 = min(2 * _trigamma_inverse(spread), d.sum()) if spread > 0 else d.sum()
    s0 = np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2))
    return (d0 * s0 + d * v) / (d0 + d), d0 + d


def rate_trend(means: np.ndarray) -> np.ndarray:
    """[m (1 - m)]^2: a seed effect of fixed size on the logit scale moves a rate m by about
    m (1 - m) times it, so seed variances shrink as this towards the ceiling."""
    m = np.clip(means, 1e-3, 1 - 1e-3)
    return (m * (1 - m)) ** 2


def moderated_with_trend(variances: np.ndarray, dfs: np.ndarray, means: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """`moderated` on the scale of the mean-variance trend of a rate-like metric (limma-trend,
    `rate_trend`): a baseline at 95% spreads far more than a fusion strategy at 99.6% with the
    same instability."""
    trend = rate_trend(means)
    moderated_variances, dfs = moderated(variances / trend, dfs)
    return moderated_variances * trend, dfs


Moderation = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def seed_terms(boot: Bootstrap, metric: str, names: Sequence[str],
               variance: Moderation = moderated_with_trend) -> dict[str, tuple[float, float]]:
    """name -> (seed variance of one run's metric, its df) over `names`: each strategy's own
    sample variance, passed with its df and mean through `variance`."""
    raw = np.array([boot.values[n][metric].var(ddof=1) for n in names])
    dfs = np.array([len(boot.seeds[n]) - 1.0 for n in names])
    means = np.array([boot.values[n][metric].mean() for n in names])
    variances, dfs = variance(raw, dfs, means)
    return {n: (float(v), float(df)) for n, v, df in zip(names, variances, dfs, strict=True)}


def standard_error(boot: Bootstrap, a: str, b: str, metric: str,
                   terms: Mapping[str, tuple[float, float]]) -> tuple[float, float, float]:
    """(se of the test-set part, se of the seed part, Satterthwaite df of their sum) of the
    mean difference a - b."""
    x = boot.samples[a][metric].mean(0) - boot.samples[b][metric].mean(0)  # (N,) paired
    n = len(x)  # at least one sample's disagreement in N: no zero variance at the ceiling
    parts = [(max(x.var(ddof=1) / n, 1 / n**2), n - 1.0)]
    parts += [(terms[n][0] / len(boot.seeds[n]), terms[n][1]) for n in (a, b)]
    return (float(np.sqrt(parts[0][0])), float(np.sqrt(parts[1][0] + parts[2][0])),
            satterthwaite(parts))


def satterthwaite(parts: Sequence[tuple[float, float]]) -> float:
    """Degrees of freedom of a sum of independent variance estimates (variance, df)."""
    total = sum(v for v, _ in parts)
    return float(total**2 / sum(v**2 / df for v, df in parts if v > 0)) if total > 0 else np.inf


def error_agreement(boot: Bootstrap, metric: str, names: Sequence[str]) -> float:
    """rho, the share of one seed's per-sample variance of `metric` that its strategy's seeds
    have in common (an intraclass correlation, pooled over `names` in proportion to their
    variance): 1 when every seed errs on the same samples, 0 when seeds err independently. A
    mean over S seeds keeps rho + (1 - rho) / S of one seed's variance; 1 when nothing varies."""
    common, total = 0.0, 0.0
    for name in names:
        y = boot.samples[name][metric]  # (S, N)
        s, within = len(y), y.var(axis=1, ddof=1).mean()
        if s < 2 or within == 0:
            continue
        kept = y.mean(0).var(ddof=1) / within  # rho + (1 - rho) / S in expectation
        common += within * (kept - 1 / s) / (1 - 1 / s)
        total += within
    return float(np.clip(common / total, 0.0, 1.0)) if total else 1.0


def disagreement_variance(difference: float, rho: float, seeds: int) -> float:
    """The least per-sample variance of a paired difference that a true `difference` brings:
    in each seed the two disagree on at least that share of the samples, d (1 - d), of which a
    mean over `seeds` seeds keeps rho + (1 - rho) / seeds (`error_agreement`)."""
    d = min(abs(difference), 1.0)
    return (rho + (1 - rho) / seeds) * d * (1 - d)


def detectable(se_seed: float, se_test: float, n: int, df: float, level: float,
               rho: float = 1.0, seeds: int = 1, power: float = POWER) -> float:
    """The smallest true difference d that an interval of confidence `level` excludes 0 for
    with probability `power`, with the standard error se(d)^2 = se_seed^2 + max(se_test^2,
    v(d) / n) of a difference d, v(d) its `disagreement_variance` over `seeds` seeds: an
    observed difference is found beyond the threshold t = t_{(1 + level) / 2} se(t), and d =
    t + t_power se(d) is found with probability `power` (null and alternative with their own
    variance, as in the power of a test of two proportions); inf when no d <= 1 is."""
    a, b = stats.t.ppf((1 + level) / 2, df), stats.t.ppf(power, df)

    def se(d: float) -> float:
        return float(np.sqrt(se_seed**2 + max(se_test**2, disagreement_variance(d, rho, seeds)
                                              / n)))

    if a * se(1.0) > 1.0:
        return np.inf
    threshold = optimize.brentq(lambda t: t - a * se(t), 1e-12, 1.0)

    def gap(d: float) -> float:
        return d - threshold - b * se(d)

    return float(optimize.brentq(gap, threshold, 1.0)) if gap(1.0) >= 0 else np.inf


def compare(boot: Bootstrap, baselines: Sequence[str], deltas: Mapping[str, float],
            alpha: float = 0.05, variance: Moderation = moderated_with_trend,
            metrics: Sequence[str] = tuple(TIERED)) -> Claims:
    """The report's family of comparisons over `metrics` (some of TIERED) with simultaneous
    intervals and verdicts (a metric's equivalence margin from `deltas`), and the groups;
    `variance` treats the strategies' seed variances (the simulation compares choices)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a level in (0, 1), got {alpha}")
    unknown = [m for m in metrics if m not in TIERED]
    if unknown:
        raise ValueError(f"metrics: {unknown} are not ranked; expected some of {list(TIERED)}")
    missing = [m for m in metrics if m not in deltas or not deltas[m] > 0]
    if missing:
        raise ValueError(f"deltas: expected a margin > 0 for each of {missing}")
    ranked = [n for n in boot.strategies if n not in boot.flagged]
    fusion = [n for n in ranked if n not in baselines]
    family, best, among = [], {}, {}
    for metric in metrics:
        among[metric] = ranked if metric == "test_accuracy" else fusion
        sign = 1 if METRICS[metric].higher_is_better else -1
        order = sorted(among[metric], key=lambda n: -sign * boot.values[n][metric].mean())
        if len(order) < 2:
            continue
        best[metric] = order[0]
        for i, a in enumerate(order):  # a - b with a the better by mean
            for b in order[i + 1:]:
                kind = ("baseline" if (a in baselines) != (b in baselines)
                        else "best" if a == order[0] else "pair")
                family.append((kind, metric, a, b))
    level = 1 - alpha / max(len(family), 1)
    terms = {m: seed_terms(boot, m, among[m], variance) for m in best}
    rho = {m: error_agreement(boot, m, among[m]) for m in best}
    rows = []
    for kind, metric, a, b in family:
        se_test, se_seed, df = standard_error(boot, a, b, metric, terms[metric])
        se = np.hypot(se_test, se_seed)
        d = float(boot.values[a][metric].mean() - boot.values[b][metric].mean())
        half = stats.t.ppf((1 + level) / 2, df) * se
        n, seeds = boot.samples[a][metric].shape[1], min(len(boot.seeds[a]), len(boot.seeds[b]))
        rows.append((kind, metric, a, b, d, d - half, d + half, se_test, se_seed, df,
                     deltas[metric], detectable(se_seed, se_test, n, df, level, rho[metric],
                                                seeds),
                     verdict(metric, d - half, d + half, deltas[metric])))
    table = pd.DataFrame(rows, columns=COLUMNS)
    return Claims(alpha, table, best, {m: _groups(table, m, among[m], best[m]) for m in best})


FLOOR_COLUMNS = ["fault", "strategy", "sensor", "difference", "ci_low", "ci_high", "delta",
                 "verdict"]


def against_sensors(boot: Bootstrap, fusion: Sequence[str], baselines: Sequence[str],
                    faults: Sequence[str], delta: float, alpha: float = 0.05,
                    variance: Moderation = moderated_with_trend) -> pd.DataFrame:
    """Per fault and fusion strategy: its accuracy under the fault (mean over severities) minus
    that of its better single sensor there (the unimodal baseline with the higher mean under
    the same fault), with a simultaneous interval over the (fault x strategy) family as in
    `compare`; verdict `above` or `below` (the interval excludes 0), `equivalent` (within
    +-delta) or `inconclusive`. FLOOR_COLUMNS."""
    if not fusion or not baselines:
        return pd.DataFrame(columns=FLOOR_COLUMNS)
    level = 1 - alpha / (len(fusion) * len(faults))
    rows = []
    for fault in faults:
        metric = f"accuracy_{fault}"
        sensor = max(baselines, key=lambda b: boot.values[b][metric].mean())
        terms = seed_terms(boot, metric, [*fusion, *baselines], variance)
        for name in fusion:
            se_test, se_seed, df = standard_error(boot, name, sensor, metric, terms)
            d = float(boot.values[name][metric].mean() - boot.values[sensor][metric].mean())
            half = stats.t.ppf((1 + level) / 2, df) * np.hypot(se_test, se_seed)
            word = {1: "above", -1: "below"}.get(direction(metric, d - half, d + half))
            word = word or ("equivalent" if -delta < d - half and d + half < delta
                            else "inconclusive")
            rows.append((fault, name, sensor, d, d - half, d + half, delta, word))
    return pd.DataFrame(rows, columns=FLOOR_COLUMNS)


def _groups(table: pd.DataFrame, metric: str, names: Sequence[str], best: str) -> dict[str, str]:
    rows = table[table["metric"] == metric]
    beaten = set(rows.loc[rows["verdict"] == "better", "b"])
    with_best = {r.b: r.verdict for r in rows[rows["a"] == best].itertuples()}
    return {n: "top" if n == best else "below" if n in beaten
            else "equivalent" if with_best[n] == "equivalent" else "inconclusive" for n in names}


def collapses(accuracy: Mapping[str, Sequence[float]], points: float,
              confidence: float = 0.95) -> dict[str, tuple[int, int, float, float]]:
    """name -> (collapsed seeds, seeds, ci_low, ci_high): a seed collapses when its accuracy is
    more than `points` below its strategy's median; Clopper-Pearson interval of the rate."""
    out = {}
    for name, values in accuracy.items():
        v = np.asarray(values, float)
        k = int((v < np.median(v) - points).sum())
        ci = stats.binomtest(k, len(v)).proportion_ci(confidence, "exact")
        out[name] = (k, len(v), float(ci.low), float(ci.high))
    return out


def seeds_needed(se_test: float, n: int, seed_variance: float, difference: float,
                 level: float, seeds: Sequence[int] = (4, 8, 16, 32, 64),
                 borrowed: float = 0.0, rho: float = 1.0) -> dict[int, float]:
    """Seeds per strategy -> test samples needed to detect `difference` with probability POWER
    at `level` (inf when the seeds alone cannot), scaling this run's variance components: the
    test part as 1 / N from `se_test` at `n` samples, never below the `disagreement_variance`
    of `difference` at S seeds (errors shared across seeds as `rho`), the seed part 2 v / S
    with S - 1 df plus the `borrowed` prior df of the moderation."""
    out = {}
    grid = np.log(np.geomspace(2, 1e7, 300))  # the df fall as N grows: not monotone, so scan
    for s in seeds:
        def gap(log_n: float, s: int = s) -> float:
            size = np.exp(log_n)
            parts = [(se_test**2 * n / size, size - 1)]
            parts += [(seed_variance / s, s - 1 + borrowed)] * 2
            found = detectable(np.sqrt(2 * seed_variance / s), np.sqrt(parts[0][0]), size,
                               satterthwaite(parts), level, rho, s)
            return min(found, 1.0) - difference

        below = [i for i, x in enumerate(grid) if gap(x) <= 0]
        if not below:
            out[s] = np.inf
            continue
        first = below[0]
        root = grid[0] if first == 0 else optimize.brentq(gap, grid[first - 1], grid[first])
        out[s] = float(np.ceil(np.exp(root)))
    return out


TARGETS = {"test_accuracy": 0.01, "ra_camera": 0.05, "ra_lidar": 0.05, "ra_alignment": 0.05}


def requirements(boot: Bootstrap, found: Claims, targets: Mapping[str, float] = TARGETS
                 ) -> dict[str, tuple[float, dict[int, float]]]:
    """metric -> (target difference, seeds -> test samples needed to detect it), for two
    fusion strategies with the median moderated seed variance of the metric (and its borrowed
    df), the median test-set term of the comparisons between fusion strategies and the run's
    `error_agreement`, at the family's level."""
    out = {}
    for metric, difference in targets.items():
        rows = found.rows[found.rows["metric"] == metric]
        if rows.empty:
            continue
        names = sorted(set(rows["a"]) | set(rows["b"]), key=boot.strategies.index)
        terms = seed_terms(boot, metric, names)
        variance = float(np.median([v for v, _ in terms.values()]))
        borrowed = float(np.median([df - (len(boot.seeds[k]) - 1)  # d_0 of the moderation
                                    for k, (_, df) in terms.items()]))
        fusion = rows[rows["kind"] != "baseline"]
        n = boot.samples[names[0]][metric].shape[1]
        out[metric] = (difference, seeds_needed(
            float(fusion["se_test"].median()), n, variance, difference, found.level,
            borrowed=borrowed, rho=error_agreement(boot, metric, names)))
    return out


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (family-wise), in the input order."""
    p = np.asarray(p, float)
    order = np.argsort(p)
    steps = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
    return adjusted
