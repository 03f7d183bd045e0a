"""The look of a rendered set, measured the way the course's real set was described in public.

`measure` takes images as the files hold them (plus the camera's hit masks, to tell background
from unlit object) and returns the figures of `ROWS`, each beside the real set's published value
and its source. `benchmarks/calibration.py` prints the table; `tests/test_calibration.py`
checks the `course` scenario against it.
"""

from __future__ import annotations

import warnings

import numpy as np

from fusion.params import SyntheticParams
from fusion.synthetic.render import class_rngs, render_chunks

LIT_LEVEL = 2  # a camera pixel is lit when a colour channel exceeds this (background: 0-2)

# Public solutions of the course's assignment (GitHub repository: path), by the table's marks.
SOURCES = {
    "[1]": "MicheleMarschner/Applied-Computer-Vision-Projects: "
           "Multimodal_Learning_02/outputs/train_stats.json (RGB statistics of the training set)",
    "[2]": "MatthiasCr/Computer-Vision-Assignment-2: results/fo-rgb-slices.png; "
           "CarloColumbo/CILP-Assessment-Multimodal-Learning: results/data_curation_*.png "
           "(RGB samples)",
    "[3]": "Conscht/CLIP-Multimodal-Learning: results/fiftyone_screenshots/task2*.png; "
           "MicheleMarschner/Applied-Computer-Vision-Projects: "
           "Multimodal_Learning_02/results/task_05/sample_predictions.png (LiDAR silhouettes "
           "and paired samples)",
}
_RGB_STATS, _RGB_SAMPLES, _LIDAR_SAMPLES = SOURCES
# (figure, the real set's published value, its source, the generated value as a format string)
ROWS = (
    ("RGB channel mean / std (fraction of full scale)",
     "0.0052 / 0.059 (channels 0.0052-0.0053 / 0.059-0.059)",
     _RGB_STATS, "{rgb_mean:.4f} / {rgb_std:.3f} (channels {rgb_mean_low:.4f}-{rgb_mean_high:.4f}"
     " / {rgb_std_low:.3f}-{rgb_std_high:.3f})"),
    ("alpha", "constant 255", _RGB_STATS, "{alpha_low:.0f}-{alpha_high:.0f}"),
    ("background (pixels off the object)", "pure black, 0-2", _RGB_SAMPLES,
     "0-{background_max:.0f}"),
    ("frames entirely black", "some", _RGB_SAMPLES,
     "{black_frames:.1%} (cubes {cubes_black:.1%}, spheres {spheres_black:.1%})"),
    ("spheres in the RGB frame: bounding box, lit pixels", "5-9 px, median 31", _RGB_SAMPLES,
     "{spheres_box_low:.0f}-{spheres_box_high:.0f} px, median {spheres_lit:.0f}"),
    ("cubes in the RGB frame: bounding box, lit pixels", "8-17 px, median 76", _RGB_SAMPLES,
     "{cubes_box_low:.0f}-{cubes_box_high:.0f} px, median {cubes_lit:.0f}"),
    ("object centroids in the RGB frame", "x 14-50, y 15-48 px", _RGB_SAMPLES,
     "x {x_low:.0f}-{x_high:.0f}, y {y_low:.0f}-{y_high:.0f} px"),
    ("range to the object", "~22-28 m", _LIDAR_SAMPLES,
     "{range_low:.1f}-{range_high:.1f} m (median {range:.1f})"),
    ("LiDAR no-return fraction", "~90-97%", _LIDAR_SAMPLES,
     "{no_return_low:.1%}-{no_return_high:.1%} (median {no_return:.1%})"),
    ("LiDAR silhouettes across: spheres, cubes", "12-16 px, 17-25 px", _LIDAR_SAMPLES,
     "{spheres_silhouette_low:.0f}-{spheres_silhouette_high:.0f} px, "
     "{cubes_silhouette_low:.0f}-{cubes_silhouette_high:.0f} px"),
    ("LiDAR row vs RGB x (object centroids)", "row ~ 73.9 - 1.43 x, fit r ~ 0.97 (9 pairs)",
     _LIDAR_SAMPLES, "row ~ {row_intercept:.1f} - {row_slope_abs:.2f} x, fit r = {row_r:.3f}"),
    ("LiDAR column vs RGB y (object centroids)", "column ~ -21 + 1.75 y, fit r ~ 0.97",
     _LIDAR_SAMPLES,
     "column ~ {column_intercept:.1f} + {column_slope:.2f} y, fit r = {column_r:.3f}"),
    ("LiDAR row vs RGB row (pixel-aligned grids: r ~ 1)", "not aligned", _LIDAR_SAMPLES,
     "r = {aligned_r:.3f}"),
)
SPREAD = (10, 90)  # percentiles quoted as a figure's spread ("5-9 px")


