"""Classify samples with an exported model.

    uv run python -m fusion.predict --folder DATA_ROOT            # a folder in the course layout
    uv run python -m fusion.predict --rgb 0000.png --depth 0000.npy --azimuth azimuth.npy \\
        --zenith zenith.npy                                       # one sample

Prints one line per sample: its id, the predicted class and that class's probability; for a
folder, also the accuracy against the class folders.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from fusion.dataset import decode_pair, load_angles, load_raw, to_tensors
from fusion.normalize import Normalizer
from fusion.training import load_checkpoint


@torch.inference_mode()
def classify(model, checkpoint: dict, rgb: np.ndarray, xyza: np.ndarray) -> tuple[list, np.ndarray]:
    """Prepared arrays (N, 4, H, W) -> (predicted class names, their probabilities)."""
    normalizer = Normalizer(checkpoint["stats"])
    rgb, xyza = torch.tensor(rgb), torch.tensor(xyza)  # copies: the arrays may be read-only views
    logits = model(normalizer.rgb(rgb), normalizer.xyza(xyza))
    probs, predicted = logits.softmax(dim=1).max(dim=1)
    return [checkpoint["classes"][i] for i in predicted.tolist()], probs.numpy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/model.pt"))
    parser.add_argument("--folder", type=Path, help="data root in the course layout")
    parser.add_argument("--rgb", type=Path, help="RGBA PNG of one sample")
    parser.add_argument("--depth", type=Path, help="LiDAR depth .npy of the same sample")
    parser.add_argument("--azimuth", type=Path, help="azimuth.npy (one angle per row)")
    parser.add_argument("--zenith", type=Path, help="zenith.npy (one angle per column)")
    args = parser.parse_args(argv)
    single = [args.rgb, args.depth, args.azimuth, args.zenith]
    if (args.folder is not None and any(single)) or (args.folder is None and not all(single)):
        parser.error("give either --folder, or all of --rgb --depth --azimuth --zenith")

    model, checkpoint = load_checkpoint(args.model)
    size, max_range = checkpoint["image_size"], checkpoint["max_range"]
    if args.folder:
        data, _ = load_raw(args.folder, size, max_range, skip_invalid=True, progress=False)
        ids, rgb, xyza = data.index["id"].tolist(), data.rgb, data.xyza
    else:
        azimuth, zenith = load_angles(args.azimuth), load_angles(args.zenith)
        rgba, depth = decode_pair(args.rgb, args.depth, (len(azimuth), len(zenith)))
        rgb, xyza = to_tensors(rgba.transpose(2, 0, 1)[None], depth[None], azimuth, zenith, size,
                               max_range)
        ids = [args.rgb.stem]
    names, probs = classify(model, checkpoint, rgb, xyza)
    for sample, name, prob in zip(ids, names, probs, strict=True):
        print(f"{sample}\t{name}\t{prob:.4f}")
    if args.folder and set(data.classes) <= set(checkpoint["classes"]):
        truth = [data.classes[label] for label in data.labels]
        accuracy = np.mean([t == n for t, n in zip(truth, names, strict=True)])
        print(f"accuracy {accuracy:.4f} over {len(names)} samples")


if __name__ == "__main__":
    main()
