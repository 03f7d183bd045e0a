"""Which seed variance should the claims use? Simulated families of comparisons with known truth
(`fusion.comparison.coverage.family_experiment`: 9 fusion strategies at three accuracy levels, 2
baselines, test accuracy) in four regimes of seed variation (near-normal; skewed; unequal, two
strategies with 6x the others' seed spread; collapse-prone, two strategies that lose ~5 points in
one seed of three), scored for three methods:

- moderated with trend: each strategy's own seed variance, moderated across strategies
  relative to a rate's mean-variance trend (limma-trend; the default of
  `fusion.comparison.claims.compare`);
- moderated: the same without the trend (limma's squeezeVar);
- welch: each strategy's own sample variance, S - 1 df;
- pooled + margin: one variance pooled over the strategies, and a claim only when its interval
  clears 0 by t_0.95(df) sqrt(2) se_seed (the method of 81e1707; here with the analytic
  test-set term, so that only the seed variance differs).

Per method and regime: the family-wise error (share of runs with any false verdict: `better`
where the truth is not, `equivalent` where the true difference is >= delta), the coverage of
each pair's 95% interval by kind of pair, and the true `better` and `equivalent` verdicts per
run.

    uv run python benchmarks/claims_simulation.py | tee benchmarks/results/claims_simulation.txt
"""

import argparse
from itertools import combinations

import numpy as np
from machine import describe
from scipy import stats

from fusion.comparison import claims
from fusion.comparison.coverage import (
    BASELINES,
    FAMILY_LOGITS,
    REGIMES,
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


METHODS = {"moderated with trend": claims.moderated_with_trend, "moderated": moderated,
           "welch": welch, "pooled + margin": pooled}


def kind(i: int, j: int) -> str:
    label = sorted("baseline" if k in BASELINES else "unstable" if k in UNSTABLE else "stable"
                   for k in (i, j))
    return "-".join(label)


def score(method: str, found: claims.Claims, truth: np.ndarray) -> dict:
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
    false = (better & (true <= 0)) | (equivalent & (np.abs(true) >= DELTA))
    return {"false": false.any(), "true_better": (better & (true > 0)).sum(),
            "true_equivalent": (equivalent & (np.abs(true) < DELTA)).sum(),
            "covered": {k: covered[[x == k for x in kinds]] for k in set(kinds)}}


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
            boot = family_experiment(rng, regime, args.seeds, args.samples)
            baselines = [boot.strategies[k] for k in BASELINES]
            for method, variance in METHODS.items():
                found = claims.compare(boot, baselines, {"test_accuracy": DELTA},
                                       variance=variance, metrics=["test_accuracy"])
                scores[method].append(score(method, found, truth))
        for method, runs in scores.items():
            kinds = {k: np.mean(np.concatenate([r["covered"][k] for r in runs]))
                     for k in runs[0]["covered"]}
            worst = min(kinds, key=kinds.get)
            print(f"| {regime} | {method} | {np.mean([r['false'] for r in runs]):.3f} | "
                  f"{kinds[worst]:.3f} ({worst}; " + ", ".join(
                      f"{k} {v:.3f}" for k, v in sorted(kinds.items()) if k != worst) + ") | "
                  f"{np.mean([r['true_better'] for r in runs]):.1f} | "
                  f"{np.mean([r['true_equivalent'] for r in runs]):.1f} |", flush=True)


if __name__ == "__main__":
    main()
