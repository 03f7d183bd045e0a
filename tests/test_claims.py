"""Claims of the comparison: simultaneous intervals from each strategy's moderated seed variance
and the paired test-set variance, three verdicts, groups, what a run can detect and needs."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

from fusion.comparison.claims import (
    FLOOR_COLUMNS,
    TIERED,
    against_sensors,
    collapses,
    compare,
    detectable,
    direction,
    error_agreement,
    holm,
    moderated,
    moderated_with_trend,
    seeds_needed,
    verdict,
)
from fusion.comparison.intervals import COLUMNS, MEANS, METRICS, Bootstrap, bootstrap
from fusion.faults import suite

DELTAS = {"test_accuracy": 0.005, "ra_camera": 0.02, "ra_lidar": 0.02, "ra_alignment": 0.02}


def own(variances, dfs, means):
    """Each strategy's raw sample variance: plain Welch."""
    return variances, dfs


def boot_of(values: dict[str, list[float]], samples: int = 100_000) -> Bootstrap:
    """A Bootstrap whose every metric is the given value per seed, the same on every test
    sample: no test-set variation (the 1 / N^2 floor negligible at this N), so intervals are
    plain Welch t-intervals."""
    seeds = {n: list(range(len(v))) for n, v in values.items()}
    per_seed = {n: {m: np.array(v, float) for m in METRICS} for n, v in values.items()}
    columns = {n: {m: np.tile(np.array(v, float)[:, None], (1, samples)) for m in MEANS}
               for n, v in values.items()}
    return Bootstrap(list(values), seeds, per_seed, {}, columns)


def test_moderated_variances_against_a_hand_computation():
    """Smyth (2004): e_k = log s_k^2 - digamma(d/2) + log(d/2); trigamma(d_0/2) = var(e) -
    mean trigamma(d/2); s_0^2 = exp(mean e + digamma(d_0/2) - log(d_0/2)); posterior
    (d_0 s_0^2 + d s^2) / (d_0 + d). d_0 here from a root finder, not the code's Newton steps."""
    v = np.array([1.0, 20.0, 0.05, 40.0, 3.0, 0.2, 10.0, 0.5])
    d = np.full(8, 3.0)
    e = np.log(v) - special.digamma(1.5) + np.log(1.5)
    target = e.var(ddof=1) - special.polygamma(1, 1.5)
    assert target > 0
    d0 = 2 * optimize.brentq(lambda y: special.polygamma(1, y) - target, 1e-3, 1e3)
    s0 = np.exp(e.mean() + special.digamma(d0 / 2) - np.log(d0 / 2))
    got, df = moderated(v, d)
    assert got == pytest.approx((d0 * s0 + 3 * v) / (d0 + 3), rel=1e-6)
    assert df == pytest.approx(d0 + 3, rel=1e-6)


def test_alike_variances_borrow_every_df_and_a_wide_one_keeps_its_own():
    alike, df = moderated(np.array([1.0, 1.1, 0.9, 1.0]), np.full(4, 3.0))
    assert df == pytest.approx(np.full(4, 15.0)) and np.ptp(alike) < 0.2  # d_0 capped at 12
    spread = np.array([1e-6, 2e-6, 1.5e-6, 1e-6, 3e-6, 2e-6, 1e-6, 1e-2])
    wide, df = moderated(spread, np.full(8, 3.0))
    assert wide[-1] > 0.3 * spread[-1]  # a collapse-prone strategy is not pooled away
    assert (df < 10).all()


def test_the_trend_moderates_relative_to_a_rates_ceiling():
    """Seeds equally unstable on the logit scale: a strategy at 95% spreads ~12x one at 99.6%
    in accuracy. Relative to the trend they are alike and borrow every df (d_0 capped at 12);
    without the trend their log-variances look spread and little is borrowed."""
    means = np.array([0.996, 0.996, 0.996, 0.95])
    v = (means * (1 - means)) ** 2 * np.array([1.0, 1.2, 0.9, 1.1])
    trended, df = moderated_with_trend(v, np.full(4, 3.0), means)
    relative = trended / (means * (1 - means)) ** 2
    assert np.ptp(relative) < 0.1 * relative.mean() and df == pytest.approx(np.full(4, 15.0))
    assert trended[-1] > 10 * trended[0]
    assert (moderated(v, np.full(4, 3.0))[1] < 5).all()  # without it, spread: few df borrowed


