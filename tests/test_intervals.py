import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fusion.comparison.intervals import (
    FAULT_ACCURACY,
    METRICS,
    PAIRWISE,
    RELATIVE,
    _metrics,
    bootstrap,
    newcombe,
    quantiles,
    relative,
)
from fusion.faults import available, suite

LEVELS, SHARES = np.array([0.2, 0.95, 1.0]), np.array([0.1, 0.2, 0.7])  # P(correct) of samples


def _table(correct, actual, rng, confidence=None, seeds=None, classes=("cube", "sphere")):
    """Predictions table of correct (S, N) bool on samples of class index actual (N,)."""
    s, n = correct.shape
    c = len(classes)
    confidence = rng.uniform(1 / c, 1, (s, n)) if confidence is None else confidence
    wrong = (actual + rng.integers(1, c, (s, n))) % c  # (S, N) another class
    predicted = np.where(correct, actual, wrong)
    names = np.array(classes)
    flat = {
        "seed": np.repeat(list(range(s)) if seeds is None else seeds, n),
        "row": np.tile(np.arange(n) + 100, s),
        "actual": names[np.tile(actual, s)],
        "predicted": names[predicted.ravel()],
        "confidence": confidence.ravel(),
        "loss": -np.log(np.where(correct, confidence, (1 - confidence) / (c - 1))).ravel(),
        "correct": correct.ravel(),
        "correct_rgb_missing": rng.random(s * n) < 0.6,
        "correct_lidar_missing": rng.random(s * n) < 0.8,
        **_fault_columns(correct, rng),
        "p_sphere": rng.random(s * n),  # an extra column, ignored
    }
    return pd.DataFrame(flat)


def _fault_columns(correct, rng):
    """Each sample's cell of every fault group and whether it is right there (S, N) flat."""
    s, n = correct.shape
    out = suite.cell_columns(n, s)
    for group in suite.GROUPS:
        out[f"correct_{group}"] = (correct & (rng.random((s, n)) < 0.8)).ravel()
    out[f"correct_{suite.CONTROL}"] = (correct & (rng.random((s, n)) < 0.9)).ravel()
    return out


def _random_table(rng, seeds=3, n=200, classes=("cube", "sphere"), actual=None):
    actual = rng.integers(0, len(classes), n) if actual is None else actual
    return _table(rng.random((seeds, n)) < 0.7, actual, rng, classes=classes)


def _reference(run, classes, bins=15):
    """Plain metrics of one seed's rows."""
    actual, predicted = run["actual"].to_numpy(), run["predicted"].to_numpy()
    correct, confidence = run["correct"].to_numpy(float), run["confidence"].to_numpy()
    recalls = [np.mean(predicted[actual == c] == c) for c in classes if (actual == c).any()]
    f1s = []
    for c in classes:
        tp = np.sum((actual == c) & (predicted == c))
        fp = np.sum((actual != c) & (predicted == c))
        fn = np.sum((actual == c) & (predicted != c))
        f1s.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0)
    ece = 0.0
    for k in range(1, bins + 1):
        in_bin = (confidence <= k / bins) & ((confidence > (k - 1) / bins) | (k == 1))
        ece += abs(np.sum(correct[in_bin] - confidence[in_bin])) / len(run)
    return {
        "test_accuracy": correct.mean(),
        "test_balanced_accuracy": np.mean(recalls),
        "test_f1": np.mean(f1s),
        "test_loss": run["loss"].mean(),
        "test_ece": ece,
        **{k: v.mean() for k, v in _relative(run).items()},
        "accuracy_rgb_missing": run["correct_rgb_missing"].mean(),
        "accuracy_lidar_missing": run["correct_lidar_missing"].mean(),
    }


def _relative(run):
    """Relative accuracies by hand: accuracy on a fault's samples / clean accuracy."""
    clean, out = run["correct"].to_numpy(float).mean(), {}
    for group in (*suite.GROUPS, suite.CONTROL):
        hits = run[f"correct_{group}"].to_numpy(float)
        cell = run[f"cell_{'alignment' if group == suite.CONTROL else group}"].to_numpy()
        out[f"ra_{group}"] = hits / clean
        for name in dict.fromkeys(f for f, _ in suite.cells(group)):
            mine = np.isin(cell, [k for k, (f, _) in enumerate(suite.cells(group)) if f == name])
            out[f"accuracy_{name}"] = np.full(len(hits), hits[mine].mean() if mine.any()
                                              else np.nan)  # none in a resample
            out[f"ra_{name}"] = out[f"accuracy_{name}"] / clean
    out["mRA"] = np.mean([out[f"ra_{f}"] for f in available()], axis=0)
    return out


