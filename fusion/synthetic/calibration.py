"""The look of a rendered set, measured the way the course's real set was described in public.

`measure` takes images as the files hold them (plus the camera's hit masks, to tell background
from unlit object) and returns the figures of `ROWS`, each beside the real set's value and its
source: published figures, or figures of real frames recovered from published plots
(`fusion.synthetic.reference`, measured with `look` and `placement` as here).
`benchmarks/calibration.py` prints the table; `tests/test_calibration.py` checks the `course`
scenario against it.
"""

from __future__ import annotations

import warnings

import numpy as np

from fusion.params import SyntheticParams
from fusion.synthetic.render import class_rngs, render_chunks

LIT_LEVEL = 2  # a camera pixel is lit when a colour channel exceeds this (background: 0-2)
# The object's blob for the colour, shading and shape figures: brighter than this, so that the
# blurred rims of resampled thumbnails (the real frames' source) count in neither set.
BLOB_LEVEL = 20

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
    "[4]": "real frames recovered from [2], [3], vedant10patil/CILP-Assessment-Multimodal-"
           "Learning: results/FIFTYONE.png and JosefPribbernow/HPI-Applied-Hands-On-Computer-"
           "Vision-2025-Josef-Pribbernow: Assignment-02/01_dataset_exploration_rgb_lidar_sample_"
           "pairs.png (real_reference.npz; fusion/synthetic/reference.py)",
}
_RGB_STATS, _RGB_SAMPLES, _LIDAR_SAMPLES, _FRAMES = SOURCES
_QUARTILES = "{{{0}:.2f}} (quartiles {{{0}_low:.2f}}-{{{0}_high:.2f}})"


def _look_row(label: str, shape: str, figure: str) -> tuple[str, str, str, str]:
    name = f"{shape}_{figure}"
    return (label, _QUARTILES.format(name) + f", {{{shape}_frames}} frames", _FRAMES,
            _QUARTILES.format(name))


