"""Real vs generated: the `course` scenario's look beside the course's real data set.

Renders N samples per class of a scenario (in memory, seeded as `dvc repro` would) and prints
the table of docs/data.md: each figure of the real set (published, or measured on real frames), its
source, and as measured here. Where the real frames (`../shared/real-reference/`) are present,
it first re-derives their figures (`fusion.synthetic.reference.REAL`) and says where they differ.

    uv run python benchmarks/calibration.py                 # course, 1000 per class
    uv run python benchmarks/calibration.py --scenario failures --per-class 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from reference_frames import REFERENCE, load

from fusion.params import SCENARIOS, synthetic_params
from fusion.synthetic.calibration import ROWS, SOURCES, measure, render_set
from fusion.synthetic.reference import REAL, measure_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="course", choices=sorted(SCENARIOS))
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    args = parser.parse_args()

    params = synthetic_params({"scenario": args.scenario, "seed": args.seed})
    arrays = load(args.reference, "their figures are not re-derived; REAL is printed.")
    if arrays is not None:
        check_reference(measure_reference(arrays, params.max_range))
    start = time.perf_counter()
    figures = measure(render_set(params, args.per_class), params.max_range)
    seconds = time.perf_counter() - start
    print(f"scenario {args.scenario}, {args.per_class} samples per class, seed {args.seed} "
          f"({seconds:.1f} s)\n")
    print("| property | real data set | source | generated |")
    print("|---|---|---|---|")
    for label, real, source, generated in ROWS:
        print(f"| {label} | {real.format(**REAL)} | {source} | {generated.format(**figures)} |")
    print("\nSources: " + "; ".join(f"{mark} {source}" for mark, source in SOURCES.items()))


def check_reference(measured: dict[str, float]) -> None:
    """Print the real frames' figures beside `REAL`, naming each that differs by more than
    its rounding."""
    print("Real frames' figures, re-derived from the npz (REAL in fusion/synthetic/reference.py):")
    differ = []
    for name, value in measured.items():
        kept = REAL.get(name)
        print(f"  {name}: {value:.4g} (REAL {kept})")
        if kept is None or abs(value - kept) > 0.0051 * max(1.0, abs(kept)):
            differ.append(name)
    print(f"  differ from REAL: {', '.join(differ)}\n" if differ else "  all as in REAL\n")


if __name__ == "__main__":
    main()
