"""Real frames above generated ones, RGB and LiDAR, so that anyone can judge the look by eye.

Draws the real reference frames (`../shared/real-reference/real_reference.npz`: recovered from
public solutions' figures) above the first frames of a scenario, rendered as `dvc repro` would
write them, into one PNG. Where the reference is absent it says so and exits 0.

    uv run python benchmarks/side_by_side.py           # course -> docs/course_side_by_side.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from reference_frames import REFERENCE, load  # noqa: E402

from fusion.params import SCENARIOS, synthetic_params  # noqa: E402
from fusion.synthetic.calibration import render_set  # noqa: E402
from fusion.synthetic.reference import frames  # noqa: E402

COLUMNS = 8  # frames per row
ZOOM = 2  # the RGB rows again, each frame cropped around its object at this zoom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="course", choices=sorted(SCENARIOS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    arrays = load(args.reference, "nothing to draw.")
    if arrays is None:
        return
    params = synthetic_params({"scenario": args.scenario, "seed": args.seed})
    out = args.out or Path(__file__).resolve().parents[1] / "docs" / \
        f"{args.scenario}_side_by_side.png"
    real = frames(arrays)
    generated = render_set(params, COLUMNS)
    rows = []
    for shape in ("cubes", "spheres"):
        rows += [(f"REAL\n{shape[:-1]} RGB", real[f"{shape}_rgb"][:COLUMNS]),
                 (f"REAL\n{shape[:-1]} RGB, zoomed", _zoomed(real[f"{shape}_rgb"][:COLUMNS])),
                 (f"REAL\n{shape[:-1]} LiDAR", (~real[f"{shape}_silhouette"][:COLUMNS]) * 1.0)]
    for shape in ("cubes", "spheres"):
        rgba, depth, _ = generated[shape]
        rows += [(f"{args.scenario}\n{shape[:-1]} RGB", rgba[..., :3]),
                 (f"{args.scenario}\n{shape[:-1]} RGB, zoomed", _zoomed(rgba[..., :3])),
                 (f"{args.scenario}\n{shape[:-1]} LiDAR", _normalised(depth))]
    _draw(rows, out, f"Real frames (top six rows; recovered from published figures) vs "
          f"`{args.scenario}` (bottom six; seed {args.seed}, files 0000-{COLUMNS - 1:04d})\n"
          "LiDAR: object dark, no return yellow (real: silhouettes); RGB as stored")
    print(f"wrote {out}")


def _zoomed(rgb: np.ndarray) -> np.ndarray:
    """Each frame's 64 / ZOOM square around its blob's centre (the frame's centre if dark)."""
    side = rgb.shape[1] // ZOOM
    crops = []
    for frame in rgb:
        lit = np.argwhere(frame.max(-1) > 20)
        centre = lit.mean(0).round().astype(int) if len(lit) else np.array(frame.shape[:2]) // 2
        top, left = np.clip(centre - side // 2, 0, np.array(frame.shape[:2]) - side)
        crops.append(frame[top:top + side, left:left + side])
    return np.stack(crops)


def _normalised(depth: np.ndarray) -> np.ndarray:
    """Per frame min-max normalised range (1 = no return), as the real frames were published."""
    low = depth.min(axis=(1, 2), keepdims=True)
    return (depth - low) / np.maximum(depth.max(axis=(1, 2), keepdims=True) - low, 1e-9)


def _draw(rows: list[tuple[str, np.ndarray]], out: Path, title: str) -> None:
    figure, axes = plt.subplots(len(rows), COLUMNS, figsize=(COLUMNS * 1.6, len(rows) * 1.6))
    for (label, images), line in zip(rows, axes, strict=True):
        line[0].set_ylabel(label, fontsize=8)
        for axis, index in zip(line, range(COLUMNS), strict=True):
            axis.set_xticks([])
            axis.set_yticks([])
            if index < len(images):
                image = images[index]
                axis.imshow(image, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            else:
                axis.axis("off")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80)
    plt.close(figure)


if __name__ == "__main__":
    main()
