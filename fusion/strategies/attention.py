"""Intermediate fusion by bidirectional cross-attention between the two token grids."""

from __future__ import annotations

import torch
from torch import nn

from fusion.models.nets import Fusion, IntermediateFusion, grid_size
from fusion.params import ModelParams


class CrossAttention(nn.Module):
    """Tokens x (B, N, C) attend to context (B, M, C): LayerNorm(x + MHA(x, context, context))."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.attention = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attention(x, context, context, need_weights=False)
        return self.norm(x + attended)


class CrossAttentionFusion(Fusion):
    """RGB tokens attend to LiDAR tokens and LiDAR tokens to RGB tokens; the two are summed.

    a, b (B, C, h, w) -> tokens (B, N, C), N = h * w, plus one learned positional embedding
    shared by both grids (they are pixel-aligned) -> two `CrossAttention` blocks -> sum
    -> (B, C, h, w). C must be divisible by `heads`.
    Extra parameters: two attention blocks (4C^2 + 4C each) and LayerNorms (2C each), plus the
    embedding (N * C): 8C^2 + 12C + NC = 140,800 for C = 128, N = 8 * 8 (64x64 inputs).
    """

    def __init__(self, channels: int, grid: int, heads: int):
        if channels % heads:
            raise ValueError(
                f"attention fusion: feature_dim {channels} is not divisible by heads {heads}"
            )
        super().__init__(channels)
        self.position = nn.Parameter(torch.zeros(1, grid * grid, channels))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.rgb_from_lidar = CrossAttention(channels, heads)
        self.lidar_from_rgb = CrossAttention(channels, heads)

    def streams(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The attended RGB and LiDAR tokens, (B, N, C) each."""
        rgb = a.flatten(2).transpose(1, 2) + self.position
        lidar = b.flatten(2).transpose(1, 2) + self.position
        return self.rgb_from_lidar(rgb, lidar), self.lidar_from_rgb(lidar, rgb)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        rgb, lidar = self.streams(a, b)
        return (rgb + lidar).transpose(1, 2).reshape(a.shape)


def build(model_params: ModelParams, image_size: int) -> IntermediateFusion:
    fusion = CrossAttentionFusion(
        model_params.feature_dim, grid_size(image_size), model_params.heads
    )
    return IntermediateFusion(fusion, image_size)
