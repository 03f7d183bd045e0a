"""Benchmark the training loop against its ceiling, a notebook-style loader, and stacked seeds.

    uv run python benchmarks/train_speed.py [--strategy hadamard] [--samples 1024] [--device auto]
        [--image-size 64] [--feature-dim 128] [--batch-size 64] [--seeds 3]

On the same model (default: notebook A's configuration, feature_dim 128, 64x64) and the same
data, in one run, it measures training samples/s of:
  (a) our loop: `fusion.models.training.train_epoch` over batches indexed from normalised tensors;
  (b) the ceiling: bare forward + backward + step on ready, pre-sliced tensors;
  (c) the notebooks' way: the same `train_epoch` fed by a `Dataset` that opens and converts each
      sample's PNG and .npy on every access, through a `DataLoader` with 2 workers;
and then, for k seeds (`--seeds`), `fusion.models.training.train` (2 epochs, validation included)
under each plan of training several seeds: one after another ("sequence"), a thread per seed sharing
the cores ("threads", CPU only) and one `SeedStack` through torch.func.vmap ("stack"). These count
the samples of all k seeds, after one untimed warm-up run each.
"""

import argparse
import dataclasses
import functools
import tempfile
import time
from pathlib import Path

import torch
from machine import describe
from torch.utils.data import DataLoader, Dataset

from fusion import devices, strategies
from fusion.data.dataset import decode_pair, load_raw, scan
from fusion.data.geometry import depth_to_xyza
from fusion.data.normalize import Normalizer
from fusion.data.stats import compute_stats
from fusion.models.seed_stack import SeedStack
from fusion.models.training import (
    Inputs,
    index_batches,
    seed_plan,
    split_inputs,
    train,
    train_epoch,
)
from fusion.params import Counts, ModelParams, StrategyConfig, SyntheticParams, TrainParams
from fusion.synthetic import generate


class NotebookStyleDataset(Dataset):
    """Decodes and converts one sample per access, as the seed notebooks' loaders do."""

    def __init__(self, root: Path, normalizer: Normalizer, max_range: float = 50.0):
        self.samples = [(c, stem) for c in scan(root) for stem in c.stems]
        self.normalizer, self.max_range = normalizer, max_range

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        folder, stem = self.samples[i]
        rgba, depth = decode_pair(folder.root / "rgb" / f"{stem}.png",
                                  folder.root / "lidar" / f"{stem}.npy", folder.shape)
        rgb = torch.from_numpy(rgba.copy()).permute(2, 0, 1)[None]  # PIL arrays are read-only
        xyza = torch.from_numpy(depth_to_xyza(depth, folder.azimuth, folder.zenith,
                                              self.max_range))[None]
        return self.normalizer.rgb(rgb)[0], self.normalizer.xyza(xyza)[0], folder.label


def fresh(name: str, image_size: int, feature_dim: int, device, lr: float = 1e-4):
    """A one-member SeedStack (the training loop's model) and its optimiser."""
    torch.manual_seed(0)
    model = strategies.build(name, ModelParams(fusion=name, feature_dim=feature_dim), image_size)
    stack = SeedStack([model.to(device, memory_format=devices.memory_format(device))])
    return stack, torch.optim.Adam(stack.parameters(), lr=lr)


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, samples: int, device) -> float:
    """Samples/s of `fn()` after one untimed warm-up call."""
    fn()
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return samples / (time.perf_counter() - start)


def one_epoch(stack, optimizer, inputs: Inputs, batch_size: int, device, generators) -> None:
    train_epoch(stack, optimizer, index_batches(inputs, batch_size, generators), device,
                generators=generators)


def bare_steps(model, optimizer, inputs: Inputs, batch_size: int, device) -> None:
    """Forward + backward + step on ready, contiguous slices: no indexing, no loss bookkeeping."""
    model.train()
    for rgb, xyza, y in zip(inputs.rgb.split(batch_size), inputs.xyza.split(batch_size),
                            inputs.labels.split(batch_size), strict=True):
        with devices.autocast(device):
            loss = torch.nn.functional.cross_entropy(model(rgb, xyza)[0].float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="hadamard", choices=strategies.available())
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--feature-dim", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=3, help="seeds trained under each plan")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    print(describe())
    device = devices.resolve(args.device, key="--device")
    half = args.samples // 2
    synthetic = dataclasses.replace(SyntheticParams(), image_size=args.image_size,
                                    counts=Counts(cubes=half, spheres=args.samples - half))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        generate(synthetic, raw, progress=False)
        data, _ = load_raw(raw, args.image_size, progress=False)
        rows = torch.arange(len(data.labels))
        stats = compute_stats(data.rgb, data.xyza, rows.numpy())
        normalizer = Normalizer(stats, device)
        inputs = split_inputs(data, rows, normalizer, device)
        n, bs, k = len(inputs), args.batch_size, args.seeds
        generator = [torch.Generator().manual_seed(0)]

        def build():
            return fresh(args.strategy, args.image_size, args.feature_dim, device)

        stack, optimizer = build()
        ours = timed(lambda: one_epoch(stack, optimizer, inputs, bs, device, generator), n, device)
        stack, optimizer = build()
        ceiling = timed(lambda: bare_steps(stack, optimizer, inputs, bs, device), n, device)
        loader = DataLoader(NotebookStyleDataset(raw, Normalizer(stats)), batch_size=bs,
                            shuffle=True, num_workers=2, generator=generator[0],
                            persistent_workers=True, pin_memory=device.type == "cuda")
        stack, optimizer = build()

        def notebook_epoch():  # one member: batches get a leading dim of 1
            batches = ((r[None], x[None], y[None]) for r, x, y in loader)
            train_epoch(stack, optimizer, batches, device)

        notebook = timed(notebook_epoch, n, device)

        cfg = StrategyConfig(
            name=args.strategy, fusion=args.strategy,
            model=ModelParams(fusion=args.strategy, feature_dim=args.feature_dim),
            train=dataclasses.replace(TrainParams(), epochs=2, batch_size=bs, lr=1e-4,
                                      seeds=tuple(range(k)), device=str(device)))
        splits = {"train": list(range(n)), "val": list(range(0, n, 8))}
        plans = {}
        for plan in ("sequence", "threads", "stack") if device.type == "cpu" else (
                "sequence", "stack"):
            run = functools.partial(train, cfg, data, splits, stats, progress=False, plan=plan)
            plans[plan] = timed(run, k * n * cfg.train.epochs, device)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (
        f"CPU, {torch.get_num_threads()} threads")
    print(f"strategy {args.strategy}, feature_dim {args.feature_dim}, {n} samples of "
          f"{args.image_size}x{args.image_size}, batch {bs}, device {name}, "
          f"torch {torch.__version__}")
    print(f"(a) our training loop         {ours:9.1f} samples/s")
    print(f"(b) bare forward+backward     {ceiling:9.1f} samples/s  (ceiling)")
    print(f"(c) notebook-style DataLoader {notebook:9.1f} samples/s")
    print(f"(a)/(b) = {ours / ceiling:.3f}   (a)/(c) = {ours / notebook:.2f}")
    print(f"{k} seeds, `fusion.models.training.train` for 2 epochs with validation, by plan:")
    for plan, speed in plans.items():
        print(f"    {plan:9s} {speed:9.1f} samples/s  x{speed / plans['sequence']:.2f}")
    print(f"plan chosen on this device: {seed_plan(device, k)}")

if __name__ == "__main__":
    main()
