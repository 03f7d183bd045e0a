"""How often the intervals of `fusion.intervals` cover the truth, on simulated experiments.

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

from fusion.intervals import COLUMNS, Bootstrap, bootstrap

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
