"""Intermediate fusion by channel concatenation, RGB channels first."""

from __future__ import annotations

import torch

from fusion.models.nets import Fusion, IntermediateFusion
from fusion.params import ModelParams


class Concat(Fusion):
    """a, b (B, C, h, w) -> [a; b] (B, 2C, h, w). No parameters; the head doubles instead."""

    def __init__(self, channels: int):
        super().__init__(channels, out_channels=2 * channels)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, b], dim=1)


def build(model_params: ModelParams, image_size: int) -> IntermediateFusion:
    return IntermediateFusion(Concat(model_params.feature_dim), image_size)
