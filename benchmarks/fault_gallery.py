"""Every registered fault at every default severity, on one cube and one sphere, to judge by eye.

Renders the `course` scenario at 64 x 64 with the project's renderer and writes one PNG: a row
per fault (controls included), a column per severity (the first clean). Each cell is a 2 x 2
tile: cube above sphere, the camera picture (RGB) left of the range image (viridis from 0 to
the max range; no return in light grey).

    uv run python benchmarks/fault_gallery.py            # -> docs/faults.png
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from fusion.data.geometry import angle_grid, depth_to_xyza  # noqa: E402
from fusion.faults import FAULTS  # noqa: E402
from fusion.faults.rig import rig_of  # noqa: E402
from fusion.io import atomic_path  # noqa: E402
from fusion.params import synthetic_params  # noqa: E402
from fusion.synthetic import render  # noqa: E402

MAX_RANGE = 50.0
NO_RETURN = (0.85, 0.85, 0.85)  # light grey: a pixel without a return


def samples(params, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """RGBA uint8 and XYZA float32 (2, 4, H, W): the first cube and the first sphere."""
    rng = np.random.default_rng(seed)
    rgb, depth, _ = zip(*(render(rng, 1, shape, params) for shape in ("cubes", "spheres")),
                        strict=True)
    grid = angle_grid(params.image_size, params.fov_deg)
    xyza = depth_to_xyza(np.concatenate(depth), grid, grid, MAX_RANGE)
    return torch.from_numpy(np.concatenate(rgb)).permute(0, 3, 1, 2), torch.from_numpy(xyza)


def tile(rgb: torch.Tensor, xyza: torch.Tensor) -> np.ndarray:
    """(2H, 2W, 3) floats in [0, 1]: per sample a row of its picture and its range image."""
    picture = (rgb[:, :3] / 255).permute(0, 2, 3, 1).numpy()
    distance = (xyza[:, :3].norm(dim=1) / MAX_RANGE).clamp(0, 1).numpy()
    ranged = plt.get_cmap("viridis")(distance)[..., :3]
    ranged[xyza[:, 3].numpy() == 0] = NO_RETURN
    return np.concatenate([np.concatenate(pair, axis=1) for pair in zip(picture, ranged,
                                                                         strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/faults.png")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    params = synthetic_params({"scenario": "course", "image_size": 64})
    rgb, xyza = samples(params, args.seed)
    names = list(FAULTS)  # by sensor, each control after its misalignment
    columns = 1 + max(len(fault.severities) for fault in FAULTS.values())
    figure, axes = plt.subplots(len(names), columns, figsize=(1.6 * columns, 1.7 * len(names)))
    for row, name in zip(axes, names, strict=True):
        fault = FAULTS[name]
        for ax, severity in zip(row, (0, *fault.severities), strict=False):
            out = fault(rgb, xyza, severity, torch.Generator().manual_seed(0), MAX_RANGE,
                        rig_of(params))
            ax.imshow(tile(*out), interpolation="nearest")
            ax.set_title(f"{severity:g}" if severity else "clean", fontsize=7, pad=2)
        row[0].set_ylabel(f"{name}\n({fault.sensor})\n{fault.unit}", fontsize=6.5)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
            ax.spines[:].set_visible(ax.has_data())
    figure.suptitle("fusion.faults on the course scenario: per cell, cube above sphere, "
                    "RGB | range (grey: no return)", fontsize=8)
    figure.tight_layout(rect=(0, 0, 1, 0.99))
    with atomic_path(args.out) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