def test_a_pairs_interval_is_welch_satterthwaite_with_the_test_set_term():
    """Unequal seed variances and a paired test-set term, by hand."""
    rng = np.random.default_rng(0)
    n = 400
    a = (rng.random((4, n)) < 0.97).astype(float)
    b = a.copy()
    b[:, :12] = 0.0  # b misses 12 more samples...
    b[1, 20:40] = 0.0  # ... and one seed of b 20 more
    values = {"a": a.mean(1), "b": b.mean(1)}
    boot = Bootstrap(["a", "b"], {"a": [0, 1, 2, 3], "b": [0, 1, 2, 3]},
                     {k: {m: v for m in METRICS} for k, v in values.items()}, {},
                     {"a": {m: a for m in MEANS}, "b": {m: b for m in MEANS}})
    found = compare(boot, [], DELTAS, variance=own, metrics=["test_accuracy"])
    row = found.rows.iloc[0]
    x = a.mean(0) - b.mean(0)
    parts = [(x.var(ddof=1) / n, n - 1), (values["a"].var(ddof=1) / 4, 3),
             (values["b"].var(ddof=1) / 4, 3)]
    se = np.sqrt(sum(p for p, _ in parts))
    df = se**4 / sum(p**2 / d for p, d in parts)
    half = stats.t.ppf(1 - 0.05 / 2, df) * se  # one comparison: the level is 95%
    d = values["a"].mean() - values["b"].mean()
    assert (row["a"], row["b"]) == ("a", "b")
    assert [row["ci_low"], row["ci_high"]] == pytest.approx([d - half, d + half])
    assert row["df"] == pytest.approx(df)


def test_a_perfect_score_on_few_samples_is_no_equivalence():
    """Two strategies right on all 360 samples: the test-set part is floored at one sample's
    disagreement (se 1 / N), so the interval is about +-1 point, not [0, 0]: inconclusive at
    +-0.5; with 2,400 samples the same floor allows the equivalence."""
    for n, expected in ((360, "inconclusive"), (2400, "equivalent")):
        values = {"A": [1.0, 1.0, 1.0, 1.0], "B": [1.0, 1.0, 1.0, 1.0]}
        found = compare(boot_of(values, samples=n), [], DELTAS, metrics=["test_accuracy"])
        row = found.rows.iloc[0]
        assert row["se_test"] == pytest.approx(1 / n) and row["verdict"] == expected


def test_each_verdict():
    assert verdict("test_accuracy", 0.001, 0.003, 0.005) == "better"  # clear of 0, within delta
    assert verdict("test_accuracy", -0.004, 0.004, 0.005) == "equivalent"
    assert verdict("test_accuracy", -0.004, 0.006, 0.005) == "inconclusive"
    assert verdict("test_loss", 0.001, 0.003, 0.005) == "better"  # b has the lower loss
    values = {"A": [0.990, 0.991, 0.992], "B": [0.9895, 0.9905, 0.9915],
              "C": [0.95, 0.97, 0.99], "D": [0.90, 0.91, 0.92]}
    found = compare(boot_of(values), [], DELTAS, variance=own, metrics=["test_accuracy"])
    rows = found.rows.set_index(["a", "b"])["verdict"]
    assert rows[("A", "B")] == "equivalent" and rows[("A", "D")] == "better"
    assert rows[("A", "C")] == "inconclusive"
    assert found.groups["test_accuracy"] == {"A": "top", "B": "equivalent", "C": "inconclusive",
                                             "D": "below"}


