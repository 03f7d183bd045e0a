"""Samples of one class: the scene, seen by the LiDAR and by the camera.

A data set draws each class from its own child of `SeedSequence(params.seed)` (`class_rngs`), so
one class's samples do not depend on the other's count, in chunks of a fixed size
(`render_chunks`): the same params give the same samples, byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fusion.params import SyntheticParams, check_synthetic
from fusion.synthetic import camera, lidar
from fusion.synthetic.scene import CLASSES, Objects, cast, sample_objects

CHUNK = 128  # samples rendered at a time with one ray per pixel (~100 MB of float64 temporaries)


@dataclass(frozen=True)
class Scenes:
    """Ground truth of n rendered samples."""

    objects: Objects
    lidar_hit: np.ndarray  # (n, H, W) bool: range-image rays that meet the object
    camera_hit: np.ndarray  # (n, H, W) bool: camera pixels with a ray that meets it


def render(
    rng: np.random.Generator, n: int, shape: str, params: SyntheticParams
) -> tuple[np.ndarray, np.ndarray, Scenes]:
    """Render n samples of `shape` ("cubes" or "spheres").

    Returns RGBA uint8 (n, H, W, 4), range float32 (n, H, W) and the samples' `Scenes`.
    Draws in a fixed order (objects, range noise, camera), so the same rng gives the same bytes.
    """
    check_synthetic(params)
    objects = sample_objects(rng, n, shape, params)
    lidar_hit, t, cosine = cast(objects, lidar.rays(params))
    if params.camera == "lidar" and params.camera_supersampling == 1:  # the same rays
        camera_hit, camera_cosine = lidar_hit, cosine
    else:
        camera_hit, _, camera_cosine = cast(objects, camera.rays(params))
    depth = lidar.range_image(rng, lidar_hit, t, objects.lidar_failure, params)
    rgba = camera.image(rng, camera_hit, camera_cosine, objects.camera_failure, params)

    side = params.image_size
    camera_hit = camera_hit.reshape(n, side, side, -1).any(-1)
    scenes = Scenes(objects, lidar_hit.reshape(n, side, side), camera_hit)
    return rgba.reshape(n, side, side, 4), depth.reshape(n, side, side), scenes


def class_rngs(params: SyntheticParams) -> dict[str, np.random.Generator]:
    """One generator per class of `CLASSES`, from `params.seed`."""
    seeds = np.random.SeedSequence(params.seed).spawn(len(CLASSES))
    return {shape: np.random.default_rng(seed) for shape, seed in zip(CLASSES, seeds, strict=True)}


def render_chunks(rng, count: int, shape: str, params: SyntheticParams) -> Iterator[tuple]:
    """`render` `count` samples, CHUNK at a time (fewer when the camera casts more rays)."""
    size = max(1, CHUNK // params.camera_supersampling**2)
    for first in range(0, count, size):
        yield render(rng, min(size, count - first), shape, params)
