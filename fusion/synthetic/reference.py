"""Figures of real frames: the yardstick of the `course` scenario's look.

No copy of the course's real set is at hand; what public solutions' figures show of it was
recovered as pixels into `real_reference.npz` (`../shared/real-reference/`, its README names
each array's repository and file). `measure_reference` measures those arrays as
`calibration.measure` measures a rendered set; `REAL` keeps its output, so that the tests and
the table need no copy of the file (`benchmarks/calibration.py` re-derives and checks it).
Few frames (7-19 per figure): the quartiles across them say how uncertain each median is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fusion.synthetic.calibration import LIT_LEVEL, box_sides, look, placement, quartiles

LIDAR_STEP_DEG = 0.5  # the range image's angle per pixel (both axes)

# `measure_reference` of real_reference.npz (printed by `benchmarks/calibration.py`), plus the
# camera-to-range fit over 9 real pairs from that folder's README (slopes' standard errors from
# their r and n), which the npz cannot re-derive (it holds 4 of the pairs, at 2 positions).
REAL = {
    "rgb_frames": 33, "black_frames": 0,
    "cubes_frames": 19, "spheres_frames": 14,
    "cubes_rgb_mean": 0.0100, "spheres_rgb_mean": 0.0050,
    "cubes_lit": 80, "cubes_box_low": 10.8, "cubes_box_high": 18.0,
    "spheres_lit": 44.5, "spheres_box_low": 8.0, "spheres_box_high": 9.7,
    "cubes_saturation": 0.48, "cubes_saturation_low": 0.32, "cubes_saturation_high": 0.59,
    "spheres_saturation": 0.32, "spheres_saturation_low": 0.22, "spheres_saturation_high": 0.61,
    "cubes_shading": 1.17, "cubes_shading_low": 1.07, "cubes_shading_high": 1.23,
    "spheres_shading": 1.36, "spheres_shading_low": 1.23, "spheres_shading_high": 1.41,
    "cubes_axis": 0.72, "cubes_axis_low": 0.58, "cubes_axis_high": 0.76,
    "spheres_axis": 0.61, "spheres_axis_low": 0.54, "spheres_axis_high": 0.71,
    "silhouettes": 15, "edge": 0, "pair_offset": 0.37,
    "rows_low": 11.8, "rows_high": 50.6, "columns_low": 17.0, "columns_high": 49.8,
    "range_frames": 6, "range": 24.0, "range_low": 19.8, "range_high": 28.7,
    "pairs": 9, "row_intercept": 79.3, "row_slope": -1.54, "row_slope_abs": 1.54,
    "row_slope_se": 0.03, "row_r": 0.999,
    "column_intercept": -10.9, "column_slope": 1.40, "column_slope_se": 0.17, "column_r": 0.95,
}


def frames(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The npz's arrays by kind: `{cubes,spheres}_rgb` (n, 64, 64, 3) uint8,
    `{cubes,spheres}_silhouette` (n, 64, 64) bool and `spheres_depth` (n, 64, 64) min-max
    normalised range (1 = no return)."""
    jp = {f"{shape}_{kind}": np.stack([arrays[f"jp_{shape}_{i}_{kind}"] for i in ("0000", "0001")])
          for shape in ("cubes", "spheres") for kind in ("rgb", "lidarnorm")}
    mm, co = arrays["mm_lidar_norm"], arrays["co_lidar_binary"]  # spheres then a cube; 5 cubes
    cubes = np.concatenate([jp["cubes_lidarnorm"], mm[4:], co[:5]])  # then a sphere
    spheres = np.concatenate([jp["spheres_lidarnorm"], mm[:4], co[5:]])
    return {
        "cubes_rgb": np.concatenate([jp["cubes_rgb"], arrays["mc_cubes_rgb"]]),
        "spheres_rgb": np.concatenate([jp["spheres_rgb"], arrays["vp_spheres_rgb"]]),
        "cubes_silhouette": cubes < 0.5, "spheres_silhouette": spheres < 0.5,
        "spheres_depth": np.concatenate([jp["spheres_lidarnorm"], mm[:4]]),
    }


def measure_reference(arrays: Mapping[str, np.ndarray], max_range: float) -> dict[str, float]:
    """The figures of `REAL` that pixels give, from real_reference.npz's arrays."""
    kinds, figures = frames(arrays), {}
    rgb = np.concatenate([kinds["cubes_rgb"], kinds["spheres_rgb"]])
    figures["rgb_frames"] = len(rgb)
    for shape in ("cubes", "spheres"):
        figures[f"{shape}_rgb_mean"] = kinds[f"{shape}_rgb"].mean() / 255
    figures["black_frames"] = (rgb.max(axis=(1, 2, 3)) <= LIT_LEVEL).sum()
    for shape in ("cubes", "spheres"):
        figures[f"{shape}_frames"] = len(kinds[f"{shape}_rgb"])
        lit = kinds[f"{shape}_rgb"].max(-1) > LIT_LEVEL
        figures[f"{shape}_lit"] = np.median(lit.sum((1, 2)))
        boxes = box_sides(lit)
        figures[f"{shape}_box_low"], figures[f"{shape}_box_high"] = np.percentile(boxes, (10, 90))
        for figure, values in look(kinds[f"{shape}_rgb"]).items():
            quartiles(figures, f"{shape}_{figure}", values)
    edge, centres = placement(np.concatenate([kinds["cubes_silhouette"],
                                              kinds["spheres_silhouette"]]))
    figures["silhouettes"], figures["edge"] = len(edge), edge.sum()
    for axis, name in enumerate(("rows", "columns")):
        figures[f"{name}_low"], figures[f"{name}_high"] = centres[:, axis].min(), \
            centres[:, axis].max()
    twins = [np.linalg.norm(placement(arrays[f"jp_cubes_{i}_lidarnorm"][None] < 0.5)[1]
                            - placement(arrays[f"jp_spheres_{i}_lidarnorm"][None] < 0.5)[1])
             for i in ("0000", "0001")]
    figures["pair_offset"] = max(twins)  # cubes_i and spheres_i: the same position?
    ranges = [sphere_range(depth, max_range) for depth in kinds["spheres_depth"]]
    figures["range_frames"] = len(ranges)
    figures["range"], figures["range_low"], figures["range_high"] = (
        np.median(ranges), min(ranges), max(ranges))
    return {name: float(value) for name, value in figures.items()}


def sphere_range(normalised: np.ndarray, max_range: float) -> float:
    """A sphere's centre range from a min-max normalised range image (1 = `max_range`).

    The silhouette's area gives the sphere's angular radius a; the nearest point lies at
    D (1 - sin a) (0 after normalising), the outermost pixel's return at about D cos(a - half a
    pixel), which normalises to the largest value s on the object; solved for D.
    """
    silhouette = normalised < 0.5
    radius = np.deg2rad(np.sqrt(silhouette.sum() / np.pi) * LIDAR_STEP_DEG)
    nearest = 1 - np.sin(radius)
    spread = normalised[silhouette].max()
    outer = np.cos(radius - np.deg2rad(LIDAR_STEP_DEG / 2))
    return float(max_range * spread / (outer - nearest + spread * nearest))
