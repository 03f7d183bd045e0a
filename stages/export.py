"""DVC stage `export`: promote the strategy named by `model.fusion`.

Writes models/model.pt (its checkpoint, loadable by `fusion.predict`), metrics/model.json (its
name and test metrics: what `dvc exp show` lists), plots/export/confusion.csv (DVC's confusion
template) and plots/export/reliability.png.
"""

import shutil

import torch

from fusion import params, report
from fusion.evaluation import reliability
from fusion.io import atomic_path, read_csv, read_json, write_json


def main() -> None:
    p = params.load()  # a model.fusion outside `strategies` fails here, listing the valid names
    name = p.model.fusion
    metrics = read_json(f"metrics/evaluate/{name}.json", "evaluation metrics")
    predictions = read_csv(f"plots/evaluate/{name}_predictions.csv", "predictions")
    with atomic_path("models/model.pt") as tmp:
        shutil.copyfile(f"models/{name}.pt", tmp)
    write_json("metrics/model.json", {**metrics, "strategy": name})
    with atomic_path("plots/export/confusion.csv") as tmp:
        predictions[["actual", "predicted"]].to_csv(tmp, index=False)
    classes = torch.load("models/model.pt", weights_only=True)["classes"]
    labels = torch.tensor(predictions["actual"].map(classes.index).to_numpy())
    p_sphere = torch.tensor(predictions["p_sphere"].to_numpy(), dtype=torch.float64)
    probs = torch.stack([1 - p_sphere, p_sphere], dim=1)
    table = reliability(probs, labels, p.evaluate.ece_bins, from_logits=False)
    report.plot_reliability(table, "plots/export/reliability.png")
    print(f"promoted {name}: test accuracy {metrics['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
