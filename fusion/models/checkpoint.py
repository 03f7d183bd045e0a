"""Checkpoints: a model's weights with what it takes to rebuild it and prepare its inputs.

Written atomically and byte-reproducibly (no timings, a fixed zip folder name), so a retrain
that reproduces the weights reproduces the file and DVC does not re-run what reads it; loaded
with `torch.load(..., weights_only=True)`.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from fusion import strategies
from fusion.data.prepared import Prepared
from fusion.io import atomic_path
from fusion.params import ModelParams, StrategyConfig

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | Path, model: nn.Module, cfg: StrategyConfig, data: Prepared,
                    stats: dict, max_range: float) -> None:
    """A trained model plus everything needed to rebuild it and prepare its inputs."""
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "config": cfg.to_dict(),
        "image_size": data.image_size,
        "max_range": max_range,
        "classes": data.classes,
        "stats": stats,
        "state_dict": model.state_dict(),
    }  # no timings: a retrain that reproduces the weights reproduces the file, so DVC skips
    # re-evaluating it
    buffer = io.BytesIO()  # torch.save names the zip's folder after a file: keep it fixed
    torch.save(checkpoint, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model of a checkpoint (weights_only load); returns (model in eval mode, dict)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found (run the `train` stage)")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {checkpoint.get('format')!r}")
    config = checkpoint["config"]
    model = strategies.build(config["fusion"], ModelParams(**config["model"]),
                             checkpoint["image_size"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint
