"""The scene: one cube or sphere per sample in the sensor frame (+y forward, x right, z up).

- Pose: the centre lies at a range drawn from `distance`, along a random direction within the
  inner `centre_offset` of the LiDAR's half field of view; `size` is the sphere diameter and a
  cube's edge is `size * cube_edge` (the default sqrt(pi/6) gives both classes the same mean
  projected area, pi d^2 / 4 = 1.5 edge^2, so that apparent size says nothing of the class);
  a cube has a uniformly random 3D rotation.
- Light: `hemisphere`, a random direction per sample on the sensor's side, or `fixed`, every
  sample lit from `light_direction`, or from a direction uniform within `light_spread_deg` of it
  (a light that is not infinitely far: objects at different places see it from different sides).
- Failures: a fraction `camera_failure` of samples is shot in the dark and a disjoint fraction
  `lidar_failure` has a surface of low reflectivity at the laser's wavelength.
- Ray casting: exact ray-sphere and ray-box (slab method, box frame) intersections from the
  sensor's origin, for any set of rays (each sensor has its own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.data.geometry import direction
from fusion.params import SyntheticParams

CLASSES = ("cubes", "spheres")  # folder names, in label order


@dataclass(frozen=True)
class Objects:
    """Ground truth of n objects (sensor frame, metres)."""

    shape: str  # "cubes" or "spheres"
    centre: np.ndarray  # (n, 3)
    size: np.ndarray  # (n,) cube edge or sphere diameter
    rotation: np.ndarray  # (n, 3, 3) columns = the box axes (identity for spheres)
    light: np.ndarray  # (n, 3) unit vectors from the object towards the light
    camera_failure: np.ndarray  # (n,) bool: shot in the dark
    lidar_failure: np.ndarray  # (n,) bool: low-reflectivity surface


def sample_objects(rng, n: int, shape: str, params: SyntheticParams) -> Objects:
    """Draw n objects of `shape`: poses, then lights, then failures."""
    if shape not in CLASSES:
        raise ValueError(f"sample_objects: shape must be one of {CLASSES}, got {shape!r}")
    centre, size, rotation = _sample_poses(rng, n, shape, params)
    light = _sample_lights(rng, n, params)
    camera_failure, lidar_failure = _sample_failures(rng, n, params)
    return Objects(shape, centre, size, rotation, light, camera_failure, lidar_failure)


def cast(objects: Objects, rays: np.ndarray):
    """Cast rays (3, P) from the origin at the n objects.

    Returns hit (n, P) bool, the range t of the first hit (n, P) (meaningless where not hit)
    and the Lambertian cosine max(0, normal . light) there (n, P).
    """
    if objects.shape == "spheres":
        return _cast_spheres(rays, objects.centre, objects.size / 2, objects.light)
    return _cast_cubes(rays, objects.centre, objects.size / 2, objects.rotation, objects.light)


def _sample_poses(rng, n: int, shape: str, params: SyntheticParams):
    """Centres (n, 3), sizes (n,) and rotations (n, 3, 3) of n objects."""
    max_offset = np.deg2rad(params.centre_offset * params.fov_deg / 2)
    azimuth, zenith = rng.uniform(-max_offset, max_offset, size=(2, n))
    centre = rng.uniform(*params.distance, size=(n, 1)) * direction(azimuth, zenith)
    size = rng.uniform(*params.size, size=n)
    if shape == "cubes":
        size = size * params.cube_edge
        rotation = _random_rotations(rng, n)
    else:
        rotation = np.broadcast_to(np.eye(3), (n, 3, 3))
    return centre, size, rotation


def _random_rotations(rng, n: int) -> np.ndarray:
    """(n, 3, 3) uniformly random rotation matrices, from normalised Gaussian quaternions."""
    q = rng.standard_normal((n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def _sample_lights(rng, n: int, params: SyntheticParams) -> np.ndarray:
    """(n, 3) unit light directions: about `light_direction`, or uniform over the sensor's (-y)
    side."""
    if params.light == "fixed":
        light = np.asarray(params.light_direction, dtype=np.float64)
        light = light / np.linalg.norm(light)
        if params.light_spread_deg == 0:
            return np.broadcast_to(light, (n, 3))
        return _within_cone(rng, n, light, np.deg2rad(params.light_spread_deg))
    light = rng.standard_normal((n, 3))
    light[:, 1] = -np.abs(light[:, 1])
    return light / np.linalg.norm(light, axis=1, keepdims=True)


def _within_cone(rng, n: int, axis: np.ndarray, half_angle: float) -> np.ndarray:
    """(n, 3) unit vectors uniform over the cap of half-angle `half_angle` about unit `axis`."""
    cos_off = rng.uniform(np.cos(half_angle), 1, size=(n, 1))
    turn = rng.uniform(0, 2 * np.pi, size=(n, 1))
    helper = np.eye(3)[np.argmin(np.abs(axis))]  # the basis vector least along the axis
    first = np.cross(axis, helper)
    first /= np.linalg.norm(first)
    second = np.cross(axis, first)
    sin_off = np.sqrt(1 - cos_off**2)
    return cos_off * axis + sin_off * (np.cos(turn) * first + np.sin(turn) * second)


def _sample_failures(rng, n: int, params: SyntheticParams) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint (n,) bool masks: camera failures with rate camera_failure, then lidar ones."""
    draw = rng.random(n)
    camera_failure = draw < params.camera_failure
    lidar_failure = ~camera_failure & (draw < params.camera_failure + params.lidar_failure)
    return camera_failure, lidar_failure