# (figure, the real set's value (a format string of `reference.REAL`), its source, the
# generated value (a format string of `measure`'s figures))
ROWS = (
    ("RGB channel mean / std (fraction of full scale; classes mixed 2,501 : 9,999 as in [1]'s "
     "copy)",
     "0.0052 / 0.059 (channels 0.0052-0.0053 / 0.059-0.059)",
     _RGB_STATS, "{rgb_mean:.4f} / {rgb_std:.3f} (channels {rgb_mean_low:.4f}-{rgb_mean_high:.4f}"
     " / {rgb_std_low:.3f}-{rgb_std_high:.3f})"),
    ("RGB mean per frame: cubes, spheres",
     "{cubes_rgb_mean:.4f}, {spheres_rgb_mean:.4f} ({cubes_frames}, {spheres_frames} frames)",
     _FRAMES, "{cubes_rgb_mean:.4f}, {spheres_rgb_mean:.4f}"),
    ("alpha", "constant 255", _RGB_STATS, "{alpha_low:.0f}-{alpha_high:.0f}"),
    ("background (pixels off the object)", "pure black, 0-2", _RGB_SAMPLES,
     "0-{background_max:.0f}"),
    ("frames entirely black", "{black_frames:.0f} of {rgb_frames:.0f}", _FRAMES,
     "{black_frames:.1%} (cubes {cubes_black:.1%}, spheres {spheres_black:.1%})"),
    ("spheres in the RGB frame: bounding box, lit pixels",
     "5-9 px, median 31; frames: {spheres_box_low:.0f}-{spheres_box_high:.0f} px, median "
     "{spheres_lit:.0f}", _RGB_SAMPLES + ", " + _FRAMES,
     "{spheres_box_low:.0f}-{spheres_box_high:.0f} px, median {spheres_lit:.0f}"),
    ("cubes in the RGB frame: bounding box, lit pixels",
     "8-17 px, median 76; frames: {cubes_box_low:.0f}-{cubes_box_high:.0f} px, median "
     "{cubes_lit:.0f}", _RGB_SAMPLES + ", " + _FRAMES,
     "{cubes_box_low:.0f}-{cubes_box_high:.0f} px, median {cubes_lit:.0f}"),
    ("object centroids in the RGB frame", "x 14-50, y 15-48 px", _RGB_SAMPLES,
     "x {x_low:.0f}-{x_high:.0f}, y {y_low:.0f}-{y_high:.0f} px"),
    _look_row("cube colour: saturation of the blob", "cubes", "saturation"),
    _look_row("sphere colour: saturation of the blob", "spheres", "saturation"),
    _look_row("cube shading: 90th / 50th percentile brightness", "cubes", "shading"),
    _look_row("sphere shading: 90th / 50th percentile brightness", "spheres", "shading"),
    _look_row("sphere blob: minor / major axis", "spheres", "axis"),
    ("range to the object",
     "~{range_low:.0f}-{range_high:.0f} m (median {range:.1f}; {range_frames} sphere frames, "
     "from their size and depth spread)", _FRAMES,
     "{range_low:.1f}-{range_high:.1f} m (median {range:.1f})"),
    ("LiDAR no-return fraction", "~90-97%", _LIDAR_SAMPLES,
     "{no_return_low:.1%}-{no_return_high:.1%} (median {no_return:.1%})"),
    ("LiDAR silhouettes across: spheres, cubes", "12-16 px, 17-25 px", _LIDAR_SAMPLES,
     "{spheres_silhouette_low:.0f}-{spheres_silhouette_high:.0f} px, "
     "{cubes_silhouette_low:.0f}-{cubes_silhouette_high:.0f} px"),
    ("LiDAR silhouettes touching the frame's edge", "{edge:.0f} of {silhouettes}", _FRAMES,
     "{edge:.1%} (cubes {cubes_edge:.1%}, spheres {spheres_edge:.1%})"),
    ("LiDAR silhouette centroids: rows, columns",
     "{rows_low:.0f}-{rows_high:.0f}, {columns_low:.0f}-{columns_high:.0f} (all {silhouettes})",
     _FRAMES, "{rows_low:.0f}-{rows_high:.0f}, {columns_low:.0f}-{columns_high:.0f}"),
    ("LiDAR row vs RGB x (object centroids)",
     "row ~ {row_intercept:.1f} - {row_slope_abs:.2f} x (+-{row_slope_se:.2f}), fit r "
     "{row_r:.3f} ({pairs} pairs)",
     _FRAMES, "row ~ {row_intercept:.1f} - {row_slope_abs:.2f} x, fit r = {row_r:.3f}"),
    ("LiDAR column vs RGB y (object centroids)",
     "column ~ {column_intercept:.1f} + {column_slope:.2f} y (+-{column_slope_se:.2f}), fit r "
     "{column_r:.2f}",
     _FRAMES, "column ~ {column_intercept:.1f} + {column_slope:.2f} y, fit r = {column_r:.3f}"),
    ("LiDAR row vs RGB row (pixel-aligned grids: r ~ 1)", "not aligned", _LIDAR_SAMPLES,
     "r = {aligned_r:.3f}"),
)
# The copy whose training statistics were published ([1]): 2,501 cube and 9,999 sphere RGB files.
PUBLISHED_COPY = {"cubes": 2501, "spheres": 9999}
SPREAD = (10, 90)  # percentiles quoted as a figure's spread ("5-9 px")
CENTROID_SPREAD = (5, 95)  # ... for centroids: the expected span of 15 samples' extremes


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
    figures, camera_centres, lidar_centres, edges = {}, [], [], []
    for shape, (rgba, depth, camera_hit) in rendered.items():
        lit = rgba[..., :3].max(-1) > LIT_LEVEL  # (n, H, W)
        returns = depth < max_range
        seen = lit.any((1, 2))
        figures[f"{shape}_black"] = 1 - seen.mean()
        figures[f"{shape}_lit"] = np.median(lit.sum((1, 2))[seen])
        _spread(figures, f"{shape}_box", box_sides(lit[seen]))
        _spread(figures, f"{shape}_silhouette", box_sides(returns[returns.any((1, 2))]))
        both = seen & returns.any((1, 2))
        camera_centres.append(_centroids(lit[both]))
        lidar_centres.append(_centroids(returns[both]))
        figures[f"{shape}_background_max"] = rgba[..., :3][~camera_hit].max(initial=0)
        for figure, values in look(rgba[..., :3]).items():
            quartiles(figures, f"{shape}_{figure}", values)
        edge, _ = placement(returns[returns.any((1, 2))])
        figures[f"{shape}_edge"] = edge.mean()
        edges.append(edge)

    _rgb_statistics(figures, {shape: r[0] for shape, r in rendered.items()})
    rgba = np.concatenate([r[0] for r in rendered.values()])
    depth = np.concatenate([r[1] for r in rendered.values()])
    figures["alpha_low"], figures["alpha_high"] = rgba[..., 3].min(), rgba[..., 3].max()
    figures["background_max"] = max(figures.pop(f"{s}_background_max") for s in rendered)
    figures["black_frames"] = np.mean([figures[f"{s}_black"] for s in rendered])
    figures["edge"] = np.concatenate(edges).mean()

    returns = depth < max_range
    _spread(figures, "no_return", 1 - returns.mean((1, 2)), median=True, percentiles=(5, 95))
    with warnings.catch_warnings():  # samples without returns have no range
        warnings.simplefilter("ignore", RuntimeWarning)
        ranges = np.nanmedian(np.where(returns, depth, np.nan), axis=(1, 2))
    _spread(figures, "range", ranges[returns.any((1, 2))], median=True, percentiles=(5, 95))

    camera, lidar = np.concatenate(camera_centres), np.concatenate(lidar_centres)  # (m, 2)
    _spread(figures, "y", camera[:, 0], percentiles=CENTROID_SPREAD)
    _spread(figures, "x", camera[:, 1], percentiles=CENTROID_SPREAD)
    _spread(figures, "rows", lidar[:, 0], percentiles=CENTROID_SPREAD)
    _spread(figures, "columns", lidar[:, 1], percentiles=CENTROID_SPREAD)
    _fit(figures, "row", camera[:, 1], lidar[:, 0])  # LiDAR row vs RGB x (column)
    _fit(figures, "column", camera[:, 0], lidar[:, 1])  # LiDAR column vs RGB y (row)
    figures["row_slope_abs"] = abs(figures["row_slope"])
    figures["aligned_r"] = np.corrcoef(camera[:, 0], lidar[:, 0])[0, 1]
    return {name: float(value) for name, value in figures.items()}


