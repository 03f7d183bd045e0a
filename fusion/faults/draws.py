"""Random draws shared by the faults (on the inputs' device, from the caller's generator)."""

from __future__ import annotations

import torch


def pick(shape: tuple[int, ...], fraction: float, generator: torch.Generator,
         device: torch.device) -> torch.Tensor:
    """Bool `shape` with exactly round(fraction * shape[-1]) True along the last dim, at random
    places; for one generator state a larger fraction picks a superset."""
    count = round(fraction * shape[-1])
    ranks = torch.rand(shape, generator=generator, device=device).argsort(-1).argsort(-1)
    return ranks < count
