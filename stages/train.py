"""DVC stage `train@<name>`: models/<name>.pt, metrics/train/<name>.json, plots/train/<name>.csv."""

import argparse

from fusion import params, strategies
from fusion.dataset import load_prepared
from fusion.io import atomic_path, read_json, write_json
from fusion.training import save_checkpoint, train


def main(name: str) -> None:
    p = params.load()
    cfg = p.strategy(name)
    try:  # an unknown op: a clear error before loading any data
        strategies.check(cfg.fusion)
    except ValueError as e:
        raise SystemExit(f"strategies.{name}: {e}; a variant names one with `fusion:`") from None
    data = load_prepared("data/prepared")
    stats = read_json("data/stats.json", "train statistics")
    result = train(cfg, data, read_json("data/splits.json", "splits"), stats)
    save_checkpoint(f"models/{name}.pt", result, cfg, data, stats, p.data.max_range)
    write_json(f"metrics/train/{name}.json", result.metrics)
    with atomic_path(f"plots/train/{name}.csv") as tmp:
        result.history.to_csv(tmp, index=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a key of `strategies` in params.yaml")
    main(parser.parse_args().name)
