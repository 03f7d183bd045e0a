"""Intermediate fusion by a learned gate between the two feature maps (GMU-style)."""

from __future__ import annotations

import torch
from torch import nn

from fusion.models.nets import Fusion, IntermediateFusion
from fusion.params import ModelParams


class Gated(Fusion):
    """Gated multimodal unit (Arevalo et al., 2017) without its tanh projections.

    z = sigmoid(conv1x1([a; b])), one gate per channel and position; fused = z * a + (1 - z) * b.
    Shapes: a, b (B, C, h, w) -> z and fused (B, C, h, w). Without the projections the output
    is a convex combination of the two maps, so it lies elementwise between a and b and differs
    from `add` only by the learned weighting.
    Extra parameters: conv1x1 2C -> C, 2C^2 + C = 32,896 for C = 128.
    """

    def __init__(self, channels: int):
        super().__init__(channels)
        self.gate = nn.Conv2d(2 * channels, channels, kernel_size=1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        z = torch.sigmoid(self.gate(torch.cat([a, b], dim=1)))
        return z * a + (1 - z) * b


def build(model_params: ModelParams, image_size: int) -> IntermediateFusion:
    return IntermediateFusion(Gated(model_params.feature_dim), image_size)
