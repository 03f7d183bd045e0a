"""Test accuracy per seed after a given number of epochs: what a shorter training costs.

    uv run python benchmarks/epochs.py --epochs 4 5 --strategies early hadamard rgb_only \
        | tee benchmarks/results/epochs.txt

Run after `dvc repro` (it reads data/prepared, the split and the statistics). Each strategy
trains as `train@` would (its seeds, its params), with only the epochs overridden, and is
scored on the test split; the time is the training's, on this machine.
"""

import argparse
import dataclasses
import time

import torch
from machine import describe

from fusion import params
from fusion.data.normalize import Normalizer
from fusion.data.prepared import load_prepared
from fusion.evaluation.metrics import predict
from fusion.io import read_json
from fusion.models.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, nargs="+", required=True)
    parser.add_argument("--strategies", nargs="+", required=True)
    args = parser.parse_args()
    p = params.load()
    data = load_prepared("data/prepared")
    splits = read_json("data/splits.json", "splits")
    stats = read_json("data/stats.json", "train statistics")
    test = splits["test"]
    norm = Normalizer(stats)
    rgb = norm.rgb(torch.from_numpy(data.rgb[test]))
    xyza = norm.xyza(torch.from_numpy(data.xyza[test]))
    labels = torch.from_numpy(data.labels[test])
    print(describe())
    print(f"# {len(splits['train'])} train, {len(test)} test samples, data.image_size "
          f"{data.image_size}\n\n| strategy | epochs | train s | test accuracy % per seed | mean |"
          "\n|---|---:|---:|---|---:|")
    for name in args.strategies:
        for epochs in args.epochs:
            cfg = p.strategy(name)
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=epochs))
            start = time.perf_counter()
            results = train(cfg, data, splits, stats, progress=False)
            seconds = time.perf_counter() - start
            accuracy = [float((predict(r.model, rgb, xyza, 256, "cpu").argmax(1) == labels)
                              .double().mean()) for r in results.values()]
            print(f"| {name} | {epochs} | {seconds:.1f} | "
                  + ", ".join(f"{100 * a:.2f}" for a in accuracy)
                  + f" | {100 * sum(accuracy) / len(accuracy):.2f} |", flush=True)


if __name__ == "__main__":
    main()
