import math

import numpy as np
import pandas as pd
import pytest

from fusion.intervals import METRICS, _metrics, bootstrap, tiers

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
        "robustness_rgb": rng.random(s * n),
        "robustness_lidar": rng.random(s * n),
        "p_sphere": rng.random(s * n),  # an extra column, ignored
    }
    return pd.DataFrame(flat)


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
        "robustness_rgb": run["robustness_rgb"].mean(),
        "robustness_lidar": run["robustness_lidar"].mean(),
        "accuracy_rgb_missing": run["correct_rgb_missing"].mean(),
        "accuracy_lidar_missing": run["correct_lidar_missing"].mean(),
    }


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
    got = _metrics([run], classes, w.astype(float), bins=15)
    for b in range(len(w)):
        expected = _reference(run.iloc[np.repeat(np.arange(40), w[b])], classes)
        for metric, value in expected.items():
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
        for out in bootstrap(tables, resamples=400, seed=batch).summary().values():
            hits.append(out["test_accuracy_ci_low"] <= truth <= out["test_accuracy_ci_high"])
    assert 0.90 <= np.mean(hits) <= 0.99


def test_equal_strategies_share_a_tier():
    """200 experiments, two strategies of one distribution each; 10 experiments per call."""
    rng, same = np.random.default_rng(3), []
    for batch in range(20):
        actual, tables = rng.integers(0, 2, 400), {}
        for k in range(10):
            levels = rng.choice(LEVELS, 400, p=SHARES)  # one test set, two strategies
            for name in (f"a{k}", f"b{k}"):
                tables[name] = _table(_simulate(rng, 3, 400, 0.02, levels), actual, rng)
        result = bootstrap(tables, resamples=400, seed=batch)
        summary, pairs = result.summary(), result.pairwise(["test_accuracy"])
        for k in range(10):
            means = {x: summary[x]["test_accuracy"] for x in (f"a{k}", f"b{k}")}
            tier = tiers(means, pairs, "test_accuracy", True)
            same.append(tier[f"a{k}"] == tier[f"b{k}"])
    assert np.mean(same) >= 0.85


def test_separated_strategies():
    rng = np.random.default_rng(4)
    actual = rng.integers(0, 2, 1000)
    good = _table(rng.random((3, 1000)) < 0.95, actual, rng, np.full((3, 1000), 0.95))
    bad = _table(rng.random((3, 1000)) < 0.75, actual, rng, np.full((3, 1000), 0.99))
    result = bootstrap({"good": good, "bad": bad}, resamples=500)
    pairs = result.pairwise().set_index("metric")
    assert list(pairs.columns) == ["a", "b", "difference", "ci_low", "ci_high", "p_a_better"]
    assert (pairs["a"] == "good").all() and (pairs["b"] == "bad").all()
    for metric in ["test_accuracy", "test_loss", "test_ece"]:  # higher and lower is better
        assert pairs.loc[metric, "p_a_better"] > 0.99, metric
        sign = 1 if METRICS[metric].higher_is_better else -1  # the interval excludes 0
        assert min(sign * pairs.loc[metric, "ci_low"], sign * pairs.loc[metric, "ci_high"]) > 0
    flipped = bootstrap({"bad": bad, "good": good}, resamples=500).pairwise().set_index("metric")
    assert (flipped["p_a_better"] < 0.01).loc[["test_accuracy", "test_loss", "test_ece"]].all()
    assert np.allclose(flipped["difference"], -pairs["difference"])
    summary = result.summary()
    means = {k: v["test_loss"] for k, v in summary.items()}
    assert tiers(means, result.pairwise(), "test_loss", False) == {"good": 1, "bad": 2}
    assert summary["good"]["test_loss"] == pytest.approx(good["loss"].mean())


def test_differences_are_paired_on_samples_and_seeds():
    rng = np.random.default_rng(9)
    correct = _simulate(rng, 3, 400, 0.1)  # a large seed spread
    correct[:, :5] = True
    worse = correct.copy()
    worse[:, :5] = False  # b misses 5 more samples in every seed
    actual = rng.integers(0, 2, 400)
    tables = {"a": _table(correct, actual, rng), "b": _table(worse, actual, rng)}
    row = bootstrap(tables, resamples=1000).pairwise(["test_accuracy"]).iloc[0]
    assert row["difference"] == pytest.approx(5 / 400)
    assert 0 <= row["ci_low"] < row["ci_high"] <= 15 / 400  # seed spread and other rows cancel
    assert row["p_a_better"] > 0.99


def test_single_seed_uses_test_set_variation_only():
    rng = np.random.default_rng(5)
    levels, actual = rng.choice(LEVELS, 400, p=SHARES), rng.integers(0, 2, 400)
    one = _table(_simulate(rng, 1, 400, 0.05, levels), actual, rng, seeds=[7])
    spread = _table(_simulate(rng, 3, 400, 0.05, levels), actual, rng)
    result = bootstrap({"one": one, "spread": spread}, resamples=1000)
    out = result.summary()
    assert out["one"]["seeds"] == [7] and out["spread"]["seeds"] == [0, 1, 2]
    for metric, spec in METRICS.items():
        low, high = np.quantile(result.resampled["one"][metric], [0.025, 0.975])
        low, high = np.clip([low, high], *spec.bounds)
        assert out["one"][f"{metric}_std"] == 0.0
        assert out["one"][f"{metric}_ci_low"] == pytest.approx(low)
        assert out["one"][f"{metric}_ci_high"] == pytest.approx(high)
        assert low <= out["one"][metric] <= high
    width = {k: v["test_accuracy_ci_high"] - v["test_accuracy_ci_low"] for k, v in out.items()}
    assert out["spread"]["test_accuracy_std"] > 0 and width["one"] < width["spread"]


