"""Do the comparison's claims replicate? Each strict-difference claim of one run (a difference
whose simultaneous interval excludes 0, `fusion.claims`) is checked in another run of the same
commit (other seeds, or another machine): it replicates when the other run's claims family
gives the same difference an interval that excludes 0 in the same direction, and reverses when
it excludes 0 in the other. Every ordered pair of runs is checked.

    uv run python benchmarks/replication.py RUN_A RUN_B            # two runs, e.g. two machines
    uv run python benchmarks/replication.py --group 4 RUN [RUN...]  # disjoint seed sets

A run is a folder with params.yaml and plots/evaluate/<name>_predictions.csv for every
strategy, e.g. a clone after `dvc exp run -S train.seeds=[3,4,5]` or `dvc repro evaluate`.
With `--group K`, the folders' predictions are pooled (their seeds must differ) and cut into
consecutive sets of K seeds, each analysed as a run of its own.
"""

import argparse
from itertools import permutations
from pathlib import Path

import pandas as pd
from machine import describe

from fusion import claims, intervals, params, report
from fusion.io import read_csv


def predictions(run: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    return {n: read_csv(run / f"plots/evaluate/{n}_predictions.csv", "predictions") for n in names}


def analyse(tables: dict[str, pd.DataFrame], p: params.Params,
            replication: float) -> claims.Claims:
    boot = intervals.bootstrap(tables, p.evaluate.resamples, p.evaluate.seed, p.evaluate.ece_bins)
    baselines = [n for n in p.strategies if p.strategy(n).fusion in report.UNIMODAL]
    return claims.compare(boot, baselines, replication=replication)


def runs(folders: list[Path], group: int | None, replication: float
         ) -> dict[str, claims.Claims]:
    """Name -> the claims of each run: every folder, or the folders' seeds in sets of `group`."""
    p = params.load(folders[0] / "params.yaml")
    names = list(p.strategies)
    if group is None:
        return {str(f): analyse(predictions(f, names), p, replication) for f in folders}
    parts = [predictions(f, names) for f in folders]
    pooled = {n: pd.concat([part[n] for part in parts], ignore_index=True) for n in names}
    seeds = sorted(pooled[names[0]]["seed"].unique())
    sizes = [len(part[names[0]]) for part in parts]
    if len(pooled[names[0]]) != sum(sizes) or pooled[names[0]].duplicated(["seed", "row"]).any():
        raise ValueError("--group: the runs share seeds; pool runs with disjoint seed lists")
    sets = [seeds[i:i + group] for i in range(0, len(seeds) - group + 1, group)]
    if len(sets) < 2:
        raise ValueError(f"--group {group}: {len(seeds)} seeds make fewer than two sets")
    return {f"seeds {s[0]}-{s[-1]}": analyse({n: t[t["seed"].isin(s)] for n, t in pooled.items()},
                                              p, replication) for s in sets}


def check(name: str, first: claims.Claims, other_name: str, other: claims.Claims
          ) -> tuple[int, int, int]:
    """(claims, replicated, reversed) of `first` in `other`, with a table of the claims."""
    print(f"\nclaims of {name} in {other_name}: {len(first.clear)} of {len(first.rows)} "
          f"comparisons (simultaneous level {100 * first.level:.2f}%)")
    print("| metric | a - b | difference [interval] | other run | verdict |\n|---|---|---|---|---|")
    same = flipped = 0
    for r in first.clear.itertuples():
        d, low, high, _ = other.between(r.metric, r.a, r.b)
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
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--group", type=int, help="cut the runs' pooled seeds into sets of K")
    parser.add_argument("--replication", type=float, default=0.95,
                        help="the claims' replication level (0.5: no margin, claims just clear "
                             "of 0)")
    args = parser.parse_args()
    if args.group is None and len(args.runs) < 2:
        parser.error("give two runs or more, or --group K")
    print(describe())
    found = runs(args.runs, args.group, args.replication)
    print(f"# claims at replication level {args.replication}")
    pairs = list(permutations(found, 2))
    totals = [check(a, found[a], b, found[b]) for a, b in pairs]
    print("\n| run | claims | checks in the other runs | replicated | reversed |\n"
          "|---|---:|---:|---:|---:|")
    for run in found:
        mine = [t for (a, _), t in zip(pairs, totals, strict=True) if a == run]
        n, same, flipped = (sum(x) for x in zip(*mine, strict=True))
        print(f"| {run} | {len(found[run].clear)} | {n} | {same} ({100 * same / max(n, 1):.0f}%) "
              f"| {flipped} |")
    n, same, flipped = (sum(x) for x in zip(*totals, strict=True))
    print(f"\n{len(found)} runs, {len(totals)} ordered pairs: replicated {same} of {n} claims "
          f"({100 * same / max(n, 1):.0f}%), reversed {flipped}")


if __name__ == "__main__":
    main()
