"""Do the comparison's claims replicate? Each strict-difference claim of one run (a difference
whose simultaneous interval excludes 0, `fusion.claims`) is checked in another run of the same
commit (other seeds, or another machine): it replicates when the other run's interval for the
same difference, at the same simultaneous level, excludes 0 in the same direction, and
reverses when it excludes 0 in the other. Checked both ways.

    uv run python benchmarks/replication.py RUN_A RUN_B | tee benchmarks/results/replication.txt

A run is a folder with params.yaml and plots/evaluate/<name>_predictions.csv for every
strategy, e.g. a clone after `dvc exp run -S train.seeds=[7,8,9]` or `dvc repro evaluate`.
"""

import argparse
from pathlib import Path

from machine import describe

from fusion import claims, intervals, params, report
from fusion.io import read_csv


def load(run: Path) -> tuple[intervals.Bootstrap, claims.Claims]:
    p = params.load(run / "params.yaml")
    tables = {n: read_csv(run / f"plots/evaluate/{n}_predictions.csv", "predictions")
              for n in p.strategies}
    boot = intervals.bootstrap(tables, p.evaluate.resamples, p.evaluate.seed, p.evaluate.ece_bins)
    baselines = [n for n in p.strategies if p.strategy(n).fusion in report.UNIMODAL]
    return boot, claims.compare(boot, baselines)


def check(name: str, first: claims.Claims, other: intervals.Bootstrap) -> tuple[int, int, int]:
    """(claims, replicated, reversed) of `first` in the run behind `other`."""
    print(f"\nclaims of {name}: {len(first.clear)} of {len(first.rows)} comparisons "
          f"(simultaneous level {100 * first.level:.2f}%)")
    print("| metric | a - b | difference [interval] | other run | verdict |\n|---|---|---|---|---|")
    same = flipped = 0
    for r in first.clear.itertuples():
        d, low, high = other.difference(r.a, r.b, r.metric, first.level)
        verdict = claims.direction(r.metric, r.ci_low, r.ci_high) * \
            claims.direction(r.metric, low, high)
        same, flipped = same + (verdict > 0), flipped + (verdict < 0)
        print(f"| {r.metric} | {r.a} - {r.b} | {100 * r.difference:+.1f} [{100 * r.ci_low:+.1f}, "
              f"{100 * r.ci_high:+.1f}] | {100 * d:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] | "
              f"{['reversed', 'not replicated', 'replicated'][verdict + 1]} |")
    return len(first.clear), same, flipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs=2)
    args = parser.parse_args()
    print(describe())
    (boot_a, claims_a), (boot_b, claims_b) = (load(run) for run in args.runs)
    for run, boot in zip(args.runs, (boot_a, boot_b), strict=True):
        print(f"# {run}: seeds {sorted({s for v in boot.seeds.values() for s in v})}")
    total = [check(str(args.runs[0]), claims_a, boot_b), check(str(args.runs[1]), claims_b, boot_a)]
    n, same, flipped = (sum(x) for x in zip(*total, strict=True))
    print(f"\nreplicated {same} of {n} claims ({100 * same / max(n, 1):.0f}%), reversed {flipped}")


if __name__ == "__main__":
    main()
