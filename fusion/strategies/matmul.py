"""Intermediate fusion by a per-channel matrix product of the two feature maps."""

from __future__ import annotations

import torch

from fusion.models.nets import Fusion, IntermediateFusion
from fusion.params import ModelParams


class MatMul(Fusion):
    """a, b (B, C, h, h) -> a @ b per channel (B, C, h, h): row i of the RGB map against column
    j of the LiDAR map. Needs a square grid; no parameters. As in notebook A."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


def build(model_params: ModelParams, image_size: int) -> IntermediateFusion:
    return IntermediateFusion(MatMul(model_params.feature_dim), image_size)