@pytest.mark.parametrize("classes", [("cube", "sphere"), ("a", "b", "c")])
def test_full_set_metrics_match_reference(classes):
    rng = np.random.default_rng(0)
    table = _random_table(rng, classes=classes)
    edges = table["row"] < 115  # confidences on the bin edges k / 15 of 15 samples
    table.loc[edges, "confidence"] = np.tile(np.arange(1, 16) / 15, 3)
    result = bootstrap({"x": table}, resamples=10)
    values, summary = result.values["x"], result.summary()["x"]
    expected = pd.DataFrame([_reference(run, classes) for _, run in table.groupby("seed")])
    assert set(values) == set(expected) == set(METRICS)
    for metric in METRICS:
        assert values[metric] == pytest.approx(expected[metric].to_numpy(), abs=1e-12), metric
        assert summary[metric] == pytest.approx(expected[metric].mean(), abs=1e-12)
        assert summary[f"{metric}_std"] == pytest.approx(expected[metric].std(ddof=1), abs=1e-12)


def test_weighted_metrics_match_repeated_rows():
    rng = np.random.default_rng(1)
    classes = np.array(["a", "b", "c"])
    run = _random_table(rng, seeds=1, n=40, classes=tuple(classes))
    w = rng.multinomial(40, np.full(40, 1 / 40), size=5)  # (5, N)
    w[0, run["actual"].to_numpy() == "b"] = 0  # a resample without class "b"
    got = _metrics([{**run, **relative(run)}], classes, w.astype(float), bins=15)
    for b in range(len(w)):
        expected = _reference(run.iloc[np.repeat(np.arange(40), w[b])], classes)
        for metric, value in expected.items():
            if metric in RELATIVE + FAULT_ACCURACY:  # linearised: the ratio to first order
                continue
            assert got[metric][b, 0] == pytest.approx(value, abs=1e-12), (metric, b)


def _true_accuracy(tau):
    """E over test samples and seeds of clip(level + delta, 0, 1), delta ~ N(0, tau)."""
    if tau == 0:
        return float(SHARES @ LEVELS)

    def cdf(x):
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    def pdf(x):
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    total = 0.0
    for m, share in zip(LEVELS, SHARES, strict=True):
        lo, hi = -m / tau, (1 - m) / tau  # clip bounds 0 and 1, standardised
        inside = m * (cdf(hi) - cdf(lo)) + tau * (pdf(lo) - pdf(hi))  # E[x; 0 < x < 1]
        total += share * (inside + 1 - cdf(hi))
    return total


def _simulate(rng, seeds, n, tau, levels=None):
    """correct (S, N): sample difficulty shared across seeds, a N(0, tau) effect per seed."""
    levels = rng.choice(LEVELS, n, p=SHARES) if levels is None else levels
    p = np.clip(levels + rng.normal(0, tau, (seeds, 1)), 0, 1)
    return rng.random((seeds, n)) < p


@pytest.mark.parametrize(
    "seeds, tau", [(3, 0.02), (3, 0.0), (3, 0.05), (1, 0.0)], ids=["mixed", "test", "seeds", "one"]
)
def test_interval_coverage(seeds, tau):
    """300 simulated experiments, 30 per call as strategies: they share the resample weights W
    but neither data nor t draws, so given W their intervals are independent."""
    rng, truth, hits = np.random.default_rng(0), _true_accuracy(tau), []
    for batch in range(10):
        actual = rng.integers(0, 2, 400)
        tables = {k: _table(_simulate(rng, seeds, 400, tau), actual, rng) for k in range(30)}
        summary = bootstrap(tables, resamples=400, seed=batch).summary(metrics=["test_accuracy"])
        for out in summary.values():
            hits.append(out["test_accuracy_ci_low"] <= truth <= out["test_accuracy_ci_high"])
    assert 0.90 <= np.mean(hits) <= 0.99


