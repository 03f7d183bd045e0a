"""Per-channel normalisation of both modalities with the train-split statistics.

RGB (uint8) is scaled to [0, 1], then standardised per channel. XYZ is standardised with
statistics of valid returns only and set to 0 where a = 0 (a missing return carries no
geometry; the alpha channel tells the network which pixels those are). The alpha channel is
standardised like any other channel. A constant channel (std 0, e.g. RGB alpha) gets std 1.
"""

from __future__ import annotations

import torch


class Normalizer:
    def __init__(self, stats: dict, device: torch.device | str = "cpu"):
        def vec(key):
            return torch.tensor(stats[key], dtype=torch.float32, device=device).view(1, -1, 1, 1)

        self.rgb_mean, self.rgb_std = vec("rgb_mean"), vec("rgb_std")
        self.xyza_mean, self.xyza_std = vec("xyza_mean"), vec("xyza_std")

    def rgb(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 4, H, W) uint8 -> float32, standardised."""
        return (rgb.float() / 255.0 - self.rgb_mean) / self.rgb_std

    def xyza(self, xyza: torch.Tensor) -> torch.Tensor:
        """(B, 4, H, W) float32 XYZA -> standardised; XYZ = 0 where a = 0."""
        out = (xyza - self.xyza_mean) / self.xyza_std
        valid = xyza[:, 3:4] > 0.5
        return torch.cat([out[:, :3] * valid, out[:, 3:]], dim=1)
