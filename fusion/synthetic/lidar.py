"""The LiDAR: a range image with one azimuth per ROW and one zenith per COLUMN.

Both axes span `fov_deg` in `image_size` steps (`geometry.angle_grid`, the course's grid: 64 px,
32 degrees -> -16..+15.5 in 0.5 degree steps); pixel (i, j) looks along the course's ray of
(azimuth[i], zenith[j]). Returns get Gaussian noise of std `depth_noise * range`, a fraction
`dropout` of them is dropped, and a low-reflectivity object (a lidar failure) keeps only
`LOW_REFLECTIVITY_RETURN_RATE` of its returns (before dropout); every pixel without a return
reads `max_range`.
"""

from __future__ import annotations

import numpy as np

from fusion.data.geometry import angle_grid, ray_directions
from fusion.params import SyntheticParams

LOW_REFLECTIVITY_RETURN_RATE = 0.05  # fraction of object returns kept under lidar failure


def angles(params: SyntheticParams) -> np.ndarray:
    """(image_size,) float32 radians: the azimuth of each row, and the zenith of each column."""
    return angle_grid(params.image_size, params.fov_deg)


def rays(params: SyntheticParams) -> np.ndarray:
    """(3, P) unit rays of the range image's pixels, P = H * W in row-major order."""
    grid = angles(params)
    return ray_directions(grid, grid).reshape(-1, 3).T


def range_image(rng, hit, t, lidar_failure, params: SyntheticParams) -> np.ndarray:
    """(n, P) float32 range from hits (n, P) at ranges t (n, P): noisy returns where kept,
    `max_range` elsewhere."""
    noisy = t * (1 + params.depth_noise * rng.standard_normal(t.shape))
    keep_rate = (1 - params.dropout) * np.where(lidar_failure, LOW_REFLECTIVITY_RETURN_RATE, 1.0)
    kept = hit & (rng.random(t.shape) < keep_rate[:, None])
    return np.where(kept, noisy, params.max_range).astype(np.float32)
