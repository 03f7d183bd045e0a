"""Classify samples with an exported model.

    uv run python -m fusion.predict --folder DATA_ROOT --output predictions.csv  # course layout
    uv run python -m fusion.predict --rgb 0000.png --depth 0000.npy --azimuth azimuth.npy \\
        --zenith zenith.npy                                                      # one sample

A folder is streamed: its pairs are decoded and converted `--batch-size` at a time, the next
batch in a thread while the model classifies the current one, so memory does not grow with the
folder. Prints one tab-separated line per sample (id, predicted
class, its probability); for a folder, also the accuracy against the class folders. Every file
left out (corrupt, unmatched or foreign) is named on stderr with the reason, then counted.
`--output` also writes a CSV: id, class (the class folder; empty for one sample), predicted, and
one p_<class> column per class of the model.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from fusion import devices
from fusion.data.dataset import (
    ClassFolder,
    CorruptFile,
    DatasetError,
    NpyReader,
    decode_pair,
    load_angles,
    scan,
    to_tensors,
)
from fusion.data.normalize import Normalizer
from fusion.io import atomic_path
from fusion.models.checkpoint import load_checkpoint


@dataclass
class Batch:
    ids: list[str]
    truth: list[str]  # the class folder of each sample; "" when unknown
    rgb: np.ndarray  # uint8 (B, 4, S, S)
    xyza: np.ndarray  # float32 (B, 4, S, S)


def convert(rgba: list[np.ndarray], depth: list[np.ndarray], azimuth: np.ndarray,
            zenith: np.ndarray, image_size: int, max_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Decoded pairs, rgba (H, W, 4) and depth (H, W) each -> rgb, xyza (B, 4, S, S)."""
    rgb = np.stack([image.transpose(2, 0, 1) for image in rgba])  # (B, 4, H, W), a fresh copy
    depth = np.stack(depth).astype(np.float32, copy=False)  # (B, H, W)
    return to_tensors(rgb, depth, azimuth, zenith, image_size, max_range)


def folder_batches(classes: list[ClassFolder], batch_size: int, image_size: int,
                   max_range: float, skip: Callable[[Path, str], None]) -> Iterator[Batch]:
    """Decode and convert the pairs of `classes` (from `scan`) at most `batch_size` at a time.

    A batch holds pairs of one class folder (the angles are per folder). Calls `skip(path,
    reason)` for every file left out: unmatched, not a sample file, or corrupt (the pair is
    dropped).
    """
    for c in classes:
        for stem in c.unmatched_rgb:
            skip(c.root / "rgb" / f"{stem}.png", "no LiDAR file with the same stem")
        for stem in c.unmatched_lidar:
            skip(c.root / "lidar" / f"{stem}.npy", "no RGB file with the same stem")
        for name in c.ignored:  # relative to the data root
            skip(c.root.parent / name, "not an RGB .png or LiDAR .npy sample file")
        read_npy = NpyReader()
        for start in range(0, len(c.stems), batch_size):
            ids, rgba, depth = [], [], []
            for stem in c.stems[start : start + batch_size]:
                try:
                    image, d = decode_pair(c.root / "rgb" / f"{stem}.png",
                                           c.root / "lidar" / f"{stem}.npy", c.shape, read_npy)
                except CorruptFile as e:
                    skip(e.path, e.reason)
                    continue
                ids.append(f"{c.name}/{stem}")
                rgba.append(image)
                depth.append(d)
            if ids:
                rgb, xyza = convert(rgba, depth, c.azimuth, c.zenith, image_size, max_range)
                yield Batch(ids, [c.name] * len(ids), rgb, xyza)


