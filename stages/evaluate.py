"""DVC stage `evaluate@<name>`: test metrics, robustness and cost of models/<name>.pt.

Writes metrics/evaluate/<name>.json, plots/evaluate/<name>.csv (robustness curves) and
plots/evaluate/<name>_predictions.csv (one row per test sample).
"""

import argparse

import torch

from fusion import params
from fusion.dataset import load_prepared
from fusion.evaluation import evaluate_model
from fusion.io import atomic_path, read_json, write_json
from fusion.normalize import Normalizer
from fusion.training import load_checkpoint, resolve_device, split_inputs


def main(name: str) -> None:
    p = params.load()
    p.strategy(name)  # a clear error for a name that is not in `strategies`
    device = resolve_device(p.evaluate.device)
    model, checkpoint = load_checkpoint(f"models/{name}.pt")
    data = load_prepared("data/prepared")
    rows = read_json("data/splits.json", "splits")["test"]
    normalizer = Normalizer(checkpoint["stats"], device)
    test = split_inputs(data, rows, normalizer, device)
    torch.manual_seed(p.evaluate.seed)
    model = model.to(device, memory_format=torch.channels_last)
    result = evaluate_model(model, test.rgb, test.xyza, test.labels.cpu(), rows,
                            data.classes, normalizer, p.evaluate, device)
    write_json(f"metrics/evaluate/{name}.json", {"strategy": name, **result.metrics})
    for path, table in ((f"plots/evaluate/{name}.csv", result.curves),
                        (f"plots/evaluate/{name}_predictions.csv", result.predictions)):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
    print(f"{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", help="a key of `strategies` in params.yaml")
    main(parser.parse_args().name)
