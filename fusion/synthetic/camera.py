"""The camera: an RGBA picture of the scene, on one of two grids.

- `lidar`: the camera looks along the range image's rays, so RGB pixel (i, j) and range pixel
  (i, j) share a ray (pixel-aligned by construction; rows follow azimuth, like the range image).
- `pinhole`: an ordinary picture (rows go down, columns right) through a pinhole camera at the
  LiDAR's origin, with fields of view `camera_hfov_deg` x `camera_vfov_deg`, its optical axis
  aimed at (`camera_azimuth_deg`, `camera_zenith_deg`) in the LiDAR's angles. The object then
  appears transposed, mirrored and at another scale in the range image.

Each pixel averages `camera_supersampling`^2 rays spread over it (antialiased edges).
Shading: `lambertian` (brightness = the cosine of the true normal with the light: graded faces
and discs) or `flat` (every lit point gets the object's colour), over an ambient level drawn
from `ambient`; a random colour (`colour_model`, `colour`, `saturation`: pastel below 1) times
an exposure gain from `exposure`; the pixel's light (averaged over its rays) encoded as
light^(1 / `gamma`), as a renderer writes an sRGB picture (2.2: bright faces and highlights
compressed, dim ones lifted; 1: linear); Gaussian noise of std `rgb_noise` (fraction of full
scale) everywhere; black background; uint8, alpha 255.
A camera failure (a frame shot in the dark) leaves the noise only.
"""

from __future__ import annotations

import numpy as np

from fusion.data.geometry import direction
from fusion.params import SyntheticParams


def rays(params: SyntheticParams) -> np.ndarray:
    """(3, P * S) unit rays, S = camera_supersampling^2 per pixel, pixel after pixel (row-major).

    With one ray per pixel on the `lidar` grid these are the range image's rays.
    """
    side, k = params.image_size, params.camera_supersampling
    offsets = (np.arange(side * k) - (side * k - 1) / 2) / k  # sub-pixel centres, pixels
    if params.camera == "lidar":  # the angle of pixel i is (i - side / 2) * step
        angles = (offsets - 0.5) * np.deg2rad(params.fov_deg / side)
        grid = direction(angles[:, None], angles[None, :]).transpose(2, 0, 1)  # (3, Hk, Wk)
    else:
        right = offsets * 2 / side * np.tan(np.deg2rad(params.camera_hfov_deg) / 2)  # columns
        up = -offsets * 2 / side * np.tan(np.deg2rad(params.camera_vfov_deg) / 2)  # rows
        grid = np.stack(np.broadcast_arrays(right[None, :], 1.0, up[:, None]))  # (3, Hk, Wk)
        grid = np.einsum("ij,jhw->ihw", _aim(params), grid / np.linalg.norm(grid, axis=0))
    per_pixel = grid.reshape(3, side, k, side, k).transpose(0, 1, 3, 2, 4)  # (3, H, W, k, k)
    return per_pixel.reshape(3, -1)


def _aim(params: SyntheticParams) -> np.ndarray:
    """(3, 3) rotation taking the camera's axis (+y) to the LiDAR's ray of its aim angles:
    a tilt about x by -zenith, then a turn about z by azimuth (`geometry.direction`)."""
    tilt, turn = np.deg2rad([-params.camera_zenith_deg, params.camera_azimuth_deg])
    c, s = np.cos(tilt), np.sin(tilt)
    about_x = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    c, s = np.cos(turn), np.sin(turn)
    about_z = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    return about_z @ about_x


def _colours(rng, n: int, params: SyntheticParams) -> np.ndarray:
    """(n, 1, 3) object colours: per channel uniform in `colour` (`channels`), or an HSV colour
    of uniform hue, saturation uniform in `saturation` and value uniform in `colour` (`hue`)."""
    if params.colour_model == "channels":
        return rng.uniform(*params.colour, size=(n, 1, 3))
    sixths = 6 * rng.random((n, 1, 1))  # hue, in sixths of the colour wheel (HSV, S = V = 1)
    saturated = np.clip(np.abs(sixths - [3, 2, 4]) * [1, -1, -1] + [-1, 2, 2], 0, 1)
    value = rng.uniform(*params.colour, size=(n, 1, 1))
    saturation = rng.uniform(*params.saturation, size=(n, 1, 1))
    return (1 - saturation + saturation * saturated) * value


def image(rng, hit, cosine, camera_failure, params: SyntheticParams) -> np.ndarray:
    """(n, P, 4) uint8 RGBA from the hits (n, P * S) and Lambertian cosines (n, P * S) of
    `rays`."""
    n = len(hit)
    ambient = rng.uniform(*params.ambient, size=(n, 1))
    lit = hit & ~camera_failure[:, None]
    response = cosine if params.shading == "lambertian" else cosine > 0
    shading = lit * (ambient + (1 - ambient) * response)  # (n, P * S)
    shading = shading.reshape(n, params.image_size**2, -1).mean(-1).astype(np.float32)  # (n, P)
    shading **= 1 / params.gamma  # encoded (x ** 1.0 is x, bit for bit)
    albedo = _colours(rng, n, params) * rng.uniform(*params.exposure, size=(n, 1, 1))
    level = rng.standard_normal((n, shading.shape[1], 3), dtype=np.float32)  # 0..255 units
    level *= 255 * params.rgb_noise
    level += shading[..., None] * (255 * albedo).astype(np.float32)
    rgba = np.full((n, shading.shape[1], 4), 255, dtype=np.uint8)
    rgba[..., :3] = np.rint(np.clip(level, 0, 255, out=level), out=level)
    return rgba
