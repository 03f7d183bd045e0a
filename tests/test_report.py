"""The comparison table, its finding sentences and the figures."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from fusion import figures, report
from fusion.intervals import METRICS

NAMES = ["late", "early", "rgb_only"]  # deliberately not sorted: figures keep this order


def strategy(accuracy, low, high, std=0.01, seeds=(0, 1, 2)):
    """A summary entry: every metric at `accuracy` with the interval [low, high]."""
    entry = {"seeds": list(seeds)}
    for metric in METRICS:
        entry |= {metric: accuracy, f"{metric}_ci_low": low, f"{metric}_ci_high": high,
                  f"{metric}_std": std}
    return entry


def pair(a, b, difference, low, high, metric="test_accuracy"):
    return {"a": a, "b": b, "metric": metric, "difference": difference, "ci_low": low,
            "ci_high": high, "p_a_better": 0.5}


@pytest.fixture
def summary():
    intervals = {"late": strategy(0.99, 0.98, 1.0), "early": strategy(0.985, 0.97, 1.0),
                 "rgb_only": strategy(0.9, 0.88, 0.92, std=0.0)}
    train = {n: {"seeds": {str(s): {"seconds_per_epoch": 1.0 + s, "peak_memory_mb": 100.0,
                                    "best_val_loss": 0.1 * s} for s in range(3)}}
             for n in NAMES}
    evaluated = {n: {"cost": {"params": 1_234_567, "flops": 12_300_000, "latency_ms": 0.5,
                              "throughput": 5e4}} for n in NAMES}
    return report.summarize(intervals, train, evaluated)


@pytest.fixture
def pairwise():
    rows = []
    for metric in report.TIERED:
        rows += [pair("late", "early", 0.005, -0.01, 0.02, metric),  # a tie
                 pair("late", "rgb_only", 0.09, 0.07, 0.11, metric),
                 pair("early", "rgb_only", 0.085, 0.06, 0.11, metric)]
    return pd.DataFrame(rows)


TIERS = {m: {"late": 1, "early": 1, "rgb_only": 2} for m in report.TIERED}


def test_summary_adds_cost_and_train_medians(summary):
    assert summary["late"]["seconds_per_epoch"] == 2.0  # median of 1, 2, 3
    assert summary["late"]["params"] == 1_234_567
    assert summary["early"]["test_accuracy_ci_low"] == 0.97


def test_table_sorts_by_tier_then_mean_and_formats_intervals(summary):
    tiers = {m: {"late": 2, "early": 1, "rgb_only": 3} for m in report.TIERED}
    table = report.comparison_table(summary, tiers)
    assert table["strategy"].tolist() == ["early", "late", "rgb_only"]  # tier before mean
    lines = report.to_markdown(table).splitlines()
    assert lines[0].startswith("| Strategy | Tier (acc.) | Test accuracy % |")
    assert lines[2].startswith("| early | 1 | 98.5 [97.0, 100.0] |")
    assert " 1,234,567 | 12.3M | 0.50 | 2.00 |" in lines[2]
    assert len({line.count("|") for line in lines[:5]}) == 1  # every row has every cell


def test_findings_claim_only_what_the_intervals_support(summary, pairwise):
    accuracy = {n: {"0": 0.9, "1": 0.95, "2": 1.0} for n in NAMES}
    lines = report.findings(summary, pairwise, ["rgb_only"], accuracy)
    text = " ".join(lines)
    assert "Tied for the best test accuracy (2 strategies" in text
    assert "robustness to camera noise among the fusion strategies (2 strategies" in text
    assert "late 99.0%, early 98.5%" in text
    assert "smallest margin, early over rgb_only, is +8.5 points [+6.0, +11.0]" in text
    assert "Least stable across seeds" in text and "seed 0: 90.0%" in text
    assert "One seed" not in text


def test_findings_say_when_a_baseline_is_not_clearly_beaten(summary, pairwise):
    pairwise.loc[2, ["ci_low", "ci_high"]] = (-0.01, 0.2)  # early vs rgb_only covers 0
    lines = report.findings(summary, pairwise, ["rgb_only"], {"late": {"0": 0.99}})
    assert any(line.startswith("Not every fusion strategy is clearly more accurate") and
               "early vs rgb_only" in line and "late vs" not in line for line in lines)


def test_findings_name_a_single_seed_and_a_sole_leader():
    one = {n: strategy(a, a - 0.01, a + 0.01, std=0.0, seeds=(0,))
           for n, a in (("late", 0.99), ("rgb_only", 0.9))}
    pairs = pd.DataFrame([pair("late", "rgb_only", 0.09, 0.07, 0.11, m) for m in report.TIERED])
    lines = report.findings(one, pairs, ["rgb_only"], {})
    assert lines[0].startswith("One seed per strategy: the intervals cover test-set variation")
    assert "Best test accuracy: late 99.0%, ahead of every other strategy" in lines[1]
    assert not any("Least stable" in line for line in lines)


# --- figures -------------------------------------------------------------------------------


def assert_png(path, wide=False):
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width >= 400 and height >= 250
    if wide:
        assert width > 2 * height
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_plot_val_losses_per_seed(tmp_path):
    curves = {n: {s: pd.DataFrame({"epoch": [1, 2, 3], "val_loss": [0.6, 0.2 + s, 1e-6]})
                  for s in range(3)} for n in NAMES}
    figures.plot_val_losses(curves, tmp_path / "val.png")
    assert_png(tmp_path / "val.png")


def test_plot_robustness_bands(tmp_path):
    severities = {"rgb_noise": [0, 0.1, 0.2], "range_noise": [0, 0.1, 0.2],
                  "lidar_dropout": [0, 0.5, 0.9]}
    rows = [(seed, c, s, 1 - s / 4 - seed / 20) for seed in range(3)
            for c, levels in severities.items() for s in levels]
    curve = pd.DataFrame(rows, columns=["seed", "corruption", "severity", "accuracy"])
    figures.plot_robustness({n: curve for n in NAMES}, tmp_path / "robustness.png")
    assert_png(tmp_path / "robustness.png", wide=True)


def test_plot_intervals_pairwise_and_cost(tmp_path, summary, pairwise):
    figures.plot_intervals(summary, tmp_path / "a" / "intervals.png")
    assert_png(tmp_path / "a" / "intervals.png", wide=True)
    figures.plot_pairwise(pairwise, NAMES, tmp_path / "b" / "pairwise.png")
    assert_png(tmp_path / "b" / "pairwise.png", wide=True)
    table = report.comparison_table(summary, TIERS)
    figures.plot_accuracy_vs_cost(table, tmp_path / "c" / "cost.png")
    assert_png(tmp_path / "c" / "cost.png", wide=True)


def test_plot_gallery(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (5, 4, 16, 16), dtype=np.uint8)
    depth = rng.uniform(5, 50, (5, 16, 16))
    captions = [f"cubes, p(sphere) = 0.{i}" for i in range(5)]
    figures.plot_gallery(rgb, depth, captions, [i == 2 for i in range(5)], tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    with pytest.raises(ValueError, match="captions"):
        figures.plot_gallery(rgb, depth, captions[:3], [False] * 5, tmp_path / "bad.png")


def test_calibration_error_of_a_reliability_table():
    df = pd.DataFrame({"lower": [0.5, 0.75], "upper": [0.75, 1.0], "count": [1, 3],
                       "confidence": [0.6, 0.9], "accuracy": [0.0, 1.0]})
    assert figures.calibration_error(df) == pytest.approx((1 * 0.6 + 3 * 0.1) / 4)


def test_plot_reliability(tmp_path):
    df = pd.DataFrame({"lower": [0.0, 0.5], "upper": [0.5, 1.0], "count": [0, 4],
                       "confidence": [np.nan, 0.8], "accuracy": [np.nan, 0.75]})
    figures.plot_reliability(df, tmp_path / "reliability.png")
    assert_png(tmp_path / "reliability.png")


def test_strategy_styles_are_distinct_and_stable():
    names = [f"s{i}" for i in range(12)]
    styles = figures.strategy_styles(names)
    assert len({style["color"] for style in styles.values()}) == 12
    assert figures.strategy_styles(names[:3]) == {n: styles[n] for n in names[:3]}
