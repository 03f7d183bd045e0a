"""What the fault suite adds to the default run: its share of the evaluation, timed on the run's
own models and test split (run after `dvc repro`).

    uv run python benchmarks/fault_cost.py | tee benchmarks/results/fault_cost.txt

Per `evaluate@` stage the suite costs one `FaultedInputs.build` (the test split under every
fault group, shared by the seeds) and, per seed, four forward passes (camera, LiDAR,
misalignment and control); the rest of a seed's evaluation is the clean pass and the two
missing-sensor passes. Times here are summed over the strategies and seeds of params.yaml, best
of 3, on this machine.
"""

import time

import torch
from machine import describe

from fusion import params
from fusion.data.normalize import Normalizer
from fusion.data.prepared import load_prepared
from fusion.evaluation.metrics import predict
from fusion.evaluation.robustness import FaultedInputs
from fusion.faults.rig import rig_for
from fusion.io import read_json
from fusion.models.checkpoint import load_checkpoint


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    p = params.load()
    data = load_prepared("data/prepared", mmap=True)
    rows = read_json("data/splits.json", "splits")["test"]
    rgb, xyza = torch.from_numpy(data.rgb[rows]), torch.from_numpy(data.xyza[rows])
    batch = p.evaluate.batch_size
    build = best_of(lambda: FaultedInputs.build(rgb, xyza, p.evaluate.seed, p.data.max_range,
                                                rig_for(p)))
    faulted = FaultedInputs.build(rgb, xyza, p.evaluate.seed, p.data.max_range, rig_for(p))
    clean = faults = 0.0
    for name in p.strategies:
        for seed in p.strategy(name).train.seeds:
            model, checkpoint = load_checkpoint(f"models/{name}/seed{seed}.pt")
            norm = Normalizer(checkpoint["stats"])
            inputs = norm.rgb(rgb), norm.xyza(xyza)
            zeros = [torch.zeros_like(t) for t in inputs]
            passes = [inputs, (zeros[0], inputs[1]), (inputs[0], zeros[1])]
            clean += best_of(lambda m=model, x=passes: [predict(m, *pair, batch, "cpu")
                                                        for pair in x])
            faults += best_of(lambda m=model, n=norm: [
                predict(m, n.rgb(r), n.xyza(x), batch, "cpu") for r, x in faulted.inputs.values()])
    stages = len(p.strategies)
    suite = stages * build + faults
    print(describe())
    print(f"# {len(rows)} test samples, {stages} strategies, "
          f"{sum(len(p.strategy(n).train.seeds) for n in p.strategies)} models\n")
    print("| part | seconds |\n|---|---:|")
    print(f"| build the faulted test split, once per stage (x{stages}) | {stages * build:.1f} |")
    print(f"| the 4 fault passes of every model | {faults:.1f} |")
    print(f"| **the fault suite** | **{suite:.1f}** |")
    print(f"| the clean and 2 missing-sensor passes of every model | {clean:.1f} |")


if __name__ == "__main__":
    main()