def test_a_strategy_below_any_other_is_below_even_if_inconclusive_against_the_best():
    """The best by mean, A, has wide seeds: E is inconclusive against it, but clearly below B,
    so E cannot be the best."""
    spread = np.array([-1.5, -0.5, 0.5, 1.5]) * 0.0005
    values = {"A": [0.97, 0.995, 0.999, 0.999], "B": list(0.985 + spread),
              "E": list(0.95 + spread), "F": list(0.90 + spread)}
    found = compare(boot_of(values), [], DELTAS, variance=own, metrics=["test_accuracy"])
    assert found.best["test_accuracy"] == "A"
    assert found.between("test_accuracy", "A", "E")[3] == "inconclusive"
    assert found.between("test_accuracy", "E", "B")[3] == "better"
    assert found.between("test_accuracy", "E", "B")[0] < 0  # read the other way round
    assert found.groups["test_accuracy"]["E"] == "below"


def test_the_family_level_and_its_pairs():
    values = {"A": [0.95, 0.96, 0.97], "B": [0.90, 0.91, 0.93], "r": [0.5, 0.51, 0.53],
              "l": [0.5, 0.52, 0.53]}
    found = compare(boot_of(values), ["r", "l"], DELTAS)
    # every pair: 6 on accuracy (4 strategies), 1 on each fault group (fusion strategies A, B)
    assert len(found.rows) == 6 + 3
    assert found.level == pytest.approx(1 - 0.05 / 9)
    pairs = found.rows[found.rows["metric"] == "test_accuracy"]
    assert list(pairs["kind"]) == ["best", "baseline", "baseline", "baseline", "baseline", "pair"]
    assert set(zip(pairs["a"], pairs["b"], strict=True)) == {
        ("A", "B"), ("A", "l"), ("A", "r"), ("B", "l"), ("B", "r"), ("l", "r")}
    with pytest.raises(ValueError, match="deltas"):
        compare(boot_of(values), [], {"test_accuracy": 0.01})
    with pytest.raises(ValueError, match="alpha"):
        compare(boot_of(values), [], DELTAS, alpha=1.5)
    with pytest.raises(ValueError, match="not ranked"):
        compare(boot_of(values), [], DELTAS, metrics=["test_loss"])


def test_nine_equal_strategies_rarely_differ():
    """The family-wise rate of a false `better` stays near 5% (here, all truly equal; 2,000
    samples keep the test-set floor 1 / N^2 under 1% of the seed variance)."""
    rng, split = np.random.default_rng(0), []
    for _ in range(100):
        values = {f"s{k}": list(rng.normal(0.9, 0.02, 4)) for k in range(9)}
        found = compare(boot_of(values, samples=2_000), [], DELTAS)
        split.append((found.rows["verdict"] == "better").any())
    assert np.mean(split) <= 0.08


def test_one_seed_strategies_are_not_ranked():
    values = {"A": [0.95, 0.96, 0.97], "B": [0.90, 0.91, 0.92], "C": [0.99]}
    found = compare(boot_of(values), [], DELTAS)
    assert "C" not in found.groups["test_accuracy"] and found.best["test_accuracy"] == "A"
    assert not (found.rows[["a", "b"]] == "C").any().any()
    assert compare(boot_of({"A": [0.9], "B": [0.8]}), [], DELTAS).rows.empty


def test_detectable_difference_against_its_closed_form_and_its_power():
    """Known variance (df infinite), far from the ceiling (n so large that the disagreements
    of the difference add nothing): (z_{1 - a/2} + z_power) se; a difference that size is
    found (the interval excludes 0) in 80% of draws."""
    level, se = 0.999, 0.002
    mde = detectable(0.0, se, 10**12, np.inf, level)
    assert mde == pytest.approx((stats.norm.ppf(0.9995) + stats.norm.ppf(0.8)) * se)
    draws = np.random.default_rng(0).normal(mde, se, 200_000)
    assert np.mean(np.abs(draws) > stats.norm.ppf(0.9995) * se) == pytest.approx(0.8, abs=0.005)
    assert detectable(0.0, se, 10**12, 3, level) > mde  # few df cost power


