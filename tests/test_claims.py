"""Claims of the comparison: groups against the overall best, with simultaneous intervals."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fusion.claims import TIERED, compare, direction, holm
from fusion.intervals import METRICS, Bootstrap, bootstrap


def boot_of(values: dict[str, list[float]], resamples: int = 4) -> Bootstrap:
    """A Bootstrap whose every metric is the given value per seed, with no test-set variation
    (every resample equals the full test set): intervals are plain t-intervals."""
    seeds = {n: list(range(len(v))) for n, v in values.items()}
    per_seed = {n: {m: np.array(v, float) for m in METRICS} for n, v in values.items()}
    resampled = {n: {m: np.tile(x, (resamples, 1)) for m, x in v.items()}
                 for n, v in per_seed.items()}
    correct = {n: np.ones((len(v), 10), bool) for n, v in values.items()}
    return Bootstrap(list(values), seeds, per_seed, resampled, correct)


def test_groups_are_defined_against_the_overall_best():
    """B is clearly below the best A; E, below B by mean, has seeds too spread to be told apart
    from A or B. A chain of tier leaders (A, then B) would put E with B in a second tier."""
    values = {"A": [0.95, 0.96, 0.97], "B": [0.90, 0.905, 0.91], "E": [0.70, 0.85, 1.0],
              "base": [0.5, 0.51, 0.52]}
    found = compare(boot_of(values), ["base"])
    assert found.best["test_accuracy"] == "A"
    assert found.groups["test_accuracy"] == {"A": 1, "B": 2, "E": 1, "base": 2}
    assert set(found.groups["robustness_rgb"]) == {"A", "B", "E"}  # no baseline on robustness


def test_the_family_and_its_simultaneous_level():
    values = {"A": [0.95, 0.96, 0.97], "B": [0.90, 0.91, 0.93], "r": [0.5, 0.51, 0.53],
              "l": [0.5, 0.52, 0.53]}
    found = compare(boot_of(values), ["r", "l"])
    # every pair: 6 on accuracy (4 strategies), 1 on each robustness (fusion strategies A, B)
    assert len(found.rows) == 6 + 1 + 1
    assert found.level == pytest.approx(1 - 0.05 / 8)
    pairs = found.rows[found.rows["metric"] == "test_accuracy"]
    assert list(pairs["kind"]) == ["best", "baseline", "baseline", "baseline", "baseline", "pair"]
    assert set(zip(pairs["a"], pairs["b"], strict=True)) == {
        ("A", "B"), ("A", "r"), ("A", "l"), ("B", "l"), ("B", "r"), ("l", "r")}
    row = found.rows.set_index(["metric", "a", "b"]).loc[("test_accuracy", "A", "B")]
    d = np.array([0.05, 0.05, 0.04])  # paired on seeds: a t-interval of the differences
    half = stats.t.ppf(1 - 0.05 / 8 / 2, 2) * d.std(ddof=1) / np.sqrt(3)
    assert [row["ci_low"], row["ci_high"]] == pytest.approx([d.mean() - half, d.mean() + half])
    assert row["clear"] and row["ci_low"] > 0  # +4.7 points: clear even at t(2), 99.69%
    assert found.rows.set_index(["a", "b"]).loc[("B", "r"), "clear"].all()


def test_nine_equal_strategies_rarely_split():
    """The audit: without multiplicity control, 9 strategies of one distribution split into
    two tiers 16.5% of the time. The family-wise rate must stay near 5%."""
    rng, split = np.random.default_rng(0), []
    for _ in range(100):
        values = {f"s{k}": list(rng.normal(0.9, 0.02, 3)) for k in range(9)}
        found = compare(boot_of(values), [])
        split.append(any(g == 2 for m in TIERED for g in found.groups[m].values()))
    assert np.mean(split) <= 0.08


def test_one_seed_strategies_are_not_ranked():
    values = {"A": [0.95, 0.96, 0.97], "B": [0.90, 0.91, 0.92], "C": [0.99]}
    found = compare(boot_of(values), [])
    assert "C" not in found.groups["test_accuracy"] and found.best["test_accuracy"] == "A"
    assert not (found.rows[["a", "b"]] == "C").any().any()
    assert compare(boot_of({"A": [0.9], "B": [0.8]}), []).rows.empty


def test_lower_is_better_metrics_and_directions():
    assert direction("test_accuracy", 0.01, 0.02) == 1 and direction("test_loss", 0.01, 0.02) == -1
    assert direction("test_accuracy", -0.01, 0.02) == 0
    with pytest.raises(ValueError, match="alpha"):
        compare(boot_of({"A": [0.9, 0.8]}), [], alpha=1.5)


def test_holm_adjusts_in_the_input_order():
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])


def test_compare_on_real_resamples_is_paired_on_samples():
    """A second strategy that misses 6 more samples in every seed is clearly below the best,
    however spread the seeds: the seed effect cancels in the paired difference."""
    rng = np.random.default_rng(1)
    n = 600
    correct = rng.random((3, n)) < np.array([[0.9], [0.95], [0.99]])
    correct[:, :6] = True
    worse = correct.copy()
    worse[:, :6] = False
    actual = np.arange(n) % 2

    def table(c):
        flat = c.ravel()
        t = {"seed": np.repeat(np.arange(3), n), "row": np.tile(np.arange(n), 3),
             "actual": np.tile(actual, 3), "confidence": np.full(3 * n, 0.9)}
        t["predicted"] = np.where(flat, t["actual"], 1 - t["actual"])
        return pd.DataFrame(t | {k: flat.astype(float) for k in (
            "correct", "loss", "robustness_rgb", "robustness_lidar", "correct_rgb_missing",
            "correct_lidar_missing")})

    found = compare(bootstrap({"a": table(correct), "b": table(worse)}, resamples=500), [])
    assert found.groups["test_accuracy"] == {"a": 1, "b": 2}