def _t_quantile(df, q=0.975):
    return np.quantile(np.random.default_rng(0).standard_t(df, 2_000_000), q)


def test_seed_term_is_student_t():
    """Per-seed constant robustness: no test-set variation, only the t term is left."""
    rng, n = np.random.default_rng(10), 20
    levels = {"a": [0.50, 0.52, 0.54], "b": [0.40, 0.41, 0.43, 0.44, 0.47], "c": [0.45]}
    seeds = {"a": [0, 1, 2], "b": [3, 4, 5, 6, 7], "c": [0]}
    tables = {}
    for k, v in levels.items():
        tables[k] = _random_table(rng, len(v), n, actual=np.arange(n) % 2)
        tables[k]["seed"] = np.repeat(seeds[k], n)
        tables[k]["robustness_rgb"] = np.repeat(v, n)
    result = bootstrap(tables, resamples=20_000)
    out, std = result.summary(), {k: np.std(v, ddof=1) for k, v in levels.items() if k != "c"}
    for k in "ab":
        low, high = out[k]["robustness_rgb_ci_low"], out[k]["robustness_rgb_ci_high"]
        half = _t_quantile(len(levels[k]) - 1) * std[k] / np.sqrt(len(levels[k]))
        assert (high - low) / 2 == pytest.approx(half, rel=0.1), k
        assert (high + low) / 2 == pytest.approx(np.mean(levels[k]), abs=0.1 * half), k
    pairs = result.pairwise(["robustness_rgb"]).set_index(["a", "b"])
    va, vb = std["a"] ** 2 / 3, std["b"] ** 2 / 5
    welch = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 4)
    for pair, scale, df in [(("a", "b"), np.sqrt(va + vb), welch), (("a", "c"), np.sqrt(va), 2)]:
        low, high = pairs.loc[pair, ["ci_low", "ci_high"]]
        assert (high - low) / 2 == pytest.approx(_t_quantile(df) * scale, rel=0.1), pair


def test_unpaired_seeds_and_bounds():
    rng = np.random.default_rng(6)
    actual = rng.integers(0, 2, 200)
    tables = {
        "a": _table(rng.random((1, 200)) < 0.8, actual, rng, seeds=[0]),
        "b": _table(rng.random((1, 200)) < 0.7, actual, rng, seeds=[1]),
        "c": _table(np.ones((3, 200), bool), actual, rng),
    }
    last = tables["c"]["seed"] == 2
    tables["c"].loc[last, "correct"] = np.arange(200) % 5 > 0  # accuracy 1, 1, 0.8
    tables["c"]["loss"] = np.where(last, 0.3, 0.001)  # seed losses 0.001, 0.001, 0.3
    result = bootstrap(tables, resamples=500)
    pairs = result.pairwise(["test_accuracy"])
    assert [tuple(p) for p in pairs[["a", "b"]].values] == [("a", "b"), ("a", "c"), ("b", "c")]
    # one seed each: no seed term, the interval is that of the resampled difference
    r = result.resampled
    diff = r["a"]["test_accuracy"][:, 0] - r["b"]["test_accuracy"][:, 0]
    assert pairs.iloc[0][["ci_low", "ci_high"]].tolist() == pytest.approx(
        np.quantile(diff, [0.025, 0.975]).tolist()
    )
    # Welch: the seed spread of c widens the interval beyond the test-set one
    diff = r["a"]["test_accuracy"][:, 0] - r["c"]["test_accuracy"].mean(1)
    low, high = np.quantile(diff, [0.025, 0.975])
    assert pairs.iloc[1]["ci_low"] < low and pairs.iloc[1]["ci_high"] > high
    out = result.summary()["c"]
    assert out["test_accuracy_ci_high"] == 1.0 and out["test_loss_ci_low"] == 0.0
    assert out["test_accuracy"] == pytest.approx(14 / 15)


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


def test_tiers():
    means = {"A": 0.95, "B": 0.93, "C": 0.90, "D": 0.80, "E": 0.79, "F": 0.60}
    rows = [
        ("A", "B", "test_accuracy", 0.02, -0.01, 0.05),  # covers 0: B joins A
        ("A", "C", "test_accuracy", 0.05, 0.01, 0.09),  # excludes 0: C leads tier 2
        ("B", "C", "test_accuracy", 0.03, -0.01, 0.07),  # not compared: B is no leader
        ("D", "C", "test_accuracy", -0.10, -0.12, -0.08),  # flipped order, excludes 0
        ("E", "D", "test_accuracy", -0.01, -0.03, 0.01),  # flipped order, covers 0
        ("D", "F", "test_accuracy", 0.20, 0.15, 0.25),
        ("A", "C", "test_loss", 0.0, -1.0, 1.0),  # another metric: ignored
    ]
    pairs = pd.DataFrame(rows, columns=["a", "b", "metric", "difference", "ci_low", "ci_high"])
    expected = {"A": 1, "B": 1, "C": 2, "D": 3, "E": 3, "F": 4}
    assert tiers(means, pairs, "test_accuracy", True) == expected
    losses = {"A": 0.1, "C": 0.2}
    assert tiers(losses, pairs, "test_loss", False) == {"A": 1, "C": 1}
    assert tiers(losses, pairs, "test_accuracy", False) == {"A": 1, "C": 2}
    assert tiers({"A": 1.0, "C": 0.5}, pairs, "test_loss", False) == {"C": 1, "A": 1}
    with pytest.raises(ValueError, match="A vs F"):
        tiers({"A": 0.9, "F": 0.1}, pairs, "test_accuracy", True)