def prefetch(batches: Iterator[Batch]) -> Iterator[Batch]:
    """Prepare the next batch in a thread while the current one is classified."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, batches, None)
        while (batch := future.result()) is not None:
            future = pool.submit(next, batches, None)
            yield batch


@torch.inference_mode()
def classify(model: torch.nn.Module, normalizer: Normalizer, rgb: np.ndarray, xyza: np.ndarray,
             device: torch.device) -> np.ndarray:
    """Prepared arrays (B, 4, S, S) -> class probabilities (B, C), float32."""
    layout = devices.memory_format(device)

    def to(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).to(device).contiguous(memory_format=layout)

    logits = model(normalizer.rgb(to(rgb)), normalizer.xyza(to(xyza)))
    return logits.float().softmax(dim=1).cpu().numpy()


def run(model: torch.nn.Module, checkpoint: dict, batches: Iterable[Batch], device: torch.device,
        output: Path | None = None) -> tuple[int, int | None]:
    """Classify `batches`, printing a line per sample and writing the CSV (atomically) if asked.

    Returns the number of samples and of correct predictions (None if some truth is unknown
    to the model).
    """
    classes = checkpoint["classes"]
    model = model.to(device, memory_format=devices.memory_format(device))
    normalizer = Normalizer(checkpoint["stats"], device)
    total, correct = 0, 0
    with contextlib.ExitStack() as stack:
        if output is not None:  # a temp file, renamed onto `output` once complete
            tmp = stack.enter_context(atomic_path(output))
            table = csv.writer(stack.enter_context(open(tmp, "w", newline="")))
            table.writerow(["id", "class", "predicted", *(f"p_{name}" for name in classes)])
        for batch in batches:
            probs = classify(model, normalizer, batch.rgb, batch.xyza, device)  # (B, C)
            predicted = [classes[k] for k in probs.argmax(axis=1)]
            print("\n".join(f"{sample}\t{name}\t{p.max():.4f}"
                            for sample, name, p in zip(batch.ids, predicted, probs, strict=True)))
            if output is not None:
                rows = zip(batch.ids, batch.truth, predicted, probs, strict=True)
                table.writerows([s, t, n, *(f"{v:.6g}" for v in p)] for s, t, n, p in rows)
            total += len(batch.ids)
            if correct is not None and set(batch.truth) <= set(classes):
                correct += sum(t == n for t, n in zip(batch.truth, predicted, strict=True))
            else:
                correct = None
    return total, correct


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/model.pt"))
    parser.add_argument("--folder", type=Path, help="data root in the course layout")
    parser.add_argument("--rgb", type=Path, help="RGBA PNG of one sample")
    parser.add_argument("--depth", type=Path, help="LiDAR depth .npy of the same sample")
    parser.add_argument("--azimuth", type=Path, help="azimuth.npy (one angle per row)")
    parser.add_argument("--zenith", type=Path, help="zenith.npy (one angle per column)")
    parser.add_argument("--output", type=Path, help="also write the predictions to this CSV")
    parser.add_argument("--batch-size", type=int, default=256, help="samples per forward pass")
    parser.add_argument("--device", default="auto", help=devices.FORMS)
    args = parser.parse_args(argv)
    single = [args.rgb, args.depth, args.azimuth, args.zenith]
    if (args.folder is not None and any(single)) or (args.folder is None and not all(single)):
        parser.error("give either --folder, or all of --rgb --depth --azimuth --zenith")
    if args.batch_size < 1:
        parser.error(f"--batch-size: expected an integer >= 1, got {args.batch_size}")
    try:
        device = devices.resolve(args.device, key="--device")
    except (ValueError, RuntimeError) as e:
        parser.error(str(e))

    model, checkpoint = load_checkpoint(args.model)
    size, max_range = checkpoint["image_size"], checkpoint["max_range"]
    skipped = []

    def skip(path: Path, reason: str) -> None:
        skipped.append(path)
        print(f"skipped {path}: {reason}", file=sys.stderr, flush=True)

    try:
        if args.folder:
            classes = scan(args.folder)
            for c in classes:
                if size > min(c.shape):
                    raise DatasetError(f"{c.root}: native size {c.shape} is smaller than the "
                                       f"model's input size {size}")
            batches = prefetch(folder_batches(classes, args.batch_size, size, max_range, skip))
        else:
            azimuth, zenith = load_angles(args.azimuth), load_angles(args.zenith)
            rgba, depth = decode_pair(args.rgb, args.depth, (len(azimuth), len(zenith)))
            rgb, xyza = convert([rgba], [depth], azimuth, zenith, size, max_range)
            batches = [Batch([args.rgb.stem], [""], rgb, xyza)]
    except (DatasetError, CorruptFile) as e:
        sys.exit(f"error: {e}")
    total, correct = run(model, checkpoint, batches, device, args.output)
    if args.folder:
        print(f"skipped {len(skipped)} file(s); classified {total} samples", file=sys.stderr)
        if correct is not None and total:
            print(f"accuracy {correct / total:.4f} over {total} samples")


if __name__ == "__main__":
    main()
