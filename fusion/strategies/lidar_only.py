"""Unimodal baseline: the LiDAR alone, one classifier on `xyza`."""

from __future__ import annotations

from fusion.models.nets import Unimodal
from fusion.params import ModelParams


def build(model_params: ModelParams, image_size: int) -> Unimodal:
    return Unimodal("lidar", model_params.feature_dim, image_size)
