"""Building blocks shared by every strategy.

`ConvEncoder` and `ClassifierHead` are notebook A's embedder and head, kept layer for layer so
parameter counts match its table. `Classifier` chains them for one input image; `Fusion` is the
base of the intermediate-fusion ops, and `IntermediateFusion` wraps any of them in two modality
encoders and a head whose input size follows from the op's `out_channels`; `Unimodal` is a
`Classifier` on one of the two inputs (the baselines).
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

RGB_CHANNELS = 4  # normalised RGBA
LIDAR_CHANNELS = 4  # normalised XYZ + validity
NUM_CLASSES = 2  # cube, sphere
DOWNSAMPLING = 8  # three 2x max-pools


def grid_size(image_size: int) -> int:
    """Side of the encoders' feature map for H = W = image_size."""
    if image_size < DOWNSAMPLING or image_size % DOWNSAMPLING:
        raise ValueError(f"image_size must be a positive multiple of 8, got {image_size}")
    return image_size // DOWNSAMPLING


class ConvEncoder(nn.Sequential):
    """(B, in_channels, H, W) -> (B, out_channels, H/8, W/8).

    Three blocks of conv3x3 (padding 1) -> ReLU -> max-pool 2x2, widths 32 -> 64 -> out_channels.
    """

    def __init__(self, in_channels: int, out_channels: int):
        widths = [in_channels, 32, 64, out_channels]
        layers = []
        for c_in, c_out in pairwise(widths):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        super().__init__(*layers)


class ClassifierHead(nn.Sequential):
    """(B, C, h, w) -> (B, 2) logits: flatten, then an MLP in_features -> 1000 -> 100 -> 2."""

    def __init__(self, in_features: int):
        super().__init__(
            nn.Flatten(),
            nn.Linear(in_features, 1000),
            nn.ReLU(),
            nn.Linear(1000, 100),
            nn.ReLU(),
            nn.Linear(100, NUM_CLASSES),
        )


class Classifier(nn.Sequential):
    """One image -> logits: (B, in_channels, H, W) -> encoder -> head -> (B, 2)."""

    def __init__(self, in_channels: int, feature_dim: int, image_size: int):
        super().__init__()
        self.encoder = ConvEncoder(in_channels, feature_dim)
        self.head = ClassifierHead(feature_dim * grid_size(image_size) ** 2)


class Unimodal(nn.Module):
    """One classifier on one modality: (B, 4, H, W) -> (B, 2).

    `forward(rgb, xyza)` keeps the shared signature but uses only `modality`'s input; the other
    has no encoder, so it cannot change the output and no gradient reaches it.
    """

    def __init__(self, modality: str, feature_dim: int, image_size: int):
        super().__init__()
        if modality not in ("rgb", "lidar"):
            raise ValueError(f"modality must be 'rgb' or 'lidar', got {modality!r}")
        self.modality = modality
        channels = RGB_CHANNELS if modality == "rgb" else LIDAR_CHANNELS
        self.classifier = Classifier(channels, feature_dim, image_size)

    def forward(self, rgb: torch.Tensor, xyza: torch.Tensor) -> torch.Tensor:
        return self.classifier(rgb if self.modality == "rgb" else xyza)

    def extra_repr(self) -> str:
        return f"modality={self.modality!r}"


class Fusion(nn.Module):
    """Base of the intermediate-fusion ops: `forward(a, b) -> fused`.

    a (RGB) and b (LiDAR) are (B, `channels`, h, w) feature maps; the fused map keeps the (h, w)
    grid and has `out_channels` (default: `channels`), from which `IntermediateFusion` sizes
    its head.
    """

    def __init__(self, channels: int, out_channels: int | None = None):
        super().__init__()
        self.channels = channels
        self.out_channels = channels if out_channels is None else out_channels


class IntermediateFusion(nn.Module):
    """Two modality encoders, a fusion op on their feature maps, one head.

    rgb, xyza (B, 4, H, W) -> encoders -> a, b (B, C, H/8, W/8) -> fusion(a, b)
    (B, C', H/8, W/8) -> head -> (B, 2), with C = fusion.channels, C' = fusion.out_channels.
    """

    def __init__(self, fusion: Fusion, image_size: int):
        super().__init__()
        self.rgb_encoder = ConvEncoder(RGB_CHANNELS, fusion.channels)
        self.lidar_encoder = ConvEncoder(LIDAR_CHANNELS, fusion.channels)
        self.fusion = fusion
        self.head = ClassifierHead(fusion.out_channels * grid_size(image_size) ** 2)

    def forward(self, rgb: torch.Tensor, xyza: torch.Tensor) -> torch.Tensor:
        return self.head(self.fusion(self.rgb_encoder(rgb), self.lidar_encoder(xyza)))