def test_detectable_at_the_ceiling_counts_the_disagreements_of_the_difference():
    """Two strategies right on every sample: the run's own test-set variance is ~0, but a true
    difference d means disagreeing on a share d of the samples, variance d (1 - d) / n (seeds
    erring on the same samples). The interval excludes 0 beyond t = z^2 / (n + z^2), so d =
    t + z_power sqrt(d (1 - d) / n), a quadratic; with seeds erring independently a mean over
    S seeds keeps 1 / S of the variance. Such a difference, drawn as that many disagreements,
    is found in about 80% of runs."""
    level, n = 0.999, 2400
    z, power = stats.norm.ppf(0.9995), stats.norm.ppf(0.8)

    def closed_form(kept: float) -> float:
        t, c = z**2 * kept / (n + z**2 * kept), power**2 * kept / n
        return ((2 * t + c) + np.sqrt((2 * t + c) ** 2 - 4 * (1 + c) * t**2)) / (2 * (1 + c))

    mde = detectable(0.0, 1e-9, n, np.inf, level)
    assert mde == pytest.approx(closed_form(1.0), rel=1e-6)
    independent = detectable(0.0, 1e-9, n, np.inf, level, rho=0.0, seeds=4)
    assert independent == pytest.approx(closed_form(0.25), rel=1e-6)
    x = np.random.default_rng(1).random((20_000, n)) < mde  # (runs, n): the disagreements
    se = np.sqrt(x.var(axis=1, ddof=1) / n)
    assert np.mean(x.mean(1) > z * se) == pytest.approx(0.8, abs=0.03)


def test_error_agreement_is_the_share_of_per_sample_variance_that_seeds_share():
    """Seeds erring on the same samples: 1; independently: 0 (the raw ratio would be 1 / S);
    a common part of known share: that share."""
    rng = np.random.default_rng(2)
    hard = rng.random(20_000) < 0.05  # (N,)
    cases = {"same": np.tile(hard, (4, 1)), "independent": rng.random((4, 20_000)) < 0.05,
             "half": np.where(rng.random((4, 20_000)) < 0.5, hard, rng.random((4, 20_000)) < 0.05)}
    for name, rho in {"same": 1.0, "independent": 0.0, "half": 0.25}.items():
        y = cases[name].astype(float)
        boot = Bootstrap([name], {name: [0, 1, 2, 3]}, {name: {"test_accuracy": y.mean(1)}}, {},
                         {name: {"test_accuracy": y}})
        assert error_agreement(boot, "test_accuracy", [name]) == pytest.approx(rho, abs=0.03)


def test_samples_needed_in_the_closed_form_case():
    """No seed variance: N = ((z_{1 - a/2} + z_power) sigma / difference)^2, sigma^2 = n se^2
    (above the disagreements' variance here); at the ceiling (se ~0) sigma^2 is that variance,
    d (1 - d) with seeds erring on the same samples."""
    se_test, n, level = 0.003, 600, 0.99
    need = seeds_needed(se_test, n, 0.0, 0.01, level, seeds=(4,), rho=0.0)[4]
    sigma = se_test * np.sqrt(n)
    k = stats.norm.ppf(0.995) + stats.norm.ppf(0.8)
    assert need == pytest.approx((k * sigma / 0.01) ** 2, rel=0.02)
    ceiling = seeds_needed(1e-9, n, 0.0, 0.01, level, seeds=(4,))[4]
    z, p = stats.norm.ppf(0.995), 0.01  # against 0 (variance ~0 at the threshold) and p:
    assert ceiling == pytest.approx((z**2 + stats.norm.ppf(0.8) * np.sqrt(  # n d = z^2 +
        p * (1 - p)) * np.sqrt(ceiling)) / p, rel=0.02)  # z_power sqrt(n d (1 - d))
    noisy = seeds_needed(se_test, n, 2e-5, 0.01, level, seeds=(4, 16))
    assert noisy[4] == np.inf and noisy[16] < np.inf  # seed noise alone too large at 4 seeds


def test_collapses_count_seeds_below_the_median_with_an_exact_interval():
    found = collapses({"h": [0.999, 0.998, 0.997, 0.985, 0.90],
                       "g": [0.999, 0.998, 0.999, 0.997]}, 0.01)
    assert found["h"][:2] == (2, 5)  # 1.2 and 9.7 points below the median 99.7 (the mean, 97.6,
    ci = stats.binomtest(2, 5).proportion_ci(0.95, "exact")  # would miss the first)
    assert found["h"][2:] == pytest.approx((ci.low, ci.high))
    assert found["g"] == (0, 4, 0.0, pytest.approx(1 - 0.025 ** (1 / 4)))