def test_separated_strategies():
    rng = np.random.default_rng(4)
    actual = rng.integers(0, 2, 1000)
    good = _table(rng.random((3, 1000)) < 0.95, actual, rng, np.full((3, 1000), 0.95))
    bad = _table(rng.random((3, 1000)) < 0.75, actual, rng, np.full((3, 1000), 0.99))
    result = bootstrap({"good": good, "bad": bad}, resamples=500)
    pairs = result.pairwise().set_index("metric")
    assert list(pairs.columns) == [c for c in PAIRWISE if c != "metric"]
    assert (pairs["a"] == "good").all() and (pairs["b"] == "bad").all()
    for metric in ["test_accuracy", "test_loss", "test_ece"]:  # higher and lower is better
        assert pairs.loc[metric, "p_a_better"] > 0.99, metric
        sign = 1 if METRICS[metric].higher_is_better else -1  # the interval excludes 0
        assert min(sign * pairs.loc[metric, "ci_low"], sign * pairs.loc[metric, "ci_high"]) > 0
    flipped = bootstrap({"bad": bad, "good": good}, resamples=500).pairwise().set_index("metric")
    assert (flipped["p_a_better"] < 0.01).loc[["test_accuracy", "test_loss", "test_ece"]].all()
    assert np.allclose(flipped["difference"], -pairs["difference"])
    assert result.summary()["good"]["test_loss"] == pytest.approx(good["loss"].mean())


def test_differences_are_paired_on_samples_and_seeds():
    rng = np.random.default_rng(9)
    correct = _simulate(rng, 3, 400, 0.1)  # a large seed spread
    correct[:, :5] = True
    worse = correct.copy()
    worse[:, :5] = False  # b misses 5 more samples in every seed
    actual = rng.integers(0, 2, 400)
    tables = {"a": _table(correct, actual, rng), "b": _table(worse, actual, rng)}
    result = bootstrap(tables, resamples=1000)
    row = result.pairwise(["test_accuracy"]).iloc[0]
    assert row["difference"] == pytest.approx(5 / 400)
    assert 0 <= row["ci_low"] < row["ci_high"] <= 15 / 400  # seed spread and other rows cancel
    va, vb = (result.values[k]["test_accuracy"] for k in "ab")  # a run of a against one of b:
    assert row["p_a_better"] == np.mean(va[:, None] > vb[None])  # the seed spread shows here


def test_one_seed_borrows_the_largest_seed_std_and_is_flagged():
    rng = np.random.default_rng(5)
    levels, actual = rng.choice(LEVELS, 400, p=SHARES), rng.integers(0, 2, 400)
    tables = {"one": _table(_simulate(rng, 1, 400, 0.05, levels), actual, rng, seeds=[7]),
              "calm": _table(_simulate(rng, 3, 400, 0.01, levels), actual, rng),
              "spread": _table(_simulate(rng, 5, 400, 0.05, levels), actual, rng)}
    result = bootstrap(tables, resamples=500)
    assert result.flagged == ["one"]
    out = result.summary()
    assert out["one"]["seeds"] == [7] and out["one"]["test_accuracy_std"] == 0.0
    for metric, spec in METRICS.items():
        stds = {k: np.std(result.values[k][metric], ddof=1) for k in ("calm", "spread")}
        donor = max(stds, key=stds.get)  # the largest seed std, with its df
        df = len(result.seeds[donor]) - 1
        atoms = result.resampled["one"][metric][:, 0]
        if spec.calibration:
            atoms = 2 * result.values["one"][metric][0] - atoms
        expected = np.clip(quantiles(atoms, stds[donor], df, [0.025, 0.975]), *spec.bounds)
        assert [out["one"][f"{metric}_ci_low"], out["one"][f"{metric}_ci_high"]] == \
            pytest.approx(expected.tolist(), abs=1e-12), metric
    # compared unpaired, with the borrowed variance: wider than the test-set interval alone
    d, low, high = result.difference("one", "calm", "test_accuracy")
    atoms = result.resampled["one"]["test_accuracy"][:, 0] - \
        result.resampled["calm"]["test_accuracy"].mean(1)
    plain = np.quantile(atoms, [0.025, 0.975])
    assert low < plain[0] and high > plain[1]


def test_all_one_seed_intervals_cover_the_test_set_only():
    rng = np.random.default_rng(5)
    actual = rng.integers(0, 2, 300)
    tables = {k: _table(_simulate(rng, 1, 300, 0.0), actual, rng) for k in "ab"}
    result = bootstrap(tables, resamples=800)
    assert result.flagged == ["a", "b"]
    low, high = np.clip(np.quantile(result.resampled["a"]["test_accuracy"], [0.025, 0.975]), 0, 1)
    out = result.summary()["a"]
    assert [out["test_accuracy_ci_low"], out["test_accuracy_ci_high"]] == pytest.approx([low, high])


