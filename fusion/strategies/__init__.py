"""Fusion strategies, one module each: `fusion/strategies/<name>.py` defines
`build(model_params, image_size) -> nn.Module`, and its file name is the strategy's name.

Every model maps rgb (B, 4, H, W) and xyza (B, 4, H, W), H = W a multiple of 8, to (B, 2)
logits. A strategy's module is imported only when it is built, so a stage that trains one
strategy depends on that strategy's file alone (dvc.yaml: `fusion/strategies/${item.fusion}.py`)
and adding a strategy is adding a file: nothing else retrains.
"""

from __future__ import annotations

import importlib
import pkgutil

from torch import nn

from fusion.params import ModelParams


def available() -> list[str]:
    """The strategies' names (their modules in this package), sorted; imports none of them."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def check(fusion: str) -> None:
    """Raise ValueError, listing the available names, unless `fusion` is one of them."""
    if fusion not in available():
        raise ValueError(
            f"unknown fusion strategy {fusion!r}; available: {', '.join(available())} "
            f"(a strategy is a module fusion/strategies/<name>.py defining build())"
        )


def build(fusion: str, model_params: ModelParams, image_size: int) -> nn.Module:
    """Build strategy `fusion` for H = W = image_size inputs."""
    check(fusion)
    return importlib.import_module(f"{__name__}.{fusion}").build(model_params, image_size)
