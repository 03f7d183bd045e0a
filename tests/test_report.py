"""The comparison table and its finding sentences (the figures: tests/test_figures.py)."""

import pandas as pd
import pytest

from fusion import report
from fusion.claims import COLUMNS, Claims
from fusion.intervals import METRICS

NAMES = ["late", "early", "rgb_only"]


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



def test_summary_adds_cost_and_train_medians(summary):
    assert summary["late"]["seconds_per_epoch"] == 2.0  # median of 1, 2, 3
    assert summary["late"]["params"] == 1_234_567
    assert summary["early"]["test_accuracy_ci_low"] == 0.97


def claims_of(rows, best=None, groups=None, alpha=0.05):
    """Claims from rows (kind, metric, a, b, difference, low, high), no replication margin:
    clear = excludes 0."""
    table = pd.DataFrame([(*r, 0.0, not r[5] <= 0 <= r[6]) for r in rows], columns=COLUMNS)
    return Claims(alpha, 0.95, table, best or {}, groups or {})


def test_table_sorts_by_group_then_mean_and_formats_intervals(summary):
    groups = {"test_accuracy": {"late": 2, "early": 1, "rgb_only": 2},
              "robustness_rgb": {"late": 1, "early": 1}, "robustness_lidar": {}}
    table = report.comparison_table(summary, groups)
    assert table["strategy"].tolist() == ["early", "late", "rgb_only"]  # group before mean
    assert pd.isna(table.loc[2, "tier_robustness_rgb"])  # a baseline is not ranked there
    one = claims_of([("best", "test_accuracy", "a", "b", 0, 0, 0)])
    markdown = report.to_markdown(table, one, balanced=True)
    lines = markdown.splitlines()
    assert lines[0].startswith("| Strategy | Seeds | Group (acc.) | Test accuracy % |")
    assert "Balanced" not in lines[0]  # it repeats accuracy on a balanced test set
    assert lines[2].startswith("| early | 3 | 1 | 98.5 [97.0, 100.0] |")
    assert " 1,234,567 | 12.3M | 0.50 | 2.00 |" in lines[2]
    assert "| 2 | 90.0 [88.0, 92.0] |" in lines[4] and "| – | – |" in lines[4]
    assert len({line.count("|") for line in lines[:5]}) == 1  # every row has every cell
    assert "over the 1 comparisons" in markdown
    imbalanced = report.to_markdown(table, claims_of([]), balanced=False).splitlines()
    assert "| Balanced acc. % |" in imbalanced[0]


def test_a_one_seed_strategy_is_flagged_in_the_table_and_the_findings(summary):
    summary["late"]["seeds"] = [0]
    table = report.comparison_table(summary, {})
    assert "| late | 1* | – |" in report.to_markdown(table, claims_of([]), balanced=True)
    lines = report.findings(summary, claims_of([]), ["rgb_only"], {}, {})
    assert lines[0].startswith("Fewer than 2 seeds, so not ranked: late")


def test_findings_word_groups_against_the_best(summary):
    rows = [("best", m, "late", "early", 0.005, -0.01, 0.02) for m in report.TIERED]
    rows += [("best", "test_accuracy", "late", "rgb_only", 0.09, 0.07, 0.11)]
    rows += [("baseline", "test_accuracy", "early", "rgb_only", 0.085, 0.06, 0.11)]
    groups = {"test_accuracy": {"late": 1, "early": 1, "rgb_only": 2}}
    groups |= {m: {"late": 1, "early": 1} for m in ("robustness_rgb", "robustness_lidar")}
    found = claims_of(rows, dict.fromkeys(report.TIERED, "late"), groups)
    text = " ".join(report.findings(summary, found, ["rgb_only"], {}, {}))
    assert "Not distinguishable from the best test accuracy (2 strategies; the best by mean is " \
        "late): late 99.0%, early 98.5%" in text
    assert "(the largest, early: +0.5 points [-1.0, +2.0], margin 0.0)" in text
    assert "Below the best test accuracy: rgb_only." in text
    assert "robustness to camera noise among the fusion strategies (2 strategies" in text
    assert "smallest lead, early over rgb_only, is +8.5 points [+6.0, +11.0]" in text
    assert "tied" not in text.lower()
    assert "each of the 5 comparisons has a simultaneous interval (99.00%, Bonferroni;" in text
    assert "repeat the claim with about 95% probability" in text


def test_findings_name_a_sole_best_and_unclear_baselines(summary):
    rows = [("best", "test_accuracy", "late", "early", 0.02, 0.01, 0.03),
            ("best", "test_accuracy", "late", "rgb_only", 0.09, 0.07, 0.11),
            ("baseline", "test_accuracy", "early", "rgb_only", 0.085, -0.01, 0.2)]
    groups = {"test_accuracy": {"late": 1, "early": 2, "rgb_only": 2}}
    found = claims_of(rows, {"test_accuracy": "late"}, groups)
    lines = report.findings(summary, found, ["rgb_only"], {}, {})
    assert any(line.startswith("Best test accuracy: late 99.0%, ahead of every other ranked "
                               "strategy (smallest lead, over early: +2.0 points")
               for line in lines)
    assert any(line.startswith("1 of 2 fusion-baseline accuracy comparisons favour fusion "
                               "clearly; not distinguishable (interval not clear of 0 by the "
                               "margin): early vs rgb_only")
               for line in lines)


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


def test_a_baseline_among_the_best_is_compared_with_the_best_either_way_round(summary):
    summary["rgb_only"]["test_accuracy"] = 0.995  # the best by mean is now a baseline
    rows = [("baseline", "test_accuracy", "late", "rgb_only", -0.005, -0.02, 0.01),
            ("baseline", "test_accuracy", "early", "rgb_only", -0.01, -0.03, -0.001),
            ("pair", "test_accuracy", "late", "early", 0.005, -0.01, 0.02)]
    groups = {"test_accuracy": {"late": 1, "early": 2, "rgb_only": 1}}
    found = claims_of(rows, {"test_accuracy": "rgb_only"}, groups)
    text = " ".join(report.findings(summary, found, ["rgb_only"], {}, {}))
    assert "(2 strategies; the best by mean is rgb_only): rgb_only 99.5%, late 99.0%" in text
    assert "(the largest, late: +0.5 points [-1.0, +2.0], margin 0.0)" in text  # rgb_only - late
    groups["test_accuracy"]["late"] = 2
    found = claims_of(rows, {"test_accuracy": "rgb_only"}, groups)
    text = " ".join(report.findings(summary, found, ["rgb_only"], {}, {}))
    assert "Best test accuracy: rgb_only 99.5%, ahead of every other ranked strategy " \
        "(smallest lead, over late: +0.5 points [-1.0, +2.0])" in text
