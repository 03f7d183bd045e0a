"""The comparison table and its finding sentences (the figures: tests/test_figures.py)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fusion.comparison import report
from fusion.comparison.claims import COLUMNS, Claims, verdict
from fusion.comparison.intervals import METRICS

NAMES = ["late", "early", "rgb_only"]


def strategy(accuracy, low, high, std=0.01, seeds=(0, 1, 2)):
    """A summary entry: every metric at `accuracy` with the interval [low, high]."""
    entry = {"seeds": list(seeds)}
    for metric in [*METRICS, "mCE"]:
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



def test_summary_adds_cost_and_train_medians(summary):
    assert summary["late"]["seconds_per_epoch"] == 2.0  # median of 1, 2, 3
    assert summary["late"]["params"] == 1_234_567
    assert summary["early"]["test_accuracy_ci_low"] == 0.97


def claims_of(rows, best=None, groups=None, alpha=0.05, delta=0.005):
    """Claims from rows (kind, metric, a, b, difference, low, high); the verdict from the
    interval and `delta` as `fusion.comparison.claims.verdict` gives it."""
    table = pd.DataFrame([(*r, 0.001, 0.001, 10.0, delta, 0.02, verdict(r[1], r[5], r[6], delta))
                          for r in rows], columns=COLUMNS)
    return Claims(alpha, table, best or {}, groups or {})


def test_table_sorts_by_group_then_mean_and_formats_intervals(summary):
    groups = {"test_accuracy": {"late": "below", "early": "top", "rgb_only": "below"},
              "ra_camera": {"late": "top", "early": "equivalent"}, "ra_lidar": {}}
    table = report.comparison_table(summary, groups)
    assert table["strategy"].tolist() == ["early", "late", "rgb_only"]  # group before mean
    assert pd.isna(table.loc[2, "tier_ra_camera"])  # a baseline is not ranked there
    one = claims_of([("best", "test_accuracy", "a", "b", 0, 0, 0)])
    markdown = report.to_markdown(table, one, balanced=True)
    lines = markdown.splitlines()
    assert lines[0].startswith("| Strategy | Seeds | Verdict (acc.) | Test accuracy % |")
    assert "Balanced" not in lines[0]  # it repeats accuracy on a balanced test set
    assert lines[2].startswith("| early | 3 | top | 98.5 [97.0, 100.0] |")
    assert " 1,234,567 | 12.3M | 0.50 | 2.00 |" in lines[2]
    assert "| below | 90.0 [88.0, 92.0] |" in lines[4] and "| – | – |" in lines[4]
    assert len({line.count("|") for line in lines[:5]}) == 1  # every row has every cell
    assert "of the 1 comparisons" in markdown and "equivalent = equivalent to the best" in markdown
    imbalanced = report.to_markdown(table, claims_of([]), balanced=False).splitlines()
    assert "| Balanced acc. % |" in imbalanced[0]


def test_a_one_seed_strategy_is_flagged_in_the_table_and_the_findings(summary):
    summary["late"]["seeds"] = [0]
    table = report.comparison_table(summary, {})
    assert "| late | 1* | – |" in report.to_markdown(table, claims_of([]), balanced=True)
    lines = report.findings(summary, claims_of([]), ["rgb_only"], {}, {})
    assert lines[0].startswith("Fewer than 2 seeds, so not ranked: late")


def test_findings_use_the_three_verdicts_against_the_best(summary):
    rows = [("best", m, "late", "early", 0.001, -0.002, 0.004) for m in report.TIERED]
    rows += [("baseline", "test_accuracy", "late", "rgb_only", 0.09, 0.07, 0.11)]
    rows += [("baseline", "test_accuracy", "early", "rgb_only", 0.085, 0.06, 0.11)]
    groups = {"test_accuracy": {"late": "top", "early": "equivalent", "rgb_only": "below"}}
    groups |= {m: {"late": "top", "early": "equivalent"}
               for m in ("ra_camera", "ra_lidar", "ra_alignment")}
    found = claims_of(rows, dict.fromkeys(report.TIERED, "late"), groups)
    text = " ".join(report.findings(summary, found, ["rgb_only"], {}, {}))
    assert "All 2 fusion strategies are equivalent in test accuracy within +-0.5 points" in text
    assert "Best test accuracy by mean: late 99.0%; equivalent to it within +-0.5 points: " \
        "early -0.1 points [-0.4, +0.2]; below it or another strategy (a `better` verdict): " \
        "rgb_only -9.0 points [-11.0, -7.0]" in text
    assert "Every fusion strategy is more accurate than every unimodal baseline (rgb_only); " \
        "the smallest lead, early over rgb_only, is +8.5 points [+6.0, +11.0]" in text
    assert "each of the 6 comparisons has a simultaneous interval (99.17%, Bonferroni;" in text
    assert "distinguishable" not in text


def test_the_largest_pairwise_equivalent_group_is_named(summary):
    """a, b, c pairwise equivalent; d equivalent to a only: the group is a, b, c."""
    names = ["a", "b", "c", "d"]
    for i, n in enumerate(names):
        summary[n] = dict(summary["late"], test_accuracy=0.99 - 0.001 * i)
    equivalent = {("a", "b"), ("a", "c"), ("b", "c"), ("a", "d")}
    rows = [("pair", "test_accuracy", x, y, 0.001, *((-0.002, 0.004) if (x, y) in equivalent
                                                     else (-0.002, 0.02)))
            for i, x in enumerate(names) for y in names[i + 1:]]
    groups = {"test_accuracy": {"a": "top", "b": "equivalent", "c": "equivalent",
                                "d": "equivalent"}}
    found = claims_of(rows, {"test_accuracy": "a"}, groups)
    text = " ".join(report.findings(summary, found, [], {}, {}))
    assert "Pairwise equivalent in test accuracy within +-0.5 points: a, b, c (every pair" in text
    assert "All 4 fusion strategies" not in text


def test_an_interval_clear_of_0_is_never_called_inconclusive(summary):
    """Between 0 and delta: `better`; across 0 and beyond delta: inconclusive; wholly beyond
    delta on the baseline's side: the baseline ahead."""
    rows = [("best", "test_accuracy", "late", "early", 0.02, 0.01, 0.03),
            ("baseline", "test_accuracy", "late", "rgb_only", 0.09, -0.01, 0.2),
            ("baseline", "test_accuracy", "rgb_only", "early", 0.02, 0.01, 0.03)]
    groups = {"test_accuracy": {"late": "top", "early": "below", "rgb_only": "inconclusive"}}
    found = claims_of(rows, {"test_accuracy": "late"}, groups)
    assert list(found.rows["verdict"]) == ["better", "inconclusive", "better"]
    lines = report.findings(summary, found, ["rgb_only"], {}, {})
    baseline = next(line for line in lines if line.startswith("Fusion against"))
    assert "the baseline ahead: early vs rgb_only -2.0 points [-3.0, -1.0]" in baseline
    assert "inconclusive: late vs rgb_only +9.0 points [-1.0, +20.0]" in baseline
    metric = next(line for line in lines if line.startswith("Best test accuracy"))
    assert "inconclusive against it (neither a difference nor an equivalence shown): " \
        "rgb_only -9.0 points [-20.0, +1.0]" in metric
    assert "below it or another strategy (a `better` verdict): early -2.0 points" in metric