def test_lower_is_better_metrics_and_directions():
    assert direction("test_accuracy", 0.01, 0.02) == 1 and direction("test_loss", 0.01, 0.02) == -1
    assert direction("test_accuracy", -0.01, 0.02) == 0


def test_holm_adjusts_in_the_input_order():
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == pytest.approx([1.0, 1.0])


def test_compare_on_real_predictions_is_paired_on_samples():
    """A second strategy that misses 6 more of 600 samples in every seed is clearly below: the
    samples both get right or wrong cancel in the paired difference (unpaired, the 1-point gap
    would be lost in the binomial noise of two 95% accuracies, se ~1.3 points)."""
    rng = np.random.default_rng(1)
    n = 600
    base = rng.random(n) < 0.95
    base[:6] = True
    correct = np.tile(base, (3, 1))
    for s in range(3):  # a few seed-specific errors
        correct[s, rng.choice(np.arange(6, n), 3, replace=False)] = False
    worse = correct.copy()
    worse[:, :6] = False
    actual = np.arange(n) % 2

    def table(c):
        flat = c.ravel()
        t = {"seed": np.repeat(np.arange(3), n), "row": np.tile(np.arange(n), 3),
             "actual": np.tile(actual, 3), "confidence": np.full(3 * n, 0.9)}
        t["predicted"] = np.where(flat, t["actual"], 1 - t["actual"])
        raw = [c for c in COLUMNS if c.startswith("correct") or c == "loss"]
        return pd.DataFrame(t | {k: flat.astype(float) for k in raw} | suite.cell_columns(n, 3))

    boot = bootstrap({"a": table(correct), "b": table(worse)}, resamples=100)
    found = compare(boot, [], DELTAS, metrics=["test_accuracy"])
    assert found.groups["test_accuracy"] == {"a": "top", "b": "below"}
    other = bootstrap({"a": table(correct), "b": table(worse)}, resamples=100, seed=4)
    pd.testing.assert_frame_equal(compare(other, [], DELTAS, metrics=["test_accuracy"]).rows,
                                  found.rows)  # no endpoint moves with the resampling seed


def test_tiered_metrics_have_directions():
    assert all(METRICS[m].higher_is_better for m in TIERED)


def test_fusion_below_its_better_sensor_under_a_fault_is_named():
    """A (fusion) at 80% under every fault while LiDAR alone keeps 95%: below it under each
    fault; B at 97% is above; the better sensor is the baseline with the higher mean."""
    values = {"A": [0.80, 0.81, 0.79], "B": [0.97, 0.972, 0.968], "r": [0.5, 0.51, 0.49],
              "l": [0.95, 0.951, 0.949]}
    faults = ["haze", "beam_loss"]
    floor = against_sensors(boot_of(values), ["A", "B"], ["r", "l"], faults, delta=0.02)
    assert list(floor.columns) == FLOOR_COLUMNS and len(floor) == 4
    assert set(floor["sensor"]) == {"l"}
    verdicts = floor.set_index(["fault", "strategy"])["verdict"]
    assert (verdicts.xs("A", level="strategy") == "below").all()
    assert (verdicts.xs("B", level="strategy") == "above").all()
    a = floor[(floor["strategy"] == "A") & (floor["fault"] == "haze")].iloc[0]
    assert a["difference"] == pytest.approx(-0.15)
    welch = against_sensors(boot_of(values), ["A", "B"], ["r", "l"], faults, 0.02, variance=own)
    a = welch[(welch["strategy"] == "A") & (welch["fault"] == "haze")].iloc[0]
    level = 1 - 0.05 / 4  # Bonferroni over the 2 x 2 family; 100,000 equal samples: Welch alone
    sa, sl = np.var(values["A"], ddof=1) / 3, np.var(values["l"], ddof=1) / 3
    df = (sa + sl) ** 2 / (sa**2 / 2 + sl**2 / 2)
    assert a["ci_high"] - a["difference"] == pytest.approx(
        stats.t.ppf((1 + level) / 2, df) * np.sqrt(sa + sl), rel=1e-3)
    assert against_sensors(boot_of(values), ["A"], [], faults, 0.02).empty
