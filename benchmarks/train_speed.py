"""Benchmark the training loop against its ceiling and against a notebook-style loader.

    uv run python benchmarks/train_speed.py [--strategy hadamard] [--samples 1024] [--device auto]

On the same model (notebook A's configuration: feature_dim 128, 64x64) and the same data, in
one run, it measures training samples/s of:
  (a) our loop: `fusion.training.train_epoch` over batches indexed from normalised tensors;
  (b) the ceiling: bare forward + backward + step on ready, pre-sliced tensors;
  (c) the notebooks' way: the same `train_epoch` fed by a `Dataset` that opens and converts each
      sample's PNG and .npy on every access, through a `DataLoader` with 2 workers.
"""

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from fusion import devices, strategies
from fusion.dataset import decode_pair, load_raw, scan
from fusion.geometry import depth_to_xyza
from fusion.normalize import Normalizer
from fusion.params import Counts, ModelParams, SyntheticParams
from fusion.stats import compute_stats
from fusion.synthetic import generate
from fusion.training import (
    Inputs,
    index_batches,
    split_inputs,
    train_epoch,
)


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


def fresh(name: str, image_size: int, device, lr: float = 1e-4):
    torch.manual_seed(0)
    model = strategies.build(name, ModelParams(fusion=name, feature_dim=128), image_size)
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model, torch.optim.Adam(model.parameters(), lr=lr)


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


def bare_steps(model, optimizer, inputs: Inputs, batch_size: int, device) -> None:
    """Forward + backward + step on ready, contiguous slices: no indexing, no loss bookkeeping."""
    model.train()
    for rgb, xyza, y in zip(inputs.rgb.split(batch_size), inputs.xyza.split(batch_size),
                            inputs.labels.split(batch_size), strict=True):
        with devices.autocast(device):
            loss = torch.nn.functional.cross_entropy(model(rgb, xyza).float(), y)
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
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
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
        n, bs = len(inputs), args.batch_size
        generator = torch.Generator().manual_seed(0)

        model, optimizer = fresh(args.strategy, args.image_size, device)
        ours = timed(lambda: train_epoch(model, optimizer, index_batches(inputs, bs, generator),
                                         device), n, device)
        model, optimizer = fresh(args.strategy, args.image_size, device)
        ceiling = timed(lambda: bare_steps(model, optimizer, inputs, bs, device), n, device)
        loader = DataLoader(NotebookStyleDataset(raw, Normalizer(stats)), batch_size=bs,
                            shuffle=True, num_workers=2, generator=generator,
                            persistent_workers=True, pin_memory=device.type == "cuda")
        model, optimizer = fresh(args.strategy, args.image_size, device)
        notebook = timed(lambda: train_epoch(model, optimizer, loader, device), n, device)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (
        f"CPU, {torch.get_num_threads()} threads")
    print(f"strategy {args.strategy}, {n} samples of {args.image_size}x{args.image_size}, "
          f"batch {bs}, device {name}")
    print(f"(a) our training loop         {ours:9.1f} samples/s")
    print(f"(b) bare forward+backward     {ceiling:9.1f} samples/s  (ceiling)")
    print(f"(c) notebook-style DataLoader {notebook:9.1f} samples/s")
    print(f"(a)/(b) = {ours / ceiling:.3f}   (a)/(c) = {ours / notebook:.2f}")


if __name__ == "__main__":
    main()
