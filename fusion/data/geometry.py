"""LiDAR range-image geometry in the course convention (numpy only).

A range image has one azimuth per ROW and one zenith per COLUMN. The ray of pixel (i, j) is
    (sin(-az[i]) cos(-ze[j]),  cos(-az[i]) cos(-ze[j]),  sin(-ze[j])),
so +y is forward, x is lateral and z vertical, and the point seen at range d is d times it.
"""

from __future__ import annotations

import numpy as np


def angle_grid(size: int, fov_deg: float) -> np.ndarray:
    """(size,) float32 radians from -fov/2 in steps of fov/size (64, 32 -> -16..+15.5 deg)."""
    if size < 1:
        raise ValueError(f"angle_grid: size must be >= 1, got {size}")
    if not 0 < fov_deg < 360:
        raise ValueError(f"angle_grid: fov_deg must be in (0, 360), got {fov_deg}")
    degrees = -fov_deg / 2 + (fov_deg / size) * np.arange(size)
    return np.deg2rad(degrees).astype(np.float32)


def direction(azimuth, zenith) -> np.ndarray:
    """Float64 unit rays (..., 3) for broadcastable azimuth and zenith arrays (radians)."""
    azimuth, zenith = np.broadcast_arrays(
        np.asarray(azimuth, dtype=np.float64), np.asarray(zenith, dtype=np.float64)
    )
    cos_zenith = np.cos(-zenith)
    return np.stack(
        [np.sin(-azimuth) * cos_zenith, np.cos(-azimuth) * cos_zenith, np.sin(-zenith)], axis=-1
    )


def ray_directions(azimuth: np.ndarray, zenith: np.ndarray) -> np.ndarray:
    """(H, W, 3) unit rays of a range image with azimuth (H,) per row and zenith (W,) per column."""
    _check_angles(azimuth, "azimuth", "row")
    _check_angles(zenith, "zenith", "column")
    return direction(np.asarray(azimuth)[:, None], np.asarray(zenith)[None, :])


def depth_to_xyza(
    depth: np.ndarray, azimuth: np.ndarray, zenith: np.ndarray, max_range: float
) -> np.ndarray:
    """Range images (..., H, W) -> float32 (..., 4, H, W): XYZ = depth * ray, A = depth < max_range.

    XYZ is computed for every pixel, returns or not; A marks the returns.
    """
    depth = np.asarray(depth)
    if depth.ndim < 2:
        raise ValueError(f"depth_to_xyza: depth must be (..., H, W), got shape {depth.shape}")
    height, width = depth.shape[-2:]
    _check_angles(azimuth, "azimuth", f"row of depth {depth.shape}", height)
    _check_angles(zenith, "zenith", f"column of depth {depth.shape}", width)
    rays = ray_directions(azimuth, zenith).astype(np.float32).transpose(2, 0, 1)  # (3, H, W)
    xyza = np.empty(depth.shape[:-2] + (4, height, width), dtype=np.float32)
    np.multiply(depth[..., None, :, :], rays, out=xyza[..., :3, :, :])
    np.less(depth, max_range, out=xyza[..., 3, :, :])
    return xyza


def _check_angles(angles, name: str, per: str, count: int | None = None) -> None:
    shape = np.shape(angles)
    if len(shape) != 1 or (count is not None and shape[0] != count):
        expected = "(N,)" if count is None else f"({count},)"
        raise ValueError(f"{name} has shape {shape}; expected {expected}, one angle per {per}")
