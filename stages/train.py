"""DVC stage `train@<name>`: one run per seed of the strategy's `train.seeds`, data loaded once.

Writes models/<name>/seed<k>.pt, plots/train/<name>/seed<k>.csv (the curve) and
metrics/train/<name>.json (each seed's metrics, keyed by seed).
"""

import argparse

from fusion import params, strategies
from fusion.data.prepared import load_prepared
from fusion.io import atomic_dir, read_json, write_json
from fusion.models.checkpoint import save_checkpoint
from fusion.models.training import train


def main(name: str) -> None:
    p = params.load()
    cfg = p.strategy(name)
    try:  # an unknown op: a clear error before loading any data
        strategies.check(cfg.fusion)
    except ValueError as e:
        raise SystemExit(f"strategies.{name}: {e}; a variant names one with `fusion:`") from None
    data = load_prepared("data/prepared")
    stats = read_json("data/stats.json", "train statistics")
    results = train(cfg, data, read_json("data/splits.json", "splits"), stats)
    with atomic_dir(f"models/{name}") as models, atomic_dir(f"plots/train/{name}") as curves:
        for seed, result in results.items():
            save_checkpoint(models / f"seed{seed}.pt", result.model, cfg, data, stats,
                            p.data.max_range)
            result.history.to_csv(curves / f"seed{seed}.csv", index=False)
    write_json(f"metrics/train/{name}.json",
               {"strategy": name, "seeds": {str(s): r.metrics for s, r in results.items()}})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a key of `strategies` in params.yaml")
    main(parser.parse_args().name)
