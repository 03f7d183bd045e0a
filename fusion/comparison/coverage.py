"""How often the intervals of `fusion.comparison.intervals` cover the truth, on simulated
experiments; and simulated families of comparisons for `fusion.comparison.claims`
(`family_experiment`).

A simulated strategy errs on test sample i with seed s with probability
sigmoid(LOGIT + u_i + v_s): u_i ~ N(0, SAMPLE_SPREAD) is the sample's difficulty, shared by
every seed (hard samples are hard for all), and v_s the seed's effect, drawn from a scenario:

- near-normal: v ~ N(0, 0.7): seeds about half a point apart at ~99% accuracy, as most of the
  default run's strategies;
- skewed: v ~ Exp(0.5) - 0.5: most seeds alike, now and then a clearly worse one;
- collapsing: v = log(9) with probability 1/3, else 0: one seed in three collapses to ~9x the
  errors (~99.3% -> ~94%), as hadamard and matmul did at low modality dropout.

The truth is the expected accuracy over test samples and seeds (numerical integration); an
experiment draws a fresh test set of N samples and S seeds, and its interval covers the truth
or not. Experiments are batched as strategies of one `bootstrap` call: they share the resample
weights but neither data nor seeds, so given the weights their intervals are independent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fusion.comparison.intervals import COLUMNS, Bootstrap, bootstrap
from fusion.faults import suite

LOGIT, SAMPLE_SPREAD = -6.0, 1.5  # ~99.3% accuracy for a typical seed
SCENARIOS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "near-normal": lambda rng, s: rng.normal(0.0, 0.7, s),
    "skewed": lambda rng, s: rng.exponential(0.5, s) - 0.5,
    "collapsing": lambda rng, s: np.where(rng.random(s) < 1 / 3, np.log(9.0), 0.0),
}


def true_accuracy(scenario: str, draws: int = 2_000_000) -> float:
    """E over samples and seeds of P(correct), by Monte-Carlo integration on a fixed stream
    (standard error ~1e-5, far below the intervals' widths)."""
    rng = np.random.default_rng(12345)
    u = rng.normal(0.0, SAMPLE_SPREAD, draws)
    v = SCENARIOS[scenario](rng, draws)
    return float(np.mean(1 / (1 + np.exp(LOGIT + u + v))))


def _table(correct: np.ndarray) -> pd.DataFrame:
    """A predictions table of correct (S, N) bool: balanced classes, every other column filled
    consistently (only accuracy is simulated)."""
    s, n = correct.shape
    actual = np.tile(np.arange(n) % 2, s)
    flat = correct.ravel()
    table = {"seed": np.repeat(np.arange(s), n), "row": np.tile(np.arange(n), s),
             "actual": actual, "predicted": np.where(flat, actual, 1 - actual),
             "confidence": np.full(s * n, 0.9)}
    table |= suite.cell_columns(n, s)
    return pd.DataFrame(table | {c: flat.astype(float) for c in COLUMNS if c not in table})


def coverage(scenario: str, seeds: int, experiments: int = 400, samples: int = 600,
             resamples: int = 1000, confidence: float = 0.95, batch: int = 50,
             seed: int = 0, variant: type[Bootstrap] = Bootstrap) -> float:
    """Share of simulated experiments whose test-accuracy interval covers the truth, with the
    intervals of `variant` (a `Bootstrap` subclass, to compare methods)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}, expected one of {list(SCENARIOS)}")
    rng, truth, hits = np.random.default_rng([seed, seeds]), true_accuracy(scenario), []
    for start in range(0, experiments, batch):
        tables = {}
        for k in range(min(batch, experiments - start)):
            u = rng.normal(0.0, SAMPLE_SPREAD, samples)  # (N,) a fresh test set
            v = SCENARIOS[scenario](rng, seeds)  # (S,) fresh seeds
            wrong = 1 / (1 + np.exp(-(LOGIT + u[None] + v[:, None])))  # (S, N)
            tables[k] = _table(rng.random(wrong.shape) >= wrong)
        boot = variant(**vars(bootstrap(tables, resamples, seed=int(rng.integers(2**31)))))
        for row in boot.summary(confidence, ["test_accuracy"]).values():
            hits.append(row["test_accuracy_ci_low"] <= truth <= row["test_accuracy_ci_high"])
    return float(np.mean(hits))


# A family of comparisons as the default run's (`fusion.comparison.claims`): 9 fusion strategies at
# three accuracy levels (~99.6, ~99.3, ~98.9%: differences of 0.3-0.7 points) and 2 baselines ~5
# points below. Strategy k errs on sample i with seed s with probability sigmoid(logit_k + u_i +
# w_ki + v_ks): u_i shared by all (hard samples are hard for all), w_ki the strategy's own
# difficulty of the sample, v_ks the seed's effect, drawn from the regime.
FAMILY_LOGITS = (-7.2, -7.2, -7.2, -6.5, -6.5, -6.0, -6.0, -7.2, -6.5, -4.2, -4.2)
BASELINES = (9, 10)
UNSTABLE = (7, 8)  # the strategies that collapse (or spread wider), twins of stable ones
TWINS = {7: 0, 8: 3}  # an unstable strategy -> the stable one it equals in law when it is stable
OWN_SPREAD = 1.0  # std of w_ki
COLLAPSE = np.log(9.0)  # a collapsed seed's effect: ~9x the errors
REGIMES: dict[str, Callable[[np.random.Generator, bool, int], np.ndarray]] = {
    "near-normal": lambda rng, unstable, s: rng.normal(0.0, 0.3, s),
    "skewed": lambda rng, unstable, s: rng.exponential(0.4, s) - 0.4,
    "unequal": lambda rng, unstable, s: rng.normal(0.0, 1.2 if unstable else 0.2, s),
    "collapse-prone": lambda rng, unstable, s: rng.normal(0.0, 0.3, s) + np.where(
        unstable & (rng.random(s) < 1 / 3), COLLAPSE, 0.0),
}


def family_truths(regime: str, draws: int = 1_000_000) -> np.ndarray:
    """(K,) each strategy's expected accuracy over samples and seeds, by Monte-Carlo
    integration on a fixed stream (standard error < 2e-5)."""
    rng = np.random.default_rng(54321)
    u = rng.normal(0.0, np.hypot(SAMPLE_SPREAD, OWN_SPREAD), draws)
    v = {unstable: REGIMES[regime](rng, unstable, draws) for unstable in (False, True)}
    return np.array([np.mean(1 / (1 + np.exp(logit + u + v[k in UNSTABLE])))  # common draws:
                     for k, logit in enumerate(FAMILY_LOGITS)])  # twins are exactly equal


def family_experiment(rng: np.random.Generator, regime: str, seeds: int,
                      samples: int) -> tuple[Bootstrap, np.ndarray]:
    """One simulated run of the family: a fresh test set and fresh seeds; accuracy only. Also
    returns the seeds' drawn effects v, (K, S), which the run's data only show through the
    accuracies."""
    u = rng.normal(0.0, SAMPLE_SPREAD, samples)  # (N,)
    names = [f"s{k}" for k in range(len(FAMILY_LOGITS))]
    correct, effects = {}, []
    for k, (name, logit) in enumerate(zip(names, FAMILY_LOGITS, strict=True)):
        w = rng.normal(0.0, OWN_SPREAD, samples)  # (N,)
        v = REGIMES[regime](rng, k in UNSTABLE, seeds)  # (S,)
        wrong = 1 / (1 + np.exp(-(logit + u + w + v[:, None])))  # (S, N)
        correct[name] = (rng.random(wrong.shape) >= wrong).astype(float)
        effects.append(v)
    boot = Bootstrap(names, {n: list(range(seeds)) for n in names},
                     {n: {"test_accuracy": c.mean(1)} for n, c in correct.items()}, {},
                     {n: {"test_accuracy": c} for n, c in correct.items()})
    return boot, np.stack(effects)


def ece_coverage(ece: float, spread: float = 0.0, samples: int = 2400, seeds: int = 4,
                 experiments: int = 150, resamples: int = 1000, seed: int = 0,
                 variant: type[Bootstrap] = Bootstrap) -> tuple[float, float]:
    """(coverage, median width) of the 95% ECE interval of `variant` on simulated experiments
    with a known ECE: top-1 confidence 1 - Beta(1, 40) (mean ~0.976, a model near its
    ceiling), correct with probability confidence - g, g = `ece` + `spread` |z| per seed
    (z ~ N(0, 1): seeds calibrated differently); the truth is ece + spread sqrt(2 / pi)."""
    rng, truth = np.random.default_rng([seed, samples]), ece + spread * np.sqrt(2 / np.pi)
    hits, widths = [], []
    for start in range(0, experiments, 25):
        tables = {}
        for k in range(min(25, experiments - start)):
            confidence = np.clip(1 - rng.beta(1, 40, (seeds, samples)), 0.5 + 1e-9, 1.0)
            gap = ece + spread * np.abs(rng.normal(0.0, 1.0, (seeds, 1)))
            table = _table(rng.random((seeds, samples)) < np.clip(confidence - gap, 0, 1))
            tables[k] = table.assign(confidence=confidence.ravel())
        boot = variant(**vars(bootstrap(tables, resamples, seed=int(rng.integers(2**31)))))
        for row in boot.summary(0.95, ["test_ece"]).values():
            hits.append(row["test_ece_ci_low"] <= truth <= row["test_ece_ci_high"])
            widths.append(row["test_ece_ci_high"] - row["test_ece_ci_low"])
    return float(np.mean(hits)), float(np.median(widths))
