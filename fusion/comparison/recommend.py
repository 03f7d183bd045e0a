"""Which strategy to use, by a stated rule from the run's verdicts, intervals and exact cost.

The rule, per need (`NEEDS`):
1. Candidates: the strategies shown equivalent to the most accurate one (test accuracy group
   `top` or `equivalent`, from the simultaneous verdicts of `fusion.comparison.claims`); for a
   need that uses both sensors, the fusion strategies among them.
2. Under sensor faults, of those, the ones with fewer errors under the fault suite than the
   reference strategy (the mCE interval wholly below 1); if none, the ones not shown to make more
   (the interval reaches 1).
3. Use the cheapest candidate: fewest FLOPs per sample, then fewest parameters (both exact, the
   same on every machine), then the name.

Each step rests on a verdict or an interval, never on a ranking of means that one more seed
could flip. Inputs are the summary and groups that `aggregate` writes; no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

NEEDS = {  # need: (fusion strategies only, judged under sensor faults)
    "clean data": (False, False),
    "clean data, both sensors": (True, False),
    "sensor faults": (False, True),
    "sensor faults, both sensors": (True, True),
}
PROMOTED = "sensor faults, both sensors"  # the need whose pick `model.fusion` promotes
COLUMNS = ["need", "use", "candidates", "flops", "params"]


def robust(names: Sequence[str], summary: Mapping[str, dict]) -> list[str]:
    """Those with fewer errors under faults than the reference, else those not shown worse."""
    fewer = [n for n in names if summary[n]["mCE_ci_high"] < 1]
    return fewer or [n for n in names if summary[n]["mCE_ci_low"] <= 1]


def recommend(summary: Mapping[str, dict], accuracy_groups: Mapping[str, str],
              baselines: Sequence[str]) -> pd.DataFrame:
    """One row per need: the strategy to use, the candidates it was chosen from (cheapest
    first) and its cost. `accuracy_groups`: strategy -> its test-accuracy group."""
    best = [n for n, g in accuracy_groups.items() if g in ("top", "equivalent")]
    rows = []
    for need, (fusion_only, faults) in NEEDS.items():
        names = [n for n in best if not (fusion_only and n in baselines)]
        if faults:
            names = robust(names, summary)
        if not names:
            rows.append([need, "", "", None, None])
            continue
        names = sorted(names, key=lambda n: (summary[n]["flops"], summary[n]["params"], n))
        use = names[0]
        rows.append([need, use, " ".join(names), summary[use]["flops"], summary[use]["params"]])
    return pd.DataFrame(rows, columns=COLUMNS)


def sentences(table: pd.DataFrame, reference: str) -> list[str]:
    """The rule's picks as one finding line."""
    picks = []
    for row in table.itertuples():
        if not row.use:
            picks.append(f"{row.need}: no candidate (none shown equivalent to the best)")
            continue
        others = [n for n in row.candidates.split() if n != row.use]
        picks.append(f"{row.need}: {row.use} ({row.flops / 1e6:.1f}M FLOPs"
                     + (f"; as good by the rule, at more cost: {', '.join(others)})" if others
                        else ")"))
    return ["Which strategy to use (fusion/comparison/recommend.py: of the strategies "
            "equivalent to the most accurate, under faults those with fewer errors than "
            f"{reference} (mCE interval below 1, else reaching 1), the cheapest in FLOPs). "
            + "; ".join(picks)
            + "."]


def promoted_seed(trained: Mapping[str, dict]) -> str:
    """Of a strategy's seeds (seed -> its train metrics), the one with the lowest validation loss;
    never chosen on the test set. Ties go to the first seed listed."""
    return min(trained, key=lambda seed: trained[seed]["best_val_loss"])
