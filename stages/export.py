"""DVC stage `export`: promote the strategy named by `model.fusion` (by default the one the rule
of `fusion.comparison.recommend` picks when both sensors are used under faults; a test keeps
them equal).

Of its seeds, the one with the best validation loss (never the test set) becomes
models/model.pt (loadable by `fusion.predict`). metrics/model.json gives the strategy's mean test
accuracy and 95% interval over seeds (from metrics/summary.json), that `seed`, its own test
metrics (`promoted_seed`), the headline metrics over seeds (`over_seeds`) and the rule's pick
(`recommended`, from plots/comparison/recommendation.csv).
Also plots/export/confusion.csv (DVC's confusion template) and plots/export/reliability.png,
both of the promoted seed.
"""

import shutil

import torch

from fusion import params
from fusion.comparison import figures, recommend, report
from fusion.evaluation.metrics import reliability
from fusion.io import atomic_path, read_csv, read_json, write_json


def main() -> None:
    p = params.load()  # a model.fusion outside `strategies` fails here, listing the valid names
    name = p.model.fusion
    trained = read_json(f"metrics/train/{name}.json", "train metrics")["seeds"]
    seed = recommend.promoted_seed(trained)
    tested = read_json(f"metrics/evaluate/{name}.json", "evaluation metrics")["seeds"][seed]
    strategy = read_json("metrics/summary.json", "comparison summary")[name]
    predictions = read_csv(f"plots/evaluate/{name}_predictions.csv", "predictions")
    predictions = predictions[predictions["seed"] == int(seed)]
    picks = read_csv("plots/comparison/recommendation.csv", "recommendation").fillna("")
    picks = picks.set_index("need")
    with atomic_path("models/model.pt") as tmp:
        shutil.copyfile(f"models/{name}/seed{seed}.pt", tmp)
    write_json("metrics/model.json", {  # headline keys first: what `dvc exp show` lists
        "strategy": name, "seed": int(seed),
        "mean_accuracy": strategy["test_accuracy"], "ci_low": strategy["test_accuracy_ci_low"],
        "ci_high": strategy["test_accuracy_ci_high"],
        "promoted_seed": {"best_val_loss": trained[seed]["best_val_loss"], **tested},
        "over_seeds": {"seeds": strategy["seeds"], **{
            k: strategy[k] for m in report.TIERED for k in (m, f"{m}_ci_low", f"{m}_ci_high")}},
        "recommended": {"need": recommend.PROMOTED,
                        "strategy": picks.loc[recommend.PROMOTED, "use"]},
    })
    with atomic_path("plots/export/confusion.csv") as tmp:
        predictions[["actual", "predicted"]].to_csv(tmp, index=False)
    classes = torch.load("models/model.pt", weights_only=True)["classes"]
    labels = torch.tensor(predictions["actual"].map(classes.index).to_numpy())
    p_sphere = torch.tensor(predictions["p_sphere"].to_numpy(), dtype=torch.float64)
    probs = torch.stack([1 - p_sphere, p_sphere], dim=1)
    table = reliability(probs, labels, p.evaluate.ece_bins, from_logits=False)
    figures.plot_reliability(table, "plots/export/reliability.png")
    print(f"promoted {name} seed {seed} (best validation loss of {len(trained)} seeds): test "
          f"accuracy {tested['test_accuracy']:.4f}; over seeds {strategy['test_accuracy']:.4f} "
          f"[{strategy['test_accuracy_ci_low']:.4f}, {strategy['test_accuracy_ci_high']:.4f}]")


if __name__ == "__main__":
    main()
