"""DVC stage `evaluate@<name>`: test metrics and robustness to the fault suite of every seed's
model, and the architecture's cost (measured once: it does not depend on the weights).

Writes metrics/evaluate/<name>.json (per seed, and cost), plots/evaluate/<name>.csv (accuracy
per fault and severity, a `seed` column) and plots/evaluate/<name>_predictions.csv (a row per
seed and test sample: what the comparison works from).
"""

import argparse

import pandas as pd
import torch

from fusion import devices, params
from fusion.data.normalize import Normalizer
from fusion.data.prepared import load_prepared
from fusion.evaluation.metrics import cost
from fusion.evaluation.robustness import FaultedInputs, evaluate_model
from fusion.faults.rig import rig_for
from fusion.io import atomic_path, read_json, write_json
from fusion.models.checkpoint import load_checkpoint


def main(name: str) -> None:
    p = params.load()
    seeds = p.strategy(name).train.seeds  # a clear error for a name not in `strategies`
    device = devices.resolve(p.evaluate.device, key="evaluate.device")
    data = load_prepared("data/prepared", mmap=True)
    rows = read_json("data/splits.json", "splits")["test"]
    rgb, xyza = torch.from_numpy(data.rgb[rows]), torch.from_numpy(data.xyza[rows])
    labels = torch.from_numpy(data.labels[rows])
    faulted = FaultedInputs.build(rgb, xyza, p.evaluate.seed, p.data.max_range, rig_for(p))
    per_seed, curves, predictions = {}, [], []
    for seed in seeds:
        model, checkpoint = load_checkpoint(f"models/{name}/seed{seed}.pt")
        model = model.to(device, memory_format=devices.memory_format(device))
        result = evaluate_model(model, rgb, xyza, labels, rows, data.classes, faulted,
                                Normalizer(checkpoint["stats"], device), p.evaluate, device)
        per_seed[str(seed)] = result.metrics
        curves.append(result.curves.assign(seed=seed))
        predictions.append(result.predictions.assign(seed=seed))
        print(f"{name} seed {seed}: "
              + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))
    write_json(f"metrics/evaluate/{name}.json", {
        "strategy": name, "seeds": per_seed,
        "cost": cost(model, data.image_size, p.evaluate, device),
    })
    for path, tables in ((f"plots/evaluate/{name}.csv", curves),
                         (f"plots/evaluate/{name}_predictions.csv", predictions)):
        table = pd.concat(tables, ignore_index=True)
        table = table[["seed", *table.columns.drop("seed")]]
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a key of `strategies` in params.yaml")
    main(parser.parse_args().name)