def test_the_findings_say_what_the_run_can_detect_and_would_need(summary):
    rows = [("best", "test_accuracy", "late", "early", 0.005, -0.01, 0.02)]
    found = claims_of(rows, {"test_accuracy": "late"},
                      {"test_accuracy": {"late": "top", "early": "inconclusive"}})
    needs = {"test_accuracy": (0.01, {4: 2400.0, 8: float("inf")})}
    text = " ".join(report.findings(summary, found, [], {}, {}, needs=needs))
    assert "Detectable in test accuracy with 80% probability, from this run's seed and " \
        "test-set variance and the disagreements a difference that size brings: 2.0 points " \
        "between two fusion strategies with no collapsed seed " \
        "(median of 1 comparisons); 2.0-2.0 points over all 1." in text
    assert "1 point of test accuracy: 4 seeds 2,400 test samples, 8 seeds: not reachable" in text
    rows = [("best", "test_accuracy", "late", "early", 0.005, -0.5, 0.5)]
    found = claims_of(rows, {"test_accuracy": "late"},
                      {"test_accuracy": {"late": "top", "early": "inconclusive"}})
    found.rows["detectable"] = np.inf  # too few samples for any difference
    text = " ".join(report.findings(summary, found, [], {}, {}))
    assert "brings: beyond 100 points between two fusion strategies" in text