def test_quantiles_solve_the_exact_convolution():
    rng = np.random.default_rng(11)
    atoms = rng.gamma(2.0, 0.01, 500) + 0.9  # skewed, like a resampled accuracy
    scale, df = 0.02, 2.7  # a Welch df: not an integer
    got = quantiles(atoms, scale, df, [0.0005, 0.025, 0.5, 0.975])
    for p, x in zip([0.0005, 0.025, 0.5, 0.975], got, strict=True):
        assert np.mean(stats.t.cdf((x - atoms) / scale, df)) == pytest.approx(p, abs=1e-9)
    draws = rng.choice(atoms, 4_000_000) + scale * rng.standard_t(df, 4_000_000)
    assert got[1:] == pytest.approx(np.quantile(draws, [0.025, 0.5, 0.975]), abs=0.01 * scale)
    assert quantiles(atoms, 0.0, df, [0.1]) == pytest.approx(np.quantile(atoms, [0.1]))
    with pytest.raises(ValueError, match="probabilities"):
        quantiles(atoms, scale, df, [0.0, 0.5])


def _constant_per_seed(levels, n=20, metric="correct_rgb_missing", seed=0):
    """Tables whose `metric` is one value per seed on every sample: no test-set variation."""
    rng, tables = np.random.default_rng(seed), {}
    for name, values in levels.items():
        tables[name] = _random_table(rng, len(values), n, actual=np.arange(n) % 2)
        tables[name][metric] = np.repeat(values, n)
    return tables


def test_late_camera_robustness_is_the_exact_t_interval():
    """The audit's case: late's camera robustness over seeds 67.1, 76.2 and 86.6%. With no
    test-set variation the interval is the plain t-interval over the seeds (low 52.4, not the
    55.6 that 2,000 Monte-Carlo t draws gave), whatever the resampling seed."""
    seeds = np.array([0.671, 0.762, 0.866])
    exact = seeds.mean() - stats.t.ppf(0.975, 2) * seeds.std(ddof=1) / np.sqrt(3)
    assert exact == pytest.approx(0.5240, abs=1e-4)
    for seed in range(5):
        out = bootstrap(_constant_per_seed({"late": seeds}), 2000, seed=seed).summary()["late"]
        assert out["accuracy_rgb_missing_ci_low"] == pytest.approx(exact, abs=1e-9)
        assert out["accuracy_rgb_missing_ci_high"] == 1.0  # 100.9 clipped


def test_endpoints_barely_move_across_resampling_seeds():
    rng = np.random.default_rng(12)
    actual = rng.integers(0, 2, 600)
    tables = {"x": _table(_simulate(rng, 3, 600, 0.03), actual, rng)}
    tables["x"]["correct_rgb_missing"] = rng.random(len(tables["x"]))  # a score in [0, 1]
    ends = np.array([[bootstrap(tables, 2000, seed=s).summary()["x"][f"accuracy_rgb_missing_ci_{e}"]
                      for e in ("low", "high")] for s in range(5)])
    assert np.ptp(ends, axis=0).max() < 0.001  # < 0.1 point


def test_ece_interval_is_not_shifted_by_the_bootstrap_bias():
    """Known answer: confidence 0.7512 on every sample, correct with probability 0.7512, so the true
    ECE is 0. Resampling biases ECE upwards: percentile intervals almost never reach 0, the
    reflected (basic) interval covers it about as often as its level says."""
    rng, n = np.random.default_rng(13), 400
    actual = rng.integers(0, 2, n)
    tables = {k: _table(rng.random((1, n)) < 0.7512, actual, rng, np.full((1, n), 0.7512))
              for k in range(60)}
    result = bootstrap(tables, resamples=1000)
    out = result.summary(metrics=["test_ece"])
    covered = [out[k]["test_ece_ci_low"] <= 0.0 for k in tables]
    percentile = [np.quantile(result.resampled[k]["test_ece"], 0.025) <= 0.0 for k in tables]
    assert np.mean(covered) >= 0.9 and np.mean(percentile) <= 0.2
    for k in tables:  # the estimate sits inside (up to rounding)
        low, high = out[k]["test_ece_ci_low"], out[k]["test_ece_ci_high"]
        assert low - 1e-12 <= out[k]["test_ece"] <= high + 1e-12


