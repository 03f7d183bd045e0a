"""Coverage of the intervals on simulated experiments with known truth
(`fusion.comparison.coverage`).

docs/statistics.md's coverage table comes from `benchmarks/coverage.py` (2,000 experiments a
cell); these runs are smaller (300) and check the same conclusions: nominal coverage when seeds vary
near-normally or with a skew, under-coverage at 3 seeds when one seed in three collapses (no
interval can see a collapse its seeds never showed), and >= 90% everywhere at the recommended
7 seeds.
"""

import numpy as np
import pytest

from fusion.comparison.coverage import (
    COLLAPSE,
    FAMILY_LOGITS,
    SCENARIOS,
    TWINS,
    UNSTABLE,
    coverage,
    ece_coverage,
    family_experiment,
    family_truths,
    true_accuracy,
)

RECOMMENDED_SEEDS = 7


@pytest.mark.parametrize("seeds", [3, 5])
@pytest.mark.parametrize("scenario", ["near-normal", "skewed"])
def test_nominal_coverage_when_seeds_do_not_collapse(scenario, seeds):
    assert 0.90 <= coverage(scenario, seeds, experiments=300, resamples=500) <= 0.99


def test_three_seeds_under_cover_a_collapsing_strategy():
    assert coverage("collapsing", 3, experiments=300, resamples=500) < 0.80


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_recommended_seed_count_covers_every_scenario(scenario):
    assert coverage(scenario, RECOMMENDED_SEEDS, experiments=300, resamples=500) >= 0.90


def test_scenarios_are_calibrated_near_the_default_run():
    """~99% accuracy for a typical seed; a collapse costs about 5 points in one seed of 3."""
    assert 0.985 <= true_accuracy("near-normal") <= 0.995
    assert true_accuracy("near-normal") - true_accuracy("collapsing") == pytest.approx(0.014,
                                                                                       abs=0.004)
    with pytest.raises(ValueError, match="unknown scenario"):
        coverage("bimodal", 3)


@pytest.mark.parametrize("ece", [0.0, 0.01, 0.05])
def test_the_ece_interval_covers_a_known_ece(ece):
    """>= 90% at 2,400 samples and 4 seeds (benchmarks/ece_coverage.py: 200 experiments a
    cell); these runs are smaller (75) and check >= 0.87."""
    coverage, width = ece_coverage(ece, samples=2400, experiments=75, resamples=300)
    assert coverage >= 0.87 and width < 0.02


def test_a_collapse_prone_strategy_without_a_collapse_is_its_stable_twin():
    """The claims simulation splits its runs by the drawn seed effects: they must be the ones
    that made the accuracies (a collapsed seed is far worse than the strategy's others), and a
    twin must be a stable strategy equal in law to the collapse-prone one when it is stable."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        boot, effects = family_experiment(rng, "collapse-prone", 4, 2400)
        for k in UNSTABLE:
            collapsed = effects[k] > COLLAPSE / 2
            if collapsed.any() and not collapsed.all():
                accuracy = boot.values[f"s{k}"]["test_accuracy"]
                assert accuracy[collapsed].max() < accuracy[~collapsed].min() - 0.005
    assert effects.shape == (len(FAMILY_LOGITS), 4)
    truths = family_truths("near-normal")
    for k, twin in TWINS.items():
        assert k in UNSTABLE and twin not in UNSTABLE
        assert FAMILY_LOGITS[k] == FAMILY_LOGITS[twin]
        assert truths[k] == pytest.approx(truths[twin], abs=5e-5)  # Monte-Carlo error