def test_a_stability_sentence_needs_a_heterogeneity_test(summary):
    accuracy = {n: {"0": 0.9, "1": 0.95, "2": 1.0} for n in NAMES}
    calm = report.findings(summary, claims_of([]), [],
                           {"late": 0.03, "early": 0.5, "rgb_only": 0.9}, accuracy)
    assert calm[-1].startswith("No strategy's seeds differ in test accuracy")  # 0.03 x 3 > 0.05
    assert "smallest adjusted p = 0.09" in calm[-1]
    differ = report.findings(summary, claims_of([]), [],
                             {"late": 0.001, "early": 0.5, "rgb_only": 0.9}, accuracy)
    assert differ[-1].startswith("Seeds differ in test accuracy beyond test-set noise")
    assert "late (seed 0: 90.0%, seed 1: 95.0%, seed 2: 100.0%; adjusted p = 0.003)" in differ[-1]
    assert "early (" not in differ[-1]


def test_every_strategy_with_one_seed_ranks_nothing():
    one = {n: strategy(a, a - 0.01, a + 0.01, std=0.0, seeds=(0,))
           for n, a in (("late", 0.99), ("rgb_only", 0.9))}
    lines = report.findings(one, claims_of([]), ["rgb_only"], {}, {})
    assert lines == ["Every strategy ran with fewer than 2 seeds: the intervals cover test-set "
                     "variation only, not the variation between training runs, so no strategy "
                     "is ranked."]


def test_the_findings_open_with_the_data_they_come_from(summary):
    lines = report.findings(summary, claims_of([]), ["rgb_only"], {}, {}, "the scenario `x`: y")
    assert lines[0] == "Data: the scenario `x`: y."
    assert not any(line.startswith("Data") for line in
                   report.findings(summary, claims_of([]), ["rgb_only"], {}, {}))


def test_a_baseline_as_the_best_is_compared_either_way_round(summary):
    summary["rgb_only"]["test_accuracy"] = 0.995  # the best by mean is now a baseline
    rows = [("baseline", "test_accuracy", "rgb_only", "late", 0.005, -0.01, 0.02),
            ("baseline", "test_accuracy", "rgb_only", "early", 0.01, 0.001, 0.03),
            ("pair", "test_accuracy", "late", "early", 0.005, -0.01, 0.02)]
    groups = {"test_accuracy": {"late": "inconclusive", "early": "below", "rgb_only": "top"}}
    found = claims_of(rows, {"test_accuracy": "rgb_only"}, groups)
    text = " ".join(report.findings(summary, found, ["rgb_only"], {}, {}))
    assert "Best test accuracy by mean: rgb_only 99.5%" in text
    assert "late -0.5 points [-2.0, +1.0]" in text  # late - rgb_only
    assert "the baseline ahead: early vs rgb_only -1.0 points [-3.0, -0.1]" in text


def test_collapses_are_reported_with_their_interval(summary):
    collapsed = {"late": (1, 4, 0.006, 0.806), "early": (0, 4, 0.0, 0.602),
                 "rgb_only": (0, 4, 0.0, 0.602)}
    text = " ".join(report.findings(summary, claims_of([]), [], {}, {}, collapsed=collapsed))
    assert "late 1 of 4 (25%, [1, 81]); none in early, rgb_only (0 of 4 each, [0, 60])" in text
    # (3/4)^4: four seeds of a strategy collapsing in one seed of four draw no collapse
    assert "as often as late shows none in 4 seeds with probability 32%" in text
    stable = {n: (0, 4, 0.0, 0.602) for n in collapsed}
    text = " ".join(report.findings(summary, claims_of([]), [], {}, {}, collapsed=stable))
    assert "as often as" not in text


def test_severity_table_combines_the_seeds_spread_and_the_cells_binomial_noise():
    curves = {"late": pd.DataFrame({"seed": [0, 1, 2], "fault": ["haze"] * 3,
                                    "severity": [0.5] * 3, "accuracy": [0.8, 0.9, 0.85],
                                    "samples": [100] * 3})}
    row = report.severity_table(curves).iloc[0]
    se = np.sqrt(np.var([0.8, 0.9, 0.85], ddof=1) / 3 + 0.85 * 0.15 / 100)
    assert row["accuracy"] == pytest.approx(0.85)
    assert row["accuracy"] - row["ci_low"] == pytest.approx(stats.t.ppf(0.975, 2) * se)
    assert row["ci_high"] == 1.0  # clipped
    assert (row["samples"], row["seeds"]) == (100, 3)
