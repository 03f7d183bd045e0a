"""Intermediate fusion by FiLM: LiDAR features modulate the RGB features per channel."""

from __future__ import annotations

import torch
from torch import nn

from fusion.models.nets import Fusion, IntermediateFusion
from fusion.params import ModelParams


class FiLM(Fusion):
    """Feature-wise linear modulation (Perez et al., 2018) of RGB by LiDAR.

    gamma, beta = Linear(mean over the grid of b), each (B, C); fused = (1 + gamma) * a + beta,
    broadcast over the grid. Shapes: a, b (B, C, h, w) -> (B, C, h, w). The linear layer starts
    at zero, so the op starts as the identity on a (LiDAR's path opens after the first update).
    Extra parameters: Linear C -> 2C, 2C^2 + 2C = 33,024 for C = 128.
    """

    def __init__(self, channels: int):
        super().__init__(channels)
        self.scale_shift = nn.Linear(channels, 2 * channels)
        nn.init.zeros_(self.scale_shift.weight)
        nn.init.zeros_(self.scale_shift.bias)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.scale_shift(b.mean(dim=(2, 3)))[..., None, None].chunk(2, dim=1)
        return (1 + gamma) * a + beta


def build(model_params: ModelParams, image_size: int) -> IntermediateFusion:
    return IntermediateFusion(FiLM(model_params.feature_dim), image_size)
