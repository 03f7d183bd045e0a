"""Coverage and width of the 95% ECE interval (`fusion.comparison.intervals`) on simulated
experiments with a known ECE of 0, 0.01 and 0.05 (`fusion.comparison.coverage.ece_coverage`: 4
seeds, a model near its ceiling, seeds calibrated alike or differently), as implemented and as
before (seed term counting each seed's resampling noise twice, no calibrated-model floor).

    uv run python benchmarks/ece_coverage.py | tee benchmarks/results/ece_coverage.txt
"""

import argparse

import numpy as np
from machine import describe

from fusion.comparison.coverage import ece_coverage
from fusion.comparison.intervals import Bootstrap, _std


class Before(Bootstrap):
    """The interval before: the raw seed variance, no floor."""

    def _seed_term(self, name: str, metric: str) -> tuple[float, float]:
        n = len(self.seeds[name])
        return _std(self.values[name][metric]) ** 2 / n, n - 1

    def calibrated_looking(self, name: str, metric: str, confidence: float,
                           draws: int = 1000) -> bool:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=400)
    parser.add_argument("--samples", type=int, nargs="+", default=[600, 2400])
    args = parser.parse_args()
    print(describe())
    print(f"# {args.experiments} experiments per cell, 4 seeds, 1,000 resamples; binomial "
          f"standard error at 0.95: {np.sqrt(0.95 * 0.05 / args.experiments):.3f}")
    print("\n| test samples | seeds calibrated | true ECE | coverage | median width | coverage "
          "before | median width before |\n|---:|---|---:|---:|---:|---:|---:|")
    for samples in args.samples:
        for spread, label in ((0.0, "alike"), (0.005, "differently")):
            for ece in (0.0, 0.01, 0.05):
                now = ece_coverage(ece, spread, samples, experiments=args.experiments)
                before = ece_coverage(ece, spread, samples, experiments=args.experiments,
                                      variant=Before)
                truth = ece + spread * np.sqrt(2 / np.pi)
                print(f"| {samples:,} | {label} | {truth:.3f} | {now[0]:.3f} | {now[1]:.4f} | "
                      f"{before[0]:.3f} | {before[1]:.4f} |", flush=True)


if __name__ == "__main__":
    main()
