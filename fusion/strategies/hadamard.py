"""Intermediate fusion by element-wise (Hadamard) product."""

from __future__ import annotations

import torch

from fusion.models.nets import Fusion, IntermediateFusion
from fusion.params import ModelParams


class Hadamard(Fusion):
    """a, b (B, C, h, w) -> a * b (B, C, h, w). No parameters."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


def build(model_params: ModelParams, image_size: int) -> IntermediateFusion:
    return IntermediateFusion(Hadamard(model_params.feature_dim), image_size)
