"""Misalignment between the sensors (a calibration error), and its translation control.

Moving one sensor's picture against the other's is also a translation out of the positions
seen in training: a model trained on aligned data loses accuracy even with one sensor. So each
misalignment (the camera moved, the range image not) has a control (both moved consistently:
the scene moved, each sensor seeing it in its own axes and scale through the `Rig`), drawn from
the same generator so that sample k gets the same transform in both. Misalignment = accuracy
under the fault against the control's, beside the unimodal baselines under the same control.

Pictures move by whole pixels (nearest pixel, no blending); what comes into view is what the
sensor writes where it sees nothing: black (alpha 255) for the camera, missing returns for the
LiDAR. A moved range-image pixel keeps its range on its own ray, so the sensor's geometry holds.
"""

from __future__ import annotations

import math

import torch

from fusion.faults import register
from fusion.faults.lidar import rays
from fusion.faults.rig import Rig

Pair = tuple[torch.Tensor, torch.Tensor]  # (rgb, xyza)


def _rotation(angles: torch.Tensor) -> torch.Tensor:
    """(N, 2, 2) rotations of (row, column) vectors by `angles` (N,) radians."""
    cos, sin = angles.cos(), angles.sin()
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)


def _sources(x: torch.Tensor, inverse: torch.Tensor, shift: torch.Tensor) -> tuple:
    """The pixel each output pixel p of x (N, C, H, W) takes, inverse (N, 2, 2) (p - c - shift
    (N, 2)) + c about the centre c, rounded: rows, columns (N, H, W) long, and (N, H, W) bool
    masks `inside` the image and `unmoved` (the pixel itself)."""
    n, _, h, w = x.shape
    grid = torch.stack(torch.meshgrid(torch.arange(h, device=x.device),
                                      torch.arange(w, device=x.device), indexing="ij"))
    centre = torch.tensor([(h - 1) / 2, (w - 1) / 2], device=x.device).view(1, 2, 1, 1)
    offset = grid.unsqueeze(0) - centre - shift.to(x.device).view(n, 2, 1, 1)  # (N, 2, H, W)
    source = torch.einsum("nij,njhw->nihw", inverse.to(x.device), offset) + centre
    rows, cols = source.round().long().unbind(1)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return rows, cols, inside, (rows == grid[0]) & (cols == grid[1])


def _gather(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """x (N, C, H, W) at pixels (rows, cols) (N, H, W), clamped into the image."""
    n, c, h, w = x.shape
    index = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)  # (N, H, W)
    return x.flatten(2).gather(2, index.view(n, 1, h * w).expand(n, c, h * w)).view(n, c, h, w)


def move_camera(rgb: torch.Tensor, inverse: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Float32 RGBA with the picture moved (`_sources`); uncovered pixels black, alpha kept."""
    rows, cols, inside, _ = _sources(rgb, inverse, shift)
    colour = _gather(rgb[:, :3].float(), rows, cols) * inside.unsqueeze(1)
    return torch.cat([colour, rgb[:, 3:].float()], dim=1)


def move_lidar(xyza: torch.Tensor, inverse: torch.Tensor, shift: torch.Tensor,
               max_range: float) -> torch.Tensor:
    """XYZA with the range image moved (`_sources`): each pixel's range and alpha come from its
    source, along its OWN ray; uncovered pixels are missing returns; unmoved pixels unchanged."""
    rows, cols, inside, unmoved = _sources(xyza, inverse, shift)
    ranged = torch.cat([xyza[:, :3].norm(dim=1, keepdim=True), xyza[:, 3:]], dim=1)
    missing = torch.tensor([max_range, 0.0], device=xyza.device).view(1, 2, 1, 1)
    distance, alpha = torch.where(inside.unsqueeze(1), _gather(ranged, rows, cols),
                                  missing).split(1, dim=1)
    moved = torch.cat([rays(xyza) * distance, alpha], dim=1)
    return torch.where(unmoved.unsqueeze(1), xyza, moved)


def _camera_to_range(rig: Rig) -> torch.Tensor:
    return torch.tensor(rig.camera_to_range, dtype=torch.float32)


def _shifts(n: int, pixels: float, generator: torch.Generator) -> torch.Tensor:
    """(N, 2) camera shifts of `pixels` along a random axis and sign per sample."""
    axes = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    return pixels * axes[torch.randint(4, (n,), generator=generator)]


def _angles(n: int, degrees: float, generator: torch.Generator) -> torch.Tensor:
    """(N,) camera rotations of `degrees`, in radians, of a random sense per sample."""
    return math.radians(degrees) * (2.0 * torch.randint(2, (n,), generator=generator) - 1)


@register("camera_shift", "alignment", (1, 2, 4, 8), "pixels (camera)", (0, 64), integer=True,
          control="shift_both")
def camera_shift(rgb: torch.Tensor, xyza: torch.Tensor, pixels: float, generator: torch.Generator,
                 max_range: float, rig: Rig) -> Pair:
    """Misalignment: the camera picture shifted against the range image, along a random axis."""
    identity = torch.eye(2).expand(len(rgb), 2, 2)
    return move_camera(rgb, identity, _shifts(len(rgb), pixels, generator)), xyza


@register("shift_both", "alignment", (1, 2, 4, 8), "pixels (camera)", (0, 64), integer=True,
          is_control=True)
def shift_both(rgb: torch.Tensor, xyza: torch.Tensor, pixels: float, generator: torch.Generator,
               max_range: float, rig: Rig) -> Pair:
    """Control of camera_shift: the scene shifted, both sensors moved consistently."""
    identity = torch.eye(2).expand(len(rgb), 2, 2)
    shift = _shifts(len(rgb), pixels, generator)  # (N, 2) camera pixels
    return (move_camera(rgb, identity, shift),
            move_lidar(xyza, identity, shift @ _camera_to_range(rig).T, max_range))


@register("camera_rotation", "alignment", (2, 5, 10, 20), "degrees (camera roll)", (0, 180),
          control="rotate_both")
def camera_rotation(rgb: torch.Tensor, xyza: torch.Tensor, degrees: float,
                    generator: torch.Generator, max_range: float, rig: Rig) -> Pair:
    """Misalignment: the camera picture rotated about its centre against the range image."""
    inverse = _rotation(-_angles(len(rgb), degrees, generator))
    return move_camera(rgb, inverse, torch.zeros(len(rgb), 2)), xyza


@register("rotate_both", "alignment", (2, 5, 10, 20), "degrees (camera roll)", (0, 180),
          is_control=True)
def rotate_both(rgb: torch.Tensor, xyza: torch.Tensor, degrees: float, generator: torch.Generator,
                max_range: float, rig: Rig) -> Pair:
    """Control of camera_rotation: the scene rolled, both sensors moved consistently."""
    inverse = _rotation(-_angles(len(rgb), degrees, generator))  # (N, 2, 2) camera pixels
    to_range = _camera_to_range(rig)
    lidar_inverse = to_range @ inverse @ torch.linalg.inv(to_range)  # the same roll there
    zero = torch.zeros(len(rgb), 2)
    return (move_camera(rgb, inverse, zero), move_lidar(xyza, lidar_inverse, zero, max_range))
