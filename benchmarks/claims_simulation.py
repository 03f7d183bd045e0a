"""Which seed variance should the claims use? Simulated families of comparisons with known truth
(`fusion.comparison.coverage.family_experiment`: 9 fusion strategies at three accuracy levels, 2
baselines, test accuracy) in four regimes of seed variation (near-normal; skewed; unequal, two
strategies with 6x the others' seed spread; collapse-prone, two strategies that lose ~5 points in
one seed of three), scored for five methods:

- moderated with trend: each strategy's own seed variance, moderated across strategies
  relative to a rate's mean-variance trend (limma-trend; the default of
  `fusion.comparison.claims.compare`);
- moderated: the same without the trend (limma's squeezeVar);
- welch: each strategy's own sample variance, S - 1 df;
- moderated with trend, pooled floor: never below the variance pooled over the strategies on
  the trend's scale (every strategy as uncertain as the family's seeds taken together: the
  conservative answer to a collapse that some strategy's seeds may hide);
- pooled + margin: one variance pooled over the strategies, and a claim only when its interval
  clears 0 by t_0.95(df) sqrt(2) se_seed (the method of 81e1707; here with the analytic
  test-set term, so that only the seed variance differs).

Per method and regime: the family-wise error (share of runs with any false verdict: `better`
where the truth is not, `equivalent` where the true difference is >= delta), the coverage of
each pair's 95% interval by kind of pair, and the true `better` and `equivalent` verdicts per
run.

Then, for the collapse-prone regime, where the errors come from: a collapse-prone strategy
whose seeds drew no collapse ((2/3)^S of runs) has data distributed exactly as its stable twin's
(`TWINS`), so no method can tell them apart. The second table splits the runs by whether every
collapse-prone strategy drew a collapse, and gives each method's floor: P(no collapse drawn)
times the share of runs in which the twin gets a verdict that would be false for the
collapse-prone strategy (`twin_false`). A method whose stable strategies get such verdicts as
often cannot err less often in this regime, whatever its seed variance.

    uv run python benchmarks/claims_simulation.py --seeds 4 \
        | tee benchmarks/results/claims_simulation_4seeds.txt
    uv run python benchmarks/claims_simulation.py --seeds 8 --experiments 500 \
        | tee benchmarks/results/claims_simulation_8seeds.txt
"""

import argparse
from itertools import combinations

import numpy as np
from machine import describe
from scipy import stats

from fusion.comparison import claims
from fusion.comparison.coverage import (
    BASELINES,
    COLLAPSE,
    FAMILY_LOGITS,
    REGIMES,
    TWINS,
    UNSTABLE,
    family_experiment,
    family_truths,
)

DELTA = 0.005  # accuracy: the default equivalence margin


