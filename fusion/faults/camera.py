"""Camera faults: RGBA (N, 4, H, W) in [0, 255] -> float32 (N, 4, H, W), colour channels
clipped to [0, 255] as the sensor saturates, alpha untouched; values are not re-quantised."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from fusion.faults import register
from fusion.faults.draws import pick

VEIL = 128.0  # grey level of the fog's airlight


def _colour(rgb: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
    """A new float32 RGBA: colour (N, 3, H, W) clipped to [0, 255], rgb's alpha."""
    return torch.cat([colour.clamp(0, 255), rgb[:, 3:].float()], dim=1)


@register("darkness", "camera", (1, 2, 4, 6), "stops darker (gain 2^-s)", (0, 16))
def darkness(rgb: torch.Tensor, stops: float, generator: torch.Generator) -> torch.Tensor:
    """Low gain / under-exposure: every pixel value times 2^-stops."""
    return _colour(rgb, rgb[:, :3].float() * 2.0**-stops)


@register("overexposure", "camera", (1, 2, 3, 4), "stops brighter (gain 2^s)", (0, 16))
def overexposure(rgb: torch.Tensor, stops: float, generator: torch.Generator) -> torch.Tensor:
    """Over-exposure: every pixel value times 2^stops, saturating at 255."""
    return _colour(rgb, rgb[:, :3].float() * 2.0**stops)


@register("haze", "camera", (0.25, 0.5, 0.75, 0.9), "veil fraction 1 - t", (0, 1))
def haze(rgb: torch.Tensor, veil: float, generator: torch.Generator) -> torch.Tensor:
    """Fog or haze: I t + A (1 - t), contrast lost toward a grey airlight A = VEIL."""
    return _colour(rgb, rgb[:, :3].float() * (1 - veil) + VEIL * veil)


def _line_kernels(length: float, angles: torch.Tensor) -> torch.Tensor:
    """(N, K, K) normalised kernels of a line `length` pixels long at `angles` (N,) radians,
    antialiased: weights fall off linearly within a pixel of the line."""
    radius = math.ceil(length / 2)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=angles.device)
    dy, dx = offsets.view(1, -1, 1), offsets.view(1, 1, -1)
    cos, sin = angles.cos().view(-1, 1, 1), angles.sin().view(-1, 1, 1)
    along, across = dx * cos + dy * sin, (dy * cos - dx * sin).abs()  # (N, K, K)
    weight = (1 - across).clamp(min=0) * ((length + 1) / 2 - along.abs()).clamp(0, 1)
    return weight / weight.sum(dim=(1, 2), keepdim=True)


@register("motion_blur", "camera", (2, 3, 5, 8), "kernel length (pixels)", (0, 64))
def motion_blur(rgb: torch.Tensor, length: float, generator: torch.Generator) -> torch.Tensor:
    """Motion blur: a line kernel `length` pixels long, in a random direction per sample."""
    n, _, h, w = rgb.shape
    angles = math.pi * torch.rand(n, generator=generator, device=rgb.device)
    kernels = _line_kernels(length, angles).repeat_interleave(3, dim=0)  # (3N, K, K)
    radius = kernels.shape[-1] // 2
    colour = F.pad(rgb[:, :3].float().reshape(1, 3 * n, h, w), (radius,) * 4, mode="replicate")
    blurred = F.conv2d(colour, kernels.unsqueeze(1), groups=3 * n)  # (1, 3N, H, W)
    return _colour(rgb, blurred.view(n, 3, h, w))


@register("occlusion", "camera", (0.05, 0.1, 0.25, 0.5), "fraction of the image area", (0, 1))
def occlusion(rgb: torch.Tensor, area: float, generator: torch.Generator) -> torch.Tensor:
    """Occlusion (dirt, a leaf): a black square of `area` of the image, placed at random.

    For one generator state a larger square covers the smaller one."""
    n, _, h, w = rgb.shape
    side = (round(math.sqrt(area) * h), round(math.sqrt(area) * w))  # rows, columns

    def span(size: int, length: int) -> torch.Tensor:  # (N, size) bool: inside the patch
        start = torch.rand(n, 1, generator=generator, device=rgb.device) * (size - length + 1)
        index = torch.arange(size, device=rgb.device)
        return (index >= start.floor()) & (index < start.floor() + length)

    inside = span(h, side[0]).unsqueeze(2) & span(w, side[1]).unsqueeze(1)  # (N, H, W)
    return _colour(rgb, rgb[:, :3].float().masked_fill(inside.unsqueeze(1), 0.0))


@register("camera_noise", "camera", (0.02, 0.05, 0.1, 0.2), "std, fraction of full scale",
          (0, 1))
def camera_noise(rgb: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    """Sensor noise: Gaussian, `std` of full scale, on every pixel and colour channel."""
    noise = torch.randn(rgb[:, :3].shape, generator=generator, device=rgb.device)
    return _colour(rgb, rgb[:, :3].float() + 255 * std * noise)


@register("missing_camera", "camera", (0.25, 0.5, 0.75, 1.0), "fraction of frames", (0, 1))
def missing_camera(rgb: torch.Tensor, fraction: float, generator: torch.Generator) -> torch.Tensor:
    """Missing camera: that fraction of frames all black (alpha 255), as a dead camera writes."""
    dead = pick((len(rgb),), fraction, generator, rgb.device)
    return _colour(rgb, rgb[:, :3].float().masked_fill(dead.view(-1, 1, 1, 1), 0.0))
