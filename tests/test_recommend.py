"""The rule that says which strategy to use: verdicts and intervals first, then exact cost."""

import pandas as pd
import yaml

from fusion.comparison.recommend import NEEDS, PROMOTED, promoted_seed, recommend


def strategy(flops, params, mce_low, mce_high):
    return {"flops": flops, "params": params, "mCE_ci_low": mce_low, "mCE_ci_high": mce_high}


SUMMARY = {
    "lidar_only": strategy(10, 700, 0.7, 0.9),
    "rgb_only": strategy(9, 700, 1.2, 1.4),
    "early": strategy(12, 800, 1.1, 1.3),  # the cheapest fusion: more errors under faults
    "concat": strategy(15, 900, 0.97, 1.1),  # not shown worse under faults, nor shown better
    "gated": strategy(20, 790, 0.85, 0.98),
    "film": strategy(20, 798, 0.9, 0.99),
    "late": strategy(21, 1400, 0.94, 1.06),
}
GROUPS = {"lidar_only": "equivalent", "rgb_only": "inconclusive", "early": "equivalent",
          "concat": "equivalent", "gated": "top", "film": "equivalent", "late": "below"}


def picks(summary=SUMMARY, groups=GROUPS) -> dict[str, str]:
    table = recommend(summary, groups, ["rgb_only", "lidar_only"])
    return dict(zip(table["need"], table["use"], strict=True))


def test_each_need_gets_the_cheapest_candidate_its_verdicts_and_intervals_leave():
    assert picks() == {
        "clean data": "lidar_only",  # rgb_only is cheaper but not shown equivalent
        "clean data, both sensors": "early",
        "sensor faults": "lidar_only",  # the only interval wholly below 1
        "sensor faults, both sensors": "gated",  # film ties on FLOPs with more parameters
    }


def test_without_fewer_errors_than_the_reference_those_not_shown_worse_remain():
    summary = {**SUMMARY, "lidar_only": strategy(10, 700, 1.01, 1.2),
               "gated": strategy(20, 790, 0.95, 1.05), "film": strategy(20, 798, 0.9, 1.0)}
    chosen = recommend(summary, GROUPS, ["rgb_only", "lidar_only"]).set_index("need")
    assert chosen.loc["sensor faults", "use"] == "concat"  # lidar_only and early: shown worse
    assert chosen.loc["sensor faults", "candidates"] == "concat gated film"  # cheapest first


def test_a_need_with_no_candidate_is_left_empty_not_filled():
    groups = {n: "inconclusive" for n in GROUPS}
    assert set(picks(groups=groups).values()) == {""}


def test_the_promoted_seed_is_the_lowest_validation_loss_not_the_best_test_accuracy():
    trained = {"0": {"best_val_loss": 0.30, "test_accuracy": 0.99},
               "1": {"best_val_loss": 0.10, "test_accuracy": 0.90},
               "2": {"best_val_loss": 0.20, "test_accuracy": 0.95}}
    assert promoted_seed(trained) == "1"
    assert promoted_seed({"3": {"best_val_loss": 0.1}, "1": {"best_val_loss": 0.1}}) == "3"


def test_the_default_promoted_strategy_is_the_rules_pick_in_the_kept_run():
    kept = pd.read_csv("plots/comparison/recommendation.csv").set_index("need")
    assert list(kept.index) == list(NEEDS)
    fusion = yaml.safe_load(open("params.yaml"))["model"]["fusion"]
    assert fusion == kept.loc[PROMOTED, "use"], (
        f"params.yaml model.fusion is {fusion!r}; the rule picks {kept.loc[PROMOTED, 'use']!r}")