def welch(variances: np.ndarray, dfs: np.ndarray, means: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    return variances, dfs


def moderated(variances: np.ndarray, dfs: np.ndarray, means: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    return claims.moderated(variances, dfs)


def pooled(variances: np.ndarray, dfs: np.ndarray, means: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    total = dfs.sum()
    return np.full_like(variances, (variances * dfs).sum() / total), np.full_like(dfs, total)


def pooled_floor(variances: np.ndarray, dfs: np.ndarray, means: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    own, own_dfs = claims.moderated_with_trend(variances, dfs, means)
    trend = claims.rate_trend(means)
    floor, floor_dfs = pooled(variances / trend, dfs, means)
    return np.maximum(own, floor * trend), np.where(floor * trend > own, floor_dfs, own_dfs)


METHODS = {"moderated with trend": claims.moderated_with_trend, "moderated": moderated,
           "welch": welch, "moderated with trend, pooled floor": pooled_floor,
           "pooled + margin": pooled}


def kind(i: int, j: int) -> str:
    label = sorted("baseline" if k in BASELINES else "unstable" if k in UNSTABLE else "stable"
                   for k in (i, j))
    return "-".join(label)


def wrong(better: np.ndarray, equivalent: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Verdicts that the true differences a - b contradict."""
    return (better & (true <= 0)) | (equivalent & (np.abs(true) >= DELTA))


def score(method: str, found: claims.Claims, truth: np.ndarray, effects: np.ndarray) -> dict:
    rows = found.rows
    a = rows["a"].str[1:].astype(int).to_numpy()
    b = rows["b"].str[1:].astype(int).to_numpy()
    true = truth[a] - truth[b]
    d, se = rows["difference"].to_numpy(), np.hypot(rows["se_test"], rows["se_seed"]).to_numpy()
    better = (rows["verdict"] == "better").to_numpy()
    if method == "pooled + margin":
        margin = stats.t.ppf(0.95, rows["df"]) * np.sqrt(2) * rows["se_seed"].to_numpy()
        better = rows["ci_low"].to_numpy() > margin
    equivalent = (rows["verdict"] == "equivalent").to_numpy() & (method != "pooled + margin")
    half = stats.t.ppf(0.975, rows["df"]) * se
    covered = np.abs(d - true) <= half
    kinds = [kind(i, j) for i, j in zip(a, b, strict=True)]
    twin_false = {}  # unstable k -> would a verdict of its twin's be false for k?
    for k, twin in TWINS.items():
        rest = ((a == twin) | (b == twin)) & (a != k) & (b != k)
        swapped_a, swapped_b = np.where(a == twin, k, a), np.where(b == twin, k, b)
        twin_false[k] = wrong(better, equivalent, truth[swapped_a] - truth[swapped_b])[rest].any()
    return {"false": wrong(better, equivalent, true).any(),
            "true_better": (better & (true > 0)).sum(),
            "true_equivalent": (equivalent & (np.abs(true) < DELTA)).sum(),
            "covered": {k: covered[[x == k for x in kinds]] for k in set(kinds)},
            "collapse_drawn": all((effects[k] > COLLAPSE / 2).any() for k in UNSTABLE),
            "twin_false": twin_false}


def coverage_by_kind(runs: list[dict]) -> str:
    """The lowest coverage over kinds of pair, then the others."""
    kinds = {k: np.mean(np.concatenate([r["covered"][k] for r in runs]))
             for k in runs[0]["covered"]}
    worst = min(kinds, key=kinds.get)
    return f"{kinds[worst]:.3f} ({worst}; " + ", ".join(
        f"{k} {v:.3f}" for k, v in sorted(kinds.items()) if k != worst) + ")"


def collapse_table(scores: dict[str, list[dict]], seeds: int) -> None:
    """The collapse-prone regime's runs split by whether every collapse-prone strategy drew a
    collapse, and each method's floor from the twins."""
    undrawn = (2 / 3) ** seeds  # P(a collapse-prone strategy's seeds draw no collapse)
    print(f"\n## collapse-prone, by whether the seeds drew the collapses (a collapse drawn: effect "
          f"> log(9) / 2 against N(0, 0.3) noise); floor = {undrawn:.3f} (no collapse in "
          f"{seeds} seeds) x the share of runs in which a twin gets a verdict false for its "
          f"collapse-prone strategy")
    print("\n| method | every collapse-prone strategy drew a collapse | runs | family-wise error "
          "| coverage of 95% pair intervals, lowest kind | floor |\n|---|---|---:|---:|---|---:|")
    for method, runs in scores.items():
        floor = max(undrawn * np.mean([r["twin_false"][k] for r in runs]) for k in TWINS)
        for drawn in (True, False):
            part = [r for r in runs if r["collapse_drawn"] == drawn]
            print(f"| {method} | {'yes' if drawn else 'no'} | {len(part)} | "
                  f"{np.mean([r['false'] for r in part]):.3f} | {coverage_by_kind(part)} | "
                  f"{floor:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--samples", type=int, default=2400)
    args = parser.parse_args()
    print(describe())
    pairs = len(list(combinations(FAMILY_LOGITS, 2)))
    print(f"# {args.experiments} runs per regime, {len(FAMILY_LOGITS)} strategies ({pairs} "
          f"accuracy comparisons, Bonferroni at 5%), {args.seeds} seeds, {args.samples} test "
          f"samples, delta {100 * DELTA:.1f} points; binomial s.e. of a 5% rate: "
          f"{np.sqrt(0.05 * 0.95 / args.experiments):.3f}")
    print("\n| regime | method | family-wise error | coverage of 95% pair intervals, lowest kind "
          "| true better / run | true equivalent / run |\n|---|---|---:|---|---:|---:|")
    for regime in REGIMES:
        truth = family_truths(regime)
        scores = {m: [] for m in METHODS}
        rng = np.random.default_rng([7, args.seeds, list(REGIMES).index(regime)])
        for _ in range(args.experiments):
            boot, effects = family_experiment(rng, regime, args.seeds, args.samples)
            baselines = [boot.strategies[k] for k in BASELINES]
            for method, variance in METHODS.items():
                found = claims.compare(boot, baselines, {"test_accuracy": DELTA},
                                       variance=variance, metrics=["test_accuracy"])
                scores[method].append(score(method, found, truth, effects))
        for method, runs in scores.items():
            print(f"| {regime} | {method} | {np.mean([r['false'] for r in runs]):.3f} | "
                  f"{coverage_by_kind(runs)} | "
                  f"{np.mean([r['true_better'] for r in runs]):.1f} | "
                  f"{np.mean([r['true_equivalent'] for r in runs]):.1f} |", flush=True)
        if regime == "collapse-prone":
            collapse = scores
    collapse_table(collapse, args.seeds)


if __name__ == "__main__":
    main()
