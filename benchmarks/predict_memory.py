"""Benchmark `fusion.predict --folder`: peak RSS and wall time on a course-size folder.

    uv run python benchmarks/predict_memory.py [--samples 19998] [--image-size 64]
        [--batch-size 256] [--raw FOLDER]

Renders a synthetic folder in the course layout (64x64 RGBA PNG + 64x64 float32 depth, half
cubes, half spheres; or uses `--raw`), saves a checkpoint of an untrained model taking
`--image-size` inputs, then runs the predict command under `/usr/bin/time -v`, writing the CSV.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import torch

from fusion import strategies
from fusion.models.checkpoint import save_checkpoint
from fusion.params import Counts, ModelParams, StrategyConfig, SyntheticParams, TrainParams
from fusion.synthetic import generate

STATS = {  # plausible statistics of the synthetic data; the weights are untrained anyway
    "rgb_mean": [0.3, 0.3, 0.3, 1.0], "rgb_std": [0.2, 0.2, 0.2, 1.0],
    "xyza_mean": [0.0, 0.0, 9.0, 0.2], "xyza_std": [0.5, 0.5, 1.0, 0.4],
}


def untrained_checkpoint(path: Path, image_size: int) -> None:
    cfg = StrategyConfig("hadamard", "hadamard", ModelParams(), TrainParams())
    torch.manual_seed(0)
    model = strategies.build(cfg.fusion, cfg.model, image_size)
    data = SimpleNamespace(image_size=image_size, classes=["cubes", "spheres"])
    save_checkpoint(path, model, cfg, data, STATS, max_range=50.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=19_998)
    parser.add_argument("--image-size", type=int, default=64, help="the model's input size")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--raw", type=Path, help="an existing folder instead of a synthetic one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = args.raw
        if raw is None:
            raw, half = tmp / "raw", args.samples // 2
            generate(SyntheticParams(counts=Counts(cubes=half, spheres=args.samples - half)), raw,
                     progress=False)
        untrained_checkpoint(tmp / "model.pt", args.image_size)
        command = ["/usr/bin/time", "-v", sys.executable, "-m", "fusion.predict",
                   "--model", str(tmp / "model.pt"), "--folder", str(raw),
                   "--batch-size", str(args.batch_size), "--device", "cpu",
                   "--output", str(tmp / "predictions.csv")]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(run.stderr)
        rows = sum(1 for _ in open(tmp / "predictions.csv")) - 1
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)[1])
        wall = re.search(r"Elapsed \(wall clock\) time .*: (\S+)", run.stderr)[1]
        print(f"predict --folder: {rows} samples at {args.image_size}x{args.image_size}, batch "
              f"{args.batch_size}: peak RSS {rss / 2**20:.2f} GiB, wall {wall}; "
              f"{run.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
