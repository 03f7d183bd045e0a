"""Late (decision-level) fusion: a product of two unimodal experts."""

from __future__ import annotations

import torch
from torch import nn

from fusion.models.nets import LIDAR_CHANNELS, RGB_CHANNELS, Classifier
from fusion.params import ModelParams


class LateFusion(nn.Module):
    """Two complete unimodal classifiers whose log-probabilities are averaged.

    rgb -> RGB classifier -> (B, 2); xyza -> LiDAR classifier -> (B, 2); the fused logits are
    (log_softmax(rgb_logits) + log_softmax(lidar_logits)) / 2, so their softmax is the normalised
    geometric mean of the two experts' probabilities (a product of experts). The modalities meet
    only in this average. Notebook A's "late" model was in fact intermediate fusion by embedding
    concatenation; its parameter count equals `concat`'s, not this model's.
    """

    def __init__(self, feature_dim: int, image_size: int):
        super().__init__()
        self.rgb_classifier = Classifier(RGB_CHANNELS, feature_dim, image_size)
        self.lidar_classifier = Classifier(LIDAR_CHANNELS, feature_dim, image_size)

    def forward(self, rgb: torch.Tensor, xyza: torch.Tensor) -> torch.Tensor:
        rgb_log_probs = self.rgb_classifier(rgb).log_softmax(dim=-1)
        lidar_log_probs = self.lidar_classifier(xyza).log_softmax(dim=-1)
        return (rgb_log_probs + lidar_log_probs) / 2


def build(model_params: ModelParams, image_size: int) -> LateFusion:
    return LateFusion(model_params.feature_dim, image_size)
