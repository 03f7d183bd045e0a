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


SPREAD = np.array([-1.5, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 1.5]) / np.sqrt(6 / 7)  # sd 1


def test_groups_are_defined_against_the_overall_best():
    """B is clearly below the best A; E, below B by mean, has 2 seeds to the others' 8, too few
    to be told apart from A or B. A chain of tier leaders (A, then B) would put E with B in a
    second tier."""
    values = {"A": 0.965 + 0.015 * SPREAD, "B": 0.91 + 0.015 * SPREAD, "E": [0.88, 0.93],
              "base": 0.5 + 0.015 * SPREAD}
    found = compare(boot_of({n: list(v) for n, v in values.items()}), ["base"])
    assert found.best["test_accuracy"] == "A"
    assert found.groups["test_accuracy"] == {"A": 1, "B": 2, "E": 1, "base": 2}
    assert set(found.groups["robustness_rgb"]) == {"A", "B", "E"}  # no baseline on robustness


def test_the_family_its_simultaneous_level_and_replication_margin():
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
    # seed variance: the residual mean square of strategy + seed over the 4 strategies, df 6
    x = np.array(list(values.values()))
    ss = ((x - x.mean()) ** 2).sum() - 3 * ((x.mean(1) - x.mean()) ** 2).sum() \
        - 4 * ((x.mean(0) - x.mean()) ** 2).sum()
    se = np.sqrt(ss / 6 * 2 / 3)
    row = found.rows.set_index(["metric", "a", "b"]).loc[("test_accuracy", "A", "B")]
    half = stats.t.ppf(1 - 0.05 / 8 / 2, 6) * se
    d = x[0].mean() - x[1].mean()
    assert [row["ci_low"], row["ci_high"]] == pytest.approx([d - half, d + half])
    assert row["margin"] == pytest.approx(stats.t.ppf(0.95, 6) * np.sqrt(2) * se)
    assert row["clear"] and row["ci_low"] > row["margin"]
    assert found.rows.set_index(["a", "b"]).loc[("B", "r"), "clear"].all()


def test_a_claim_must_clear_its_replication_margin():
    """An interval off 0 by less than the margin is no claim: a run with other seeds would
    see it cover 0 too often."""
    values = {"A": [0.95, 0.96, 0.97], "B": [0.90, 0.91, 0.93], "C": [0.93, 0.94, 0.955]}
    found = compare(boot_of(values), [])
    row = found.rows.set_index(["metric", "a", "b"]).loc[("test_accuracy", "A", "C")]
    assert 0 < row["ci_low"] < row["margin"] and not row["clear"]
    assert found.groups["test_accuracy"]["C"] == 1
    assert compare(boot_of(values), [], replication=0.5).groups["test_accuracy"]["C"] == 2
    with pytest.raises(ValueError, match="replication"):
        compare(boot_of(values), [], replication=1.0)


def test_pooled_seed_term_blocks_on_shared_seeds():
    """Same seeds: a seed effect shared by every strategy cancels (residual 0). Other seed
    lists: the within-strategy mean square, df sum(S_k - 1); one-seed strategies add nothing."""
    shared = boot_of({"A": [0.9, 0.95, 0.92], "B": [0.8, 0.85, 0.82]})
    assert shared.pooled_seed_term("test_accuracy", ["A", "B"]) == (pytest.approx(0.0), 2)
    mixed = boot_of({"A": [0.9, 0.95, 0.92], "B": [0.8, 0.84], "C": [0.7]})
    within = (np.var([0.9, 0.95, 0.92]) * 3 + np.var([0.8, 0.84]) * 2) / 3
    assert mixed.pooled_seed_term("test_accuracy", ["A", "B", "C"]) == (pytest.approx(within), 3)
    assert mixed.pooled_seed_term("test_accuracy", ["C"]) == (0.0, 0)


def test_the_margin_makes_claims_replicate_in_an_independent_run():
    """What the margin is for: 9 strategies with true means spread over a few times the seed
    noise, pairs of independent runs of 4 seeds each; a run's claims replicate (same
    direction, interval off 0) in the other run at 94.5% with the margin, and at 78% without
    it (replication 0.5: claims just clear of 0). The margin is a flat-prior prediction, not a
    correction for selection: where most true differences sit below the threshold, the few
    claims made replicate less often (README)."""
    rng = np.random.default_rng(3)
    rates = {}
    for replication in (0.95, 0.5):
        made = kept = 0
        for _ in range(30):
            runs = [compare(boot_of({f"s{k}": list(rng.normal(m, 0.01, 4))
                                     for k, m in enumerate(np.linspace(0.90, 0.96, 9))}),
                            [], replication=replication) for _ in range(2)]
            for first, other in (runs, runs[::-1]):
                for r in first.clear.itertuples():
                    _, low, high, _ = other.between(r.metric, r.a, r.b)
                    made += 1
                    kept += direction(r.metric, r.ci_low, r.ci_high) * \
                        direction(r.metric, low, high) > 0
        rates[replication] = kept / made
    assert rates[0.95] >= 0.92 and rates[0.5] <= 0.85


def test_nine_equal_strategies_rarely_split():
    """The audit: without multiplicity control, 9 strategies of one distribution split into
    two tiers 16.5% of the time. The family-wise rate must stay near 5%."""
    rng, split = np.random.default_rng(0), []
    for _ in range(100):
        values = {f"s{k}": list(rng.normal(0.9, 0.02, 3)) for k in range(9)}
        found = compare(boot_of(values), [])
        split.append(any(g == 2 for m in TIERED for g in found.groups[m].values()))
    assert np.mean(split) <= 0.08


def test_a_strategy_with_wide_seeds_rarely_makes_false_claims():
    """The pooled seed variance understates a strategy whose seeds spread more than the
    others'. One of 9 strategies of the same mean has 10x their seed spread: with the margin,
    some false claim appears in 4% of these experiments at 4 seeds; without it, 22%."""
    rng, false = np.random.default_rng(0), {0.95: [], 0.5: []}
    for _ in range(150):
        values = {f"s{k}": list(rng.normal(0.9, 0.1 if k == 0 else 0.01, 4)) for k in range(9)}
        for replication, found in false.items():
            found.append(compare(boot_of(values), [], replication=replication).rows["clear"].any())
    assert np.mean(false[0.95]) <= 0.10 < 0.12 <= np.mean(false[0.5])


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
