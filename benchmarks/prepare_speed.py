"""Benchmark `prepare`: pairs/s decoding the course layout into the tensor cache.

    uv run python benchmarks/prepare_speed.py [--samples 19998] [--image-size 64]

Renders a synthetic data set of the course's size (64x64, half cubes, half spheres) into a
temporary folder, then times `prepare` on it, at the native size and resized to half.
"""

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from fusion.dataset import load_raw, prepare
from fusion.params import Counts, SyntheticParams
from fusion.synthetic import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=19_998)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    half = args.samples // 2
    synthetic = dataclasses.replace(SyntheticParams(), image_size=args.image_size,
                                    counts=Counts(cubes=half, spheres=args.samples - half))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        generated = generate(synthetic, raw, progress=False)
        print(f"generate: {args.samples} samples at {args.image_size}x{args.image_size} in "
              f"{generated['seconds']:.1f} s ({generated['samples_per_s']:.0f} samples/s)")
        for size in (args.image_size, args.image_size // 2):
            start = time.perf_counter()
            data, _ = load_raw(raw, size, progress=False)
            decoded = time.perf_counter() - start
            start = time.perf_counter()
            report = prepare(raw, Path(tmp) / f"prepared{size}", size, progress=False)
            seconds = time.perf_counter() - start
            print(f"prepare -> {size}x{size}: {len(data.labels)} pairs decoded and converted in "
                  f"{decoded:.2f} s ({len(data.labels) / decoded:.0f} pairs/s); with the cache "
                  f"written {seconds:.2f} s ({report['samples'] / seconds:.0f} pairs/s)")


if __name__ == "__main__":
    main()
