"""Published vs generated: the `course` scenario's look beside the course's real data set.

Renders N samples per class of a scenario (in memory, seeded as `dvc repro` would) and prints
the README's table: each figure as published for the real set, its source, and as measured here.

    uv run python benchmarks/calibration.py                 # course, 1000 per class
    uv run python benchmarks/calibration.py --scenario failures --per-class 300
"""

from __future__ import annotations

import argparse
import time

from fusion.params import SCENARIOS, synthetic_params
from fusion.synthetic.calibration import ROWS, SOURCES, measure, render_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="course", choices=sorted(SCENARIOS))
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    params = synthetic_params({"scenario": args.scenario, "seed": args.seed})
    start = time.perf_counter()
    figures = measure(render_set(params, args.per_class), params.max_range)
    seconds = time.perf_counter() - start
    print(f"scenario {args.scenario}, {args.per_class} samples per class, seed {args.seed} "
          f"({seconds:.1f} s)\n")
    print("| property | real data set (published) | source | generated |")
    print("|---|---|---|---|")
    for label, published, source, generated in ROWS:
        print(f"| {label} | {published} | {source} | {generated.format(**figures)} |")
    print("\nSources: " + "; ".join(f"{mark} {source}" for mark, source in SOURCES.items()))


if __name__ == "__main__":
    main()
