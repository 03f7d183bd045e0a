"""Benchmark: does batching pay? Batch-1 latency against throughput at larger batches, measured
in the same run with `fusion.evaluation.metrics`'s own timers (medians of repeated forward passes).

    uv run python benchmarks/batching.py [--strategy hadamard] [--image-size 64]
        [--batch-sizes 16 64 256] [--repeats 30] [--device cpu]

An untrained model of `--strategy` (timing does not depend on the weights). Prints samples/s
at batch 1 (1000 / latency) and at each batch size, and the speed-up over batch 1. Kept out of
the tests: on a loaded machine the comparison can come out either way.
"""

import argparse

import torch

from fusion import devices, strategies
from fusion.evaluation.metrics import latency_ms, throughput
from fusion.params import ModelParams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="hadamard", help="a registered fusion op")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cpu", help=devices.FORMS)
    args = parser.parse_args()
    device = devices.resolve(args.device, key="--device")
    torch.manual_seed(0)
    model = strategies.build(args.strategy, ModelParams(fusion=args.strategy), args.image_size)
    model = model.to(device, memory_format=devices.memory_format(device))
    single = 1000 / latency_ms(model, args.image_size, device, args.repeats)
    print(f"{args.strategy}, {args.image_size}x{args.image_size}, {device}, "
          f"{torch.get_num_threads()} threads")
    print(f"batch    1: {single:10.0f} samples/s")
    for batch_size in args.batch_sizes:
        rate = throughput(model, args.image_size, device, batch_size, args.repeats)
        print(f"batch {batch_size:4d}: {rate:10.0f} samples/s  ({rate / single:.1f}x batch 1)")


if __name__ == "__main__":
    main()
