"""Unimodal baselines: `rgb_only` and `lidar_only`."""

from __future__ import annotations

import torch
from torch import nn

from fusion.nets import LIDAR_CHANNELS, RGB_CHANNELS, Classifier
from fusion.params import ModelParams
from fusion.strategies import register

CHANNELS = {"rgb": RGB_CHANNELS, "lidar": LIDAR_CHANNELS}


class Unimodal(nn.Module):
    """One classifier on one modality: (B, 4, H, W) -> (B, 2).

    `forward(rgb, xyza)` keeps the shared signature but uses only `modality`'s input; the other
    has no encoder, so it cannot change the output and no gradient reaches it.
    """

    def __init__(self, modality: str, feature_dim: int, image_size: int):
        super().__init__()
        if modality not in CHANNELS:
            raise ValueError(f"modality must be one of {sorted(CHANNELS)}, got {modality!r}")
        self.modality = modality
        self.classifier = Classifier(CHANNELS[modality], feature_dim, image_size)

    def forward(self, rgb: torch.Tensor, xyza: torch.Tensor) -> torch.Tensor:
        return self.classifier(rgb if self.modality == "rgb" else xyza)

    def extra_repr(self) -> str:
        return f"modality={self.modality!r}"


@register("rgb_only")
def rgb_only(model_params: ModelParams, image_size: int) -> Unimodal:
    return Unimodal("rgb", model_params.feature_dim, image_size)


@register("lidar_only")
def lidar_only(model_params: ModelParams, image_size: int) -> Unimodal:
    return Unimodal("lidar", model_params.feature_dim, image_size)