def test_a_calibrated_model_looks_calibrated_and_a_miscalibrated_one_does_not():
    """Consistency resampling: correct ~ Bernoulli(confidence) gives an ECE no larger than a
    calibrated model's; correct with probability confidence - 0.05 does not."""
    rng, n = np.random.default_rng(2), 2400
    actual = rng.integers(0, 2, n)
    confidence = np.clip(1 - rng.beta(1, 40, (4, n)), 0.5 + 1e-9, 1.0)
    tables = {name: _table(rng.random((4, n)) < confidence - gap, actual, rng, confidence)
              for name, gap in (("calibrated", 0.0), ("off", 0.05))}
    result = bootstrap(tables, resamples=200)
    assert result.calibrated_looking("calibrated", "test_ece", 0.95)
    assert not result.calibrated_looking("off", "test_ece", 0.95)
    assert result.summary(metrics=["test_ece"])["calibrated"]["test_ece_ci_low"] == 0.0


def test_probability_of_improvement_counts_seed_pairs():
    a, b = [0.9, 0.8, 0.7], [0.8, 0.6]  # pairs a > b: 4 of 6, one tie (half)
    result = bootstrap(_constant_per_seed({"a": a, "b": b}), resamples=500)
    p, low, high = result.improvement("a", "b", "accuracy_rgb_missing")
    assert p == pytest.approx(4.5 / 6)
    assert 0 <= low <= p <= high <= 1 and high - low > 0.1  # 3 and 2 seeds: a wide interval
    row = result.pairwise(["accuracy_rgb_missing"]).iloc[0]
    assert tuple(row[["p_a_better", "p_a_better_ci_low", "p_a_better_ci_high"]]) == (p, low, high)
    losses = bootstrap(_constant_per_seed({"a": a, "b": b}, metric="loss"), resamples=10)
    assert losses.improvement("a", "b", "test_loss")[0] == pytest.approx(1.5 / 6)  # lower wins


def test_the_improvement_interval_covers_and_is_never_degenerate():
    """4 seeds each from two normal distributions a unit apart: P(a > b) = Phi(1 / sqrt 2).
    Newcombe's interval covers it in >= 93% of experiments; a percentile interval over
    resampled seeds gives [1, 1] whenever the 4 seeds of a all beat the 4 of b."""
    rng, truth, hits, whole = np.random.default_rng(5), stats.norm.cdf(1 / np.sqrt(2)), [], 0
    for _ in range(2000):
        va, vb = rng.normal(1, 1, 4), rng.normal(0, 1, 4)
        share = np.mean(va[:, None] > vb[None])
        low, high = newcombe(share, 4, 4)
        hits.append(low <= truth <= high)
        whole += share == 1
    assert np.mean(hits) >= 0.93 and whole > 50
    assert newcombe(1.0, 4, 4)[0] == pytest.approx(0.58, abs=0.01)


def test_cochran_q_with_two_seeds_is_mcnemar():
    rng = np.random.default_rng(14)
    correct = rng.random((2, 300)) < 0.9
    b = np.sum(correct[0] & ~correct[1])
    c = np.sum(~correct[0] & correct[1])
    result = bootstrap({"x": _table(correct, rng.integers(0, 2, 300), rng)}, resamples=10)
    assert result.homogeneity("x") == pytest.approx(stats.chi2.sf((b - c) ** 2 / (b + c), 1))
    same = bootstrap({"x": _table(np.repeat(correct[:1], 3, 0), np.arange(300) % 2, rng)},
                     resamples=10)
    assert same.homogeneity("x") == 1.0


def test_seed_term_is_student_t():
    """Per-seed constant robustness: no test-set variation, only the t term is left."""
    levels = {"a": [0.50, 0.52, 0.54], "b": [0.40, 0.41, 0.43, 0.44, 0.47], "c": [0.45]}
    tables = _constant_per_seed(levels)
    tables["b"]["seed"] += 3  # other seeds than a: unpaired
    result = bootstrap(tables, resamples=2000)
    out, std = result.summary(), {k: np.std(v, ddof=1) for k, v in levels.items() if k != "c"}
    for k in "ab":
        half = stats.t.ppf(0.975, len(levels[k]) - 1) * std[k] / np.sqrt(len(levels[k]))
        low, high = out[k]["accuracy_rgb_missing_ci_low"], out[k]["accuracy_rgb_missing_ci_high"]
        assert [low, high] == pytest.approx([np.mean(levels[k]) - half, np.mean(levels[k]) + half])
    pairs = result.pairwise(["accuracy_rgb_missing"]).set_index(["a", "b"])
    donor = max(std, key=std.get)  # c borrows the largest seed std, and its df
    va, vb, vc = std["a"] ** 2 / 3, std["b"] ** 2 / 5, std[donor] ** 2
    welch = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 4)
    welch_c = (va + vc) ** 2 / (va**2 / 2 + vc**2 / (len(levels[donor]) - 1))
    for pair, scale, df in [(("a", "b"), np.sqrt(va + vb), welch),
                            (("a", "c"), np.sqrt(va + vc), welch_c)]:
        low, high = pairs.loc[pair, ["ci_low", "ci_high"]]
        assert (high - low) / 2 == pytest.approx(stats.t.ppf(0.975, df) * scale), pair


