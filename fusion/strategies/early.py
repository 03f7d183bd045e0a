"""Early fusion: RGBA and XYZA stacked to 8 input channels, one encoder, one head."""

from __future__ import annotations

import torch
from torch import nn

from fusion.models.nets import LIDAR_CHANNELS, RGB_CHANNELS, Classifier
from fusion.params import ModelParams


class EarlyFusion(nn.Module):
    """rgb, xyza (B, 4, H, W) -> concatenated (B, 8, H, W) -> one classifier -> (B, 2)."""

    def __init__(self, feature_dim: int, image_size: int):
        super().__init__()
        self.classifier = Classifier(RGB_CHANNELS + LIDAR_CHANNELS, feature_dim, image_size)

    def forward(self, rgb: torch.Tensor, xyza: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.cat([rgb, xyza], dim=1))


def build(model_params: ModelParams, image_size: int) -> EarlyFusion:
    return EarlyFusion(model_params.feature_dim, image_size)
