"""LiDAR faults: raw XYZA (N, 4, H, W) float32 metres -> a new XYZA.

A lost return becomes a missing return as the sensor writes one (alpha 0, XYZ at `max_range`
along its ray); a spurious return gets alpha 1 and a range along its ray. Rays never change.
Rows follow azimuth and columns zenith: one beam (a laser at one elevation) is one COLUMN.
"""

from __future__ import annotations

import math

import torch

from fusion.faults import register
from fusion.faults.draws import pick

MIN_RANGE = 0.01  # metres: range noise never moves a return behind the sensor
NEAR = (1.0, 5.0)  # metres: where fog scatters spurious returns
BACKSCATTER = 1.0  # metres of fog whose backscatter a pixel sees: P(spurious) = 1 - e^(-a B)


def rays(xyza: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) unit ray of every pixel, returns or not."""
    return xyza[:, :3] / xyza[:, :3].norm(dim=1, keepdim=True).clamp_min(MIN_RANGE)


def lose(xyza: torch.Tensor, lost: torch.Tensor, max_range: float) -> torch.Tensor:
    """XYZA with the returns where `lost` (broadcast to (N, 1, H, W)) made missing."""
    lost = lost & (xyza[:, 3:] > 0.5)
    xyz = torch.where(lost, rays(xyza) * max_range, xyza[:, :3])
    return torch.cat([xyz, xyza[:, 3:].masked_fill(lost, 0.0)], dim=1)


def place(xyza: torch.Tensor, where: torch.Tensor, distance: torch.Tensor) -> torch.Tensor:
    """XYZA with a return at `distance` metres along its ray where `where` (N, 1, H, W)."""
    xyz = torch.where(where, rays(xyza) * distance, xyza[:, :3])
    return torch.cat([xyz, xyza[:, 3:].masked_fill(where, 1.0)], dim=1)


def _uniform(xyza: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) uniform draws in [0, 1), one per pixel."""
    n, _, h, w = xyza.shape
    return torch.rand((n, 1, h, w), generator=generator, device=xyza.device)


@register("beam_loss", "lidar", (0.1, 0.25, 0.5, 0.75), "fraction of beams", (0, 1))
def beam_loss(xyza: torch.Tensor, fraction: float, generator: torch.Generator,
              max_range: float) -> torch.Tensor:
    """Beam loss: that fraction of beams (range-image COLUMNS) lost, chosen per sample."""
    n, _, _, w = xyza.shape
    return lose(xyza, pick((n, w), fraction, generator, xyza.device).view(n, 1, 1, w), max_range)


@register("point_loss", "lidar", (0.1, 0.25, 0.5, 0.75), "fraction of returns", (0, 1))
def point_loss(xyza: torch.Tensor, fraction: float, generator: torch.Generator,
               max_range: float) -> torch.Tensor:
    """Point loss: each return lost with probability `fraction`."""
    return lose(xyza, _uniform(xyza, generator) < fraction, max_range)


@register("lidar_fog", "lidar", (0.05, 0.1, 0.125, 0.15, 0.3), "extinction (1/m)", (0, 10))
def lidar_fog(xyza: torch.Tensor, extinction: float, generator: torch.Generator,
              max_range: float) -> torch.Tensor:
    """Fog: returns beyond the visibility ln(20) / extinction lost; spurious near returns."""
    visibility = math.log(20) / extinction if extinction else math.inf  # metres
    distance = xyza[:, :3].norm(dim=1, keepdim=True)
    scattered = _uniform(xyza, generator) < 1 - math.exp(-extinction * BACKSCATTER)
    near = NEAR[0] + (NEAR[1] - NEAR[0]) * _uniform(xyza, generator)  # (N, 1, H, W) metres
    kept = lose(xyza, distance > visibility, max_range)
    return place(kept, scattered & (near < distance), near)  # the first return is reported


@register("crosstalk", "lidar", (0.01, 0.02, 0.05, 0.1), "fraction of pixels", (0, 1))
def crosstalk(xyza: torch.Tensor, fraction: float, generator: torch.Generator,
              max_range: float) -> torch.Tensor:
    """Crosstalk / impulse outliers: that fraction of pixels return at a uniform random range."""
    hit = _uniform(xyza, generator) < fraction
    distance = (max_range * _uniform(xyza, generator)).clamp_min(MIN_RANGE)
    return place(xyza, hit, distance)


@register("fov_loss", "lidar", (0.125, 0.25, 0.5, 0.75), "fraction of the azimuth span", (0, 1))
def fov_loss(xyza: torch.Tensor, fraction: float, generator: torch.Generator,
             max_range: float) -> torch.Tensor:
    """Field-of-view loss: a contiguous azimuth sector (range-image ROWS) lost, placed at random."""
    n, _, h, _ = xyza.shape
    count = round(fraction * h)
    start = (torch.rand(n, 1, generator=generator, device=xyza.device) * (h - count + 1)).floor()
    row = torch.arange(h, device=xyza.device)
    lost = (row >= start) & (row < start + count)  # (N, H)
    return lose(xyza, lost.view(n, 1, h, 1), max_range)


@register("range_noise", "lidar", (0.25, 0.5, 1.0, 2.0), "std (metres)", (0, 50))
def noisy_range(xyza: torch.Tensor, std: float, generator: torch.Generator,
                max_range: float) -> torch.Tensor:
    """Range noise: Gaussian noise of `std` metres on each return, along its ray."""
    distance = xyza[:, :3].norm(dim=1, keepdim=True).clamp_min(MIN_RANGE)
    noise = torch.randn(distance.shape, generator=generator, device=xyza.device)
    scale = (distance + std * noise).clamp_min(MIN_RANGE) / distance  # 1 exactly at std 0
    return torch.cat([torch.where(xyza[:, 3:] > 0.5, xyza[:, :3] * scale, xyza[:, :3]),
                      xyza[:, 3:]], dim=1)


@register("missing_lidar", "lidar", (0.25, 0.5, 0.75, 1.0), "fraction of frames", (0, 1))
def missing_lidar(xyza: torch.Tensor, fraction: float, generator: torch.Generator,
                  max_range: float) -> torch.Tensor:
    """Missing LiDAR: every return of that fraction of frames missing."""
    dead = pick((len(xyza),), fraction, generator, xyza.device)
    return lose(xyza, dead.view(-1, 1, 1, 1), max_range)