def render_set(params: SyntheticParams, per_class: int) -> dict[str, tuple]:
    """The first `per_class` samples of each class that `writer.generate` writes.

    Returns class -> (rgba (n, H, W, 4) uint8, depth (n, H, W) float32, camera_hit (n, H, W)).
    """
    rendered = {}
    for shape, rng in class_rngs(params).items():
        chunks = [(rgba, depth, scenes.camera_hit)
                  for rgba, depth, scenes in render_chunks(rng, per_class, shape, params)]
        rendered[shape] = tuple(np.concatenate(arrays) for arrays in zip(*chunks, strict=True))
    return rendered


def measure(rendered: dict[str, tuple], max_range: float) -> dict[str, float]:
    """The figures of `ROWS` for class -> (rgba, depth, camera_hit) (see `render_set`)."""
    figures, camera_centres, lidar_centres = {}, [], []
    for shape, (rgba, depth, camera_hit) in rendered.items():
        lit = rgba[..., :3].max(-1) > LIT_LEVEL  # (n, H, W)
        returns = depth < max_range
        seen = lit.any((1, 2))
        figures[f"{shape}_black"] = 1 - seen.mean()
        figures[f"{shape}_lit"] = np.median(lit.sum((1, 2))[seen])
        _spread(figures, f"{shape}_box", _box_sides(lit[seen]))
        _spread(figures, f"{shape}_silhouette", _box_sides(returns[returns.any((1, 2))]))
        both = seen & returns.any((1, 2))
        camera_centres.append(_centroids(lit[both]))
        lidar_centres.append(_centroids(returns[both]))
        figures[f"{shape}_background_max"] = rgba[..., :3][~camera_hit].max(initial=0)

    rgba = np.concatenate([r[0] for r in rendered.values()])
    depth = np.concatenate([r[1] for r in rendered.values()])
    colour = rgba[..., :3].reshape(-1, 3) / 255
    for name, values in (("rgb_mean", colour.mean(0)), ("rgb_std", colour.std(0))):
        figures[name] = values.mean()
        figures[f"{name}_low"], figures[f"{name}_high"] = values.min(), values.max()
    figures["alpha_low"], figures["alpha_high"] = rgba[..., 3].min(), rgba[..., 3].max()
    figures["background_max"] = max(figures.pop(f"{s}_background_max") for s in rendered)
    figures["black_frames"] = np.mean([figures[f"{s}_black"] for s in rendered])

    returns = depth < max_range
    _spread(figures, "no_return", 1 - returns.mean((1, 2)), median=True, percentiles=(5, 95))
    with warnings.catch_warnings():  # samples without returns have no range
        warnings.simplefilter("ignore", RuntimeWarning)
        ranges = np.nanmedian(np.where(returns, depth, np.nan), axis=(1, 2))
    _spread(figures, "range", ranges[returns.any((1, 2))], median=True, percentiles=(5, 95))

    camera, lidar = np.concatenate(camera_centres), np.concatenate(lidar_centres)  # (m, 2)
    _spread(figures, "y", camera[:, 0], percentiles=(5, 95))
    _spread(figures, "x", camera[:, 1], percentiles=(5, 95))
    _fit(figures, "row", camera[:, 1], lidar[:, 0])  # LiDAR row vs RGB x (column)
    _fit(figures, "column", camera[:, 0], lidar[:, 1])  # LiDAR column vs RGB y (row)
    figures["row_slope_abs"] = abs(figures["row_slope"])
    figures["aligned_r"] = np.corrcoef(camera[:, 0], lidar[:, 0])[0, 1]
    return {name: float(value) for name, value in figures.items()}


def _spread(figures: dict, name: str, values: np.ndarray, median: bool = False,
            percentiles: tuple[int, int] = SPREAD) -> None:
    figures[f"{name}_low"], figures[f"{name}_high"] = np.percentile(values, percentiles)
    if median:
        figures[name] = np.median(values)


def _fit(figures: dict, name: str, x: np.ndarray, y: np.ndarray) -> None:
    """Least-squares y ~ intercept + slope x, and the fit's r (the correlation's size)."""
    figures[f"{name}_slope"], figures[f"{name}_intercept"] = np.polyfit(x, y, 1)
    figures[f"{name}_r"] = abs(np.corrcoef(x, y)[0, 1])


def _box_sides(masks: np.ndarray) -> np.ndarray:
    """(n, H, W) non-empty bool masks -> (n,) the longer side of each bounding box, pixels."""
    def extent(occupied):  # (n, L) -> (n,)
        return occupied.shape[1] - occupied[:, ::-1].argmax(1) - occupied.argmax(1)

    return np.maximum(extent(masks.any(2)), extent(masks.any(1)))


def _centroids(masks: np.ndarray) -> np.ndarray:
    """(n, H, W) non-empty bool masks -> (n, 2) float (row, column) centroids."""
    count = masks.sum((1, 2))
    rows = (masks.sum(2) * np.arange(masks.shape[1])).sum(1) / count
    columns = (masks.sum(1) * np.arange(masks.shape[2])).sum(1) / count
    return np.stack([rows, columns], axis=1)
