"""Do the comparison's verdicts replicate? Each `better` and `equivalent` verdict of one run
(`fusion.comparison.claims`) is checked in another run of the same commit (other seeds, or another
machine), in two numbers that answer two questions:

- an error rate: a `better` verdict keeps its sign when the other run's difference has the
  same sign, and is reversed when the other run says `better` the other way round; an
  `equivalent` verdict is contradicted when the other run's interval lies wholly beyond
  +-delta (a difference larger than the margin, shown);
- the other run's power: the verdict is made again (the same `better`, or `equivalent`).

Every ordered pair of runs is checked.

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

from fusion import params
from fusion.comparison import claims, intervals, report
from fusion.faults import available
from fusion.io import read_csv


def predictions(run: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    return {n: read_csv(run / f"plots/evaluate/{n}_predictions.csv", "predictions") for n in names}


def analyse(tables: dict[str, pd.DataFrame], p: params.Params) -> claims.Claims:
    """The run's family of claims, and its verdicts of each fusion strategy against its better
    single sensor under each fault (`claims.against_sensors`) as rows of kind `sensor`."""
    boot = intervals.bootstrap(tables, 1, p.evaluate.seed, p.evaluate.ece_bins)  # claims: analytic
    baselines = [n for n in p.strategies if p.strategy(n).fusion in report.UNIMODAL]
    found = claims.compare(boot, baselines,
                           {m: p.evaluate.equivalence.of(m) for m in claims.TIERED})
    fusion = [n for n in p.strategies if n not in baselines]
    floor = claims.against_sensors(boot, fusion, baselines, available(),
                                   p.evaluate.equivalence.robustness)
    floor = floor.rename(columns={"strategy": "a", "sensor": "b"}).assign(
        kind="sensor", metric="accuracy_" + floor["fault"],
        verdict=floor["verdict"].replace({"above": "better", "below": "better"}))
    rows = pd.concat([found.rows, floor[[c for c in found.rows if c in floor]]],
                     ignore_index=True)
    return claims.Claims(found.alpha, rows, found.best, found.groups)


def runs(folders: list[Path], group: int | None) -> dict[str, claims.Claims]:
    """Name -> the claims of each run: every folder, or the folders' seeds in sets of `group`."""
    p = params.load(folders[0] / "params.yaml")
    names = list(p.strategies)
    if group is None:
        return {str(f): analyse(predictions(f, names), p) for f in folders}
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
                                              p) for s in sets}


OUTCOMES = {"better": ("same sign", "claimed again", "reversed"),
            "equivalent": ("not contradicted", "equivalent again", "contradicted")}


def check(name: str, first: claims.Claims, other_name: str, other: claims.Claims,
          sensor: bool = False) -> dict[str, list[int]]:
    """verdict -> [made, kept (same sign / not contradicted), made again, reversed /
    contradicted] of `first`'s verdicts in `other`, with a table of them: the family of claims,
    or with `sensor` the fusion-against-its-better-sensor verdicts (where the other run names
    the same sensor)."""
    made = first.rows[first.rows["verdict"].isin(OUTCOMES)
                      & ((first.rows["kind"] == "sensor") == sensor)]
    theirs = other.rows[["metric", "a", "b"]].apply(tuple, axis=1)
    made = made[made[["metric", "a", "b"]].apply(tuple, axis=1).isin(set(theirs))
                | made["kind"].ne("sensor")]
    print(f"\nverdicts of {name} in {other_name}: {len(made)} of {len(first.rows)} comparisons "
          f"(simultaneous level {100 * first.level:.2f}%)")
    print("| metric | a - b | verdict | difference [interval] | other run | outcome |\n"
          "|---|---|---|---|---|---|")
    counts = {v: [0, 0, 0, 0] for v in OUTCOMES}
    for r in made.itertuples():
        d, low, high, again = other.between(r.metric, r.a, r.b)
        if r.verdict == "better":
            sign = claims.direction(r.metric, r.ci_low, r.ci_high)
            kept = sign * (1 if claims.METRICS[r.metric].higher_is_better else -1) * d > 0
            bad = claims.direction(r.metric, low, high) == -sign
            repeated = again == "better" and not bad
        else:
            bad = low > r.delta or high < -r.delta
            kept, repeated = not bad, again == "equivalent"
        c = counts[r.verdict]
        c[0], c[1], c[2], c[3] = c[0] + 1, c[1] + kept, c[2] + repeated, c[3] + bad
        outcome = OUTCOMES[r.verdict][2 if bad else 1 if repeated else 0 if kept else 2]
        if not kept and not bad:
            outcome = "other sign"
        print(f"| {r.metric} | {r.a} - {r.b} | {r.verdict} | {100 * r.difference:+.1f} "
              f"[{100 * r.ci_low:+.1f}, {100 * r.ci_high:+.1f}] | {100 * d:+.1f} "
              f"[{100 * low:+.1f}, {100 * high:+.1f}] {again} | {outcome} |")
    return counts


def _rate(k: int, n: int) -> str:
    return f"{k} of {n} ({100 * k / n:.0f}%)" if n else "none made"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--group", type=int, help="cut the runs' pooled seeds into sets of K")
    args = parser.parse_args()
    if args.group is None and len(args.runs) < 2:
        parser.error("give two runs or more, or --group K")
    print(describe())
    found = runs(args.runs, args.group)
    pairs = list(permutations(found, 2))
    for sensor, title in ((False, "the family of claims"),
                          (True, "fusion against its better single sensor, per fault")):
        totals = [check(a, found[a], b, found[b], sensor) for a, b in pairs]
        print(f"\n{title}:\n\n| run | better | same sign | claimed again | reversed | "
              "equivalent | not contradicted | equivalent again | contradicted |\n"
              + "|---|" + "---:|" * 8)
        for run in found:
            mine = [t for (a, _), t in zip(pairs, totals, strict=True) if a == run]
            cells = [sum(t[v][i] for t in mine) for v in OUTCOMES for i in range(4)]
            print(f"| {run} | " + " | ".join(str(c) for c in cells) + " |")
        print(f"\n{len(found)} runs, {len(totals)} ordered pairs ({title}):")
        for v, (kept, again, bad) in OUTCOMES.items():
            made, k, a, b = (sum(t[v][i] for t in totals) for i in range(4))
            print(f"- {v}: {made} verdicts checked; {kept} {_rate(k, made)}, {again} "
                  f"{_rate(a, made)}, {bad} {_rate(b, made)}")


if __name__ == "__main__":
    main()
