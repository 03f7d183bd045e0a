"""Coverage of the comparison's 95% intervals on simulated experiments
(`fusion.comparison.coverage`): near-normal, skewed and collapsing seed distributions, 600 test
samples, at several seed counts; and the same with the seed x sample variance counted once instead
of twice.

    uv run python benchmarks/coverage.py | tee benchmarks/results/coverage.txt
"""

import argparse

import numpy as np
from machine import describe

from fusion.comparison.coverage import SCENARIOS, coverage
from fusion.comparison.intervals import Bootstrap


class CountedOnce(Bootstrap):
    """The seed term less the seed x sample interaction variance that the bootstrap over
    samples already holds (test accuracy; two-way ANOVA mean square of the residuals)."""

    def _seed_term(self, name: str, metric: str) -> tuple[float, float]:
        var, df = super()._seed_term(name, metric)
        x = self.samples[name]["test_accuracy"]  # (S, N)
        s, n = x.shape
        if metric != "test_accuracy" or s < 2:
            return var, df
        residual = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
        return max(var - (residual**2).sum() / ((s - 1) * (n - 1)) / (n * s), 0.0), df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 7, 10])
    args = parser.parse_args()
    print(describe())
    print(f"# {args.experiments} experiments per cell, 600 test samples, 1,000 resamples; "
          f"binomial standard error of a cell at 0.95: "
          f"{np.sqrt(0.95 * 0.05 / args.experiments):.3f}")
    for label, variant in (("as implemented (seed x sample variance counted twice)", Bootstrap),
                           ("counted once", CountedOnce)):
        print(f"\n{label}\n| scenario | " + " | ".join(f"{s} seeds" for s in args.seeds) + " |")
        print("|---|" + "---:|" * len(args.seeds))
        for scenario in SCENARIOS:
            cells = [coverage(scenario, s, args.experiments, variant=variant) for s in args.seeds]
            print(f"| {scenario} | " + " | ".join(f"{c:.3f}" for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
