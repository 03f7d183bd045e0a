"""The rig: how a displacement in the camera picture maps to one in the range image.

Misalignment controls need it: moving the scene moves the object in both images, in each
image's own axes and scale. On the `lidar` camera grid the two images share their pixels; on
the `pinhole` grid (the `course` scenario, fitted to the real set) the range image is the
picture transposed, mirrored and zoomed ~1.5x.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

from fusion.params import SYNTHETIC_RAW, Params, SyntheticParams, synthetic_params


class Rig(NamedTuple):
    """camera_to_range: 2 x 2 matrix taking a picture displacement (rows, columns) in camera
    pixels to the range-image displacement (rows, columns) of the same change of direction."""

    camera_to_range: tuple[tuple[float, float], tuple[float, float]]


ALIGNED = Rig(((1.0, 0.0), (0.0, 1.0)))  # the camera on the range image's rays


def rig_of(params: SyntheticParams) -> Rig:
    """The rig of a rendered scenario, linearised at the image centre.

    Pinhole: a camera row down is the angle 2 tan(vfov / 2) / size lower, i.e. later zenith (a
    range-image column); a camera column right is that of hfov further right, i.e. lower
    azimuth (an earlier range-image row); the LiDAR steps fov / size per pixel.
    """
    if params.camera == "lidar":
        return ALIGNED
    step = math.radians(params.fov_deg) / params.image_size
    down, right = (2 * math.tan(math.radians(fov) / 2) / params.image_size / step
                   for fov in (params.camera_vfov_deg, params.camera_hfov_deg))
    return Rig(((0.0, -right), (down, 0.0)))


def rig_for(params: Params) -> Rig:
    """The rig of the data the pipeline reads: the rendered scenario's, or for a data set at
    `data.raw` that `generate` did not render, the `course` scenario's (fitted to the real set's
    camera and range grids)."""
    if Path(params.data.raw) == Path(SYNTHETIC_RAW):
        return rig_of(params.synthetic)
    return rig_of(synthetic_params({"scenario": "course"}))