def test_intervals_are_clipped_to_the_metric_bounds():
    rng = np.random.default_rng(6)
    actual = rng.integers(0, 2, 200)
    c = _table(np.ones((3, 200), bool), actual, rng)
    last = c["seed"] == 2
    c.loc[last, "correct"] = np.arange(200) % 5 > 0  # accuracy 1, 1, 0.8
    c["loss"] = np.where(last, 0.3, 0.001)  # seed losses 0.001, 0.001, 0.3
    result = bootstrap({"c": c, "d": _random_table(rng, n=200, actual=actual)}, resamples=500)
    out = result.summary()["c"]
    assert out["test_accuracy_ci_high"] == 1.0 and out["test_loss_ci_low"] == 0.0
    assert out["test_accuracy"] == pytest.approx(14 / 15)
    _, low, high = result.difference("c", "d", "test_accuracy", confidence=0.9999)
    assert low >= -1.0 and high <= 1.0  # a difference of accuracies lies in [-1, 1]


def test_deterministic():
    rng = np.random.default_rng(7)
    actual = rng.integers(0, 2, 100)
    tables = {k: _random_table(rng, n=100, actual=actual) for k in "abc"}
    first = bootstrap(tables, resamples=200, seed=1)
    again = bootstrap(tables, resamples=200, seed=1)
    assert first.summary() == again.summary()
    assert first.summary(0.8) == again.summary(0.8) != first.summary()
    pd.testing.assert_frame_equal(first.pairwise(), again.pairwise())
    assert bootstrap(tables, resamples=200, seed=2).summary() != first.summary()


def test_validation():
    rng = np.random.default_rng(8)
    table = _random_table(rng, n=50)
    with pytest.raises(ValueError, match="loss"):
        bootstrap({"x": table.drop(columns="loss")})
    nan = table.copy()
    nan.loc[3, "confidence"] = np.nan
    with pytest.raises(ValueError, match="confidence"):
        bootstrap({"x": nan})
    shuffled = table.copy()
    seed_one = shuffled.index[shuffled["seed"] == 1]
    shuffled.loc[seed_one, "row"] = shuffled.loc[seed_one, "row"].to_numpy()[::-1]
    with pytest.raises(ValueError, match="seed 1"):
        bootstrap({"x": shuffled})
    other = _random_table(rng, n=50)  # other classes per sample
    with pytest.raises(ValueError, match="y: other test samples"):
        bootstrap({"x": table, "y": other})
    with pytest.raises(ValueError, match="y: other test samples"):
        bootstrap({"x": table, "y": table[table["row"] != 100]})
    with pytest.raises(ValueError, match="resamples"):
        bootstrap({"x": table}, resamples=0)
    result = bootstrap({"x": table, "y": table}, resamples=10)
    with pytest.raises(ValueError, match="confidence"):
        result.summary(1.0)
    with pytest.raises(ValueError, match="confidence"):
        result.pairwise(confidence=0.0)
    with pytest.raises(ValueError, match="accuracy"):
        result.pairwise(["accuracy"])


def test_mean_corruption_error_against_a_hand_computation():
    """mCE: per seed, its error under the faults (mean over faults) / the reference's (its seed
    mean); 1 for the reference itself."""
    rng = np.random.default_rng(3)
    actual = rng.integers(0, 2, 300)
    tables = {k: _table(rng.random((3, 300)) < p, actual, rng) for k, p in (("x", 0.9),
                                                                              ("ref", 0.8))}
    result = bootstrap(tables, resamples=200)
    errors = {k: np.array([[1 - _relative(run)[f"accuracy_{f}"][0] for f in available()]
                           for _, run in tables[k].groupby("seed")]) for k in tables}  # (S, F)
    expected = (errors["x"].mean(1) / errors["ref"].mean()).mean()
    got = result.corruption_error("x", "ref", available())
    assert got["mCE"] == pytest.approx(expected)
    assert got["mCE_ci_low"] <= got["mCE"] <= got["mCE_ci_high"]
    assert result.corruption_error("ref", "ref", available())["mCE"] == pytest.approx(1.0)