def _rgb_statistics(figures: dict, rgba: dict[str, np.ndarray]) -> None:
    """Per-channel mean and std of the classes mixed as in the published statistics' copy
    (PUBLISHED_COPY), over channels (and their lowest and highest); each class's mean."""
    moments = {}
    for shape, images in rgba.items():
        colour = images[..., :3].reshape(-1, 3) / 255
        moments[shape] = colour.mean(0), (colour**2).mean(0)
        figures[f"{shape}_rgb_mean"] = moments[shape][0].mean()
    share = {shape: PUBLISHED_COPY[shape] / sum(PUBLISHED_COPY.values()) for shape in moments}
    mean = sum(share[s] * moments[s][0] for s in moments)
    std = np.sqrt(sum(share[s] * moments[s][1] for s in moments) - mean**2)
    for name, values in (("rgb_mean", mean), ("rgb_std", std)):
        figures[name] = values.mean()
        figures[f"{name}_low"], figures[f"{name}_high"] = values.min(), values.max()


def look(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame of rgb (n, H, W, 3) uint8, over its blob (pixels brighter than BLOB_LEVEL; NaN
    where it has under 3): median HSV saturation, 90th / 50th percentile of the brightness
    (shading: 1 = flat) and minor / major axis (the square root of its coordinates'
    covariance eigenvalues' ratio: 1 = round)."""
    figures = {"saturation": [], "shading": [], "axis": []}
    for frame in rgb:
        value = frame.max(-1).astype(np.float64)
        blob = value > BLOB_LEVEL
        if blob.sum() < 3:
            for values in figures.values():
                values.append(np.nan)
            continue
        bright = value[blob]
        figures["saturation"].append(np.median(1 - frame[blob].min(-1) / bright))
        figures["shading"].append(np.percentile(bright, 90) / np.percentile(bright, 50))
        low, high = np.linalg.eigvalsh(np.cov(np.nonzero(blob)))
        figures["axis"].append(np.sqrt(max(low, 0) / high))
    return {name: np.asarray(values) for name, values in figures.items()}


def placement(silhouettes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, H, W) non-empty bool masks -> whether each touches the frame's edge (n,) and its
    (row, column) centroid (n, 2)."""
    edge = (silhouettes[:, [0, -1]].any((1, 2)) | silhouettes[:, :, [0, -1]].any((1, 2)))
    return edge, _centroids(silhouettes)


def quartiles(figures: dict, name: str, values: np.ndarray) -> None:
    """Median and quartiles of the values, ignoring NaN."""
    figures[f"{name}_low"], figures[name], figures[f"{name}_high"] = np.nanpercentile(
        values, (25, 50, 75))


def _spread(figures: dict, name: str, values: np.ndarray, median: bool = False,
            percentiles: tuple[int, int] = SPREAD) -> None:
    figures[f"{name}_low"], figures[f"{name}_high"] = np.percentile(values, percentiles)
    if median:
        figures[name] = np.median(values)


def _fit(figures: dict, name: str, x: np.ndarray, y: np.ndarray) -> None:
    """Least-squares y ~ intercept + slope x, and the fit's r (the correlation's size)."""
    figures[f"{name}_slope"], figures[f"{name}_intercept"] = np.polyfit(x, y, 1)
    figures[f"{name}_r"] = abs(np.corrcoef(x, y)[0, 1])


def box_sides(masks: np.ndarray) -> np.ndarray:
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

