"""Unimodal baseline: the camera alone, one classifier on `rgb`."""

from __future__ import annotations

from fusion.models.nets import Unimodal
from fusion.params import ModelParams


def build(model_params: ModelParams, image_size: int) -> Unimodal:
    return Unimodal("rgb", model_params.feature_dim, image_size)