def _cast_spheres(rays, centre, radius, light):
    """`cast` for n spheres of radius (n,)."""
    along = _dot_rays(centre, rays)  # projection of the centre on each ray
    half_chord_sq = radius[:, None] ** 2 - ((centre**2).sum(1, keepdims=True) - along**2)
    hit = half_chord_sq >= 0
    t = along - np.sqrt(np.maximum(half_chord_sq, 0))
    # normal = (t * ray - centre) / radius
    cosine = (t * _dot_rays(light, rays) - (light * centre).sum(1, keepdims=True)) / radius[:, None]
    return hit, t, np.maximum(cosine, 0)


def _dot_rays(vectors: np.ndarray, rays: np.ndarray) -> np.ndarray:
    """(n, 3) . (3, P) -> (n, P). Not `@`: BLAS threads spinning on this thin product would
    compete with the file writers for the CPU."""
    return np.einsum("nk,kp->np", vectors, rays)


def _cast_cubes(rays, centre, half_edge, rotation, light):
    """`cast` for n cubes of half edge (n,) with box axes `rotation` (n, 3, 3): slab method."""
    to_box = rotation.transpose(0, 2, 1)  # R^T: sensor frame -> box frame

    def box_frame(vectors):  # (n, 3, K) or (3, K) -> (3, n, K)
        return (to_box @ vectors).transpose(1, 0, 2)

    origin = -box_frame(centre[:, :, None])  # the sensor (3, n, 1)
    local_rays = box_frame(rays)  # (3, n, P)
    with np.errstate(divide="ignore"):
        inverse = 1.0 / local_rays
    t_low = (-half_edge[:, None] - origin) * inverse
    t_high = (half_edge[:, None] - origin) * inverse
    t_enter_slabs = np.minimum(t_low, t_high)
    face = t_enter_slabs.argmax(0)[None]  # (1, n, P): the slab entered last holds the face hit

    def on_face(values):  # (3, n, K) -> (n, P): the component along the axis of the face hit
        return np.take_along_axis(values, face, 0)[0]

    t = on_face(t_enter_slabs)
    hit = (t <= np.maximum(t_low, t_high).min(0)) & (t > 0)
    # The face's outward normal is -sign(ray) along its axis.
    cosine = -np.sign(on_face(local_rays)) * on_face(box_frame(light[:, :, None]))
    return hit, t, np.maximum(cosine, 0)
